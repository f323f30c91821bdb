"""Why an order needs a person ("needs attention"), and the queue agents work from.

Reasons have stable codes. An order gets them from four places, all read by the queue:

1. ``order_attention`` rows (``uow.attention.flag(order_id, reason, detail)``): the one
   way to raise a flag from now on; an agent's own flag is ``manual`` with a follow-up date;
2. ``orders.needs_attention``: the free text earlier code writes (``uow.orders.flag``),
   classified by ``reason_of_text``;
3. order-log entries ``attention.<reason>`` (what the refunds and suppliers branches write
   until they call ``uow.attention.flag``);
4. refunds themselves: failed (or canceled by the provider) and requested/pending for
   longer than ``CRM_REFUND_PENDING_ALERT_MINUTES``.

Clearing an order's flags (``attention.cleared`` in its log) also settles the log entries
and refund states seen until then: they show again only if something new happens.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class AttentionReason(StrEnum):
    LATE_PAYMENT_SEATS_GONE = "late_payment_seats_gone"  # paid after expiry, the seats were resold
    REFUND_FAILED = "refund_failed"
    REFUND_PENDING = "refund_pending_too_long"
    SUPPLIER_REJECTED = "supplier_rejected"  # the boat operator refused the sale
    PAYMENT_MISMATCH = "payment_amount_mismatch"
    EMAIL_FAILED = "email_failed"  # the tickets could not be emailed
    DOUBLE_PAYMENT = "double_payment"
    EXPIRY_BLOCKED = "expiry_blocked"
    MANUAL = "manual"  # an agent's own flag, usually with a follow-up date
    OTHER = "other"


_TEXT_RULES: list[tuple[tuple[str, ...], AttentionReason]] = [
    (("seats resold", "seats were gone", "seats gone"), AttentionReason.LATE_PAYMENT_SEATS_GONE),
    (("does not match",), AttentionReason.PAYMENT_MISMATCH),
    (("second payment",), AttentionReason.DOUBLE_PAYMENT),
    (("email", "e-mail"), AttentionReason.EMAIL_FAILED),
    (("expiry waits",), AttentionReason.EXPIRY_BLOCKED),
    (("refund",), AttentionReason.REFUND_FAILED),
    (("supplier",), AttentionReason.SUPPLIER_REJECTED),
]


def reason_of_text(text: str) -> str:
    """The reason code of a free-text flag written by ``uow.orders.flag``."""
    lowered = text.lower()
    for needles, reason in _TEXT_RULES:
        if any(needle in lowered for needle in needles):
            return reason.value
    return AttentionReason.OTHER.value


def reason_of_log_action(action: str) -> str | None:
    """``attention.refund_failed`` -> ``refund_failed``; codes we do not know are kept as written."""
    if not action.startswith("attention.") or action == "attention.cleared":
        return None
    code = action.removeprefix("attention.").strip()
    return code or None


def checked_reason(code: str) -> str:
    """A reason code as stored: lower-case letters, digits and underscores, at most 64."""
    value = code.strip().lower()
    if not value or len(value) > 64 or not all(c.isalnum() or c == "_" for c in value) or not value.isascii():
        raise ValueError(f"not a reason code: {code!r}")
    return value


@dataclass(frozen=True)
class AttentionEntry:
    order_id: str
    reason: str
    detail: str
    since: datetime
    source: str  # flag | order | log | refund
    follow_up_on: date | None = None
    raised_by: str = "system"


@dataclass(frozen=True)
class QueueItem:
    order_id: str
    number: int
    status: str
    customer_name: str
    since: datetime  # the oldest open reason
    follow_up_on: date | None
    reasons: tuple[AttentionEntry, ...]


def build_queue(entries: list[AttentionEntry], orders: dict[str, tuple[int, str, str]]) -> list[QueueItem]:
    """One item per order, one entry per reason (the earliest of each), oldest first;
    ``orders``: id -> (number, status, customer name)."""
    by_order: dict[str, dict[str, AttentionEntry]] = {}
    for entry in sorted(entries, key=lambda e: e.since):
        by_order.setdefault(entry.order_id, {}).setdefault(entry.reason, entry)
    items = []
    for order_id, reasons in by_order.items():
        if order_id not in orders:
            continue
        number, status, name = orders[order_id]
        listed = tuple(reasons.values())
        follow_ups = [e.follow_up_on for e in listed if e.follow_up_on is not None]
        items.append(QueueItem(order_id, number, status, name, min(e.since for e in listed),
                               min(follow_ups) if follow_ups else None, listed))
    return sorted(items, key=lambda item: (item.since, item.number))
