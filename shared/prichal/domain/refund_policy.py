"""Where the refund cutoff is decided: a tenant's refund policy and the pure decision.

A policy is a list of time tiers before departure, each keeping a fee (a percent of the
ticket and/or a fixed amount, capped at the price), and a rule for after the last tier
(no self-service refund, or a fee). A tier's deadline is either a span before departure
(``hours_before``, exact to the second) or a local wall-clock time some days before the
departure day (``days_before`` + ``until``, in the tenant's time zone, e.g. "until 18:00
the day before" in Europe/Moscow). A tier applies up to and including its deadline.

Whatever the policy: a sailing canceled by the seller is refunded in full; a ticket used
at boarding is never refunded by self-service. ``decide`` returns the amount *and* the
reason, stored with the refund so it can be explained later.

Settings (``tenants.refund_policy``, JSON)::

    {"tiers": [{"hours_before": 24, "fee_percent": "0"},
               {"hours_before": 3, "fee_percent": "50", "fee_fixed": "100.00"}],
     "after_last": "refuse" | {"fee_percent": "100"},
     "versions": [{"valid_from": "2027-01-01", "tiers": [...], "after_last": ...}],
     "programs": {"<program id>": {...the same shape...}}}

``versions`` give effective dates (the day of sale, in the tenant's zone, picks the version;
the top-level tiers are the version valid before every dated one); ``programs`` override the
tenant's policy for one program. The legacy shape ``{"cutoff_hours": 24, "fee_percent": "0"}``
reads as one tier and no refund after it.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from .errors import InvalidInput

KOPECK = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class Fee:
    """What the seller keeps: ``percent`` of the price plus ``fixed``, never more than the price."""

    percent: Decimal = ZERO
    fixed: Decimal = ZERO

    def of(self, price: Decimal) -> Decimal:
        kept = (price * self.percent / 100).quantize(KOPECK, ROUND_HALF_UP) + self.fixed
        return min(price, kept).quantize(KOPECK)

    def describe(self) -> str:
        parts = [f"{self.percent.normalize():f}%"] if self.percent else []
        if self.fixed:
            parts.append(f"{self.fixed:.2f} RUB")
        return " + ".join(parts) or "no fee"


@dataclass(frozen=True, slots=True)
class Tier:
    fee: Fee
    before: timedelta | None = None  # a span before departure ...
    days_before: int | None = None  # ... or a local time on a day before the departure day
    until: time | None = None

    def deadline(self, departs_at: datetime, zone: ZoneInfo) -> datetime:
        if self.before is not None:
            return departs_at - self.before
        day = departs_at.astimezone(zone).date() - timedelta(days=self.days_before or 0)
        return datetime.combine(day, self.until or time(0), tzinfo=zone)

    def describe(self) -> str:
        if self.before is not None:
            hours = Decimal(int(self.before.total_seconds())) / 3600
            return f"until {hours.normalize():f} h before departure"
        return f"until {self.until:%H:%M} local time, {self.days_before} day(s) before the departure day"


@dataclass(frozen=True, slots=True)
class RefundPolicy:
    tiers: tuple[Tier, ...]
    after_last: Fee | None = None  # None: no self-service refund after the last tier


class Basis(enum.StrEnum):
    """Why a ticket gets what it gets (stored with the refund)."""

    TIER = "tier"
    AFTER_LAST_TIER = "after_last_tier"
    TOO_LATE = "too_late"
    SAILING_CANCELED = "sailing_canceled"
    BOARDED = "boarded"
    OVERRIDE = "override"  # an agent's amount instead of the policy's


@dataclass(frozen=True, slots=True)
class TicketDecision:
    refundable: bool
    price: Decimal
    fee: Decimal
    amount: Decimal
    basis: Basis
    detail: str
    tier: int | None = None  # the tier's position (1-based) when one applied
    deadline: datetime | None = None  # the deadline of the tier applied

    def as_json(self) -> dict[str, Any]:
        return {"refundable": self.refundable, "price": str(self.price), "fee": str(self.fee),
                "amount": str(self.amount), "basis": self.basis.value, "detail": self.detail, "tier": self.tier,
                "deadline": self.deadline.isoformat() if self.deadline else None}


DEFAULT_POLICY = RefundPolicy(tiers=(Tier(Fee(), before=timedelta(hours=24)),), after_last=None)


def decide(policy: RefundPolicy, price: Decimal, departs_at: datetime, now: datetime, zone: ZoneInfo, *,
           sailing_canceled: bool = False, boarded: bool = False) -> TicketDecision:
    """The refundable amount of one ticket and why (pure; exact to the second)."""
    if sailing_canceled:
        return TicketDecision(True, price, ZERO, price, Basis.SAILING_CANCELED,
                              "the sailing was canceled by the seller: full refund")
    if boarded:
        return TicketDecision(False, price, price, ZERO, Basis.BOARDED,
                              "the ticket was used at boarding: no self-service refund")
    ordered = sorted(enumerate(policy.tiers, start=1), key=lambda pair: pair[1].deadline(departs_at, zone))
    for position, tier in ordered:
        deadline = tier.deadline(departs_at, zone)
        if now <= deadline:
            fee = tier.fee.of(price)
            return TicketDecision(True, price, fee, price - fee, Basis.TIER,
                                  f"{tier.describe()} (deadline {deadline.astimezone(zone):%d.%m.%Y %H:%M:%S}): "
                                  f"fee {tier.fee.describe()}", tier=position, deadline=deadline)
    if policy.after_last is None:
        return TicketDecision(False, price, price, ZERO, Basis.TOO_LATE,
                              "past the last refund deadline: no self-service refund")
    fee = policy.after_last.of(price)
    return TicketDecision(True, price, fee, price - fee, Basis.AFTER_LAST_TIER,
                          f"past the last refund deadline: fee {policy.after_last.describe()}")


# --- settings ---------------------------------------------------------------------------------

def policy_for(raw: Mapping[str, Any] | None, *, program_id: str | None, sold_on: date) -> RefundPolicy:
    """The policy in force for a ticket of ``program_id`` sold on ``sold_on`` (tenant's zone)."""
    document: Mapping[str, Any] = raw or {}
    programs = document.get("programs") or {}
    if program_id and isinstance(programs, Mapping) and program_id in programs:
        document = programs[program_id]
    return _version_on(document, sold_on)


def check_policy(raw: Any) -> None:
    """Refuse a policy document that ``policy_for`` could not read (``InvalidInput``)."""
    if not isinstance(raw, Mapping):
        raise _bad(["refund_policy"], "an object is required")
    _version(raw, ["refund_policy"])
    for index, version in enumerate(raw.get("versions") or []):
        _version(version, ["refund_policy", "versions", index])
        _date(version.get("valid_from"), ["refund_policy", "versions", index, "valid_from"])
    programs = raw.get("programs") or {}
    if not isinstance(programs, Mapping):
        raise _bad(["refund_policy", "programs"], "an object of program id -> policy is required")
    for program_id, document in programs.items():
        if isinstance(document, Mapping) and "programs" in document:
            raise _bad(["refund_policy", "programs", program_id], "a program's policy has no programs")
        check_policy(document)


def _version_on(document: Mapping[str, Any], sold_on: date) -> RefundPolicy:
    dated = sorted(((_date(v.get("valid_from"), ["valid_from"]), v) for v in document.get("versions") or []),
                   key=lambda pair: pair[0])
    chosen: Mapping[str, Any] = document
    for valid_from, version in dated:
        if valid_from <= sold_on:
            chosen = version
    if chosen is document and not _has_rules(document) and dated:
        chosen = dated[0][1]  # nothing undated: the earliest version
    return _version(chosen, ["refund_policy"]) if _has_rules(chosen) else DEFAULT_POLICY


def _has_rules(document: Mapping[str, Any]) -> bool:
    return "tiers" in document or "cutoff_hours" in document


def _version(raw: Any, loc: list[Any]) -> RefundPolicy:
    if not isinstance(raw, Mapping):
        raise _bad(loc, "an object is required")
    if "cutoff_hours" in raw and "tiers" not in raw:  # the legacy shape
        fee = Fee(_decimal(raw.get("fee_percent", "0"), [*loc, "fee_percent"], 100),
                  _decimal(raw.get("fee_fixed", "0"), [*loc, "fee_fixed"]))
        return RefundPolicy((Tier(fee, before=_hours(raw["cutoff_hours"], [*loc, "cutoff_hours"])),), None)
    tiers_raw = raw.get("tiers", [])
    if not isinstance(tiers_raw, list):
        raise _bad([*loc, "tiers"], "a list of tiers is required")
    tiers = tuple(_tier(tier, [*loc, "tiers", index]) for index, tier in enumerate(tiers_raw))
    after = raw.get("after_last", "refuse")
    if after in (None, "refuse"):
        return RefundPolicy(tiers, None)
    return RefundPolicy(tiers, _fee(after, [*loc, "after_last"]))


def _tier(raw: Any, loc: list[Any]) -> Tier:
    if not isinstance(raw, Mapping):
        raise _bad(loc, "an object is required")
    fee = _fee(raw, loc)
    if "hours_before" in raw:
        return Tier(fee, before=_hours(raw["hours_before"], [*loc, "hours_before"]))
    days, until = raw.get("days_before"), raw.get("until")
    if type(days) is not int or not 0 <= days <= 366:
        raise _bad([*loc, "days_before"], "give hours_before, or days_before (0..366) with until (HH:MM)")
    try:
        moment = time.fromisoformat(str(until))
    except ValueError:
        raise _bad([*loc, "until"], "a local time HH:MM is required") from None
    return Tier(fee, days_before=days, until=moment)


def _fee(raw: Any, loc: list[Any]) -> Fee:
    if not isinstance(raw, Mapping):
        raise _bad(loc, 'an object with fee_percent and/or fee_fixed (or "refuse") is required')
    return Fee(_decimal(raw.get("fee_percent", "0"), [*loc, "fee_percent"], 100),
               _decimal(raw.get("fee_fixed", "0"), [*loc, "fee_fixed"]))


def _decimal(value: Any, loc: list[Any], maximum: int | None = None) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(loc, "a decimal string (money is never a float)")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise _bad(loc, "not a decimal") from None
    if not amount.is_finite() or amount < 0 or (maximum is not None and amount > maximum):
        raise _bad(loc, f"between 0 and {maximum}" if maximum is not None else "0 or more")
    if amount != amount.quantize(KOPECK):
        raise _bad(loc, "at most two decimal places")
    return amount.quantize(KOPECK)


def _hours(value: Any, loc: list[Any]) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _bad(loc, "hours as an integer or a decimal string")
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise _bad(loc, "not a number of hours") from None
    if not hours.is_finite() or abs(hours) > 24 * 366:
        raise _bad(loc, "at most a year")
    seconds = hours * 3600
    if seconds != seconds.to_integral_value():
        raise _bad(loc, "whole seconds only")
    return timedelta(seconds=int(seconds))  # negative: a deadline after departure


def _date(value: Any, loc: list[Any]) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise _bad(loc, "a date YYYY-MM-DD is required") from None


def _bad(loc: list[Any], msg: str) -> InvalidInput:
    return InvalidInput("the refund policy is not valid", errors=[{"loc": loc, "type": "value_error", "msg": msg}])
