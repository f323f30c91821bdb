"""The tenant's catalog generation in Redis: how every function's catalog cache learns of an admin's change.

Each process caches sailings and seat maps in memory (``services/catalog_reader.py``); the
admin function bumps the tenant's generation after every committed change, and readers key
their entries by the generation they read, so the next read anywhere loads afresh. Losing
Redis loses no correctness beyond the cache's own TTL: an unreadable generation counts as
"unknown" and the entries age out as before.
"""

from __future__ import annotations

import logging

import redis

log = logging.getLogger("prichal.catalog_cache")


class CatalogGenerations:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def _key(self, tenant_id: str) -> str:
        return f"{self._prefix}catalog:{tenant_id}:generation"

    def current(self, tenant_id: str) -> str:
        try:
            return (self._redis.get(self._key(tenant_id)) or b"0").decode()
        except redis.RedisError:
            return "unknown"

    def bump(self, tenant_id: str) -> None:
        try:
            self._redis.incr(self._key(tenant_id))
        except redis.RedisError:
            log.warning("catalog generation of tenant %s not bumped (Redis unavailable): caches age out in "
                        "their TTL", tenant_id)
