"""The sandbox's own tables, in its own PostgreSQL schema ``sandbox``.

The core's migrations do not know them: the sandbox creates them itself, idempotently, on
first use (``ensure_schema``), under an advisory lock so that several processes starting
at once do not race on ``CREATE``. The login of ``DATABASE_URL`` needs the ``CREATE``
privilege on the database for that (the owner of the database has it). Adding a table
later is one more ``Table`` here (``create_all`` creates what is missing); changing one
needs a migration of its own.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    DateTime,
    Identity,
    Index,
    MetaData,
    SmallInteger,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

SCHEMA = "sandbox"
_LOCK = "prichal_sandbox.schema"  # hashed into the advisory lock's key

metadata = MetaData(schema=SCHEMA)

# One payment with its receipt, capture mode and refunds, as one JSON record (the service's shape).
payments = Table(
    "payments", metadata,
    Column("id", Text, primary_key=True),
    Column("shop_id", Text, nullable=False),
    Column("record", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

# Which payment a refund belongs to (the refunds themselves live in the payment's record).
refunds = Table(
    "refunds", metadata,
    Column("id", Text, primary_key=True),
    Column("payment_id", Text, nullable=False),
)

# Every notification sent about a payment, in order.
notifications = Table(
    "notifications", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("payment_id", Text, nullable=False),
    Column("entry", JSONB, nullable=False),
    Index("ix_sandbox_notifications_payment", "payment_id", "id"),
)

# Idempotence keys per shop: a claim while the request runs, then its answer (24 h, as at YooKassa).
idempotence_keys = Table(
    "idempotence_keys", metadata,
    Column("shop_id", Text, primary_key=True),
    Column("key", Text, primary_key=True),
    Column("fingerprint", Text, nullable=False),
    Column("state", Text, nullable=False),  # processing | done
    Column("status", SmallInteger),
    Column("body", JSONB),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)


def ensure_schema(conn: Connection) -> None:
    """Create the schema and any missing table; a no-op when they exist. Commit is the caller's."""
    conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:lock))"), {"lock": _LOCK})
    conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    metadata.create_all(conn, checkfirst=True)
