"""Tenants get a storefront key: the secret a storefront signs its buyers' client ids with

Every tenant, existing or new, gets its own random key from the database (gen_random_uuid
draws from the server's strong random source). Shown by `python -m prichal.admin
storefront-key <slug>`, never by an API.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

RANDOM_KEY = "encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex')"


def upgrade() -> None:
    # a volatile default: evaluated once per existing row, so no two tenants share a key
    op.add_column('tenants', sa.Column('storefront_key', sa.Text(), nullable=False,
                                       server_default=sa.text(RANDOM_KEY)))


def downgrade() -> None:
    op.drop_column('tenants', 'storefront_key')
