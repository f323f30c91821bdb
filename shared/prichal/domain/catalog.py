"""Sailings, tariffs and the prices a buyer sees."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from .errors import InvalidInput, SalesClosed
from .seating import Seating
from .vat import PriceWithVat, VatRate


class SailingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class TicketType(enum.StrEnum):
    ADULT = "adult"
    CHILD = "child"
    CONCESSION = "concession"


class SaleStatus(enum.StrEnum):
    """Whether a sailing can be sold now: the one answer the catalog shows and a hold obeys."""

    NOT_YET_ON_SALE = "not_yet_on_sale"  # the sailing's sales open later
    ON_SALE = "on_sale"
    SALES_CLOSED = "sales_closed"  # boarding: sales stop shortly before departure
    DEPARTED = "departed"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


# Sales stop this long before departure (boarding closes).
SALES_CLOSE_BEFORE_DEPARTURE = timedelta(minutes=10)
# How far from the tenant's today the catalog lists the sailings of a day.
CATALOG_DAYS_BACK = 366
CATALOG_DAYS_AHEAD = 2 * 366


def check_catalog_day(day: date, today: date) -> None:
    """A day the catalog can list: within a year back and two years ahead of ``today``
    (also what keeps the day's bounds inside what dates and the database can hold)."""
    if not today - timedelta(days=CATALOG_DAYS_BACK) <= day <= today + timedelta(days=CATALOG_DAYS_AHEAD):
        raise InvalidInput("the date is too far from today", errors=[
            {"loc": ["date"], "type": "out_of_range",
             "msg": f"give a day at most {CATALOG_DAYS_BACK} days before and {CATALOG_DAYS_AHEAD} days after today"}])


@dataclass(frozen=True, slots=True)
class Sailing:
    id: str
    tenant_id: str
    program_id: str
    program_name: str
    pier_id: str
    pier_name: str
    vessel_id: str
    vessel_name: str
    seat_map_id: str | None
    departs_at: datetime
    duration_minutes: int
    seating: Seating
    capacity: int
    status: SailingStatus
    places_sold: int
    places_held: int
    # set by the admin: sales open then (None: at once) and close then (None: the boarding
    # rule); a close later than the boarding rule never keeps sales open past it
    sales_open_at: datetime | None = None
    sales_closed_at: datetime | None = None

    def departure_day(self, timezone: str) -> date:
        """The day of departure in the seller's time zone: the day a tariff must be valid."""
        return self.departs_at.astimezone(ZoneInfo(timezone)).date()

    @property
    def sales_close_at(self) -> datetime:
        boarding = self.departs_at - SALES_CLOSE_BEFORE_DEPARTURE
        return boarding if self.sales_closed_at is None else min(boarding, self.sales_closed_at)

    def sale_status(self, now: datetime) -> SaleStatus:
        """Can this sailing be sold at ``now``? The only place that decides it."""
        if self.status is SailingStatus.CANCELLED:
            return SaleStatus.CANCELLED
        if self.status is SailingStatus.COMPLETED:
            return SaleStatus.COMPLETED
        if now >= self.departs_at:
            return SaleStatus.DEPARTED
        if now >= self.sales_close_at:
            return SaleStatus.SALES_CLOSED
        if self.sales_open_at is not None and now < self.sales_open_at:
            return SaleStatus.NOT_YET_ON_SALE
        return SaleStatus.ON_SALE

    def ensure_on_sale(self, now: datetime) -> None:
        status = self.sale_status(now)
        if status is SaleStatus.CANCELLED or status is SaleStatus.COMPLETED:
            raise SalesClosed(f"sailing is {self.status.value}", sailing_id=self.id, sale_status=status.value)
        if status is SaleStatus.NOT_YET_ON_SALE:
            raise SalesClosed("sales for this sailing have not opened yet", sailing_id=self.id,
                              sale_status=status.value, sales_open_at=self.sales_open_at.isoformat()
                              if self.sales_open_at else None)
        if status is not SaleStatus.ON_SALE:
            raise SalesClosed("sales for this sailing have closed", sailing_id=self.id, sale_status=status.value)


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    program_id: str
    ticket_type: str
    seat_category: str | None  # None: any seat, or free seating
    name: str
    price: Decimal
    vat_rate: VatRate | None  # None: the tenant's rate
    valid_from: date | None = None  # days of departure, both inclusive; None: open-ended
    valid_until: date | None = None

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_until is None or day <= self.valid_until)

    def applies_to(self, seat_category: str | None) -> bool:
        return self.seat_category is None or self.seat_category == seat_category

    def priced(self, rate: VatRate) -> PriceWithVat:
        return PriceWithVat.of(self.price, rate)
