"""Refunds of paid tickets, sailing cancellations, boarding marks

- orders: ``partially_refunded``; ``refunded_total`` with a CHECK that it never passes the
  paid total (the database's guarantee against over-refunds);
- tickets: ``boarded_at`` (a used ticket is never refunded by self-service);
- refunds: who asked (kind, actor), the buyer's/agent's Idempotency-Key (unique per
  tenant), the policy decision that explains the amount, the 54-FZ receipt sent, attempts,
  the last provider error, ``failed``; one cancellation refund per order (partial unique);
- refund_items: one row per refunded ticket, the ticket unique (a ticket is refunded once);
- sailing_cancellations: one per sailing, its progress (refunded / total).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import isolate_tenant_table

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=False)
ORDER_STATUSES_BEFORE = "('awaiting_payment', 'paid', 'expired', 'cancelled', 'refunded')"
ORDER_STATUSES = "('awaiting_payment', 'paid', 'expired', 'cancelled', 'partially_refunded', 'refunded')"
REFUND_STATUSES_BEFORE = "('requested', 'pending', 'succeeded', 'canceled')"
REFUND_STATUSES = "('requested', 'pending', 'succeeded', 'canceled', 'failed')"


def upgrade() -> None:
    op.drop_constraint(op.f('ck_orders_status_kind'), 'orders', type_='check')
    op.create_check_constraint(op.f('ck_orders_status_kind'), 'orders', f"status IN {ORDER_STATUSES}")
    op.add_column('orders', sa.Column('refunded_total', sa.Numeric(12, 2), nullable=False,
                                      server_default=sa.text('0')))
    op.create_check_constraint(op.f('ck_orders_refund_within_total'), 'orders',
                               'refunded_total >= 0 AND refunded_total <= total')
    op.add_column('tickets', sa.Column('boarded_at', sa.DateTime(timezone=True), nullable=True))

    op.drop_constraint(op.f('ck_refunds_status_kind'), 'refunds', type_='check')
    op.create_check_constraint(op.f('ck_refunds_status_kind'), 'refunds', f"status IN {REFUND_STATUSES}")
    op.create_check_constraint(op.f('ck_refunds_amount_positive'), 'refunds', 'amount > 0')
    for column in (
        sa.Column('kind', sa.Text(), nullable=False, server_default='system'),
        sa.Column('actor', sa.Text(), nullable=False, server_default='system'),
        sa.Column('idempotency_key', sa.Text(), nullable=True),
        sa.Column('request_hash', sa.Text(), nullable=True),
        sa.Column('decision', postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column('receipt', postgresql.JSONB(), nullable=True),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default=sa.text('0')),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('email_sent_at', sa.DateTime(timezone=True), nullable=True),
    ):
        op.add_column('refunds', column)
    op.create_unique_constraint(op.f('uq_refunds_idempotency_key'), 'refunds', ['tenant_id', 'idempotency_key'])
    op.create_index('uq_refunds_sailing_canceled', 'refunds', ['order_id'], unique=True,
                    postgresql_where=sa.text("kind = 'sailing_canceled'"))
    op.create_index('ix_refunds_unsettled', 'refunds', ['created_at'],
                    postgresql_where=sa.text("status IN ('requested', 'pending')"))

    op.create_table(
        'refund_items',
        sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('tenant_id', UUID, nullable=False),
        sa.Column('refund_id', UUID, nullable=False),
        sa.Column('order_id', UUID, nullable=False),
        sa.Column('ticket_id', UUID, nullable=False),
        sa.Column('price', sa.Numeric(12, 2), nullable=False),
        sa.Column('fee', sa.Numeric(12, 2), nullable=False),
        sa.Column('amount', sa.Numeric(12, 2), nullable=False),
        sa.Column('basis', postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.CheckConstraint('amount >= 0 AND fee >= 0 AND amount + fee = price', name=op.f('ck_refund_items_sums')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_refund_items_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_items_refund_id_refunds')),
        sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_refund_items_order_id_orders')),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_refund_items_ticket_id_tickets')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_refund_items')),
        sa.UniqueConstraint('ticket_id', name=op.f('uq_refund_items_ticket_id')),
    )
    op.create_index(op.f('ix_refund_items_tenant_id'), 'refund_items', ['tenant_id'])
    op.create_index(op.f('ix_refund_items_refund_id'), 'refund_items', ['refund_id'])
    op.create_index(op.f('ix_refund_items_order_id'), 'refund_items', ['order_id'])

    op.create_table(
        'sailing_cancellations',
        sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('tenant_id', UUID, nullable=False),
        sa.Column('sailing_id', UUID, nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('canceled_by', sa.Text(), nullable=False),
        sa.Column('status', sa.Text(), nullable=False, server_default='running'),
        sa.Column('total', sa.Integer(), nullable=False, server_default=sa.text('0')),
        sa.Column('refunded', sa.Integer(), nullable=False, server_default=sa.text('0')),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('running', 'done')", name=op.f('ck_sailing_cancellations_status_kind')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'],
                                name=op.f('fk_sailing_cancellations_tenant_id_tenants')),
        sa.ForeignKeyConstraint(['sailing_id'], ['sailings.id'],
                                name=op.f('fk_sailing_cancellations_sailing_id_sailings')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sailing_cancellations')),
        sa.UniqueConstraint('sailing_id', name=op.f('uq_sailing_cancellations_sailing_id')),
    )
    op.create_index(op.f('ix_sailing_cancellations_tenant_id'), 'sailing_cancellations', ['tenant_id'])
    for table in ('refund_items', 'sailing_cancellations'):
        for statement in isolate_tenant_table(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_table('sailing_cancellations')
    op.drop_table('refund_items')
    op.drop_index('ix_refunds_unsettled', table_name='refunds')
    op.drop_index('uq_refunds_sailing_canceled', table_name='refunds')
    op.drop_constraint(op.f('uq_refunds_idempotency_key'), 'refunds', type_='unique')
    for column in ('kind', 'actor', 'idempotency_key', 'request_hash', 'decision', 'receipt', 'attempts',
                   'last_error', 'sent_at', 'email_sent_at'):
        op.drop_column('refunds', column)
    op.drop_constraint(op.f('ck_refunds_amount_positive'), 'refunds', type_='check')
    op.drop_constraint(op.f('ck_refunds_status_kind'), 'refunds', type_='check')
    op.execute("UPDATE refunds SET status = 'canceled' WHERE status = 'failed'")
    op.create_check_constraint(op.f('ck_refunds_status_kind'), 'refunds', f"status IN {REFUND_STATUSES_BEFORE}")
    op.drop_column('tickets', 'boarded_at')
    op.drop_constraint(op.f('ck_orders_refund_within_total'), 'orders', type_='check')
    op.drop_column('orders', 'refunded_total')
    op.drop_constraint(op.f('ck_orders_status_kind'), 'orders', type_='check')
    op.execute("UPDATE orders SET status = 'paid' WHERE status = 'partially_refunded'")
    op.create_check_constraint(op.f('ck_orders_status_kind'), 'orders', f"status IN {ORDER_STATUSES_BEFORE}")
