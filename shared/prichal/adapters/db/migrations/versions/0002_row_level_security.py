"""Row-level security per tenant and the application role

Every tenant table gets a policy that admits only rows of the tenant named by the
transaction-local setting ``app.tenant_id``; FORCE makes it hold for the table owner too.
Application sessions switch to the non-superuser role ``prichal_app`` (superusers bypass
RLS), which may read tenants and their domains and read/write tenant tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""
from alembic import op

from prichal.adapters.db.rls import APP_ROLE, isolate_tenant_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TENANT_TABLES = [
    "tenant_vat_periods", "piers", "vessels", "seat_maps", "seat_categories", "seats",
    "programs", "sailings", "tariffs", "seat_holds", "tickets",
]


def upgrade() -> None:
    # Roles are cluster-wide; parallel test databases may race to create it.
    op.execute(f"""
        DO $$ BEGIN
            CREATE ROLE {APP_ROLE} NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END $$;
    """)
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(f"GRANT SELECT ON tenants, tenant_domains TO {APP_ROLE}")
    for table in TENANT_TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)


def downgrade() -> None:
    for table in TENANT_TABLES:
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
    op.execute(f"REVOKE ALL ON tenants, tenant_domains FROM {APP_ROLE}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
