"""Boat operators: accounts per tenant, sync runs, the operator's side of sailings,
tariffs, orders and tickets, reconciliation mismatches

Piers, vessels and programs get the unique supplier reference sailings already had, so a
sync upserts them and never duplicates one.

Revision ID: 0015
Revises: 0010
Create Date: 2026-12-01
"""
from alembic import op

from prichal.adapters.db.rls import isolate_tenant_table

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

TABLES = ["supplier_accounts", "supplier_sync_runs", "supplier_sailings", "supplier_tariffs", "supplier_orders",
          "supplier_tickets", "supplier_mismatches"]

DDL = """
CREATE TABLE supplier_accounts (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    supplier text NOT NULL,
    mode text NOT NULL,
    base_url text,
    secret_name text,
    email text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_supplier_accounts PRIMARY KEY (tenant_id, supplier),
    CONSTRAINT ck_supplier_accounts_mode_kind CHECK (mode IN ('stub', 'real'))
);
CREATE TABLE supplier_sync_runs (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    supplier text NOT NULL,
    horizon text NOT NULL,
    date_from date,
    date_to date,
    status text NOT NULL DEFAULT 'running',
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    created integer NOT NULL DEFAULT 0,
    updated integer NOT NULL DEFAULT 0,
    closed integer NOT NULL DEFAULT 0,
    errors jsonb NOT NULL DEFAULT '[]'::jsonb,
    CONSTRAINT ck_supplier_sync_runs_status_kind CHECK (status IN ('running', 'succeeded', 'partial', 'failed')),
    CONSTRAINT ck_supplier_sync_runs_horizon_kind CHECK (horizon IN ('near', 'season', 'reconcile'))
);
CREATE INDEX ix_supplier_sync_runs_last ON supplier_sync_runs (tenant_id, supplier, horizon, started_at DESC);
CREATE TABLE supplier_sailings (
    sailing_id uuid PRIMARY KEY REFERENCES sailings(id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    supplier text NOT NULL,
    supplier_ref text NOT NULL,
    booking jsonb NOT NULL DEFAULT '{}'::jsonb,
    available integer,
    bucket text,
    barcode_required boolean NOT NULL DEFAULT true,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    closed_reason text
);
CREATE INDEX ix_supplier_sailings_tenant ON supplier_sailings (tenant_id, supplier);
CREATE TABLE supplier_tariffs (
    tariff_id uuid PRIMARY KEY REFERENCES tariffs(id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    supplier text NOT NULL,
    booking jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE TABLE supplier_orders (
    order_id uuid PRIMARY KEY REFERENCES orders(id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    supplier text NOT NULL,
    sailing_id uuid NOT NULL REFERENCES sailings(id),
    external_id text NOT NULL,
    supplier_order_id text,
    status text NOT NULL DEFAULT 'pending',
    attempts integer NOT NULL DEFAULT 0,
    last_error text,
    fine_amount numeric(12, 2),
    created_at timestamptz NOT NULL DEFAULT now(),
    registered_at timestamptz,
    confirmed_at timestamptz,
    returned_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT ck_supplier_orders_status_kind CHECK (
        status IN ('pending', 'registered', 'confirmed', 'rejected', 'failed', 'returned'))
);
CREATE INDEX ix_supplier_orders_sailing ON supplier_orders (sailing_id);
CREATE TABLE supplier_tickets (
    ticket_id uuid PRIMARY KEY REFERENCES tickets(id),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    order_id uuid NOT NULL REFERENCES orders(id),
    barcode text NOT NULL,
    ticket_number text
);
CREATE INDEX ix_supplier_tickets_order ON supplier_tickets (order_id);
CREATE TABLE supplier_mismatches (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    run_id uuid REFERENCES supplier_sync_runs(id),
    supplier text NOT NULL,
    order_id uuid REFERENCES orders(id),
    sailing_id uuid REFERENCES sailings(id),
    ours text NOT NULL,
    theirs text NOT NULL,
    kind text NOT NULL,
    found_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ix_supplier_mismatches_found ON supplier_mismatches (tenant_id, found_at);
CREATE UNIQUE INDEX uq_piers_supplier_ref ON piers (tenant_id, supplier, supplier_ref);
CREATE UNIQUE INDEX uq_vessels_supplier_ref ON vessels (tenant_id, supplier, supplier_ref);
CREATE UNIQUE INDEX uq_programs_supplier_ref ON programs (tenant_id, supplier, supplier_ref);
"""


def upgrade() -> None:
    op.execute(DDL)
    for table in TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)


def downgrade() -> None:
    for name in ("programs", "vessels", "piers"):
        op.execute(f"DROP INDEX IF EXISTS uq_{name}_supplier_ref")
    for table in reversed(TABLES):
        op.execute(f"DROP TABLE IF EXISTS {table}")
