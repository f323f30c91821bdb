"""Limits on how often one buyer may ask for something (e.g. create an order)."""

from __future__ import annotations

from prichal.adapters.redis_holds import RateKeys, RedisHoldStore
from prichal.domain.errors import RateLimited


class RequestLimit:
    """Requests of one kind per minute per buyer (a signed client id, else the address) and
    per address, counted in Redis by one script; a limit of 0 is none."""

    def __init__(self, store: RedisHoldStore, scope: str, per_client: int, per_address: int) -> None:
        self._store = store
        self._scope = scope
        self._per_client = per_client
        self._per_address = per_address

    def check(self, tenant_id: str, holder: str, address: str | None) -> None:
        wait = self._store.count_request(tenant_id, self._scope,
                                         RateKeys(holder, address, self._per_client, self._per_address))
        if wait is not None:  # counted by prichal_requests_total{status="429"}
            raise RateLimited(f"too many {self._scope} requests from this client; retry later", retry_after=wait)
