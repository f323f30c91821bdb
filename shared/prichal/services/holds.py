"""Hold seats: create, read, extend and release a hold (the ``lock-seat`` use cases).

Discipline (after pretix's locking): claim in Redis first, atomically and all-or-nothing;
then record the hold in PostgreSQL, where sold seats and the free-seating capacity are
checked against the database's own guarantees. Any failure after the claim gives the
claim back, so Redis never keeps a hold the database does not know.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.adapters.redis_rate_limit import RateLimiter
from prichal.domain.errors import CapacityExhausted, Conflict, InvalidInput, NotFound, RateLimited, SeatsUnavailable
from prichal.domain.holds import Hold, HoldPolicy, HoldStatus
from prichal.domain.seating import Seating
from prichal.observability.metrics import EXPIRED_HOLDS, HOLDS

from .catalog_reader import CatalogReader

# The Redis hashes outlive their longest hold by this much.
_KEY_MARGIN_MS = 60_000
# What ``secrets.token_urlsafe`` makes; anything else cannot be a hold token.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class HoldRequest:
    sailing_id: str
    seat_ids: list[str] | None
    quantity: int | None
    client_id: str  # who holds: the storefront session, else the address
    client_address: str | None = None


class HoldService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore, catalog: CatalogReader,
                 policy: HoldPolicy, rate_limiter: RateLimiter, rate_limits: tuple[int, int],
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._store = store
        self._catalog = catalog
        self._policy = policy
        self._limiter = rate_limiter
        self._per_client, self._per_address = rate_limits
        self._now = clock

    @property
    def _key_ttl_ms(self) -> int:
        return int(self._policy.max_lifetime.total_seconds() * 1000) + _KEY_MARGIN_MS

    # --- create ------------------------------------------------------------------------
    def create(self, tenant_id: str, request: HoldRequest) -> Hold:
        now = self._now()
        sailing = self._catalog.sailing(tenant_id, request.sailing_id)
        sailing.ensure_on_sale(now)
        seat_ids = self._check_shape(tenant_id, sailing.seating, sailing.seat_map_id, request)
        self._check_rate(tenant_id, request, now)

        hold = Hold(token=secrets.token_urlsafe(24), tenant_id=tenant_id, sailing_id=sailing.id,
                    client_id=request.client_id, seat_ids=tuple(seat_ids),
                    quantity=len(seat_ids) if seat_ids else int(request.quantity or 0),
                    status=HoldStatus.ACTIVE, created_at=now, expires_at=now + self._policy.ttl)
        if sailing.seating is Seating.ASSIGNED:
            claim = self._store.hold_seats(tenant_id, sailing.id, hold.token, seat_ids, _ms(now),
                                           _ms(hold.expires_at), self._key_ttl_ms)
            if not claim.ok:
                HOLDS.labels("create", "conflict").inc()
                raise SeatsUnavailable("some seats are already held or sold", seat_ids=sorted(claim.taken))
        else:
            claim = self._store.hold_places(tenant_id, sailing.id, hold.token, hold.quantity,
                                            sailing.capacity - sailing.places_sold, _ms(now),
                                            _ms(hold.expires_at), self._key_ttl_ms)
            if not claim.ok:
                HOLDS.labels("create", "conflict").inc()
                raise CapacityExhausted(f"only {claim.count} places left", available=claim.count)
        try:
            self._record(hold, sailing.seating, now)
        except BaseException:
            self._store.release(tenant_id, sailing.id, hold.token, seat_ids)
            raise
        HOLDS.labels("create", "ok").inc()
        return hold

    def _check_shape(self, tenant_id: str, seating: Seating, seat_map_id: str | None,
                     request: HoldRequest) -> list[str]:
        if seating is Seating.ASSIGNED:
            if not request.seat_ids:
                raise InvalidInput("this sailing has assigned seating: name the seats", errors=[
                    {"loc": ["seat_ids"], "type": "missing", "msg": "seat_ids are required for this sailing"}])
            if request.quantity is not None and request.quantity != len(request.seat_ids):
                raise InvalidInput("quantity does not match the seats", errors=[
                    {"loc": ["quantity"], "type": "mismatch", "msg": "omit quantity or make it len(seat_ids)"}])
            self._policy.check_size(len(request.seat_ids), "seat_ids")
            self._catalog.seat_map(tenant_id, seat_map_id or "").check_selection(request.seat_ids)
            return list(request.seat_ids)
        if request.seat_ids:
            raise InvalidInput("this sailing has free seating: ask for a quantity", errors=[
                {"loc": ["seat_ids"], "type": "not_allowed", "msg": "free seating has no seat ids"}])
        if request.quantity is None:
            raise InvalidInput("quantity is required for free seating", errors=[
                {"loc": ["quantity"], "type": "missing", "msg": "quantity is required"}])
        self._policy.check_size(request.quantity, "quantity")
        return []

    def _check_rate(self, tenant_id: str, request: HoldRequest, now: datetime) -> None:
        """Per storefront session and, since a session id is the caller's to choose, per
        client address too (the address limit is the higher one: buyers share NATs)."""
        limits = [("client", request.client_id, self._per_client)]
        if request.client_address and request.client_address != request.client_id:
            limits.append(("address", request.client_address, self._per_address))
        for scope, key, limit in limits:
            retry_after = self._limiter.hit(f"holds:{tenant_id}:{scope}", key, limit, 60, int(now.timestamp()))
            if retry_after is not None:
                HOLDS.labels("create", "rate_limited").inc()
                raise RateLimited(f"too many holds from this {scope}; try again later", retry_after=retry_after)

    def _record(self, hold: Hold, seating: Seating, now: datetime) -> None:
        with self._uow(hold.tenant_id, durable=False) as uow:
            if seating is Seating.ASSIGNED:
                if not uow.holds.add_unless_sold(hold):
                    sold = uow.catalog.sold_seats(hold.sailing_id, among=list(hold.seat_ids))
                    raise SeatsUnavailable("some seats are already sold", seat_ids=sorted(sold))
            else:
                if not uow.holds.reserve_places(hold.sailing_id, hold.quantity):
                    # Expired holds may still count in the database: settle them, try once more.
                    for stale in uow.holds.take_due(now, limit=1000, sailing_id=hold.sailing_id):
                        uow.holds.return_places(stale.sailing_id, stale.quantity)
                    if not uow.holds.reserve_places(hold.sailing_id, hold.quantity):
                        raise CapacityExhausted("not enough places left", available=0)
                uow.holds.add(hold)
            uow.commit()

    # --- read, extend, release -----------------------------------------------------------
    def get(self, tenant_id: str, token: str) -> Hold:
        with self._uow(tenant_id) as uow:
            hold = _find(uow, token)
        return replace(hold, status=hold.effective_status(self._now()))

    def extend(self, tenant_id: str, token: str) -> Hold:
        now = self._now()
        with self._uow(tenant_id) as uow:
            hold = _find(uow, token, for_update=True)
            hold.ensure_active(now)
            expires_at = max(self._policy.extended_expiry(hold.created_at, now), hold.expires_at)
            seat_ids = list(hold.seat_ids)
            if not self._store.extend(tenant_id, hold.sailing_id, token, seat_ids, hold.quantity, _ms(now),
                                      _ms(expires_at), self._key_ttl_ms):
                self._reclaim(hold, now, expires_at)
            uow.holds.set_expiry(token, expires_at)
            uow.commit()
        HOLDS.labels("extend", "ok").inc()
        return replace(hold, expires_at=expires_at)

    def _reclaim(self, hold: Hold, now: datetime, expires_at: datetime) -> None:
        """Redis lost a live hold (restart, failover): claim it again under its token."""
        if hold.seat_ids:
            claim = self._store.hold_seats(hold.tenant_id, hold.sailing_id, hold.token, list(hold.seat_ids),
                                           _ms(now), _ms(expires_at), self._key_ttl_ms)
            if not claim.ok:
                raise SeatsUnavailable("the hold was lost and its seats are taken", seat_ids=sorted(claim.taken))
        else:
            sailing = self._catalog.sailing(hold.tenant_id, hold.sailing_id)
            claim = self._store.hold_places(hold.tenant_id, hold.sailing_id, hold.token, hold.quantity,
                                            sailing.capacity - sailing.places_sold, _ms(now), _ms(expires_at),
                                            self._key_ttl_ms)
            if not claim.ok:
                raise CapacityExhausted("the hold was lost and its places are taken", available=claim.count)

    def release(self, tenant_id: str, token: str) -> Hold:
        """Give the seats back. Releasing a released or expired hold changes nothing."""
        now = self._now()
        with self._uow(tenant_id) as uow:
            hold = _find(uow, token, for_update=True)
            if hold.status is HoldStatus.ORDERED:
                raise Conflict("the hold became an order; cancel the order instead")
            if hold.status is HoldStatus.ACTIVE:
                uow.holds.close(token, HoldStatus.RELEASED, now)
                if not hold.seat_ids:
                    uow.holds.return_places(hold.sailing_id, hold.quantity)
                uow.commit()
                hold = replace(hold, status=HoldStatus.RELEASED)
        self._store.release(tenant_id, hold.sailing_id, token, list(hold.seat_ids))
        HOLDS.labels("release", "ok").inc()
        return hold


def _find(uow: UnitOfWork, token: str, for_update: bool = False) -> Hold:
    hold = uow.holds.get(token, for_update=for_update) if _TOKEN.fullmatch(token) else None
    if hold is None:
        raise NotFound("hold not found")
    return hold


def expire_due_holds(tenant_ids: list[str], uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore,
                     now: datetime, batch: int = 500) -> int:
    """Reconcile the database with time: active holds past expiry become ``expired`` and
    give back their free-seating places; then their Redis entries are removed."""
    total = 0
    for tenant_id in tenant_ids:
        while True:
            with uow_factory(tenant_id) as uow:
                due = uow.holds.take_due(now, limit=batch)
                for hold in due:
                    if not hold.seat_ids:
                        uow.holds.return_places(hold.sailing_id, hold.quantity)
                uow.commit()
            for hold in due:
                store.release(tenant_id, hold.sailing_id, hold.token, list(hold.seat_ids))
            total += len(due)
            EXPIRED_HOLDS.inc(len(due))
            if len(due) < batch:
                break
    return total
