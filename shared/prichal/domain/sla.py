"""Support-case SLAs: deadlines for the first response and the resolution, per priority,
counted in calendar time or in the tenant's business hours (pure arithmetic, no I/O).

A policy says, per priority, how long the first response and the resolution may take, and
optionally the business hours (one window per weekday, holidays, a time zone) in which that
time runs. A case is *at risk* once ``at_risk_ratio`` of its time has run, *breached* once
its deadline passed. While a case waits for the buyer its resolution clock stops: the
working time spent waiting moves the resolution deadline on (``paused``).

All datetimes are aware; arithmetic is done in UTC, the zone only draws the windows, so a
day with a DST change has its true length.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import InvalidInput


class Priority(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class SlaState(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"  # done in time
    MISSED = "missed"  # done, but late
    PAUSED = "paused"  # the resolution clock stops while waiting for the buyer


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GUARD_DAYS = 3 * 366  # a policy whose windows never open fails instead of looping


@dataclass(frozen=True)
class SlaTarget:
    first_response: timedelta
    resolution: timedelta


@dataclass(frozen=True)
class BusinessHours:
    zone: ZoneInfo
    windows: Mapping[int, tuple[time, time]]  # weekday (Monday 0) -> [open, close)
    holidays: frozenset[date] = frozenset()

    def window(self, day: date) -> tuple[datetime, datetime] | None:
        """That day's open window in UTC, or None (closed, a holiday)."""
        found = self.windows.get(day.weekday())
        if found is None or day in self.holidays:
            return None
        opens = datetime.combine(day, found[0], tzinfo=self.zone).astimezone(UTC)
        closes = (datetime.combine(day, found[1], tzinfo=self.zone) if found[1] != time(0)
                  else datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.zone)).astimezone(UTC)
        return opens, closes


DEFAULT_TARGETS: Mapping[Priority, SlaTarget] = {
    Priority.URGENT: SlaTarget(timedelta(minutes=30), timedelta(hours=4)),
    Priority.HIGH: SlaTarget(timedelta(hours=1), timedelta(hours=8)),
    Priority.NORMAL: SlaTarget(timedelta(hours=4), timedelta(hours=24)),
    Priority.LOW: SlaTarget(timedelta(hours=8), timedelta(hours=72)),
}


@dataclass(frozen=True)
class SlaPolicy:
    targets: Mapping[Priority, SlaTarget] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    business_hours: BusinessHours | None = None  # None: the clock runs day and night
    at_risk_ratio: float = 0.75

    # --- the arithmetic ----------------------------------------------------------------
    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The moment ``duration`` of counted time after ``start``."""
        return add_working_time(start, duration, self.business_hours)

    def between(self, start: datetime, end: datetime) -> timedelta:
        return working_time_between(start, end, self.business_hours)

    def deadlines(self, opened_at: datetime, priority: Priority, paused: timedelta = timedelta(0)) -> Deadlines:
        """Due and at-risk moments of a case opened at ``opened_at``; ``paused``: counted time
        it spent waiting for the buyer (moves the resolution on)."""
        target = self.targets[priority]
        ratio = self.at_risk_ratio
        return Deadlines(
            first_response_due=self.add(opened_at, target.first_response),
            first_response_risk_at=self.add(opened_at, target.first_response * ratio),
            resolution_due=self.add(opened_at, target.resolution + paused),
            resolution_risk_at=self.add(opened_at, target.resolution * ratio + paused))

    # --- as a tenant stores it -----------------------------------------------------------
    def to_data(self) -> dict[str, Any]:
        hours = self.business_hours
        return {
            "targets": {p.value: {"first_response_minutes": _minutes(t.first_response),
                                  "resolution_minutes": _minutes(t.resolution)} for p, t in self.targets.items()},
            "at_risk_ratio": self.at_risk_ratio,
            "business_hours": None if hours is None else {
                "timezone": hours.zone.key,
                "days": {WEEKDAYS[d]: [w[0].strftime("%H:%M"), "24:00" if w[1] == time(0) else w[1].strftime("%H:%M")]
                         for d, w in sorted(hours.windows.items())},
                "holidays": sorted(d.isoformat() for d in hours.holidays)},
        }

    @classmethod
    def from_data(cls, data: Mapping[str, Any] | None, default_zone: str = "Europe/Moscow") -> SlaPolicy:
        """A policy from its stored JSON (missing parts: the defaults); a bad one is refused
        with field errors."""
        data = data or {}
        errors: list[dict[str, Any]] = []
        targets = dict(DEFAULT_TARGETS)
        given = data.get("targets") or {}
        if not isinstance(given, Mapping):
            errors.append(_error(["targets"], "an object by priority"))
            given = {}
        for name, value in given.items():
            try:
                priority = Priority(name)
            except ValueError:
                errors.append(_error(["targets", str(name)], "unknown priority"))
                continue
            first = _positive_minutes(value, "first_response_minutes", ["targets", name], errors)
            resolution = _positive_minutes(value, "resolution_minutes", ["targets", name], errors)
            if first is not None and resolution is not None:
                if first > resolution:
                    errors.append(_error(["targets", name], "the first response cannot be due after the resolution"))
                targets[priority] = SlaTarget(first, resolution)
        ratio = data.get("at_risk_ratio", 0.75)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 1:
            errors.append(_error(["at_risk_ratio"], "a number between 0 and 1 (exclusive)"))
            ratio = 0.75
        hours = _business_hours(data.get("business_hours"), default_zone, errors)
        if errors:
            raise InvalidInput("the SLA policy is not valid", errors=errors)
        return cls(targets=targets, business_hours=hours, at_risk_ratio=float(ratio))


@dataclass(frozen=True)
class Deadlines:
    first_response_due: datetime
    first_response_risk_at: datetime
    resolution_due: datetime
    resolution_risk_at: datetime


def add_working_time(start: datetime, duration: timedelta, hours: BusinessHours | None) -> datetime:
    """``start`` plus ``duration`` of time counted only inside the business hours."""
    start = start.astimezone(UTC)
    if hours is None:
        return start + duration
    remaining = max(duration, timedelta(0))
    day = start.astimezone(hours.zone).date()
    for _ in range(_GUARD_DAYS):
        window = hours.window(day)
        if window is not None:
            begin = max(start, window[0])
            if begin < window[1]:
                available = window[1] - begin
                if remaining <= available:
                    return begin + remaining
                remaining -= available
        day += timedelta(days=1)
    raise ValueError("the business hours never open")


def working_time_between(start: datetime, end: datetime, hours: BusinessHours | None) -> timedelta:
    """Counted time from ``start`` to ``end`` (zero when ``end`` is not later)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return timedelta(0)
    if hours is None:
        return end - start
    total = timedelta(0)
    day = start.astimezone(hours.zone).date()
    last = end.astimezone(hours.zone).date()
    while day <= last:
        window = hours.window(day)
        if window is not None:
            overlap = min(end, window[1]) - max(start, window[0])
            if overlap > timedelta(0):
                total += overlap
        day += timedelta(days=1)
    return total


