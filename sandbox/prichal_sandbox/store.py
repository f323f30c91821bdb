"""Storage of the sandbox payment provider (``mock-payments``).

Payments, refunds, the notifications sent and idempotence keys are kept in PostgreSQL, in
the sandbox's own schema (``schema.py``): a demo's or a test's orders can still be paid after
Redis is flushed or restarted. Records are JSON documents; a payment's changes go through
``update_payment``, one transaction holding the row lock, so the buyer's page, the API and the
test controls never lose each other's writes. Idempotence keys expire after 24 hours, as at
YooKassa; a claim whose request died half-way lapses after ``CLAIM_TTL``.

The test controls (queued faults, the log of API calls) stay in Redis under
``<redis_prefix>sandbox:`` for a week: they belong to a running test, and losing them loses
nothing a buyer or a shop relies on.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import redis
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from prichal_sandbox.schema import ensure_schema, idempotence_keys, notifications, payments, refunds

Record = dict[str, Any]
TTL = timedelta(days=7)  # of the test controls in Redis
IDEMPOTENCE_TTL = timedelta(hours=24)
# How long a claimed idempotence key may stay "processing" if its request dies half-way.
CLAIM_TTL = timedelta(seconds=30)
REQUEST_LOG_LIMIT = 1000


class SandboxStore:
    def __init__(self, engine: Engine, client: redis.Redis, prefix: str) -> None:
        self._engine = engine
        self._redis = client
        self._prefix = f"{prefix}sandbox:"
        self._ready = False
        self._lock = threading.Lock()

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    @contextmanager
    def _begin(self) -> Iterator[Connection]:
        """A transaction; the first one of this process creates the schema if it is missing."""
        if not self._ready:
            with self._lock:
                if not self._ready:
                    with self._engine.begin() as conn:
                        ensure_schema(conn)
                    self._ready = True
        with self._engine.begin() as conn:
            yield conn

    # --- payments and refunds ----------------------------------------------------------------
    def add_payment(self, payment_id: str, record: Record) -> None:
        with self._begin() as conn:
            conn.execute(insert(payments).values(id=payment_id, shop_id=record["shop_id"], record=record))

    def payment(self, payment_id: str) -> Record | None:
        with self._begin() as conn:
            return conn.execute(select(payments.c.record).where(payments.c.id == payment_id)).scalar()

    def update_payment(self, payment_id: str, change: Callable[[Record], Record]) -> Record | None:
        """Apply ``change`` to the stored record atomically (under the row's lock); ``None``
        when there is no such payment. Exceptions from ``change`` abort the update."""
        with self._begin() as conn:
            current = conn.execute(select(payments.c.record).where(payments.c.id == payment_id)
                                   .with_for_update()).scalar()
            if current is None:
                return None
            record = change(current)
            conn.execute(update(payments).where(payments.c.id == payment_id)
                         .values(record=record, updated_at=func.now()))
            return record

    def index_refund(self, refund_id: str, payment_id: str) -> None:
        """Refunds live inside their payment's record; this finds the payment of a refund."""
        with self._begin() as conn:
            conn.execute(pg_insert(refunds).values(id=refund_id, payment_id=payment_id).on_conflict_do_nothing())

    def payment_of_refund(self, refund_id: str) -> str | None:
        with self._begin() as conn:
            return conn.execute(select(refunds.c.payment_id).where(refunds.c.id == refund_id)).scalar()

    # --- notifications sent about a payment (and its refunds) --------------------------------
    def log_notification(self, payment_id: str, entry: Record) -> None:
        with self._begin() as conn:
            conn.execute(insert(notifications).values(payment_id=payment_id, entry=entry))

    def notifications(self, payment_id: str) -> list[Record]:
        with self._begin() as conn:
            return list(conn.execute(select(notifications.c.entry).where(notifications.c.payment_id == payment_id)
                                     .order_by(notifications.c.id)).scalars())

    # --- idempotence ---------------------------------------------------------------------------
    def claim_key(self, shop_id: str, key: str, fingerprint: str) -> Record | None:
        """Claim an idempotence key for a request; ``None`` when claimed, else what the key
        already holds (``{"fingerprint", "state": "processing"}`` or a stored answer)."""
        row = idempotence_keys.c
        this = (row.shop_id == shop_id) & (row.key == key)
        held = None
        while held is None:
            with self._begin() as conn:
                conn.execute(delete(idempotence_keys).where(this & (row.expires_at <= func.now())))
                claimed = conn.execute(
                    pg_insert(idempotence_keys)
                    .values(shop_id=shop_id, key=key, fingerprint=fingerprint, state="processing",
                            expires_at=func.now() + CLAIM_TTL)
                    .on_conflict_do_nothing().returning(row.key)).scalar()
                if claimed is not None:
                    return None
                # else it is held; None when released between the two statements: claim again
                held = conn.execute(select(row.fingerprint, row.state, row.status, row.body).where(this)).one_or_none()
        found: Record = {"fingerprint": held.fingerprint, "state": held.state}
        if held.state == "done":
            found.update(status=held.status, body=held.body)
        return found

    def remember_answer(self, shop_id: str, key: str, fingerprint: str, status: int, body: Record) -> None:
        values = {"fingerprint": fingerprint, "state": "done", "status": status, "body": body,
                  "expires_at": func.now() + IDEMPOTENCE_TTL}
        with self._begin() as conn:
            conn.execute(pg_insert(idempotence_keys).values(shop_id=shop_id, key=key, **values)
                         .on_conflict_do_update(index_elements=["shop_id", "key"], set_=values))

    def release_key(self, shop_id: str, key: str) -> None:
        with self._begin() as conn:
            conn.execute(delete(idempotence_keys).where((idempotence_keys.c.shop_id == shop_id)
                                                        & (idempotence_keys.c.key == key)))

    # --- test controls: queued faults and the log of API calls, per shop (Redis) -------------
    def queue_faults(self, shop_id: str, operation: str, faults: list[Record]) -> int:
        key = self._key("faults", shop_id, operation)
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(key, *(json.dumps(fault) for fault in faults))
        pipe.expire(key, TTL)
        return int(pipe.execute()[0])

    def next_fault(self, shop_id: str, operation: str) -> Record | None:
        raw = self._redis.lpop(self._key("faults", shop_id, operation))
        return json.loads(raw) if raw else None

    def log_request(self, shop_id: str, entry: Record) -> None:
        key = self._key("requests", shop_id)
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(key, json.dumps(entry))
        pipe.ltrim(key, -REQUEST_LOG_LIMIT, -1)
        pipe.expire(key, TTL)
        pipe.execute()

    def requests(self, shop_id: str) -> list[Record]:
        return [json.loads(raw) for raw in self._redis.lrange(self._key("requests", shop_id), 0, -1)]
