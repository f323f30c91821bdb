"""A season of sailings from a recurring schedule, and what a change of a sold sailing may do.

The schedule is local wall-clock time in the tenant's zone (Europe/Moscow has had no DST
since 2014, but the rule does not depend on it): each day from ``first_day`` to
``last_day`` inclusive whose weekday is listed, at each listed time, except the days given
as exceptions and the single departures excluded. A generated departure that already
exists (same program, pier and instant) is skipped, so generating twice adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import Conflict, InvalidInput

# A generated season is at most this long, and at most this many sailings (one request).
MAX_SEASON_DAYS = 366
MAX_GENERATED = 2000


@dataclass(frozen=True, slots=True)
class Schedule:
    first_day: date
    last_day: date
    weekdays: frozenset[int]  # ISO: 1 = Monday ... 7 = Sunday
    times: tuple[time, ...]
    timezone: str = "Europe/Moscow"
    except_days: frozenset[date] = field(default_factory=frozenset)
    except_departures: frozenset[datetime] = field(default_factory=frozenset)  # local, naive

    def problems(self) -> list[dict[str, Any]]:
        found = []
        if self.last_day < self.first_day:
            found.append({"loc": ["last_day"], "type": "before_first_day", "msg": "the season ends before it starts"})
        elif (self.last_day - self.first_day).days >= MAX_SEASON_DAYS:
            found.append({"loc": ["last_day"], "type": "too_long", "msg": f"at most {MAX_SEASON_DAYS} days at once"})
        if not self.weekdays or not self.weekdays <= set(range(1, 8)):
            found.append({"loc": ["weekdays"], "type": "malformed", "msg": "ISO weekdays 1 (Monday) to 7 (Sunday)"})
        if not self.times:
            found.append({"loc": ["times"], "type": "missing", "msg": "at least one departure time"})
        elif len(set(self.times)) != len(self.times):
            found.append({"loc": ["times"], "type": "duplicate", "msg": "a time is listed twice"})
        return found

    def departures(self) -> list[datetime]:
        """Every departure of the season as an aware instant, in order."""
        problems = self.problems()
        if problems:
            raise InvalidInput("the schedule cannot be generated", errors=problems)
        zone = ZoneInfo(self.timezone)
        found = []
        day = self.first_day
        while day <= self.last_day:
            if day.isoweekday() in self.weekdays and day not in self.except_days:
                for at in sorted(self.times):
                    local = datetime.combine(day, at)
                    if local not in self.except_departures:
                        found.append(local.replace(tzinfo=zone))
            day += timedelta(days=1)
        if len(found) > MAX_GENERATED:
            raise InvalidInput("the schedule makes too many sailings for one request", errors=[
                {"loc": ["last_day"], "type": "too_many", "msg": f"at most {MAX_GENERATED} sailings at once"}])
        return found


class SailingHasTickets(Conflict):
    """A change or deletion would lose what buyers hold: names the tickets."""

    code = "sailing-has-tickets"
    title = "The sailing has sold tickets"

    def __init__(self, detail: str, ticket_ids: list[str], **extra: Any) -> None:
        super().__init__(detail, ticket_ids=ticket_ids, **extra)
        self.ticket_ids = ticket_ids


class StillInUse(Conflict):
    """An entity cannot be deleted while others refer to it (or once it was sold)."""

    code = "still-in-use"
    title = "Still in use"


class TariffOverlaps(Conflict):
    """Two tariffs of one kind valid on one day would make the price ambiguous."""

    code = "tariff-overlaps"
    title = "Another tariff applies on these days"


@dataclass(frozen=True, slots=True)
class LiveTicket:
    id: str
    seat_id: str | None  # None: free seating


def tickets_lost_by_new_seats(tickets: Iterable[LiveTicket], sellable_seats: set[str]) -> list[str]:
    """Tickets whose seat is not a sellable seat of the new seat map."""
    return sorted(t.id for t in tickets if t.seat_id is not None and t.seat_id not in sellable_seats)


def tickets_lost_by_capacity(tickets: list[LiveTicket], places_taken: int, capacity: int) -> list[str]:
    """Free seating: the tickets that would not fit (the latest first), none when they all do."""
    over = places_taken - capacity
    return sorted(t.id for t in tickets)[-over:] if over > 0 else []


def changed(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``wanted`` whose value differs from ``current`` (what an audit records)."""
    return {key: value for key, value in wanted.items() if current.get(key) != value}
