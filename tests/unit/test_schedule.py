"""Seasons from a recurring schedule, and what a change of a sold sailing would lose."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from prichal.domain.catalog import SaleStatus
from prichal.domain.errors import InvalidInput
from prichal.domain.schedule import LiveTicket, Schedule, tickets_lost_by_capacity, tickets_lost_by_new_seats
from tests.unit.test_sale_status import SAILING

MSK = ZoneInfo("Europe/Moscow")


def test_a_season_crosses_month_ends_in_local_time_without_dst():
    schedule = Schedule(first_day=date(2027, 1, 30), last_day=date(2027, 3, 2), weekdays=frozenset({1, 7}),
                        times=(time(18, 30), time(12, 0)))
    found = schedule.departures()
    days = sorted({at.date() for at in found})
    assert days[0] == date(2027, 1, 31) and days[-1] == date(2027, 3, 1)  # Sunday 31 Jan ... Monday 1 Mar
    assert date(2027, 2, 28) in days and all(day.isoweekday() in (1, 7) for day in days)
    assert [at.time() for at in found[:2]] == [time(12, 0), time(18, 30)]  # in order, whatever order given
    # Moscow is UTC+3 all year (no DST since 2014): every 12:00 is 09:00 UTC, winter or summer
    assert {at.astimezone(UTC).time() for at in found if at.time() == time(12, 0)} == {time(9, 0)}
    assert len(found) == 2 * len(days)


def test_exceptions_drop_days_and_single_departures():
    schedule = Schedule(first_day=date(2027, 6, 1), last_day=date(2027, 6, 30), weekdays=frozenset(range(1, 8)),
                        times=(time(12, 0), time(20, 0)), except_days=frozenset({date(2027, 6, 12)}),
                        except_departures=frozenset({datetime(2027, 6, 30, 20, 0)}))
    found = schedule.departures()
    assert len(found) == 30 * 2 - 2 - 1
    assert not [at for at in found if at.date() == date(2027, 6, 12)]
    assert found[-1] == datetime(2027, 6, 30, 12, 0, tzinfo=MSK)


@pytest.mark.parametrize(("change", "loc"), [
    ({"last_day": date(2027, 5, 31)}, "last_day"),
    ({"weekdays": frozenset({0, 8})}, "weekdays"),
    ({"times": ()}, "times"),
    ({"times": (time(12, 0), time(12, 0))}, "times"),
    ({"last_day": date(2028, 6, 30)}, "last_day"),
])
def test_a_bad_schedule_names_its_field(change, loc):
    base = {"first_day": date(2027, 6, 1), "last_day": date(2027, 6, 30), "weekdays": frozenset({1}),
            "times": (time(12, 0),)}
    with pytest.raises(InvalidInput) as raised:
        Schedule(**{**base, **change}).departures()
    assert [e["loc"] for e in raised.value.errors] == [[loc]]


def test_seats_lost_by_a_new_seat_map_name_their_tickets():
    tickets = [LiveTicket("t1", "main-A-1"), LiveTicket("t2", "main-A-2"), LiveTicket("t3", None)]
    assert tickets_lost_by_new_seats(tickets, {"main-A-1"}) == ["t2"]
    assert tickets_lost_by_new_seats(tickets, {"main-A-1", "main-A-2"}) == []


def test_free_seating_capacity_below_what_is_sold_loses_tickets():
    tickets = [LiveTicket(f"t{i}", None) for i in range(5)]
    assert tickets_lost_by_capacity(tickets, 5, 5) == []
    assert tickets_lost_by_capacity(tickets, 5, 3) == ["t3", "t4"]


def test_sales_open_and_close_times_of_a_sailing():
    sailing = SAILING
    now = sailing.departs_at - timedelta(days=2)
    assert replace(sailing, sales_open_at=now + timedelta(hours=1)).sale_status(now) is SaleStatus.NOT_YET_ON_SALE
    assert replace(sailing, sales_closed_at=now).sale_status(now) is SaleStatus.SALES_CLOSED
    # a close later than boarding never keeps sales open past the boarding rule
    late = replace(sailing, sales_closed_at=sailing.departs_at + timedelta(hours=1))
    assert late.sales_close_at == sailing.departs_at - timedelta(minutes=10)
