"""HoldPolicy size limits and extension cap; Hold.effective_status / ensure_active."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from prichal.domain.errors import HoldGone, InvalidInput
from prichal.domain.holds import Hold, HoldPolicy, HoldStatus

POLICY = HoldPolicy(ttl=timedelta(minutes=15), max_lifetime=timedelta(minutes=30), max_seats=10)
T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("count", [1, 5, 10])
def test_sizes_within_limits_pass(count):
    POLICY.check_size(count, "seat_ids")


@pytest.mark.parametrize(("count", "kind"), [(0, "too_small"), (-1, "too_small"), (11, "too_many"), (1000, "too_many")])
def test_sizes_outside_limits_fail_at_the_field(count, kind):
    with pytest.raises(InvalidInput) as caught:
        POLICY.check_size(count, "quantity")
    assert [(e["loc"], e["type"]) for e in caught.value.errors] == [(["quantity"], kind)]


def test_extension_is_one_ttl_from_now():
    assert POLICY.extended_expiry(T0, T0 + timedelta(minutes=5)) == T0 + timedelta(minutes=20)


def test_extension_is_capped_at_max_lifetime():
    assert POLICY.extended_expiry(T0, T0 + timedelta(minutes=20)) == T0 + timedelta(minutes=30)
    assert POLICY.extended_expiry(T0, T0 + timedelta(minutes=15)) == T0 + timedelta(minutes=30)


def test_extension_right_after_creation():
    assert POLICY.extended_expiry(T0, T0) == T0 + timedelta(minutes=15)


def _hold(status: HoldStatus = HoldStatus.ACTIVE, expires_at: datetime = T0 + timedelta(minutes=15)) -> Hold:
    return Hold(token="tok", tenant_id="t", sailing_id="s", client_id="c", seat_ids=("main-B-1",), quantity=1,
                status=status, created_at=T0, expires_at=expires_at)


def test_active_before_expiry():
    assert _hold().effective_status(T0 + timedelta(minutes=14, seconds=59)) is HoldStatus.ACTIVE


def test_expired_at_the_expiry_instant():
    assert _hold().effective_status(T0 + timedelta(minutes=15)) is HoldStatus.EXPIRED


@pytest.mark.parametrize("status", [HoldStatus.RELEASED, HoldStatus.ORDERED, HoldStatus.EXPIRED])
def test_closed_holds_keep_their_status(status):
    assert _hold(status).effective_status(T0 + timedelta(days=1)) is status
    assert _hold(status).effective_status(T0) is status


def test_ensure_active_passes_for_live_hold():
    _hold().ensure_active(T0)


@pytest.mark.parametrize(("hold", "now", "status"), [
    (_hold(), T0 + timedelta(minutes=15), "expired"),
    (_hold(HoldStatus.RELEASED), T0, "released"),
    (_hold(HoldStatus.ORDERED), T0, "ordered"),
])
def test_ensure_active_raises_hold_gone(hold, now, status):
    with pytest.raises(HoldGone) as caught:
        hold.ensure_active(now)
    assert status in caught.value.detail
    assert status in caught.value.extra.values()
