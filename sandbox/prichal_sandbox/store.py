"""Redis storage of the sandbox payment provider (``mock-payments``).

A sandbox needs no durable store: everything lives under ``<redis_prefix>sandbox:`` and
expires after a week (idempotence keys after 24 hours, as at YooKassa). Records are JSON
documents; a payment's changes go through ``update_payment``, an optimistic WATCH/MULTI
transaction, so the buyer's page, the API and the test controls never lose each other's
writes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import redis

Record = dict[str, Any]
TTL = timedelta(days=7)
IDEMPOTENCE_TTL = timedelta(hours=24)
# How long a claimed idempotence key may stay "processing" if its request dies half-way.
CLAIM_TTL = timedelta(seconds=30)
REQUEST_LOG_LIMIT = 1000


class SandboxStore:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = f"{prefix}sandbox:"

    def _key(self, *parts: str) -> str:
        return self._prefix + ":".join(parts)

    # --- payments and refunds ----------------------------------------------------------------
    def add_payment(self, payment_id: str, record: Record) -> None:
        self._redis.set(self._key("payment", payment_id), json.dumps(record), ex=TTL)

    def payment(self, payment_id: str) -> Record | None:
        raw = self._redis.get(self._key("payment", payment_id))
        return json.loads(raw) if raw else None

    def update_payment(self, payment_id: str, change: Callable[[Record], Record]) -> Record | None:
        """Apply ``change`` to the stored record atomically (retried on a concurrent write);
        ``None`` when there is no such payment. Exceptions from ``change`` abort the update."""
        key = self._key("payment", payment_id)

        def run(pipe: redis.client.Pipeline) -> Record | None:
            raw = pipe.get(key)
            if not raw:
                return None
            record = change(json.loads(raw))
            pipe.multi()
            pipe.set(key, json.dumps(record), ex=TTL)
            return record

        return self._redis.transaction(run, key, value_from_callable=True)

    def index_refund(self, refund_id: str, payment_id: str) -> None:
        """Refunds live inside their payment's record; this finds the payment of a refund."""
        self._redis.set(self._key("refund", refund_id), payment_id, ex=TTL)

    def payment_of_refund(self, refund_id: str) -> str | None:
        raw = self._redis.get(self._key("refund", refund_id))
        return raw.decode() if raw else None

    # --- notifications sent about a payment (and its refunds) --------------------------------
    def log_notification(self, payment_id: str, entry: Record) -> None:
        key = self._key("payment", payment_id, "notifications")
        pipe = self._redis.pipeline(transaction=False)
        pipe.rpush(key, json.dumps(entry))
        pipe.expire(key, TTL)
        pipe.execute()

    def notifications(self, payment_id: str) -> list[Record]:
        return [json.loads(raw) for raw in self._redis.lrange(self._key("payment", payment_id, "notifications"), 0, -1)]

    # --- idempotence ---------------------------------------------------------------------------
    def claim_key(self, shop_id: str, key: str, fingerprint: str) -> Record | None:
        """Claim an idempotence key for a request; ``None`` when claimed, else what the key
        already holds (``{"fingerprint", "state": "processing"}`` or a stored answer)."""
        redis_key = self._key("idem", shop_id, key)
        claim = json.dumps({"fingerprint": fingerprint, "state": "processing"})
        while True:
            if self._redis.set(redis_key, claim, nx=True, ex=CLAIM_TTL):
                return None
            raw = self._redis.get(redis_key)
            if raw:  # else it expired between the two calls: claim again
                return json.loads(raw)

    def remember_answer(self, shop_id: str, key: str, fingerprint: str, status: int, body: Record) -> None:
        self._redis.set(self._key("idem", shop_id, key),
                        json.dumps({"fingerprint": fingerprint, "state": "done", "status": status, "body": body}),
                        ex=IDEMPOTENCE_TTL)

    def release_key(self, shop_id: str, key: str) -> None:
        self._redis.delete(self._key("idem", shop_id, key))

    # --- test controls: queued faults and the log of API calls, per shop ---------------------
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
