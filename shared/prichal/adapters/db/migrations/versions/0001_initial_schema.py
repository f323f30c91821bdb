"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('tenants',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('slug', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('brand', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('legal', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('vat_included', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('tax_system_code', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('refund_policy', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text('\'{"cutoff_hours": 24, "fee_percent": "0"}\'::jsonb'), nullable=False),
    sa.Column('payment_provider', sa.Text(), server_default=sa.text("'mock'"), nullable=False),
    sa.Column('timezone', sa.Text(), server_default=sa.text("'Europe/Moscow'"), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenants')),
    sa.UniqueConstraint('slug', name=op.f('uq_tenants_slug'))
    )
    op.create_table('piers',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('address', sa.Text(), server_default='', nullable=False),
    sa.Column('latitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('longitude', sa.Numeric(precision=9, scale=6), nullable=True),
    sa.Column('supplier', sa.Text(), nullable=True),
    sa.Column('supplier_ref', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_piers_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_piers'))
    )
    op.create_index(op.f('ix_piers_tenant_id'), 'piers', ['tenant_id'], unique=False)
    op.create_table('programs',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), server_default='', nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('supplier', sa.Text(), nullable=True),
    sa.Column('supplier_ref', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_programs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programs'))
    )
    op.create_index(op.f('ix_programs_tenant_id'), 'programs', ['tenant_id'], unique=False)
    op.create_table('tenant_domains',
    sa.Column('host', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.CheckConstraint('host = lower(host)', name=op.f('ck_tenant_domains_host_lowercase')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_domains_tenant_id_tenants'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('host', name=op.f('pk_tenant_domains'))
    )
    op.create_table('tenant_vat_periods',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('rate', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tenant_vat_periods_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant_vat_periods')),
    sa.UniqueConstraint('tenant_id', 'valid_from', name='uq_tenant_vat_periods_from')
    )
    op.create_index(op.f('ix_tenant_vat_periods_tenant_id'), 'tenant_vat_periods', ['tenant_id'], unique=False)
    op.create_table('vessels',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('supplier', sa.Text(), nullable=True),
    sa.Column('supplier_ref', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_vessels_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vessels'))
    )
    op.create_index(op.f('ix_vessels_tenant_id'), 'vessels', ['tenant_id'], unique=False)
    op.create_table('seat_maps',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('vessel_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seat_maps_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['vessel_id'], ['vessels.id'], name=op.f('fk_seat_maps_vessel_id_vessels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_seat_maps')),
    sa.UniqueConstraint('vessel_id', 'version', name='uq_seat_maps_vessel_version')
    )
    op.create_index(op.f('ix_seat_maps_tenant_id'), 'seat_maps', ['tenant_id'], unique=False)
    op.create_table('tariffs',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('program_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('ticket_type', sa.Text(), nullable=False),
    sa.Column('seat_category', sa.Text(), nullable=True),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=False),
    sa.Column('vat_rate', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.CheckConstraint('price >= 0', name=op.f('ck_tariffs_price_positive')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_tariffs_program_id_programs')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tariffs_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tariffs')),
    sa.UniqueConstraint('program_id', 'ticket_type', 'seat_category', name='uq_tariffs_kind', postgresql_nulls_not_distinct=True)
    )
    op.create_index(op.f('ix_tariffs_tenant_id'), 'tariffs', ['tenant_id'], unique=False)
    op.create_table('sailings',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('program_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('pier_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('vessel_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('seat_map_id', sa.UUID(as_uuid=False), nullable=True),
    sa.Column('departs_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('seating', sa.Text(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), server_default='scheduled', nullable=False),
    sa.Column('supplier', sa.Text(), nullable=True),
    sa.Column('supplier_ref', sa.Text(), nullable=True),
    sa.Column('places_sold', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('places_held', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("seating = 'free' OR seat_map_id IS NOT NULL", name=op.f('ck_sailings_assigned_has_map')),
    sa.CheckConstraint("seating IN ('assigned', 'free')", name=op.f('ck_sailings_seating_kind')),
    sa.CheckConstraint("status IN ('scheduled', 'cancelled', 'completed')", name=op.f('ck_sailings_status_kind')),
    sa.CheckConstraint('capacity >= 0 AND places_sold >= 0 AND places_held >= 0', name=op.f('ck_sailings_counts_positive')),
    sa.CheckConstraint('places_sold + places_held <= capacity', name=op.f('ck_sailings_within_capacity')),
    sa.ForeignKeyConstraint(['pier_id'], ['piers.id'], name=op.f('fk_sailings_pier_id_piers')),
    sa.ForeignKeyConstraint(['program_id'], ['programs.id'], name=op.f('fk_sailings_program_id_programs')),
    sa.ForeignKeyConstraint(['seat_map_id'], ['seat_maps.id'], name=op.f('fk_sailings_seat_map_id_seat_maps')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_sailings_tenant_id_tenants')),
    sa.ForeignKeyConstraint(['vessel_id'], ['vessels.id'], name=op.f('fk_sailings_vessel_id_vessels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sailings')),
    sa.UniqueConstraint('tenant_id', 'supplier', 'supplier_ref', name='uq_sailings_supplier_ref')
    )
    op.create_index('ix_sailings_tenant_departs', 'sailings', ['tenant_id', 'departs_at'], unique=False)
    op.create_index(op.f('ix_sailings_tenant_id'), 'sailings', ['tenant_id'], unique=False)
    op.create_table('seat_categories',
    sa.Column('seat_map_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('color', sa.Text(), server_default='#888888', nullable=False),
    sa.ForeignKeyConstraint(['seat_map_id'], ['seat_maps.id'], name=op.f('fk_seat_categories_seat_map_id_seat_maps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seat_categories_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('seat_map_id', 'code', name=op.f('pk_seat_categories'))
    )
    op.create_index(op.f('ix_seat_categories_tenant_id'), 'seat_categories', ['tenant_id'], unique=False)
    op.create_table('seat_holds',
    sa.Column('token', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('sailing_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('client_id', sa.Text(), nullable=False),
    sa.Column('seat_ids', postgresql.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('status', sa.Text(), server_default='active', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('active', 'released', 'expired', 'ordered')", name=op.f('ck_seat_holds_status_kind')),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_seat_holds_quantity_positive')),
    sa.ForeignKeyConstraint(['sailing_id'], ['sailings.id'], name=op.f('fk_seat_holds_sailing_id_sailings')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seat_holds_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_seat_holds'))
    )
    op.create_index('ix_seat_holds_active_expiry', 'seat_holds', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'active'"))
    op.create_index('ix_seat_holds_sailing', 'seat_holds', ['sailing_id'], unique=False)
    op.create_index(op.f('ix_seat_holds_tenant_id'), 'seat_holds', ['tenant_id'], unique=False)
    op.create_table('seats',
    sa.Column('seat_map_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('code', sa.Text(), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('section', sa.Text(), nullable=False),
    sa.Column('row_label', sa.Text(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('x', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('y', sa.Numeric(precision=8, scale=2), nullable=False),
    sa.Column('category', sa.Text(), nullable=False),
    sa.Column('blocked', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.ForeignKeyConstraint(['seat_map_id', 'category'], ['seat_categories.seat_map_id', 'seat_categories.code'], name='fk_seats_category'),
    sa.ForeignKeyConstraint(['seat_map_id'], ['seat_maps.id'], name=op.f('fk_seats_seat_map_id_seat_maps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_seats_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('seat_map_id', 'code', name=op.f('pk_seats'))
    )
    op.create_index(op.f('ix_seats_tenant_id'), 'seats', ['tenant_id'], unique=False)
    op.create_table('tickets',
    sa.Column('id', sa.UUID(as_uuid=False), server_default=sa.text('gen_random_uuid()'), nullable=False),
    sa.Column('tenant_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('sailing_id', sa.UUID(as_uuid=False), nullable=False),
    sa.Column('seat_id', sa.Text(), nullable=True),
    sa.Column('hold_token', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('reserved', 'sold', 'cancelled', 'refunded')", name=op.f('ck_tickets_status_kind')),
    sa.ForeignKeyConstraint(['sailing_id'], ['sailings.id'], name=op.f('fk_tickets_sailing_id_sailings')),
    sa.ForeignKeyConstraint(['tenant_id'], ['tenants.id'], name=op.f('fk_tickets_tenant_id_tenants')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    op.create_index(op.f('ix_tickets_tenant_id'), 'tickets', ['tenant_id'], unique=False)
    op.create_index('uq_tickets_live_seat', 'tickets', ['sailing_id', 'seat_id'], unique=True, postgresql_where=sa.text("seat_id IS NOT NULL AND status IN ('reserved', 'sold')"))



def downgrade() -> None:

    op.drop_index('uq_tickets_live_seat', table_name='tickets', postgresql_where=sa.text("seat_id IS NOT NULL AND status IN ('reserved', 'sold')"))
    op.drop_index(op.f('ix_tickets_tenant_id'), table_name='tickets')
    op.drop_table('tickets')
    op.drop_index(op.f('ix_seats_tenant_id'), table_name='seats')
    op.drop_table('seats')
    op.drop_index(op.f('ix_seat_holds_tenant_id'), table_name='seat_holds')
    op.drop_index('ix_seat_holds_sailing', table_name='seat_holds')
    op.drop_index('ix_seat_holds_active_expiry', table_name='seat_holds', postgresql_where=sa.text("status = 'active'"))
    op.drop_table('seat_holds')
    op.drop_index(op.f('ix_seat_categories_tenant_id'), table_name='seat_categories')
    op.drop_table('seat_categories')
    op.drop_index(op.f('ix_sailings_tenant_id'), table_name='sailings')
    op.drop_index('ix_sailings_tenant_departs', table_name='sailings')
    op.drop_table('sailings')
    op.drop_index(op.f('ix_tariffs_tenant_id'), table_name='tariffs')
    op.drop_table('tariffs')
    op.drop_index(op.f('ix_seat_maps_tenant_id'), table_name='seat_maps')
    op.drop_table('seat_maps')
    op.drop_index(op.f('ix_vessels_tenant_id'), table_name='vessels')
    op.drop_table('vessels')
    op.drop_index(op.f('ix_tenant_vat_periods_tenant_id'), table_name='tenant_vat_periods')
    op.drop_table('tenant_vat_periods')
    op.drop_table('tenant_domains')
    op.drop_index(op.f('ix_programs_tenant_id'), table_name='programs')
    op.drop_table('programs')
    op.drop_index(op.f('ix_piers_tenant_id'), table_name='piers')
    op.drop_table('piers')
    op.drop_table('tenants')

