"""Support cases: the status machine and the SLA clocks of one case (pure).

A case is opened for a buyer's request (by phone, e-mail, chat, ...), linked to an order or
not. Two clocks run against it (``prichal.domain.sla``): the first response (the first reply
to the buyer; waiting for the buyer or resolving counts as one) and the resolution, which
stops while the case waits for the buyer. ``schedule`` turns the facts of a case into its
deadlines and the one it runs against now (``next_due``, the queue's order).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from .errors import Conflict
from .sla import Priority, SlaPolicy, SlaState, state


class CaseStatus(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_BUYER = "waiting_for_buyer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Channel(StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    MESSENGER = "messenger"
    OTHER = "other"


class MessageKind(StrEnum):
    BUYER = "buyer"  # what the buyer wrote or said
    REPLY = "reply"  # our answer to the buyer
    NOTE = "note"  # internal, never shown to the buyer


S = CaseStatus
OPEN = frozenset({S.NEW, S.IN_PROGRESS, S.WAITING_FOR_BUYER})
TRANSITIONS: dict[CaseStatus, frozenset[CaseStatus]] = {
    S.NEW: frozenset({S.IN_PROGRESS, S.WAITING_FOR_BUYER, S.RESOLVED, S.CLOSED}),
    S.IN_PROGRESS: frozenset({S.WAITING_FOR_BUYER, S.RESOLVED, S.CLOSED}),
    S.WAITING_FOR_BUYER: frozenset({S.IN_PROGRESS, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.IN_PROGRESS, S.CLOSED}),  # reopened, or closed for good
    S.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class CaseClock:
    """The SLA-relevant facts of a case."""

    opened_at: datetime
    priority: Priority
    status: CaseStatus = CaseStatus.NEW
    first_responded_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    waiting_since: datetime | None = None
    paused: timedelta = timedelta(0)

    def moved_to(self, status: CaseStatus, now: datetime, policy: SlaPolicy) -> CaseClock:
        """The clock after a status change (refused when the machine does not allow it)."""
        if status == self.status:
            return self
        if status not in TRANSITIONS[self.status]:
            raise Conflict(f"a case cannot go from {self.status} to {status}", status=self.status.value)
        clock = self
        if self.status is S.WAITING_FOR_BUYER and self.waiting_since is not None:
            clock = replace(clock, paused=clock.paused + policy.between(self.waiting_since, now), waiting_since=None)
        if status in (S.WAITING_FOR_BUYER, S.RESOLVED, S.CLOSED) and clock.first_responded_at is None:
            clock = replace(clock, first_responded_at=now)
        if status is S.WAITING_FOR_BUYER:
            clock = replace(clock, waiting_since=now)
        if status in (S.RESOLVED, S.CLOSED) and clock.resolved_at is None:
            clock = replace(clock, resolved_at=now)
        if status is S.CLOSED:
            clock = replace(clock, closed_at=now)
        if status is S.IN_PROGRESS:
            clock = replace(clock, resolved_at=None)  # reopened
        return replace(clock, status=status)

    def replied(self, now: datetime) -> CaseClock:
        return self if self.first_responded_at is not None else replace(self, first_responded_at=now)

    def schedule(self, policy: SlaPolicy) -> dict[str, Any]:
        """Deadlines, at-risk moments and the deadline that runs now (None: none runs)."""
        due = policy.deadlines(self.opened_at, self.priority, self.paused)
        if self.status not in OPEN:
            running: tuple[datetime | None, datetime | None] = (None, None)
        elif self.first_responded_at is None:
            running = (due.first_response_due, due.first_response_risk_at)
        elif self.status is S.WAITING_FOR_BUYER:
            running = (None, None)
        else:
            running = (due.resolution_due, due.resolution_risk_at)
        return {"first_response_due": due.first_response_due, "first_response_risk_at": due.first_response_risk_at,
                "resolution_due": due.resolution_due, "resolution_risk_at": due.resolution_risk_at,
                "next_due": running[0], "next_risk_at": running[1]}


def sla_view(case: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Both clocks' states and the flags of a stored case (its columns as a dict)."""
    first = state(case["first_response_due"], case["first_response_risk_at"], case["first_responded_at"], now)
    resolution = state(case["resolution_due"], case["resolution_risk_at"], case["resolved_at"], now,
                       paused=case["status"] == S.WAITING_FOR_BUYER)
    return {"first_response": first.value, "resolution": resolution.value,
            "breached": SlaState.BREACHED in (first, resolution),
            "at_risk": SlaState.AT_RISK in (first, resolution) and SlaState.BREACHED not in (first, resolution),
            "next_due": case["next_due"]}
