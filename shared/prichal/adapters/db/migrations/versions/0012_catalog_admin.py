"""Catalog administration: what tenants and their admins now set through the admin function

- tenants.sales_open: a tenant onboarded through the admin function starts closed and opens
  only once its readiness list is empty; existing tenants keep selling (default true).
- vessels: capacity and the seat map a new sailing of the vessel uses by default.
- programs: images by URL (a JSON array of strings).
- tariffs: valid from/until (days of departure, both inclusive, NULL = open): one kind of
  tariff may have several periods, so the unique key gains valid_from (the service refuses
  overlapping periods).
- sailings: when sales open and close (NULL: at once / the boarding rule before departure).

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('tenants', sa.Column('sales_open', sa.Boolean(), nullable=False, server_default=sa.text('true')))
    op.add_column('vessels', sa.Column('capacity', sa.Integer(), nullable=True))
    op.add_column('vessels', sa.Column('seat_map_id', sa.UUID(as_uuid=False), nullable=True))
    op.create_foreign_key(op.f('fk_vessels_seat_map_id_seat_maps'), 'vessels', 'seat_maps', ['seat_map_id'], ['id'])
    op.create_check_constraint(op.f('ck_vessels_capacity_positive'), 'vessels', 'capacity IS NULL OR capacity >= 0')
    op.add_column('programs', sa.Column('images', postgresql.JSONB(astext_type=sa.Text()), nullable=False,
                                        server_default=sa.text("'[]'::jsonb")))
    op.add_column('tariffs', sa.Column('valid_from', sa.Date(), nullable=True))
    op.add_column('tariffs', sa.Column('valid_until', sa.Date(), nullable=True))
    op.create_check_constraint(op.f('ck_tariffs_valid_period'), 'tariffs',
                               'valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until')
    op.drop_constraint('uq_tariffs_kind', 'tariffs', type_='unique')
    op.create_unique_constraint('uq_tariffs_kind', 'tariffs',
                                ['program_id', 'ticket_type', 'seat_category', 'valid_from'],
                                postgresql_nulls_not_distinct=True)
    op.add_column('sailings', sa.Column('sales_open_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('sailings', sa.Column('sales_close_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('sailings', 'sales_close_at')
    op.drop_column('sailings', 'sales_open_at')
    op.drop_constraint('uq_tariffs_kind', 'tariffs', type_='unique')
    # Periods of one kind cannot all survive the old key: keep the earliest of each.
    op.execute("DELETE FROM tariffs t USING tariffs o WHERE t.program_id = o.program_id "
               "AND t.ticket_type = o.ticket_type AND t.seat_category IS NOT DISTINCT FROM o.seat_category "
               "AND coalesce(t.valid_from, '-infinity') > coalesce(o.valid_from, '-infinity') "
               "AND NOT EXISTS (SELECT 1 FROM tickets k WHERE k.tariff_id = t.id) "
               "AND NOT EXISTS (SELECT 1 FROM order_items i WHERE i.tariff_id = t.id)")
    op.create_unique_constraint('uq_tariffs_kind', 'tariffs', ['program_id', 'ticket_type', 'seat_category'],
                                postgresql_nulls_not_distinct=True)
    op.drop_constraint(op.f('ck_tariffs_valid_period'), 'tariffs', type_='check')
    op.drop_column('tariffs', 'valid_until')
    op.drop_column('tariffs', 'valid_from')
    op.drop_column('programs', 'images')
    op.drop_constraint(op.f('ck_vessels_capacity_positive'), 'vessels', type_='check')
    op.drop_constraint(op.f('fk_vessels_seat_map_id_seat_maps'), 'vessels', type_='foreignkey')
    op.drop_column('vessels', 'seat_map_id')
    op.drop_column('vessels', 'capacity')
    op.drop_column('tenants', 'sales_open')
