"""catalog: what a storefront shows — sailings with availability and the lowest price, a
sailing's tariffs, and its seat map with live seat statuses and prices with VAT."""

from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request, Response

app = function_app("catalog", "Catalog", "Sailings, tariffs and seat maps with live availability.")


class SailingsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date = Field(description="departure day (YYYY-MM-DD) in the tenant's time zone")
    pier: uuid.UUID | None = Field(default=None, description="pier id")
    program: uuid.UUID | None = Field(default=None, description="program (excursion) id")


@app.route("GET", "/sailings", query=SailingsQuery)
def list_sailings(request: Request, query: SailingsQuery) -> dict:
    """Sailings of a day, with places available and the lowest price."""
    found = container().catalog.sailings(request.tenant, query.date, _text(query.pier), _text(query.program))
    return {"date": query.date.isoformat(), "sailings": found}


def _text(value: uuid.UUID | None) -> str | None:
    return str(value) if value else None


@app.route("GET", "/sailings/{sailing_id}", errors=(404,))
def sailing_detail(request: Request, sailing_id: str) -> dict:
    """One sailing with its tariffs (price, VAT rate, VAT included)."""
    return container().catalog.sailing(request.tenant, sailing_id)


@app.route("GET", "/sailings/{sailing_id}/seatmap", errors=(404,))
def seatmap(request: Request, sailing_id: str) -> Response:
    """The seat map: each seat's status (free, held, sold, blocked) and prices per category."""
    return Response(body=container().catalog.seatmap(request.tenant, sailing_id),
                    headers={"Cache-Control": "no-store"})


handle = app.openfaas_handler
main = app.functions_framework_target
