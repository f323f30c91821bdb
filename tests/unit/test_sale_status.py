"""Sailing.sale_status: the one rule for "can this sailing be sold now"; the catalog's day range."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from prichal.domain.catalog import (
    CATALOG_DAYS_AHEAD,
    CATALOG_DAYS_BACK,
    Sailing,
    SailingStatus,
    SaleStatus,
    check_catalog_day,
)
from prichal.domain.errors import InvalidInput, SalesClosed
from prichal.domain.seating import Seating

DEPARTS = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
SAILING = Sailing(id="s", tenant_id="t", program_id="p", program_name="P", pier_id="pi", pier_name="Pi",
                  vessel_id="v", vessel_name="V", seat_map_id=None, departs_at=DEPARTS, duration_minutes=60,
                  seating=Seating.FREE, capacity=40, status=SailingStatus.SCHEDULED, places_sold=0, places_held=0)


@pytest.mark.parametrize(("now", "expected"), [
    (DEPARTS - timedelta(days=3), SaleStatus.ON_SALE),
    (DEPARTS - timedelta(minutes=10, microseconds=1), SaleStatus.ON_SALE),
    (DEPARTS - timedelta(minutes=10), SaleStatus.SALES_CLOSED),
    (DEPARTS - timedelta(microseconds=1), SaleStatus.SALES_CLOSED),
    (DEPARTS, SaleStatus.DEPARTED),
    (DEPARTS + timedelta(days=1), SaleStatus.DEPARTED),
])
def test_sale_status_follows_the_clock(now, expected):
    assert SAILING.sale_status(now) is expected
    if expected is SaleStatus.ON_SALE:
        SAILING.ensure_on_sale(now)
    else:
        with pytest.raises(SalesClosed) as caught:
            SAILING.ensure_on_sale(now)
        assert caught.value.extra["sale_status"] == expected.value


@pytest.mark.parametrize("status", [SailingStatus.CANCELLED, SailingStatus.COMPLETED])
def test_a_cancelled_or_completed_sailing_is_never_on_sale(status):
    sailing = replace(SAILING, status=status)
    assert sailing.sale_status(DEPARTS - timedelta(days=3)).value == status.value
    with pytest.raises(SalesClosed):
        sailing.ensure_on_sale(DEPARTS - timedelta(days=3))


def test_catalog_days_within_range_pass():
    today = date(2026, 12, 1)
    check_catalog_day(today - timedelta(days=CATALOG_DAYS_BACK), today)
    check_catalog_day(today + timedelta(days=CATALOG_DAYS_AHEAD), today)


@pytest.mark.parametrize("day", [date.max, date.min, date(2026, 12, 1) + timedelta(days=CATALOG_DAYS_AHEAD + 1)])
def test_catalog_days_out_of_range_name_the_date(day):
    with pytest.raises(InvalidInput) as caught:
        check_catalog_day(day, date(2026, 12, 1))
    assert [e["loc"] for e in caught.value.errors] == [["date"]]
