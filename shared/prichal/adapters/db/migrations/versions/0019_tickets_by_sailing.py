"""Tickets by sailing: the gangway's boarding progress counts a sailing's sold and boarded
tickets while the crew scans (polled every few seconds); covering, so it reads the index only

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_sailing', 'tickets', ['sailing_id', 'status'], postgresql_include=['boarded_at'])


def downgrade() -> None:
    op.drop_index('ix_tickets_sailing', table_name='tickets')
