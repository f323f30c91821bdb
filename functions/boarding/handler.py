"""boarding: tickets scanned at the gangway (staff token with tickets.board).

    POST /scans                          {"code": "<QR text>", "sailing_id": "<the gangway's sailing>"}
                                         -> 200 let in (seat, ticket type, order, buyer);
                                            409 ticket-already-boarded / ticket-not-valid /
                                            ticket-wrong-sailing; 422 invalid-ticket-code
    GET  /sailings/{sailing_id}          sold, boarded and still to board

A crew phone or a gate uses an API token scoped to ``tickets.board`` (``python -m
prichal.admin staff-token <slug> --email ... --scope tickets.board``); offline it works from
the revocation list (``GET /function/refund/revocations``). The rules live in
``prichal.services.boarding``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.domain.boarding import BoardingTicket
from prichal.domain.staff import Permission
from prichal.entrypoints.app import Request
from prichal.entrypoints.fields import Text
from prichal.entrypoints.openapi import describe
from prichal.entrypoints.staff import require_staff

app = function_app("boarding", "Boarding", "Tickets scanned at the gangway: let in once, refused with the reason.")


class ScanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Text = Field(min_length=1, max_length=1000, description="the text of the ticket's QR code")
    sailing_id: Text | None = Field(default=None, max_length=36,
                                    description="the sailing this gangway boards: a ticket of another is refused")


class Boarded(BaseModel):
    ticket_id: str
    order_id: str
    order_number: int
    sailing_id: str
    departs_at: datetime
    seat_id: str | None
    ticket_type: str
    description: str
    customer_name: str
    boarded_at: datetime


class Progress(BaseModel):
    sailing_id: str
    departs_at: datetime
    sold: int
    boarded: int
    waiting: int = Field(description="sold tickets not boarded yet")


def boarded_view(ticket: BoardingTicket) -> dict[str, Any]:
    return {"ticket_id": ticket.id, "order_id": ticket.order_id, "order_number": ticket.order_number,
            "sailing_id": ticket.sailing_id, "departs_at": ticket.departs_at, "seat_id": ticket.seat_id,
            "ticket_type": ticket.ticket_type, "description": ticket.description,
            "customer_name": ticket.customer_name, "boarded_at": ticket.boarded_at}


@app.route("POST", "/scans", body=ScanIn, response=Boarded, errors=(401, 403, 404, 409))
@describe(security=("staffToken",))
def scan(request: Request, body: ScanIn) -> dict[str, Any]:
    """Let the ticket of a scanned code in, once; refused (409) when it boarded already, was
    refunded or is for another sailing — nothing changes then."""
    actor = require_staff(request, Permission.TICKETS_BOARD)
    return boarded_view(container().boarding.scan(request.tenant, body.code, actor, body.sailing_id))


@app.route("GET", "/sailings/{sailing_id}", response=Progress, errors=(401, 403, 404))
@describe(security=("staffToken",))
def progress(request: Request, sailing_id: str) -> dict[str, Any]:
    """How many of the sailing's sold tickets have boarded."""
    require_staff(request, Permission.TICKETS_BOARD)
    found = container().boarding.progress(request.tenant, sailing_id)
    return {"sailing_id": found.sailing_id, "departs_at": found.departs_at, "sold": found.sold,
            "boarded": found.boarded, "waiting": found.waiting}


handle = app.openfaas_handler
main = app.functions_framework_target
