"""Report jobs (the report-export function) and the tenant's finance address

- report_jobs: one row per requested report (by staff or by the schedule): its parameters,
  state (queued, running, done, failed), progress, the object it produced (key, size,
  sha256) or why it failed; ``schedule_key`` is unique per tenant, so a schedule that fires
  twice asks for one report;
- tenants.finance_email: where the scheduled reports' links are sent (NULL: stored only).

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import isolate_tenant_table

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

UUID = postgresql.UUID(as_uuid=False)


def upgrade() -> None:
    op.add_column('tenants', sa.Column('finance_email', sa.Text(), nullable=True))
    op.create_table(
        'report_jobs',
        sa.Column('id', UUID, server_default=sa.text('gen_random_uuid()'), nullable=False),
        sa.Column('tenant_id', UUID, nullable=False),
        sa.Column('report', sa.Text(), nullable=False),
        sa.Column('format', sa.Text(), nullable=False),
        sa.Column('parameters', postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column('status', sa.Text(), server_default='queued', nullable=False),
        sa.Column('progress', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('rows', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('total_rows', sa.Integer(), nullable=True),
        sa.Column('requested_by', sa.Text(), nullable=False),
        sa.Column('schedule_key', sa.Text(), nullable=True),
        sa.Column('email_to', sa.Text(), nullable=True),
        sa.Column('emailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('s3_key', sa.Text(), nullable=True),
        sa.Column('size', sa.BigInteger(), nullable=True),
        sa.Column('sha256', sa.Text(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.Column('attempts', sa.Integer(), server_default=sa.text('0'), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_report_jobs_status_kind')),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name=op.f('ck_report_jobs_progress_percent')),
        sa.CheckConstraint("status <> 'done' OR (s3_key IS NOT NULL AND size IS NOT NULL AND sha256 IS NOT NULL)",
                           name=op.f('ck_report_jobs_done_has_file')),
        sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_report_jobs_tenant_id_tenants')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_jobs')),
        sa.UniqueConstraint('tenant_id', 'schedule_key', name='uq_report_jobs_schedule_key'),
    )
    op.create_index(op.f('ix_report_jobs_tenant_id'), 'report_jobs', ['tenant_id'], unique=False)
    op.create_index('ix_report_jobs_active', 'report_jobs', ['tenant_id', 'created_at'],
                    postgresql_where=sa.text("status IN ('queued', 'running')"))
    for statement in isolate_tenant_table('report_jobs'):
        op.execute(statement)


def downgrade() -> None:
    op.drop_table('report_jobs')
    op.drop_column('tenants', 'finance_email')
