"""New tenants have no payment provider until one is chosen

Until now every tenant started on ``mock``, the sandbox provider whose public page marks any
order paid: a production tenant left on the default gave tickets away. The column becomes
nullable without a default (a tenant without provider cannot sell); existing rows keep
what they have.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column('tenants', 'payment_provider', existing_type=sa.Text(), nullable=True, server_default=None)


def downgrade() -> None:
    # The old schema cannot say "none": such tenants go back to the sandbox, as before.
    op.execute("UPDATE tenants SET payment_provider = 'mock' WHERE payment_provider IS NULL")
    op.alter_column('tenants', 'payment_provider', existing_type=sa.Text(), nullable=False,
                    server_default=sa.text("'mock'"))
