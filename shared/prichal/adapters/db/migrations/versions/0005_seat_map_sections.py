"""Seat map sections: the names buyers read for the section codes in seat ids

Sections that seat maps already use get their code as name, so labels never go blank.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
import sqlalchemy as sa
from alembic import op

from prichal.adapters.db.rls import isolate_tenant_table

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seat_map_sections',
    sa.Column('seat_map_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['seat_map_id'], ['seat_maps.id'], name=op.f('fk_seat_map_sections_seat_map_id_seat_maps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seat_map_sections_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('seat_map_id', 'code', name=op.f('pk_seat_map_sections'))
    )
    op.create_index(op.f('ix_seat_map_sections_tenant_id'), 'seat_map_sections', ['tenant_id'], unique=False)
    op.execute("INSERT INTO seat_map_sections (seat_map_id, code, tenant_id, name) "
               "SELECT DISTINCT seat_map_id, section, tenant_id, section FROM seats")
    for statement in isolate_tenant_table("seat_map_sections"):
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f('ix_seat_map_sections_tenant_id'), table_name='seat_map_sections')
    op.drop_table('seat_map_sections')
