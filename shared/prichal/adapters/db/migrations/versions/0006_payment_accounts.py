"""Payments keep the provider account they were made with (by reference)

A tenant that switches providers (or shops) must not strand the payments in flight: each
payment row names its shop id, the name of the secret with the shop's key and the API URL.
Existing payments are filled from their tenant's current settings where the tenant still
uses the payment's provider (the sandbox's shop id is always the tenant's slug); a
YooKassa payment of a tenant that already left YooKassa keeps empty columns (its calls
answer "payment not configured", as before).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

BACKFILL = sa.text("""
UPDATE payments p SET
  shop_id = CASE WHEN p.provider = 'mock' THEN t.slug ELSE t.payment_settings ->> 'shop_id' END,
  secret_name = CASE WHEN p.provider = 'mock' THEN NULL ELSE t.payment_settings ->> 'secret_name' END,
  api_url = CASE WHEN p.provider = 'mock' THEN NULL ELSE t.payment_settings ->> 'api_url' END
FROM tenants t
WHERE t.id = p.tenant_id AND p.tenant_id = :tenant AND p.shop_id IS NULL
  AND (p.provider = 'mock' OR p.provider = t.payment_provider)
""")


def upgrade() -> None:
    op.add_column('payments', sa.Column('shop_id', sa.Text(), nullable=True))
    op.add_column('payments', sa.Column('secret_name', sa.Text(), nullable=True))
    op.add_column('payments', sa.Column('api_url', sa.Text(), nullable=True))
    conn = op.get_bind()
    # tenant by tenant: payments is under FORCE row-level security, which binds the owner too
    for (tenant_id,) in conn.execute(sa.text("SELECT id FROM tenants")).all():
        conn.execute(sa.text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
        conn.execute(BACKFILL, {"tenant": tenant_id})
    conn.execute(sa.text("SELECT set_config('app.tenant_id', '', true)"))


def downgrade() -> None:
    op.drop_column('payments', 'api_url')
    op.drop_column('payments', 'secret_name')
    op.drop_column('payments', 'shop_id')
