"""The refund policy as a pure function: tiers to the second, St. Petersburg's time zone,
fixed + percent fees, caps, after the last tier, canceled sailings and boarded tickets."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from prichal.domain.errors import InvalidInput
from prichal.domain.refund_policy import Basis, Fee, check_policy, decide, policy_for

SPB = ZoneInfo("Europe/Moscow")
DEPARTS = datetime(2027, 6, 12, 19, 30, tzinfo=SPB)  # 16:30 UTC
PRICE = Decimal("1500.00")
SOLD = date(2027, 6, 1)

TIERED = {"tiers": [{"hours_before": 24, "fee_percent": "0"},
                    {"hours_before": 3, "fee_percent": "50", "fee_fixed": "100.00"}],
          "after_last": "refuse"}


def _decide(raw, now, price=PRICE, **kw):
    return decide(policy_for(raw, program_id=kw.pop("program", None), sold_on=kw.pop("sold", SOLD)),
                  price, DEPARTS, now, SPB, **kw)


def test_the_default_and_legacy_policy_is_a_full_refund_until_24_hours_before():
    for raw in (None, {}, {"cutoff_hours": 24, "fee_percent": "0"}):
        edge = DEPARTS - timedelta(hours=24)
        assert _decide(raw, edge).amount == PRICE  # at the deadline, to the second: still refunded
        late = _decide(raw, edge + timedelta(seconds=1))
        assert not late.refundable and late.amount == 0 and late.basis is Basis.TOO_LATE


def test_each_tier_edge_to_the_second():
    first = _decide(TIERED, DEPARTS - timedelta(hours=24))
    assert (first.tier, first.amount, first.fee) == (1, PRICE, Decimal("0.00"))
    second = _decide(TIERED, DEPARTS - timedelta(hours=24) + timedelta(seconds=1))
    # 50 % of 1500 = 750, + 100 fixed = 850 kept
    assert (second.tier, second.fee, second.amount) == (2, Decimal("850.00"), Decimal("650.00"))
    assert _decide(TIERED, DEPARTS - timedelta(hours=3)).tier == 2
    after = _decide(TIERED, DEPARTS - timedelta(hours=3) + timedelta(seconds=1))
    assert not after.refundable and after.basis is Basis.TOO_LATE


def test_after_the_last_tier_a_fee_instead_of_a_refusal():
    raw = {**TIERED, "after_last": {"fee_percent": "90"}}
    after = _decide(raw, DEPARTS + timedelta(hours=1))
    assert after.refundable and after.basis is Basis.AFTER_LAST_TIER
    assert (after.fee, after.amount) == (Decimal("1350.00"), Decimal("150.00"))


def test_fees_are_capped_at_the_price_and_rounded_to_kopecks():
    assert Fee(Decimal("10"), Decimal("2000.00")).of(PRICE) == PRICE
    assert Fee(Decimal("33.33")).of(Decimal("100.01")) == Decimal("33.33")
    capped = _decide({"tiers": [{"hours_before": 1000, "fee_fixed": "5000.00"}]}, DEPARTS - timedelta(hours=1001))
    assert capped.refundable and capped.amount == 0 and capped.fee == PRICE


def test_a_local_deadline_is_read_in_the_st_petersburg_zone():
    """"Until 18:00 the day before" is 18:00 Moscow time (15:00 UTC), whatever the clock's zone."""
    raw = {"tiers": [{"days_before": 1, "until": "18:00", "fee_percent": "0"}]}
    edge_utc = datetime(2027, 6, 11, 15, 0, tzinfo=UTC)
    assert _decide(raw, edge_utc).amount == PRICE
    assert not _decide(raw, edge_utc + timedelta(seconds=1)).refundable
    # a departure just after midnight in St. Petersburg is still "the day" of the local calendar
    late_night = datetime(2027, 6, 12, 0, 30, tzinfo=SPB)  # 21:30 UTC on the 11th
    policy = policy_for(raw, program_id=None, sold_on=SOLD)
    assert decide(policy, PRICE, late_night, datetime(2027, 6, 11, 15, 0, tzinfo=UTC), SPB).refundable
    assert not decide(policy, PRICE, late_night, datetime(2027, 6, 11, 15, 0, 1, tzinfo=UTC), SPB).refundable


def test_a_canceled_sailing_is_refunded_in_full_and_a_boarded_ticket_never_by_self_service():
    late = DEPARTS + timedelta(days=1)
    canceled = _decide(TIERED, late, sailing_canceled=True)
    assert canceled.refundable and canceled.amount == PRICE and canceled.basis is Basis.SAILING_CANCELED
    boarded = _decide(TIERED, DEPARTS - timedelta(days=5), boarded=True)
    assert not boarded.refundable and boarded.basis is Basis.BOARDED


def test_versions_by_the_day_of_sale_and_program_overrides():
    raw = {"tiers": [{"hours_before": 24}],
           "versions": [{"valid_from": "2027-03-01", "tiers": [{"hours_before": 48}]}],
           "programs": {"p-1": {"tiers": [{"hours_before": 2, "fee_percent": "10"}], "after_last": "refuse"}}}
    now = DEPARTS - timedelta(hours=30)
    assert _decide(raw, now, sold=date(2027, 2, 28)).refundable  # the older rule: 24 h
    assert not _decide(raw, now, sold=date(2027, 3, 1)).refundable  # from March: 48 h
    program = _decide(raw, DEPARTS - timedelta(hours=2), program="p-1")
    assert program.refundable and program.amount == Decimal("1350.00")


def test_the_reason_is_kept_for_later():
    decision = _decide(TIERED, DEPARTS - timedelta(hours=5))
    data = decision.as_json()
    assert data["basis"] == "tier" and data["tier"] == 2 and data["fee"] == "850.00"
    assert "3 h before departure" in data["detail"] and "50%" in data["detail"]


@pytest.mark.parametrize("raw", [
    {"tiers": [{"hours_before": 24, "fee_percent": 1.5}]},
    {"tiers": [{"hours_before": 24, "fee_percent": "101"}]},
    {"tiers": [{"hours_before": 24, "fee_fixed": "-1"}]},
    {"tiers": [{"hours_before": 24, "fee_fixed": "1.001"}]},
    {"tiers": [{"days_before": 1, "until": "25:00"}]},
    {"tiers": [{}]},
    {"tiers": "24h"},
    {"after_last": "maybe"},
    {"versions": [{"valid_from": "someday", "tiers": []}]},
    {"programs": {"p": {"programs": {}}}},
])
def test_a_policy_that_cannot_be_read_is_refused(raw):
    with pytest.raises(InvalidInput):
        check_policy(raw)


def test_a_valid_policy_passes_the_check():
    check_policy(TIERED)
    check_policy({"cutoff_hours": 24, "fee_percent": "0"})
