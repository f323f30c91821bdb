"""The PostgreSQL schema as SQLAlchemy Core tables (migrations live in ``migrations/``).

Every table but ``tenants`` and ``tenant_domains`` carries ``tenant_id`` and is guarded
by a row-level-security policy on the ``app.tenant_id`` setting (see the initial
migration): a session that has not chosen a tenant sees nothing.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


def _id() -> Column:
    return Column("id", UUID(as_uuid=False), primary_key=True, server_default=text("gen_random_uuid()"))


def _tenant() -> Column:
    return Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), nullable=False, index=True)


def _created() -> Column:
    return Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now())


tenants = Table(
    "tenants",
    metadata,
    _id(),
    Column("slug", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    # brand: display name, colours, logo URL, email sender — free-form for storefronts
    Column("brand", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    # legal requisites for documents: name, inn, kpp, ogrn, address, bank, bic, accounts
    Column("legal", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("vat_included", Boolean, nullable=False, server_default=text("true")),
    # 54-FZ tax system code (1 = general); sellers on simplified tax use 2 or 3
    Column("tax_system_code", Integer, nullable=False, server_default=text("1")),
    Column("refund_policy", JSONB, nullable=False,
           server_default=text("""'{"cutoff_hours": 24, "fee_percent": "0"}'::jsonb""")),
    # "mock" (sandbox mode only) or "yookassa"; NULL until chosen: such a tenant cannot sell
    Column("payment_provider", Text, nullable=True),
    # provider account: {"shop_id": ..., "secret_name": ..., "api_url"?: ...}; the secret
    # key itself never lives in the database (see prichal.adapters.payments.registry)
    Column("payment_settings", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("timezone", Text, nullable=False, server_default=text("'Europe/Moscow'")),
    # where scheduled finance reports are e-mailed as links (NULL: stored, not sent)
    Column("finance_email", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # false until the tenant's readiness list is empty and an admin opens sales (services/tenant_onboarding.py)
    Column("sales_open", Boolean, nullable=False, server_default=text("true")),
    # signs the storefront's client ids (domain/client_ids.py); random per tenant, never in an API
    Column("storefront_key", Text, nullable=False,
           server_default=text("encode(sha256((gen_random_uuid()::text || gen_random_uuid()::text)::bytea), 'hex')")),
    _created(),
)

tenant_domains = Table(
    "tenant_domains",
    metadata,
    Column("host", Text, primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    CheckConstraint("host = lower(host)", name="host_lowercase"),
)

tenant_vat_periods = Table(
    "tenant_vat_periods",
    metadata,
    _id(),
    _tenant(),
    Column("valid_from", Date, nullable=False),
    Column("rate", Text, nullable=False),
    UniqueConstraint("tenant_id", "valid_from", name="uq_tenant_vat_periods_from"),
)

piers = Table(
    "piers",
    metadata,
    _id(),
    _tenant(),
    Column("name", Text, nullable=False),
    Column("address", Text, nullable=False, server_default=""),
    Column("latitude", Numeric(9, 6)),
    Column("longitude", Numeric(9, 6)),
    Column("supplier", Text),
    Column("supplier_ref", Text),
)

vessels = Table(
    "vessels",
    metadata,
    _id(),
    _tenant(),
    Column("name", Text, nullable=False),
    Column("supplier", Text),
    Column("supplier_ref", Text),
    Column("capacity", Integer),  # free seating's places; assigned seating counts the seat map
    # the seat map a new sailing of this vessel uses unless it names one
    Column("seat_map_id", UUID(as_uuid=False), ForeignKey("seat_maps.id", use_alter=True)),
    CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_positive"),
)

seat_maps = Table(
    "seat_maps",
    metadata,
    _id(),
    _tenant(),
    Column("vessel_id", UUID(as_uuid=False), ForeignKey("vessels.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("name", Text, nullable=False),
    _created(),
    Column("published_at", DateTime(timezone=True)),  # NULL: published before the editor existed
    Column("published_by", Text),
    UniqueConstraint("vessel_id", "version", name="uq_seat_maps_vessel_version"),
)

# The one draft of a vessel's seat map: the editor's document (the seat-map file format)
# until it is published as the vessel's next version.
seat_map_drafts = Table(
    "seat_map_drafts",
    metadata,
    _id(),
    _tenant(),
    Column("vessel_id", UUID(as_uuid=False), ForeignKey("vessels.id"), nullable=False, unique=True),
    Column("base_version", Integer),  # the version it was opened from; NULL: drawn from nothing
    Column("document", JSONB, nullable=False),
    Column("revision", Integer, nullable=False, server_default=text("1")),  # +1 on every edit
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_by", Text, nullable=False),
)

seat_map_sections = Table(
    "seat_map_sections",
    metadata,
    Column("seat_map_id", UUID(as_uuid=False), ForeignKey("seat_maps.id", ondelete="CASCADE"), primary_key=True),
    Column("code", Text, primary_key=True),  # as in seats.section and the seat ids
    _tenant(),
    Column("name", Text, nullable=False),  # what buyers read: "Главная палуба"
    # the section's outline on the drawing; NULL: none drawn (maps from before the editor)
    Column("x", Numeric(9, 2)),
    Column("y", Numeric(9, 2)),
    Column("width", Numeric(9, 2)),
    Column("height", Numeric(9, 2)),
)

seat_categories = Table(
    "seat_categories",
    metadata,
    Column("seat_map_id", UUID(as_uuid=False), ForeignKey("seat_maps.id", ondelete="CASCADE"), primary_key=True),
    Column("code", Text, primary_key=True),
    _tenant(),
    Column("name", Text, nullable=False),
    Column("color", Text, nullable=False, server_default="#888888"),
)

seats = Table(
    "seats",
    metadata,
    Column("seat_map_id", UUID(as_uuid=False), ForeignKey("seat_maps.id", ondelete="CASCADE"), primary_key=True),
    Column("code", Text, primary_key=True),
    _tenant(),
    Column("section", Text, nullable=False),
    Column("row_label", Text, nullable=False),
    Column("number", Integer, nullable=False),
    Column("x", Numeric(8, 2), nullable=False),
    Column("y", Numeric(8, 2), nullable=False),
    Column("category", Text, nullable=False),
    Column("blocked", Boolean, nullable=False, server_default=text("false")),
    Column("accessible", Boolean, nullable=False, server_default=text("false")),
    ForeignKeyConstraint(["seat_map_id", "category"], ["seat_categories.seat_map_id", "seat_categories.code"],
                         name="fk_seats_category"),
)

programs = Table(
    "programs",
    metadata,
    _id(),
    _tenant(),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("duration_minutes", Integer, nullable=False),
    Column("supplier", Text),
    Column("supplier_ref", Text),
    Column("images", JSONB, nullable=False, server_default=text("'[]'::jsonb")),  # URLs, in display order
)

sailings = Table(
    "sailings",
    metadata,
    _id(),
    _tenant(),
    Column("program_id", UUID(as_uuid=False), ForeignKey("programs.id"), nullable=False),
    Column("pier_id", UUID(as_uuid=False), ForeignKey("piers.id"), nullable=False),
    Column("vessel_id", UUID(as_uuid=False), ForeignKey("vessels.id"), nullable=False),
    Column("seat_map_id", UUID(as_uuid=False), ForeignKey("seat_maps.id")),
    Column("departs_at", DateTime(timezone=True), nullable=False),
    Column("duration_minutes", Integer, nullable=False),
    Column("seating", Text, nullable=False),
    Column("capacity", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="scheduled"),
    Column("supplier", Text),
    Column("supplier_ref", Text),
    # Free seating: the database guarantee that sold + held never exceeds capacity.
    Column("places_sold", Integer, nullable=False, server_default=text("0")),
    Column("places_held", Integer, nullable=False, server_default=text("0")),
    # NULL: on sale at once / until the boarding rule (domain/catalog.py) closes it
    Column("sales_open_at", DateTime(timezone=True)),
    Column("sales_close_at", DateTime(timezone=True)),
    _created(),
    CheckConstraint("seating IN ('assigned', 'free')", name="seating_kind"),
    CheckConstraint("status IN ('scheduled', 'cancelled', 'completed')", name="status_kind"),
    CheckConstraint("seating = 'free' OR seat_map_id IS NOT NULL", name="assigned_has_map"),
    CheckConstraint("capacity >= 0 AND places_sold >= 0 AND places_held >= 0", name="counts_positive"),
    CheckConstraint("places_sold + places_held <= capacity", name="within_capacity"),
    UniqueConstraint("tenant_id", "supplier", "supplier_ref", name="uq_sailings_supplier_ref"),
    Index("ix_sailings_tenant_departs", "tenant_id", "departs_at"),
)

tariffs = Table(
    "tariffs",
    metadata,
    _id(),
    _tenant(),
    Column("program_id", UUID(as_uuid=False), ForeignKey("programs.id"), nullable=False),
    Column("ticket_type", Text, nullable=False),  # adult | child | concession | ...
    Column("seat_category", Text),  # NULL: any seat / free seating
    Column("name", Text, nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("vat_rate", Text),  # NULL: the tenant's rate on the day of sale
    Column("active", Boolean, nullable=False, server_default=text("true")),
    # days of departure the tariff applies to, both inclusive; NULL: open-ended
    Column("valid_from", Date),
    Column("valid_until", Date),
    CheckConstraint("price >= 0", name="price_positive"),
    CheckConstraint("valid_from IS NULL OR valid_until IS NULL OR valid_from <= valid_until", name="valid_period"),
    UniqueConstraint("program_id", "ticket_type", "seat_category", "valid_from", name="uq_tariffs_kind",
                     postgresql_nulls_not_distinct=True),
)

# Seats out of sale on one sailing only (crew seats, a broken seat), without a new version.
sailing_seat_blocks = Table(
    "sailing_seat_blocks",
    metadata,
    Column("sailing_id", UUID(as_uuid=False), ForeignKey("sailings.id"), primary_key=True),
    Column("seat_id", Text, primary_key=True),
    _tenant(),
    Column("reason", Text, nullable=False, server_default=""),
    Column("blocked_by", Text, nullable=False),
    _created(),
)

seat_holds = Table(
    "seat_holds",
    metadata,
    Column("token", Text, primary_key=True),
    _tenant(),
    Column("sailing_id", UUID(as_uuid=False), ForeignKey("sailings.id"), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("seat_ids", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("quantity", Integer, nullable=False),
    Column("status", Text, nullable=False, server_default="active"),
    _created(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('active', 'released', 'expired', 'ordered')", name="status_kind"),
    CheckConstraint("quantity > 0", name="quantity_positive"),
    Index("ix_seat_holds_active_expiry", "expires_at", postgresql_where=text("status = 'active'")),
    Index("ix_seat_holds_sailing", "sailing_id"),
)

tickets = Table(
    "tickets",
    metadata,
    _id(),
    _tenant(),
    Column("sailing_id", UUID(as_uuid=False), ForeignKey("sailings.id"), nullable=False),
    Column("seat_id", Text),  # NULL on free seating
    Column("hold_token", Text),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id")),
    Column("tariff_id", UUID(as_uuid=False), ForeignKey("tariffs.id")),
    Column("status", Text, nullable=False),
    _created(),
    Column("boarded_at", DateTime(timezone=True)),  # scanned at the gangway: never refunded by self-service
    CheckConstraint("status IN ('reserved', 'sold', 'cancelled', 'refunded')", name="status_kind"),
    # The final guarantee against double sales: one live ticket per seat of a sailing.
    Index("uq_tickets_live_seat", "sailing_id", "seat_id", unique=True,
          postgresql_where=text("seat_id IS NOT NULL AND status IN ('reserved', 'sold')")),
    Index("ix_tickets_sailing", "sailing_id", "status", postgresql_include=["boarded_at"]),  # boarding (0019)
)

orders = Table(
    "orders",
    metadata,
    _id(),
    _tenant(),
    Column("number", Integer, nullable=False),  # consecutive per tenant
    Column("status", Text, nullable=False),
    Column("sailing_id", UUID(as_uuid=False), ForeignKey("sailings.id"), nullable=False),
    Column("hold_token", Text, ForeignKey("seat_holds.token"), nullable=False),
    Column("client_id", Text, nullable=False),
    Column("customer_name", Text, nullable=False),
    Column("customer_email", Text),
    Column("customer_phone", Text),
    Column("total", Numeric(12, 2), nullable=False),
    Column("vat_total", Numeric(12, 2), nullable=False),
    Column("currency", Text, nullable=False, server_default="RUB"),
    Column("access_token_hash", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("request_hash", Text),
    Column("return_url", Text),
    _created(),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("paid_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    # set when a person must look (e.g. paid after expiry and the seats were resold)
    Column("needs_attention", Text),
    # what refunds of this order's tickets gave back; the CHECK is the guarantee against over-refunds
    Column("refunded_total", Numeric(12, 2), nullable=False, server_default=text("0")),
    CheckConstraint("status IN ('awaiting_payment', 'paid', 'expired', 'cancelled', 'partially_refunded', "
                    "'refunded')", name="status_kind"),
    CheckConstraint("refunded_total >= 0 AND refunded_total <= total", name="refund_within_total"),
    CheckConstraint("customer_email IS NOT NULL OR customer_phone IS NOT NULL", name="has_contact"),
    UniqueConstraint("tenant_id", "number", name="uq_orders_number"),
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_orders_idempotency_key"),
    Index("ix_orders_awaiting_expiry", "expires_at", postgresql_where=text("status = 'awaiting_payment'")),
    Index("ix_orders_sailing", "sailing_id", "status"),  # a sailing's cancellation, supplier push (0017)
)

order_numbers = Table(
    "order_numbers",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), primary_key=True),
    Column("last_number", Integer, nullable=False),
)

order_items = Table(
    "order_items",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("ticket_id", UUID(as_uuid=False), ForeignKey("tickets.id"), nullable=False),
    Column("position", Integer, nullable=False),
    Column("seat_id", Text),
    Column("tariff_id", UUID(as_uuid=False), ForeignKey("tariffs.id"), nullable=False),
    Column("ticket_type", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("price", Numeric(12, 2), nullable=False),
    Column("vat_rate", Text, nullable=False),
    Column("vat_amount", Numeric(12, 2), nullable=False),
)

payments = Table(
    "payments",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("provider", Text, nullable=False),
    # the provider account the payment was made with, by reference (never the secret key):
    # every later call for this payment uses it, whatever the tenant switched to since
    Column("shop_id", Text),
    Column("secret_name", Text),
    Column("api_url", Text),
    Column("provider_payment_id", Text),
    Column("status", Text, nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("currency", Text, nullable=False, server_default="RUB"),
    # stored before the first call and reused on every retry (never minted twice)
    Column("idempotence_key", Text, nullable=False),
    Column("confirmation_url", Text),
    Column("cancellation_reason", Text),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('pending', 'waiting_for_capture', 'succeeded', 'canceled')", name="status_kind"),
    UniqueConstraint("provider", "provider_payment_id", name="uq_payments_provider_id"),
)

refunds = Table(
    "refunds",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("payment_id", UUID(as_uuid=False), ForeignKey("payments.id"), nullable=False),
    Column("provider_refund_id", Text),
    Column("status", Text, nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("reason", Text, nullable=False),
    Column("idempotence_key", Text, nullable=False),  # the provider's: stored first, reused on every retry
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # buyer | agent | sailing_canceled | late-payment | payment-mismatch | system
    Column("kind", Text, nullable=False, server_default="system"),
    Column("actor", Text, nullable=False, server_default="system"),  # buyer | agent:<user id> | system
    Column("idempotency_key", Text),  # the caller's Idempotency-Key
    Column("request_hash", Text),
    Column("decision", JSONB, nullable=False, server_default=text("'{}'::jsonb")),  # why this amount
    Column("receipt", JSONB),  # the 54-FZ refund receipt sent with it
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Column("email_sent_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('requested', 'pending', 'succeeded', 'canceled', 'failed')", name="status_kind"),
    CheckConstraint("amount > 0", name="amount_positive"),
    UniqueConstraint("tenant_id", "idempotency_key", name="uq_refunds_idempotency_key"),
    Index("uq_refunds_sailing_canceled", "order_id", unique=True, postgresql_where=text("kind = 'sailing_canceled'")),
    Index("ix_refunds_unsettled", "created_at", postgresql_where=text("status IN ('requested', 'pending')")),
)

# One row per refunded ticket; a ticket is refunded once (the unique ticket id).
refund_items = Table(
    "refund_items",
    metadata,
    _id(),
    _tenant(),
    Column("refund_id", UUID(as_uuid=False), ForeignKey("refunds.id"), nullable=False, index=True),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("ticket_id", UUID(as_uuid=False), ForeignKey("tickets.id"), nullable=False, unique=True),
    Column("price", Numeric(12, 2), nullable=False),
    Column("fee", Numeric(12, 2), nullable=False),
    Column("amount", Numeric(12, 2), nullable=False),
    Column("basis", JSONB, nullable=False, server_default=text("'{}'::jsonb")),  # the policy's reason
    _created(),
    CheckConstraint("amount >= 0 AND fee >= 0 AND amount + fee = price", name="sums"),
)

# A sailing canceled by the seller: one row per sailing, the progress of its refunds.
sailing_cancellations = Table(
    "sailing_cancellations",
    metadata,
    _id(),
    _tenant(),
    Column("sailing_id", UUID(as_uuid=False), ForeignKey("sailings.id"), nullable=False, unique=True),
    Column("reason", Text, nullable=False),
    Column("canceled_by", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="running"),
    Column("total", Integer, nullable=False, server_default=text("0")),
    Column("refunded", Integer, nullable=False, server_default=text("0")),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('running', 'done')", name="status_kind"),
)

payment_notifications = Table(
    "payment_notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _tenant(),
    Column("provider", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("object_id", Text, nullable=False),
    Column("source_address", Text),
    Column("body", JSONB, nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("processed_at", DateTime(timezone=True)),
    Column("outcome", Text),
)

order_log = Table(
    "order_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), index=True),
    Column("entity", Text, nullable=False),  # order | payment | seat | hold | refund
    Column("entity_id", Text, nullable=False),
    Column("action", Text, nullable=False),  # dotted, e.g. order.paid
    Column("actor", Text, nullable=False),  # buyer | system | yookassa | mock | agent:<id>
    Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    _created(),
)

outbox = Table(
    "outbox",
    metadata,
    _id(),
    _tenant(),
    Column("type", Text, nullable=False),  # the routing key, e.g. order.paid
    Column("data", JSONB, nullable=False),
    Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),  # trace context
    Column("occurred_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Index("ix_outbox_unpublished", "occurred_at", postgresql_where=text("published_at IS NULL")),
)

processed_messages = Table(
    "processed_messages",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("message_id", Text, primary_key=True),
    _tenant(),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

documents = Table(
    "documents",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),  # ticket | invoice | act
    # tickets: the order item's position; invoice and act: 1 (one of each per order)
    Column("position", Integer, nullable=False),
    Column("ticket_id", UUID(as_uuid=False), ForeignKey("tickets.id")),
    Column("number", Integer, nullable=False),  # consecutive per tenant, kind and year
    Column("year", Integer, nullable=False),
    Column("issued_on", Date, nullable=False),  # the document's date in the tenant's time zone
    Column("s3_key", Text, nullable=False),
    Column("sha256", Text),
    Column("size", Integer),
    Column("status", Text, nullable=False, server_default="pending"),
    _created(),
    Column("stored_at", DateTime(timezone=True)),
    CheckConstraint("kind IN ('ticket', 'invoice', 'act')", name="kind_known"),
    CheckConstraint("status IN ('pending', 'stored')", name="status_kind"),
    CheckConstraint("status = 'pending' OR (sha256 IS NOT NULL AND size IS NOT NULL)", name="stored_has_digest"),
    UniqueConstraint("order_id", "kind", "position", name="uq_documents_order_kind_position"),
    UniqueConstraint("tenant_id", "kind", "year", "number", name="uq_documents_number"),
)

# The last number given out per tenant, kind and year. Taken with an upsert in the
# transaction that inserts the document row, so a rollback gives its number back and a
# committed number is never handed out again.
document_numbers = Table(
    "document_numbers",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("last_number", Integer, nullable=False),
)

# The buyer's email with the documents: one row per order, written before and after sending.
email_deliveries = Table(
    "email_deliveries",
    metadata,
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), primary_key=True),
    _tenant(),
    Column("recipient", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    # set when an attempt began: a row left "sending" past its lease was interrupted mid-send
    Column("claimed_at", DateTime(timezone=True)),
    Column("interrupted", Boolean, nullable=False, server_default=text("false")),
    _created(),
    Column("sent_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('pending', 'sending', 'sent', 'failed')", name="status_kind"),
)

# --- CRM (migration 0016) ------------------------------------------------------------------
# What agents search orders by, normalised at write time by a trigger on ``orders``. Read
# only by its owner through ``prichal_search_orders`` (see migration 0016 for why).
order_search = Table(
    "order_search",
    metadata,
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("sailing_id", UUID(as_uuid=False), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("needs_attention", Boolean, nullable=False, server_default=text("false")),
    Column("name_search", Text, nullable=False),  # prichal_search_text(customer_name)
    Column("email_search", Text),  # lower(customer_email)
    Column("phone_digits", Text),  # prichal_phone_digits(customer_phone): E.164 digits
)

# Why a person must look at an order: one open row per order and reason.
order_attention = Table(
    "order_attention",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False),
    Column("reason", Text, nullable=False),  # domain/attention.py AttentionReason
    Column("detail", Text, nullable=False, server_default=""),
    Column("follow_up_on", Date),
    Column("raised_by", Text, nullable=False),  # system | staff:<user id> | ...
    _created(),
    Column("cleared_at", DateTime(timezone=True)),
    Column("cleared_by", Text),
    Index("uq_order_attention_open", "order_id", "reason", unique=True, postgresql_where=text("cleared_at IS NULL")),
    Index("ix_order_attention_queue", "tenant_id", "created_at", postgresql_where=text("cleared_at IS NULL")),
)

order_notes = Table(
    "order_notes",
    metadata,
    _id(),
    _tenant(),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), nullable=False, index=True),
    Column("author", Text, nullable=False),  # staff user id
    Column("author_name", Text, nullable=False, server_default=""),
    Column("text", Text, nullable=False),
    _created(),
)

# Idempotency of staff actions: the first answer to a key is the answer to every retry.
crm_action_keys = Table(
    "crm_action_keys",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), primary_key=True),
    Column("key", Text, primary_key=True),
    Column("action", Text, nullable=False),
    Column("order_id", UUID(as_uuid=False), nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("result", JSONB, nullable=False),
    _created(),
)

# --- boat operators (migration 0015) ---------------------------------------------------
_U = UUID(as_uuid=False)

# A tenant's account with an operator: stub or real, URL, the secret's name (never the secret).
supplier_accounts = Table(
    "supplier_accounts",
    metadata,
    Column("tenant_id", _U, ForeignKey("tenants.id"), primary_key=True),
    Column("supplier", Text, primary_key=True),
    Column("mode", Text, nullable=False),
    Column("base_url", Text),
    Column("secret_name", Text),
    Column("email", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    _created(),
)

supplier_sync_runs = Table(
    "supplier_sync_runs",
    metadata,
    _id(),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("supplier", Text, nullable=False),
    Column("horizon", Text, nullable=False),  # near | season | reconcile
    Column("date_from", Date),
    Column("date_to", Date),
    Column("status", Text, nullable=False, server_default="running"),
    Column("started_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("finished_at", DateTime(timezone=True)),
    Column("created", Integer, nullable=False, server_default=text("0")),
    Column("updated", Integer, nullable=False, server_default=text("0")),
    Column("closed", Integer, nullable=False, server_default=text("0")),
    Column("errors", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
)

# The operator's side of one of our sailings: its booking ids and what it lets us sell.
supplier_sailings = Table(
    "supplier_sailings",
    metadata,
    Column("sailing_id", _U, ForeignKey("sailings.id"), primary_key=True),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("supplier", Text, nullable=False),
    Column("supplier_ref", Text, nullable=False),
    Column("booking", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("available", Integer),
    Column("bucket", Text),
    Column("barcode_required", Boolean, nullable=False, server_default=text("true")),
    Column("last_seen_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("closed_at", DateTime(timezone=True)),
    Column("closed_reason", Text),
)

supplier_tariffs = Table(
    "supplier_tariffs",
    metadata,
    Column("tariff_id", _U, ForeignKey("tariffs.id"), primary_key=True),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("supplier", Text, nullable=False),
    Column("booking", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
)

# The sale at the operator, one per order: written before the first call (state first).
supplier_orders = Table(
    "supplier_orders",
    metadata,
    Column("order_id", _U, ForeignKey("orders.id"), primary_key=True),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("supplier", Text, nullable=False),
    Column("sailing_id", _U, ForeignKey("sailings.id"), nullable=False),
    Column("external_id", Text, nullable=False),
    Column("supplier_order_id", Text),
    Column("status", Text, nullable=False, server_default="pending"),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
    Column("fine_amount", Numeric(12, 2)),
    _created(),
    Column("registered_at", DateTime(timezone=True)),
    Column("confirmed_at", DateTime(timezone=True)),
    Column("returned_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The operator's code for one of our tickets (printed on the e-ticket).
supplier_tickets = Table(
    "supplier_tickets",
    metadata,
    Column("ticket_id", _U, ForeignKey("tickets.id"), primary_key=True),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("order_id", _U, ForeignKey("orders.id"), nullable=False),
    Column("barcode", Text, nullable=False),
    Column("ticket_number", Text),
)

# What the daily reconciliation found: rows for finance, each also an attention flag.
supplier_mismatches = Table(
    "supplier_mismatches",
    metadata,
    _id(),
    Column("tenant_id", _U, ForeignKey("tenants.id"), nullable=False),
    Column("run_id", _U, ForeignKey("supplier_sync_runs.id")),
    Column("supplier", Text, nullable=False),
    Column("order_id", _U, ForeignKey("orders.id")),
    Column("sailing_id", _U, ForeignKey("sailings.id")),
    Column("ours", Text, nullable=False),
    Column("theirs", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("found_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# --- staff of the back offices (migration 0010; prichal.domain.staff) -------------------
# A tenant's staff users: the e-mail is stored normalised (trimmed, lower-case); the password
# only as an argon2 hash. ``failed_logins``/``locked_until``: the lockout after failed logins.
staff_users = Table(
    "staff_users",
    metadata,
    _id(),
    _tenant(),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("role", Text, nullable=False),
    Column("password_hash", Text),  # NULL: cannot log in (API tokens only)
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_login_at", DateTime(timezone=True)),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant_id", "email", name="uq_staff_users_email"),
    CheckConstraint("role IN ('agent', 'supervisor', 'finance', 'admin')", name="role_known"),
)

# Bearer tokens of a tenant's staff: login sessions and API tokens, stored as SHA-256 of the
# secret (which is random, 256 bits: a slow hash would add nothing). A session is valid until
# ``expires_at`` and while used within the idle timeout (``last_used_at``).
staff_tokens = Table(
    "staff_tokens",
    metadata,
    _id(),
    _tenant(),
    Column("user_id", UUID(as_uuid=False), ForeignKey("staff_users.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("scopes", ARRAY(Text), nullable=False),
    _created(),
    Column("expires_at", DateTime(timezone=True)),  # NULL: an API token that never expires
    Column("last_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("created_by", UUID(as_uuid=False)),  # staff user or platform admin; NULL: the CLI
    Column("address", Text),
    CheckConstraint("kind IN ('session', 'api')", name="kind_known"),
)

# Staff of the platform itself (not bound to a tenant): the same shape, no tenant.
platform_staff = Table(
    "platform_staff",
    metadata,
    _id(),
    Column("email", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("password_hash", Text),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("failed_logins", Integer, nullable=False, server_default=text("0")),
    Column("locked_until", DateTime(timezone=True)),
    Column("last_login_at", DateTime(timezone=True)),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

platform_tokens = Table(
    "platform_tokens",
    metadata,
    _id(),
    Column("user_id", UUID(as_uuid=False), ForeignKey("platform_staff.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),
    Column("token_hash", Text, nullable=False, unique=True),
    Column("name", Text),
    Column("scopes", ARRAY(Text), nullable=False),
    _created(),
    Column("expires_at", DateTime(timezone=True)),
    Column("last_used_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("revoked_at", DateTime(timezone=True)),
    Column("created_by", UUID(as_uuid=False)),
    Column("address", Text),
    CheckConstraint("kind IN ('session', 'api')", name="kind_known"),
)


def _audit_columns() -> list[Column]:
    return [
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("actor_type", Text, nullable=False),  # staff | platform | system
        Column("actor_id", Text),  # staff user or platform admin id; the system's name
        Column("actor_name", Text, nullable=False),
        Column("token_id", UUID(as_uuid=False)),
        Column("address", Text),
        Column("action", Text, nullable=False),  # dotted, e.g. staff.login, order.refund
        Column("target_type", Text, nullable=False),
        Column("target_id", Text),
        Column("data", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    ]


# Every staff action of a tenant, in the transaction of the change; the application role may
# only add and read rows (no UPDATE, no DELETE).
staff_audit = Table(
    "staff_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    _tenant(),
    *_audit_columns(),
    Index("ix_staff_audit_at", "tenant_id", "at"),
    Index("ix_staff_audit_target", "tenant_id", "target_type", "target_id"),
)

# Actions on the platform itself (platform admins, tenant onboarding): no tenant.
platform_audit = Table(
    "platform_audit",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    *_audit_columns(),
    Index("ix_platform_audit_at", "at"),
)

# --- support cases and their SLAs (migration 0010; prichal.domain.sla, services/cases.py) --
# Deadlines are stored as moments (computed by the domain from the tenant's policy, business
# hours included), so the queue and the flags are plain comparisons with now. ``next_due``:
# the deadline the case runs against now (first response, else resolution; NULL when none
# runs: done, or waiting for the buyer), the queue's order.
support_cases = Table(
    "support_cases",
    metadata,
    _id(),
    _tenant(),
    Column("number", BigInteger, nullable=False),
    Column("order_id", UUID(as_uuid=False), ForeignKey("orders.id"), index=True),
    Column("subject", Text, nullable=False),
    Column("channel", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False, server_default="new"),
    Column("assignee_id", UUID(as_uuid=False), ForeignKey("staff_users.id"), index=True),
    Column("buyer_name", Text),
    Column("buyer_email", Text),
    Column("buyer_phone", Text),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("first_response_due", DateTime(timezone=True), nullable=False),
    Column("first_response_risk_at", DateTime(timezone=True), nullable=False),
    Column("first_responded_at", DateTime(timezone=True)),
    Column("resolution_due", DateTime(timezone=True), nullable=False),
    Column("resolution_risk_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    Column("waiting_since", DateTime(timezone=True)),
    Column("paused_seconds", Integer, nullable=False, server_default=text("0")),  # counted time waiting
    Column("next_due", DateTime(timezone=True)),
    Column("next_risk_at", DateTime(timezone=True)),
    Column("created_by", Text),
    _created(),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("tenant_id", "number", name="uq_support_cases_number"),
    CheckConstraint("status IN ('new', 'in_progress', 'waiting_for_buyer', 'resolved', 'closed')",
                    name="status_known"),
    CheckConstraint("priority IN ('urgent', 'high', 'normal', 'low')", name="priority_known"),
    CheckConstraint("channel IN ('phone', 'email', 'chat', 'web', 'messenger', 'other')", name="channel_known"),
    Index("ix_support_cases_queue", "tenant_id", "next_due", "id"),
)

case_messages = Table(
    "case_messages",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    _tenant(),
    Column("case_id", UUID(as_uuid=False), ForeignKey("support_cases.id"), nullable=False, index=True),
    Column("kind", Text, nullable=False),  # buyer: what the buyer wrote/said; reply: to the buyer; note: internal
    Column("author_type", Text, nullable=False),  # staff | platform | system
    Column("author_id", Text),
    Column("author_name", Text, nullable=False),
    Column("body", Text, nullable=False),
    _created(),
    CheckConstraint("kind IN ('buyer', 'reply', 'note')", name="kind_known"),
)

# A tenant's SLA policy (targets per priority, business hours): prichal.domain.sla.SlaPolicy.to_data.
case_sla_policies = Table(
    "case_sla_policies",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), primary_key=True),
    Column("policy", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Per-tenant case numbers, consecutive (as order_numbers).
case_numbers = Table(
    "case_numbers",
    metadata,
    Column("tenant_id", UUID(as_uuid=False), ForeignKey("tenants.id"), primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

# One requested report (report-export): parameters, state, progress and the file it made.
report_jobs = Table(
    "report_jobs",
    metadata,
    _id(),
    _tenant(),
    Column("report", Text, nullable=False),  # the exporter's identifier, e.g. sales_register
    Column("format", Text, nullable=False),  # xlsx | csv | csv-excel
    Column("parameters", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("status", Text, nullable=False, server_default="queued"),
    Column("progress", Integer, nullable=False, server_default=text("0")),
    Column("rows", Integer, nullable=False, server_default=text("0")),
    Column("total_rows", Integer),
    Column("requested_by", Text, nullable=False),  # staff:<user id> | schedule
    # set for scheduled reports: daily:<date> | monthly:<yyyy-mm>; one job per key and tenant
    Column("schedule_key", Text),
    Column("email_to", Text),
    Column("emailed_at", DateTime(timezone=True)),
    Column("s3_key", Text),
    Column("size", BigInteger),
    Column("sha256", Text),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    _created(),
    Column("started_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status_kind"),
    CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    CheckConstraint("status <> 'done' OR (s3_key IS NOT NULL AND size IS NOT NULL AND sha256 IS NOT NULL)",
                    name="done_has_file"),
    UniqueConstraint("tenant_id", "schedule_key", name="uq_report_jobs_schedule_key"),
    Index("ix_report_jobs_active", "tenant_id", "created_at", postgresql_where=text("status IN ('queued', 'running')")),
)

# Tables whose rows belong to one tenant and are guarded by row-level security.
TENANT_TABLES = [
    t.name for t in metadata.sorted_tables if "tenant_id" in t.c and t.name not in ("tenant_domains", "order_search")
]
