"""Hold seats: create, read, extend and release a hold (the ``lock-seat`` use cases).

Discipline (after pretix's locking): one Redis script claims everything or nothing. A seat
hold lives only in Redis — it is advisory; the seats' final guarantee is the unique index
on live tickets, checked when the hold becomes an order. A free-seating hold is also
recorded in PostgreSQL, because the capacity check (sold + held <= capacity) lives there;
any failure after its claim gives the claim back.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RateKeys, RedisHoldStore, epoch_ms
from prichal.domain.errors import (
    CapacityExhausted,
    Conflict,
    HoldGone,
    InvalidInput,
    NotFound,
    RateLimited,
    SeatsUnavailable,
)
from prichal.domain.holds import Hold, HoldPolicy, HoldStatus
from prichal.domain.seating import Seating
from prichal.observability.metrics import EXPIRED_HOLDS, HOLDS

from .catalog_reader import CatalogReader
from .inventory import Inventory

# The Redis hashes outlive their longest hold by this much.
_KEY_MARGIN_MS = 60_000
# ...and a seat hold's record stays readable this much longer.
_RECORD_GRACE_MS = 3_600_000
# What ``secrets.token_urlsafe`` makes; anything else cannot be a hold token.
_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


@dataclass(frozen=True, slots=True)
class HoldRequest:
    sailing_id: str
    seat_ids: list[str] | None
    quantity: int | None
    client_id: str  # who holds: the storefront session, else the address
    client_address: str | None = None
    # whom the per-buyer limits count: a signed client id, else the address (entrypoints.clients)
    holder: str | None = None


class HoldService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore, catalog: CatalogReader,
                 policy: HoldPolicy, rate_limits: tuple[int, int], clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._store = store
        self._catalog = catalog
        self._policy = policy
        self._per_client, self._per_address = rate_limits
        self._now = clock

    @property
    def key_ttl_ms(self) -> int:
        """How long Redis keeps a sailing's hold hashes: the longest hold, and a margin."""
        return int(self._policy.max_lifetime.total_seconds() * 1000) + _KEY_MARGIN_MS

    @property
    def _record_ttl_ms(self) -> int:
        """A seat hold's record outlives the hold, so a late read says "expired", not 404."""
        return self.key_ttl_ms + _RECORD_GRACE_MS

    # --- create ------------------------------------------------------------------------
    def create(self, tenant_id: str, request: HoldRequest) -> Hold:
        now = self._now()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # Redis keeps milliseconds
        sailing = self._catalog.sailing(tenant_id, request.sailing_id)
        sailing.ensure_on_sale(now)
        seat_ids = self._check_shape(tenant_id, sailing.seating, sailing.seat_map_id, request)
        hold = Hold(token=secrets.token_urlsafe(24), tenant_id=tenant_id, sailing_id=sailing.id,
                    client_id=request.client_id, seat_ids=tuple(seat_ids),
                    quantity=len(seat_ids) if seat_ids else int(request.quantity or 0),
                    status=HoldStatus.ACTIVE, created_at=now, expires_at=now + self._policy.ttl)
        rate = RateKeys(request.holder or request.client_id, request.client_address, self._per_client,
                        self._per_address, cap=self._policy.max_seats_per_client)
        if sailing.seating is Seating.ASSIGNED:
            self._hold_seats(hold, now, rate)
        else:
            self._hold_places(hold, sailing.capacity - sailing.places_sold, now, rate)
        HOLDS.labels("create", "ok").inc()
        return hold

    def _hold_seats(self, hold: Hold, now: datetime, rate: RateKeys) -> None:
        """Redis only: one script checks the rate, the seats held and the seats with a live
        ticket, and claims. PostgreSQL is asked only to refill the copy of live tickets."""
        claim = self._store.hold_seats(hold, epoch_ms(now), self.key_ttl_ms, self._record_ttl_ms, rate)
        if claim.reload:
            with self._uow(hold.tenant_id) as uow:
                taken = uow.catalog.sold_seats(hold.sailing_id)
            self._store.load_taken(hold.tenant_id, hold.sailing_id, taken)
            claim = self._store.hold_seats(hold, epoch_ms(now), self.key_ttl_ms, self._record_ttl_ms, rate)
        self._refused(claim.retry_after, claim.over_cap)
        if not claim.ok:
            HOLDS.labels("create", "conflict").inc()
            raise SeatsUnavailable("some seats are already held or sold", seat_ids=claim.taken)

    def _hold_places(self, hold: Hold, limit: int, now: datetime, rate: RateKeys) -> None:
        """Free seating: claim in Redis, then record the hold in PostgreSQL, whose capacity
        check is the guarantee; any failure after the claim gives the claim back."""
        claim = self._store.hold_places(hold, limit, epoch_ms(now), self.key_ttl_ms, rate)
        self._refused(claim.retry_after, claim.over_cap)
        if not claim.ok:
            HOLDS.labels("create", "conflict").inc()
            raise CapacityExhausted(f"only {claim.count} places left", available=claim.count)
        try:
            with self._uow(hold.tenant_id, durable=False) as uow:
                if not uow.holds.reserve_places(hold.sailing_id, hold.quantity):
                    # Expired holds may still count in the database: settle them, try once more.
                    for stale in uow.holds.take_due(now, limit=1000, sailing_id=hold.sailing_id):
                        Inventory.return_held_places(uow, stale.sailing_id, stale.quantity)
                    if not uow.holds.reserve_places(hold.sailing_id, hold.quantity):
                        raise CapacityExhausted("not enough places left", available=0)
                uow.holds.add(hold)
                uow.commit()
        except BaseException:
            self._store.release(hold.tenant_id, hold.sailing_id, hold.token, [])
            raise

    def _refused(self, retry_after: int | None, over_cap: int | None) -> None:
        if retry_after is not None:
            HOLDS.labels("create", "rate_limited").inc()
            raise RateLimited("too many holds from this client; a storefront names each buyer with a signed "
                              "X-Client-Id", retry_after=retry_after)
        if over_cap is not None:
            HOLDS.labels("create", "over_cap").inc()
            raise self._policy.share_exceeded(over_cap)

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

    # --- read, extend, release -----------------------------------------------------------
    def find(self, tenant_id: str, token: str, uow: UnitOfWork | None = None, for_update: bool = False) -> Hold:
        """A hold by token: seat holds live in Redis, free-seating and ordered ones in the
        database too (which wins, being the durable record)."""
        if not _TOKEN.fullmatch(token):
            raise NotFound("hold not found")
        if uow is not None:
            hold = uow.holds.get(token, for_update=for_update)
        else:
            with self._uow(tenant_id) as own:
                hold = own.holds.get(token)
        hold = hold or self._store.hold(tenant_id, token)
        if hold is None:
            raise NotFound("hold not found")
        return hold

    def get(self, tenant_id: str, token: str) -> Hold:
        hold = self.find(tenant_id, token)
        return replace(hold, status=hold.effective_status(self._now()))

    def extend(self, tenant_id: str, token: str) -> Hold:
        now = self._now()
        with self._uow(tenant_id) as uow:
            hold = self.find(tenant_id, token, uow, for_update=True)
            hold.ensure_active(now)
            expires_at = max(self._policy.extended_expiry(hold.created_at, now), hold.expires_at)
            if not self._store.extend(hold, epoch_ms(now), epoch_ms(expires_at), self.key_ttl_ms):
                if hold.seat_ids:
                    raise HoldGone("the hold is no longer held", hold_status="lost")
                self._reclaim_places(hold, now, expires_at)
            if not hold.seat_ids:
                uow.holds.set_expiry(token, expires_at)
                uow.commit()
        HOLDS.labels("extend", "ok").inc()
        return replace(hold, expires_at=expires_at)

    def _reclaim_places(self, hold: Hold, now: datetime, expires_at: datetime) -> None:
        """Redis lost a live free-seating hold (restart, failover): the database still has
        it, so claim its places again under the same token."""
        sailing = self._catalog.sailing(hold.tenant_id, hold.sailing_id)
        claim = self._store.hold_places(replace(hold, expires_at=expires_at), sailing.capacity - sailing.places_sold,
                                        epoch_ms(now), self.key_ttl_ms, RateKeys(hold.client_id, None, 0, 0))
        if not claim.ok:
            raise CapacityExhausted("the hold was lost and its places are taken", available=claim.count)

    def release(self, tenant_id: str, token: str) -> Hold:
        """Give the seats back. Releasing a released or expired hold changes nothing."""
        now = self._now()
        with self._uow(tenant_id) as uow:
            hold = self.find(tenant_id, token, uow, for_update=True)
            if hold.status is HoldStatus.ORDERED:
                raise Conflict("the hold became an order; cancel the order instead")
            if hold.status is HoldStatus.ACTIVE and not hold.seat_ids:
                uow.holds.close(token, HoldStatus.RELEASED, now)
                Inventory.return_held_places(uow, hold.sailing_id, hold.quantity)
                uow.commit()
        if hold.status is HoldStatus.ACTIVE:
            self._store.release(tenant_id, hold.sailing_id, token, list(hold.seat_ids), HoldStatus.RELEASED)
            hold = replace(hold, status=HoldStatus.RELEASED)
        HOLDS.labels("release", "ok").inc()
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
                        Inventory.return_held_places(uow, hold.sailing_id, hold.quantity)
                uow.commit()
            for hold in due:
                store.release(tenant_id, hold.sailing_id, hold.token, list(hold.seat_ids))
            total += len(due)
            EXPIRED_HOLDS.inc(len(due))
            if len(due) < batch:
                break
    return total
