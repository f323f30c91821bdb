"""Sailings, tariffs and the prices a buyer sees."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .errors import SalesClosed
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


# Sales stop this long before departure (boarding closes).
SALES_CLOSE_BEFORE_DEPARTURE = timedelta(minutes=10)


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

    def ensure_on_sale(self, now: datetime) -> None:
        if self.status is not SailingStatus.SCHEDULED:
            raise SalesClosed(f"sailing is {self.status.value}", sailing_id=self.id)
        if now >= self.departs_at - SALES_CLOSE_BEFORE_DEPARTURE:
            raise SalesClosed("sales for this sailing have closed", sailing_id=self.id)


@dataclass(frozen=True, slots=True)
class Tariff:
    id: str
    program_id: str
    ticket_type: str
    seat_category: str | None  # None: any seat, or free seating
    name: str
    price: Decimal
    vat_rate: VatRate | None  # None: the tenant's rate

    def applies_to(self, seat_category: str | None) -> bool:
        return self.seat_category is None or self.seat_category == seat_category

    def priced(self, rate: VatRate) -> PriceWithVat:
        return PriceWithVat.of(self.price, rate)
