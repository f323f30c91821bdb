"""Orders by sailing: a sailing's cancellation, the supplier push and reconciliation read
every order of one sailing; without an index each of those read every order of the tenant

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_orders_sailing', 'orders', ['sailing_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_orders_sailing', table_name='orders')
