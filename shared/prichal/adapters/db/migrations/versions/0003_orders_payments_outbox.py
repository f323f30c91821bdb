"""Orders, payments, refunds, notifications, the order log, the outbox and consumer dedup

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import APP_ROLE, isolate_tenant_table

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('order_numbers',
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_numbers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_order_numbers'))
    )
    op.create_table('outbox',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('type', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('headers', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_outbox_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox'))
    )
    op.create_index(op.f('ix_outbox_tenant_id'), 'outbox', ['tenant_id'], unique=False)
    op.create_index('ix_outbox_unpublished', 'outbox', ['occurred_at'], unique=False, postgresql_where=sa.text('published_at IS NULL'))
    op.create_table('payment_notifications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('provider', sa.Text(), nullable=False),
    sa.Column('event', sa.Text(), nullable=False),
    sa.Column('object_id', sa.Text(), nullable=False),
    sa.Column('source_address', sa.Text(), nullable=True),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payment_notifications_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_notifications'))
    )
    op.create_index(op.f('ix_payment_notifications_tenant_id'), 'payment_notifications', ['tenant_id'], unique=False)
    op.create_table('processed_messages',
    sa.Column('consumer', sa.Text(), nullable=False),
    sa.Column('message_id', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_processed_messages_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('consumer', 'message_id', name=op.f('pk_processed_messages'))
    )
    op.create_index(op.f('ix_processed_messages_tenant_id'), 'processed_messages', ['tenant_id'], unique=False)
    op.create_table('orders',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('sailing_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('hold_token', sa.Text(), nullable=False),
    sa.Column('client_id', sa.Text(), nullable=False),
    sa.Column('customer_name', sa.Text(), nullable=False),
    sa.Column('customer_email', sa.Text(), nullable=True),
    sa.Column('customer_phone', sa.Text(), nullable=True),
    sa.Column('total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_total', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.Text(), server_default='RUB', nullable=False),
    sa.Column('access_token_hash', sa.Text(), nullable=False),
    sa.Column('idempotency_key', sa.Text(), nullable=True),
    sa.Column('request_hash', sa.Text(), nullable=True),
    sa.Column('return_url', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('needs_attention', sa.Text(), nullable=True),
    sa.CheckConstraint("status IN ('awaiting_payment', 'paid', 'expired', 'cancelled', 'refunded')", name=op.f('ck_orders_status_kind')),
    sa.CheckConstraint('customer_email IS NOT NULL OR customer_phone IS NOT NULL', name=op.f('ck_orders_has_contact')),
    sa.ForeignKeyConstraint(['hold_token'], ['seat_holds.token'], name=op.f('fk_orders_hold_token_seat_holds')),
    sa.ForeignKeyConstraint(['sailing_id'], ['sailings.id'], name=op.f('fk_orders_sailing_id_sailings')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_orders_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name='uq_orders_idempotency_key'),
    sa.UniqueConstraint('tenant_id', 'number', name='uq_orders_number')
    )
    op.create_index('ix_orders_awaiting_expiry', 'orders', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'awaiting_payment'"))
    op.create_index(op.f('ix_orders_tenant_id'), 'orders', ['tenant_id'], unique=False)
    op.create_table('order_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('entity', sa.Text(), nullable=False),
    sa.Column('entity_id', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('actor', sa.Text(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_log_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_log_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_log'))
    )
    op.create_index(op.f('ix_order_log_order_id'), 'order_log', ['order_id'], unique=False)
    op.create_index(op.f('ix_order_log_tenant_id'), 'order_log', ['tenant_id'], unique=False)
    op.create_table('payments',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('provider', sa.Text(), nullable=False),
    sa.Column('provider_payment_id', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('currency', sa.Text(), server_default='RUB', nullable=False),
    sa.Column('idempotence_key', sa.Text(), nullable=False),
    sa.Column('confirmation_url', sa.Text(), nullable=True),
    sa.Column('cancellation_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'waiting_for_capture', 'succeeded', 'canceled')", name=op.f('ck_payments_status_kind')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_payments_order_id_orders')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_payments_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('provider', 'provider_payment_id', name='uq_payments_provider_id')
    )
    op.create_index(op.f('ix_payments_order_id'), 'payments', ['order_id'], unique=False)
    op.create_index(op.f('ix_payments_tenant_id'), 'payments', ['tenant_id'], unique=False)
    op.create_table('order_items',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('ticket_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('seat_id', sa.Text(), nullable=True),
    sa.Column('tariff_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('ticket_type', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Text(), nullable=False),
    sa.Column('vat_amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_items_order_id_orders')),
    sa.ForeignKeyConstraint(['tariff_id'], ['tariffs.id'], name=op.f('fk_order_items_tariff_id_tariffs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_order_items_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_order_items_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_items'))
    )
    op.create_index(op.f('ix_order_items_order_id'), 'order_items', ['order_id'], unique=False)
    op.create_index(op.f('ix_order_items_tenant_id'), 'order_items', ['tenant_id'], unique=False)
    op.create_table('refunds',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('order_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('payment_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('provider_refund_id', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('idempotence_key', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('requested', 'pending', 'succeeded', 'canceled')", name=op.f('ck_refunds_status_kind')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refunds_order_id_orders')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refunds_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    op.create_index(op.f('ix_refunds_order_id'), 'refunds', ['order_id'], unique=False)
    op.create_index(op.f('ix_refunds_tenant_id'), 'refunds', ['tenant_id'], unique=False)
    op.add_column('tenants', sa.Column('payment_settings', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False))
    op.add_column('tickets', sa.Column('order_id', sa.UUID(as_uuid=False), nullable=True))
    op.add_column('tickets', sa.Column('tariff_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_foreign_key(op.f('fk_tickets_order_id_orders'), 'tickets', 'orders', ['order_id'], ['id'])
    op.create_foreign_key(op.f('fk_tickets_tariff_id_tariffs'), 'tickets', 'tariffs', ['tariff_id'], ['id'])

    for table in NEW_TENANT_TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")

NEW_TENANT_TABLES = ["order_numbers", "outbox", "payment_notifications", "processed_messages", "orders",
                     "order_log", "payments", "order_items", "refunds"]


def downgrade() -> None:
    op.drop_constraint(op.f('fk_tickets_tariff_id_tariffs'), 'tickets', type_='foreignkey')
    op.drop_constraint(op.f('fk_tickets_order_id_orders'), 'tickets', type_='foreignkey')
    op.drop_column('tickets', 'tariff_id')
    op.drop_column('tickets', 'order_id')
    op.drop_column('tenants', 'payment_settings')
    op.drop_index(op.f('ix_refunds_tenant_id'), table_name='refunds')
    op.drop_index(op.f('ix_refunds_order_id'), table_name='refunds')
    op.drop_table('refunds')
    op.drop_index(op.f('ix_order_items_tenant_id'), table_name='order_items')
    op.drop_index(op.f('ix_order_items_order_id'), table_name='order_items')
    op.drop_table('order_items')
    op.drop_index(op.f('ix_payments_tenant_id'), table_name='payments')
    op.drop_index(op.f('ix_payments_order_id'), table_name='payments')
    op.drop_table('payments')
    op.drop_index(op.f('ix_order_log_tenant_id'), table_name='order_log')
    op.drop_index(op.f('ix_order_log_order_id'), table_name='order_log')
    op.drop_table('order_log')
    op.drop_index(op.f('ix_orders_tenant_id'), table_name='orders')
    op.drop_index('ix_orders_awaiting_expiry', table_name='orders', postgresql_where=sa.text("status = 'awaiting_payment'"))
    op.drop_table('orders')
    op.drop_index(op.f('ix_processed_messages_tenant_id'), table_name='processed_messages')
    op.drop_table('processed_messages')
    op.drop_index(op.f('ix_payment_notifications_tenant_id'), table_name='payment_notifications')
    op.drop_table('payment_notifications')
    op.drop_index('ix_outbox_unpublished', table_name='outbox', postgresql_where=sa.text('published_at IS NULL'))
    op.drop_index(op.f('ix_outbox_tenant_id'), table_name='outbox')
    op.drop_table('outbox')
    op.drop_table('order_numbers')
