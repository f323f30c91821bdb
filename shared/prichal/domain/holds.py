"""Holds: a buyer's temporary, all-or-nothing claim on seats (or places) of one sailing."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from .errors import Conflict, HoldGone, InvalidInput


class HoldStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    ORDERED = "ordered"  # turned into an order's reserved items


class HoldLimitReached(Conflict):
    """One buyer (a signed client id, else an address) holds its share of the sailing."""

    code = "hold-limit-reached"
    title = "You hold as many seats of this sailing as one buyer may"

    def __init__(self, detail: str, held: int, limit: int) -> None:
        super().__init__(detail, held=held, limit=limit)


@dataclass(frozen=True, slots=True)
class HoldPolicy:
    ttl: timedelta
    max_lifetime: timedelta
    max_seats: int  # per hold
    # per sailing and buyer, over all its live holds (and those that became orders, until they
    # would have expired); 0 = no cap
    max_seats_per_client: int = 0

    def share_exceeded(self, held: int) -> HoldLimitReached:
        """The refusal for a buyer that holds ``held`` seats and asked for more than its share."""
        return HoldLimitReached(f"one buyer may hold at most {self.max_seats_per_client} seats of a sailing; "
                               f"you hold {held}: buy or release them first", held=held,
                               limit=self.max_seats_per_client)

    def check_size(self, count: int, field: str) -> None:
        if count < 1:
            raise InvalidInput("a hold needs at least one seat", errors=[
                {"loc": [field], "type": "too_small", "msg": "at least one is required"}])
        if count > self.max_seats:
            raise InvalidInput(f"a hold is limited to {self.max_seats} seats", errors=[
                {"loc": [field], "type": "too_many", "msg": f"at most {self.max_seats} allowed"}])

    def extended_expiry(self, created_at: datetime, now: datetime) -> datetime:
        """A new expiry one TTL from now, capped at the hold's maximum lifetime."""
        return min(now + self.ttl, created_at + self.max_lifetime)


@dataclass(frozen=True, slots=True)
class Hold:
    token: str
    tenant_id: str
    sailing_id: str
    client_id: str
    seat_ids: tuple[str, ...]  # empty on free seating
    quantity: int
    status: HoldStatus
    created_at: datetime
    expires_at: datetime

    def effective_status(self, now: datetime) -> HoldStatus:
        if self.status is HoldStatus.ACTIVE and self.expires_at <= now:
            return HoldStatus.EXPIRED
        return self.status

    def ensure_active(self, now: datetime) -> None:
        status = self.effective_status(now)
        if status is not HoldStatus.ACTIVE:
            raise HoldGone(f"hold is {status.value}", hold_status=status.value)
