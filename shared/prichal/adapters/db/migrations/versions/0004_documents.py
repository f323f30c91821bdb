"""Documents (e-tickets, invoices, acts), their numbering and the buyer's email delivery

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
import sqlalchemy as sa
from alembic import op

from prichal.adapters.db.rls import APP_ROLE, isolate_tenant_table

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ["documents", "document_numbers", "email_deliveries"]


def upgrade() -> None:
    op.create_table('document_numbers',
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_document_numbers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', 'kind', 'year', name=op.f('pk_document_numbers'))
    )
    op.create_table('documents',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('issued_on', sa.Date(), nullable=False),
    sa.Column('s3_key', sa.Text(), nullable=False),
    sa.Column('sha256', sa.Text(), nullable=True),
    sa.Column('size', sa.Integer(), nullable=True),
    sa.Column('status', sa.Text(), server_default='pending', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('ticket', 'invoice', 'act')", name=op.f('ck_documents_kind_known')),
    sa.CheckConstraint("status IN ('pending', 'stored')", name=op.f('ck_documents_status_kind')),
    sa.CheckConstraint("status = 'pending' OR (sha256 IS NOT NULL AND size IS NOT NULL)",
                       name=op.f('ck_documents_stored_has_digest')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_documents_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_documents_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_documents_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_documents')),
    sa.UniqueConstraint('order_id', 'kind', 'position', name='uq_documents_order_kind_position'),
    sa.UniqueConstraint('tenant_id', 'kind', 'year', 'number', name='uq_documents_number')
    )
    op.create_index(op.f('ix_documents_order_id'), 'documents', ['order_id'], unique=False)
    op.create_index(op.f('ix_documents_tenant_id'), 'documents', ['tenant_id'], unique=False)
    op.create_table('email_deliveries',
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('recipient', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('interrupted', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')",
                       name=op.f('ck_email_deliveries_status_kind')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_email_deliveries_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_email_deliveries_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_email_deliveries'))
    )
    op.create_index(op.f('ix_email_deliveries_tenant_id'), 'email_deliveries', ['tenant_id'], unique=False)
    for table in NEW_TENANT_TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def downgrade() -> None:
    op.drop_index(op.f('ix_email_deliveries_tenant_id'), table_name='email_deliveries')
    op.drop_table('email_deliveries')
    op.drop_index(op.f('ix_documents_tenant_id'), table_name='documents')
    op.drop_index(op.f('ix_documents_order_id'), table_name='documents')
    op.drop_table('documents')
    op.drop_table('document_numbers')
