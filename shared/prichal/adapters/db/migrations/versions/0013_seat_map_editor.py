"""Seat-map editor: drafts (at most one per vessel), section outlines, accessible seats,
published-by on versions, and seats blocked on one sailing only

A draft is the editor's document (the seat-map file format, JSONB) until it is published:
then it becomes the vessel's next ``seat_maps`` version, which never changes again.
Existing versions count as published.

Revision ID: 0013
Revises: 0010
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from prichal.adapters.db.rls import isolate_tenant_table

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seat_map_drafts',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('vessel_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('base_version', sa.Integer(), nullable=True),
    sa.Column('document', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_by', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seat_map_drafts_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['vessel_id'], ['vessels.id'], name=op.f('fk_seat_map_drafts_vessel_id_vessels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_map_drafts')),
    sa.UniqueConstraint('vessel_id', name=op.f('uq_seat_map_drafts_vessel_id'))
    )
    op.create_index(op.f('ix_seat_map_drafts_tenant_id'), 'seat_map_drafts', ['tenant_id'], unique=False)
    op.create_table('sailing_seat_blocks',
    sa.Column('sailing_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('seat_id', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('reason', sa.Text(), server_default='', nullable=False),
    sa.Column('blocked_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['sailing_id'], ['sailings.id'], name=op.f('fk_sailing_seat_blocks_sailing_id_sailings')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sailing_seat_blocks_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('sailing_id', 'seat_id', name=op.f('pk_sailing_seat_blocks'))
    )
    op.create_index(op.f('ix_sailing_seat_blocks_tenant_id'), 'sailing_seat_blocks', ['tenant_id'], unique=False)
    op.add_column('seats', sa.Column('accessible', sa.Boolean(), server_default=sa.text('false'), nullable=False))
    for column in ('x', 'y', 'width', 'height'):
        op.add_column('seat_map_sections', sa.Column(column, sa.Numeric(precision=9, scale=2), nullable=True))
    op.add_column('seat_maps', sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('seat_maps', sa.Column('published_by', sa.Text(), nullable=True))
    for table in ('seat_map_drafts', 'sailing_seat_blocks'):
        for statement in isolate_tenant_table(table):
            op.execute(statement)


def downgrade() -> None:
    op.drop_column('seat_maps', 'published_by')
    op.drop_column('seat_maps', 'published_at')
    for column in ('height', 'width', 'y', 'x'):
        op.drop_column('seat_map_sections', column)
    op.drop_column('seats', 'accessible')
    op.drop_index(op.f('ix_sailing_seat_blocks_tenant_id'), table_name='sailing_seat_blocks')
    op.drop_table('sailing_seat_blocks')
    op.drop_index(op.f('ix_seat_map_drafts_tenant_id'), table_name='seat_map_drafts')
    op.drop_table('seat_map_drafts')
