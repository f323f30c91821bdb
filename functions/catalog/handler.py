"""catalog: what a storefront shows — sailings with availability and the lowest price, a
sailing's tariffs, and its seat map with live seat statuses and prices with VAT."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.domain.catalog import SailingStatus
from prichal.domain.seating import Seating, SeatStatus
from prichal.domain.vat import VatRate
from prichal.entrypoints.app import Request, Response

app = function_app("catalog", "Catalog", "Sailings, tariffs and seat maps with live availability.")


class SailingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="departure day (YYYY-MM-DD) in the tenant's time zone")
    pier: uuid.UUID | None = Field(default=None, description="pier id")
    program: uuid.UUID | None = Field(default=None, description="program (excursion) id")


MONEY = r"^-?[0-9]+\.[0-9]{2}$"


class Named(BaseModel):
    id: str
    name: str


class Price(BaseModel):
    """A tariff's price as a buyer sees it (``services.catalog.price_view``)."""

    tariff_id: str
    ticket_type: str
    name: str
    seat_category: str | None
    price: str = Field(pattern=MONEY, description='rubles with kopecks, e.g. "1500.00"')
    currency: str
    vat_rate: VatRate
    vat_label: str
    vat_amount: str = Field(pattern=MONEY)
    vat_included: bool


class SailingSummary(BaseModel):
    id: str
    departs_at: dt.datetime
    duration_minutes: int
    status: SailingStatus
    seating: Seating
    capacity: int
    program: Named
    pier: Named
    vessel: Named
    available: int = Field(description="places a buyer can still take")


class SailingListItem(SailingSummary):
    lowest_price: Price | None


class SailingList(BaseModel):
    date: dt.date
    sailings: list[SailingListItem]


class SailingDetail(SailingSummary):
    tariffs: list[Price]


class SeatView(BaseModel):
    id: str
    label: str
    section: str
    row: str
    number: int
    x: float
    y: float
    category: str
    accessible: bool = Field(default=False, description="a wheelchair place")
    status: SeatStatus


class CategoryView(BaseModel):
    code: str
    name: str
    color: str
    prices: list[Price]


class SeatMapRef(BaseModel):
    id: str
    version: int
    name: str


class Section(BaseModel):
    code: str
    name: str


class SeatMapView(SailingSummary):
    """Free seating: ``seat_map`` is null and only ``available`` counts; assigned seating
    adds the seats with their live status."""

    tariffs: list[Price]
    seat_map: SeatMapRef | None
    sections: list[Section] | None = None
    categories: list[CategoryView] | None = None
    counts: dict[SeatStatus, int] | None = None
    seats: list[SeatView] | None = None


@app.route("GET", "/sailings", query=SailingsQuery, response=SailingList)
def list_sailings(request: Request, query: SailingsQuery) -> dict:
    """Sailings of a day, with places available and the lowest price."""
    found = container().catalog.sailings(request.tenant, query.date, _text(query.pier), _text(query.program))
    return {"date": query.date.isoformat(), "sailings": found}


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


@app.route("GET", "/sailings/{sailing_id}", response=SailingDetail, errors=(404,))
def sailing_detail(request: Request, sailing_id: str) -> dict:
    """One sailing with its tariffs (price, VAT rate, VAT included)."""
    return container().catalog.sailing(request.tenant, sailing_id)


@app.route("GET", "/sailings/{sailing_id}/seatmap", response=SeatMapView, errors=(404,))
def seatmap(request: Request, sailing_id: str) -> Response:
    """The seat map: each seat's status (free, held, sold, blocked) and prices per category."""
    return Response(body=container().catalog.seatmap(request.tenant, sailing_id),
                    headers={"Cache-Control": "no-store"})


handle = app.openfaas_handler
main = app.functions_framework_target
