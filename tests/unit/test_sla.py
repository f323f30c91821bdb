"""SLA deadline arithmetic: priorities, business hours, weekends, holidays, time zones, DST."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from prichal.domain.errors import InvalidInput
from prichal.domain.sla import (
    BusinessHours,
    Priority,
    SlaPolicy,
    SlaState,
    SlaTarget,
    add_working_time,
    state,
    working_time_between,
)

MSK = ZoneInfo("Europe/Moscow")
OFFICE = BusinessHours(MSK, {d: (time(9), time(18)) for d in range(5)})  # Mon-Fri 09-18 Moscow


def msk(*args) -> datetime:
    return datetime(*args, tzinfo=MSK)


def test_calendar_time_is_plain_addition():
    policy = SlaPolicy()
    opened = datetime(2026, 12, 5, 23, 50, tzinfo=UTC)  # a Saturday night
    due = policy.deadlines(opened, Priority.URGENT)
    assert due.first_response_due == opened + timedelta(minutes=30)
    assert due.resolution_due == opened + timedelta(hours=4)
    assert due.resolution_risk_at == opened + timedelta(hours=3)  # 75 %


@pytest.mark.parametrize("priority, first, resolution", [
    (Priority.URGENT, timedelta(minutes=30), timedelta(hours=4)),
    (Priority.HIGH, timedelta(hours=1), timedelta(hours=8)),
    (Priority.NORMAL, timedelta(hours=4), timedelta(hours=24)),
    (Priority.LOW, timedelta(hours=8), timedelta(hours=72)),
])
def test_each_priority_has_its_targets(priority, first, resolution):
    opened = datetime(2026, 12, 1, 10, tzinfo=UTC)
    due = SlaPolicy().deadlines(opened, priority)
    assert (due.first_response_due - opened, due.resolution_due - opened) == (first, resolution)


def test_inside_business_hours_the_clock_runs():
    assert add_working_time(msk(2026, 12, 1, 10), timedelta(hours=2), OFFICE) == msk(2026, 12, 1, 12)


def test_the_clock_stops_at_closing_and_runs_on_next_morning():
    # Tuesday 17:00 + 2 h = Wednesday 10:00
    assert add_working_time(msk(2026, 12, 1, 17), timedelta(hours=2), OFFICE) == msk(2026, 12, 2, 10)


def test_a_case_opened_at_night_starts_at_opening():
    assert add_working_time(msk(2026, 12, 1, 3), timedelta(minutes=30), OFFICE) == msk(2026, 12, 1, 9, 30)


def test_weekends_do_not_count():
    # Friday 17:30 + 1 h = Monday 09:30; opened on Saturday: Monday from 09:00
    assert add_working_time(msk(2026, 12, 4, 17, 30), timedelta(hours=1), OFFICE) == msk(2026, 12, 7, 9, 30)
    assert add_working_time(msk(2026, 12, 5, 12), timedelta(hours=1), OFFICE) == msk(2026, 12, 7, 10)


def test_holidays_do_not_count():
    hours = BusinessHours(MSK, OFFICE.windows, frozenset({date(2026, 12, 31)}))
    # Wednesday 30 Dec 17:00 + 2 h: 1 h on the 30th, the 31st is a holiday, Jan 1 a Friday
    assert add_working_time(msk(2026, 12, 30, 17), timedelta(hours=2), hours) == msk(2027, 1, 1, 10)


def test_a_long_target_spans_days():
    # 24 working hours from Monday 09:00 = Wednesday 15:00 (9 + 9 + 6)
    assert add_working_time(msk(2026, 11, 30, 9), timedelta(hours=24), OFFICE) == msk(2026, 12, 2, 15)


def test_the_windows_are_in_the_tenants_time_zone():
    vladivostok = BusinessHours(ZoneInfo("Asia/Vladivostok"), OFFICE.windows)
    opened = datetime(2026, 12, 1, 7, tzinfo=UTC)  # 10:00 Moscow, 17:00 Vladivostok
    assert add_working_time(opened, timedelta(hours=2), OFFICE) == opened + timedelta(hours=2)
    # Vladivostok closes at 18:00 (08:00 UTC): 1 h today, 1 h tomorrow from 09:00 local (23:00 UTC)
    assert add_working_time(opened, timedelta(hours=2), vladivostok) == datetime(2026, 12, 2, 0, tzinfo=UTC)


def test_a_dst_day_has_its_true_length():
    berlin = ZoneInfo("Europe/Berlin")
    full_day = BusinessHours(berlin, {d: (time(0), time(0)) for d in range(7)})  # 00:00-24:00 every day
    # 29 March 2026: clocks go forward, the day has 23 hours
    start = datetime(2026, 3, 29, 0, tzinfo=berlin)
    assert working_time_between(start, datetime(2026, 3, 30, 0, tzinfo=berlin), full_day) == timedelta(hours=23)
    assert add_working_time(start, timedelta(hours=23), full_day) == datetime(2026, 3, 30, 0, tzinfo=berlin)


def test_working_time_between_is_the_inverse():
    start = msk(2026, 12, 4, 16)
    for hours in (1, 2, 5, 9, 30):
        end = add_working_time(start, timedelta(hours=hours), OFFICE)
        assert working_time_between(start, end, OFFICE) == timedelta(hours=hours)
    assert working_time_between(msk(2026, 12, 5, 10), msk(2026, 12, 6, 20), OFFICE) == timedelta(0)  # weekend
    assert working_time_between(msk(2026, 12, 2), msk(2026, 12, 1), OFFICE) == timedelta(0)


def test_paused_time_moves_only_the_resolution_on():
    policy = SlaPolicy(business_hours=OFFICE)
    opened = msk(2026, 12, 1, 10)
    plain = policy.deadlines(opened, Priority.HIGH)
    paused = policy.deadlines(opened, Priority.HIGH, paused=timedelta(hours=3))
    assert paused.first_response_due == plain.first_response_due == msk(2026, 12, 1, 11)
    assert plain.resolution_due == msk(2026, 12, 1, 18)  # 8 working hours: until closing
    assert paused.resolution_due == add_working_time(plain.resolution_due, timedelta(hours=3), OFFICE)


def test_states():
    due, risk = datetime(2026, 12, 1, 12, tzinfo=UTC), datetime(2026, 12, 1, 11, tzinfo=UTC)
    at = lambda h, m=0: datetime(2026, 12, 1, h, m, tzinfo=UTC)  # noqa: E731
    assert state(due, risk, None, at(10)) is SlaState.OK
    assert state(due, risk, None, at(11)) is SlaState.AT_RISK
    assert state(due, risk, None, at(12, 1)) is SlaState.BREACHED
    assert state(due, risk, None, at(13), paused=True) is SlaState.PAUSED
    assert state(due, risk, at(11, 59), at(13)) is SlaState.MET
    assert state(due, risk, at(12, 30), at(13)) is SlaState.MISSED


def test_a_policy_round_trips_and_bad_ones_are_refused_with_fields():
    data = {"targets": {"urgent": {"first_response_minutes": 15, "resolution_minutes": 120}},
            "at_risk_ratio": 0.5,
            "business_hours": {"timezone": "Europe/Moscow", "days": {"mon": ["09:00", "18:00"],
                                                                     "sat": ["10:00", "24:00"], "sun": None},
                               "holidays": ["2026-12-31"]}}
    policy = SlaPolicy.from_data(data)
    assert policy.targets[Priority.URGENT] == SlaTarget(timedelta(minutes=15), timedelta(hours=2))
    assert policy.targets[Priority.LOW] == SlaTarget(timedelta(hours=8), timedelta(hours=72))  # default kept
    assert SlaPolicy.from_data(policy.to_data()) == policy
    assert policy.business_hours.window(date(2026, 12, 5)) == (msk(2026, 12, 5, 10), msk(2026, 12, 6, 0))
    for bad, loc in (({"targets": {"vip": {}}}, ["targets", "vip"]),
                     ({"targets": {"low": {"first_response_minutes": 0, "resolution_minutes": 10}}},
                      ["targets", "low", "first_response_minutes"]),
                     ({"targets": {"low": {"first_response_minutes": 100, "resolution_minutes": 10}}},
                      ["targets", "low"]),
                     ({"at_risk_ratio": 1.5}, ["at_risk_ratio"]),
                     ({"business_hours": {"timezone": "Mars/Olympus", "days": {"mon": ["09:00", "18:00"]}}},
                      ["business_hours", "timezone"]),
                     ({"business_hours": {"days": {"mon": ["18:00", "09:00"]}}}, ["business_hours", "days", "mon"]),
                     ({"business_hours": {"days": {"xyz": ["09:00", "18:00"]}}}, ["business_hours", "days", "xyz"]),
                     ({"business_hours": {"days": {"mon": None}}}, ["business_hours", "days"]),
                     ({"business_hours": {"days": {"mon": ["09:00", "18:00"]}, "holidays": ["soon"]}},
                      ["business_hours", "holidays", 0])):
        with pytest.raises(InvalidInput) as refused:
            SlaPolicy.from_data(bad)
        assert loc in [e["loc"] for e in refused.value.errors], (bad, refused.value.errors)