def state(due: datetime, risk_at: datetime, done_at: datetime | None, now: datetime, paused: bool = False) -> SlaState:
    """One clock's state: met/missed once done; else breached, at risk, paused or ok."""
    if done_at is not None:
        return SlaState.MET if done_at <= due else SlaState.MISSED
    if paused:
        return SlaState.PAUSED
    if now > due:
        return SlaState.BREACHED
    if now >= risk_at:
        return SlaState.AT_RISK
    return SlaState.OK


# --- parsing helpers ---------------------------------------------------------------------
def _minutes(value: timedelta) -> int:
    return int(value.total_seconds() // 60)


def _error(loc: list[Any], msg: str) -> dict[str, Any]:
    return {"loc": loc, "type": "value_error", "msg": msg}


def _positive_minutes(value: Any, key: str, loc: list[Any], errors: list[dict[str, Any]]) -> timedelta | None:
    found = value.get(key) if isinstance(value, Mapping) else None
    if isinstance(found, bool) or not isinstance(found, int) or not 1 <= found <= 60 * 24 * 365:
        errors.append(_error([*loc, key], "whole minutes, 1 to 525600"))
        return None
    return timedelta(minutes=found)


def _clock(text: Any) -> time | None:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    try:
        hour, minute = int(text[:2]), int(text[3:])
    except ValueError:
        return None
    if hour == 24 and minute == 0:
        return time(0)  # the end of the day (a window closing at 24:00)
    return time(hour, minute) if 0 <= hour < 24 and 0 <= minute < 60 else None


def _business_hours(data: Any, default_zone: str, errors: list[dict[str, Any]]) -> BusinessHours | None:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        errors.append(_error(["business_hours"], "an object, or null for round the clock"))
        return None
    zone_name = data.get("timezone") or default_zone
    try:
        zone = ZoneInfo(zone_name) if isinstance(zone_name, str) and "\x00" not in zone_name else None
    except (ZoneInfoNotFoundError, ValueError):
        zone = None
    if zone is None:
        errors.append(_error(["business_hours", "timezone"], "an IANA time zone, e.g. Europe/Moscow"))
    windows: dict[int, tuple[time, time]] = {}
    days = data.get("days")
    if not isinstance(days, Mapping) or not days:
        errors.append(_error(["business_hours", "days"], 'open hours by weekday, e.g. {"mon": ["09:00", "18:00"]}'))
        days = {}
    for name, window in days.items():
        if name not in WEEKDAYS:
            errors.append(_error(["business_hours", "days", str(name)], "mon, tue, wed, thu, fri, sat or sun"))
            continue
        if window is None:
            continue  # closed that day
        pair = window if isinstance(window, list) and len(window) == 2 else [None, None]
        opens, closes = _clock(pair[0]), _clock(pair[1])
        until_midnight = pair[1] == "24:00"
        if opens is None or closes is None or pair[0] == "24:00" or not (until_midnight or closes > opens):
            errors.append(_error(["business_hours", "days", name], "[\"HH:MM\", \"HH:MM\"], opening before closing"))
            continue
        windows[WEEKDAYS.index(name)] = (opens, closes)  # type: ignore[assignment]
    if days and not windows and not any(e["loc"][:2] == ["business_hours", "days"] for e in errors):
        errors.append(_error(["business_hours", "days"], "open on at least one day"))
    holidays = set()
    for index, text in enumerate(data.get("holidays") or []):
        try:
            holidays.add(date.fromisoformat(text))
        except (TypeError, ValueError):
            errors.append(_error(["business_hours", "holidays", index], "a date, YYYY-MM-DD"))
    if zone is None or not windows:
        return None
    return BusinessHours(zone, windows, frozenset(holidays))
