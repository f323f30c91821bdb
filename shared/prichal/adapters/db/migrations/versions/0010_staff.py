"""Staff of the back offices: users per tenant and of the platform, tokens, the audit log;
support cases with their SLA deadlines

``staff_users``, ``staff_tokens`` and ``staff_audit`` belong to a tenant and are under
row-level security as every tenant table; the application role may only add and read audit
rows. ``platform_staff``, ``platform_tokens`` and ``platform_audit`` belong to no tenant
(platform admins): the application role reads them and writes what login and tokens need.
Passwords are stored as argon2 hashes, tokens as SHA-256 of their random secret.
``support_cases``, ``case_messages``, ``case_sla_policies`` and ``case_numbers`` are tenant
tables too (the CRM's support cases; deadlines stored as moments, see prichal.domain.sla).

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import APP_ROLE, isolate_tenant_table

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

NEW_TENANT_TABLES = ["staff_users", "staff_tokens", "staff_audit",
                     "support_cases", "case_messages", "case_sla_policies", "case_numbers"]
UUID = sa.UUID(as_uuid=False)


def _now() -> sa.TextClause:
    return sa.text('now()')


def _user_columns() -> list[sa.Column]:
    return [
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('password_hash', sa.Text(), nullable=True),
        sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
        sa.Column('failed_logins', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
    ]


def _token_columns() -> list[sa.Column]:
    return [
        sa.Column('kind', sa.Text(), nullable=False),
        sa.Column('token_hash', sa.Text(), nullable=False),
        sa.Column('name', sa.Text(), nullable=True),
        sa.Column('scopes', postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_used_at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by', UUID, nullable=True),
        sa.Column('address', sa.Text(), nullable=True),
    ]


def _audit_columns() -> list[sa.Column]:
    return [
        sa.Column('at', sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column('actor_type', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.Text(), nullable=True),
        sa.Column('actor_name', sa.Text(), nullable=False),
        sa.Column('token_id', UUID, nullable=True),
        sa.Column('address', sa.Text(), nullable=True),
        sa.Column('action', sa.Text(), nullable=False),
        sa.Column('target_type', sa.Text(), nullable=False),
        sa.Column('target_id', sa.Text(), nullable=True),
        sa.Column('data', postgresql.JSONB(), server_default=sa.text("'{}'::jsonb"), nullable=False),
    ]


def upgrade() -> None:
    op.create_table('staff_users',
    sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    *_user_columns(),
    sa.CheckConstraint("role IN ('agent', 'supervisor', 'finance', 'admin')", name=op.f('ck_staff_users_role_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_users_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_users')),
    sa.UniqueConstraint('tenant_id', 'email', name='uq_staff_users_email'),
    )
    op.create_index(op.f('ix_staff_users_tenant_id'), 'staff_users', ['tenant_id'], unique=False)

    op.create_table('staff_tokens',
    sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('user_id', UUID, nullable=False),
    *_token_columns(),
    sa.CheckConstraint("kind IN ('session', 'api')", name=op.f('ck_staff_tokens_kind_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_tokens_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['user_id'], ['staff_users.id'], name=op.f('fk_staff_tokens_user_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_tokens_token_hash')),
    )
    op.create_index(op.f('ix_staff_tokens_tenant_id'), 'staff_tokens', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_staff_tokens_user_id'), 'staff_tokens', ['user_id'], unique=False)

    op.create_table('platform_staff',
    sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('email', sa.Text(), nullable=False),
    *_user_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_staff')),
    sa.UniqueConstraint('email', name=op.f('uq_platform_staff_email')),
    )

    op.create_table('platform_tokens',
    sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('user_id', UUID, nullable=False),
    *_token_columns(),
    sa.CheckConstraint("kind IN ('session', 'api')", name=op.f('ck_platform_tokens_kind_known')),
    sa.ForeignKeyConstraint(['user_id'], ['platform_staff.id'],
                            name=op.f('fk_platform_tokens_user_id_platform_staff')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_platform_tokens_token_hash')),
    )
    op.create_index(op.f('ix_platform_tokens_user_id'), 'platform_tokens', ['user_id'], unique=False)

    op.create_table('staff_audit',
    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
    sa.Column('tenant_id', UUID, nullable=False),
    *_audit_columns(),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_staff_audit_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_audit')),
    )
    op.create_index(op.f('ix_staff_audit_tenant_id'), 'staff_audit', ['tenant_id'], unique=False)
    op.create_index('ix_staff_audit_at', 'staff_audit', ['tenant_id', 'at'], unique=False)
    op.create_index('ix_staff_audit_target', 'staff_audit', ['tenant_id', 'target_type', 'target_id'], unique=False)

    op.create_table('platform_audit',
    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
    *_audit_columns(),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_audit')),
    )
    op.create_index('ix_platform_audit_at', 'platform_audit', ['at'], unique=False)

    _support_cases()
    for table in NEW_TENANT_TABLES:
        for statement in isolate_tenant_table(table):
            op.execute(statement)
    # the audit log is append-only for the application
    op.execute(f"REVOKE UPDATE, DELETE ON staff_audit FROM {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON platform_staff TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON platform_tokens TO {APP_ROLE}")
    op.execute(f"GRANT SELECT, INSERT ON platform_audit TO {APP_ROLE}")
    op.execute(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {APP_ROLE}")


def _support_cases() -> None:
    ts = sa.DateTime(timezone=True)
    op.create_table('support_cases',
    sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('number', sa.BigInteger(), nullable=False),
    sa.Column('order_id', UUID, nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('channel', sa.Text(), nullable=False),
    sa.Column('priority', sa.Text(), nullable=False),
    sa.Column('status', sa.Text(), server_default='new', nullable=False),
    sa.Column('assignee_id', UUID, nullable=True),
    sa.Column('buyer_name', sa.Text(), nullable=True),
    sa.Column('buyer_email', sa.Text(), nullable=True),
    sa.Column('buyer_phone', sa.Text(), nullable=True),
    sa.Column('opened_at', ts, nullable=False),
    sa.Column('first_response_due', ts, nullable=False),
    sa.Column('first_response_risk_at', ts, nullable=False),
    sa.Column('first_responded_at', ts, nullable=True),
    sa.Column('resolution_due', ts, nullable=False),
    sa.Column('resolution_risk_at', ts, nullable=False),
    sa.Column('resolved_at', ts, nullable=True),
    sa.Column('closed_at', ts, nullable=True),
    sa.Column('waiting_since', ts, nullable=True),
    sa.Column('paused_seconds', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('next_due', ts, nullable=True),
    sa.Column('next_risk_at', ts, nullable=True),
    sa.Column('created_by', sa.Text(), nullable=True),
    sa.Column('created_at', ts, server_default=_now(), nullable=False),
    sa.Column('updated_at', ts, server_default=_now(), nullable=False),
    sa.CheckConstraint("status IN ('new', 'in_progress', 'waiting_for_buyer', 'resolved', 'closed')",
                       name=op.f('ck_support_cases_status_known')),
    sa.CheckConstraint("priority IN ('urgent', 'high', 'normal', 'low')", name=op.f('ck_support_cases_priority_known')),
    sa.CheckConstraint("channel IN ('phone', 'email', 'chat', 'web', 'messenger', 'other')",
                       name=op.f('ck_support_cases_channel_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_support_cases_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_support_cases_order_id_orders')),
    sa.ForeignKeyConstraint(['assignee_id'], ['staff_users.id'], name=op.f('fk_support_cases_assignee_id_staff_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_support_cases')),
    sa.UniqueConstraint('tenant_id', 'number', name='uq_support_cases_number'),
    )
    op.create_index(op.f('ix_support_cases_tenant_id'), 'support_cases', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_support_cases_order_id'), 'support_cases', ['order_id'], unique=False)
    op.create_index(op.f('ix_support_cases_assignee_id'), 'support_cases', ['assignee_id'], unique=False)
    op.create_index('ix_support_cases_queue', 'support_cases', ['tenant_id', 'next_due', 'id'], unique=False)
    op.create_table('case_messages',
    sa.Column('id', sa.BigInteger(), sa.Identity(), nullable=False),
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('case_id', UUID, nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('author_type', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Text(), nullable=True),
    sa.Column('author_name', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', ts, server_default=_now(), nullable=False),
    sa.CheckConstraint("kind IN ('buyer', 'reply', 'note')", name=op.f('ck_case_messages_kind_known')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_messages_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['case_id'], ['support_cases.id'], name=op.f('fk_case_messages_case_id_support_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_messages')),
    )
    op.create_index(op.f('ix_case_messages_tenant_id'), 'case_messages', ['tenant_id'], unique=False)
    op.create_index(op.f('ix_case_messages_case_id'), 'case_messages', ['case_id'], unique=False)
    op.create_table('case_sla_policies',
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('policy', postgresql.JSONB(), nullable=False),
    sa.Column('updated_at', ts, server_default=_now(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_sla_policies_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_case_sla_policies')),
    )
    op.create_table('case_numbers',
    sa.Column('tenant_id', UUID, nullable=False),
    sa.Column('last_number', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_case_numbers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_case_numbers')),
    )


def downgrade() -> None:
    for table in ("staff_users", "staff_tokens", "staff_audit"):
        op.execute(f"DROP POLICY IF EXISTS tenant_isolation ON {table}")
    # IF EXISTS: a database migrated to 0010 before the support cases joined it lacks these
    for table in ("case_numbers", "case_sla_policies", "case_messages", "support_cases"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
    for table in ("platform_audit", "staff_audit", "platform_tokens", "platform_staff", "staff_tokens",
                  "staff_users"):
        op.execute(f"REVOKE ALL ON {table} FROM {APP_ROLE}")
        op.drop_table(table)
