"""A support case's status machine and clocks (pure)."""

from datetime import UTC, datetime, timedelta

import pytest

from prichal.domain.cases import TRANSITIONS, CaseClock, CaseStatus, sla_view
from prichal.domain.errors import Conflict
from prichal.domain.sla import Priority, SlaPolicy

S = CaseStatus
T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
POLICY = SlaPolicy()


def test_the_machine():
    assert TRANSITIONS[S.CLOSED] == frozenset()
    assert S.IN_PROGRESS in TRANSITIONS[S.RESOLVED]  # reopen
    clock = CaseClock(T0, Priority.HIGH)
    for target in (S.IN_PROGRESS, S.WAITING_FOR_BUYER, S.IN_PROGRESS, S.RESOLVED, S.IN_PROGRESS, S.CLOSED):
        clock = clock.moved_to(target, T0, POLICY)
    with pytest.raises(Conflict):
        clock.moved_to(S.IN_PROGRESS, T0, POLICY)
    with pytest.raises(Conflict):
        CaseClock(T0, Priority.HIGH, status=S.IN_PROGRESS).moved_to(S.NEW, T0, POLICY)


def test_next_due_follows_the_running_clock():
    clock = CaseClock(T0, Priority.URGENT)
    plan = clock.schedule(POLICY)
    assert plan["next_due"] == T0 + timedelta(minutes=30) and plan["next_risk_at"] == T0 + timedelta(minutes=22.5)
    replied = clock.replied(T0 + timedelta(minutes=5))
    assert replied.schedule(POLICY)["next_due"] == T0 + timedelta(hours=4)
    waiting = replied.moved_to(S.WAITING_FOR_BUYER, T0 + timedelta(hours=1), POLICY)
    assert waiting.schedule(POLICY)["next_due"] is None
    back = waiting.moved_to(S.IN_PROGRESS, T0 + timedelta(hours=3), POLICY)
    assert back.paused == timedelta(hours=2) and back.schedule(POLICY)["next_due"] == T0 + timedelta(hours=6)
    done = back.moved_to(S.RESOLVED, T0 + timedelta(hours=5), POLICY)
    assert done.resolved_at == T0 + timedelta(hours=5) and done.schedule(POLICY)["next_due"] is None


def test_waiting_or_resolving_counts_as_the_first_response():
    at = T0 + timedelta(minutes=10)
    assert CaseClock(T0, Priority.LOW).moved_to(S.WAITING_FOR_BUYER, at, POLICY).first_responded_at == at
    assert CaseClock(T0, Priority.LOW).moved_to(S.RESOLVED, at, POLICY).first_responded_at == at
    assert CaseClock(T0, Priority.LOW).moved_to(S.IN_PROGRESS, at, POLICY).first_responded_at is None


def test_sla_view_flags():
    clock = CaseClock(T0, Priority.URGENT)
    row = {**clock.schedule(POLICY), "first_responded_at": None, "resolved_at": None, "status": "new"}
    assert sla_view(row, T0)["at_risk"] is False
    assert sla_view(row, T0 + timedelta(minutes=25))["at_risk"] is True
    late = sla_view(row, T0 + timedelta(minutes=31))
    assert late["breached"] is True and late["at_risk"] is False and late["first_response"] == "breached"
    waiting = sla_view({**row, "first_responded_at": T0, "status": "waiting_for_buyer"}, T0 + timedelta(hours=9))
    assert waiting["resolution"] == "paused" and waiting["first_response"] == "met" and not waiting["breached"]
