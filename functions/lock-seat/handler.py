"""lock-seat: hold seats (or free-seating places) of a sailing for a buyer, all or nothing.

POST /holds, GET|PATCH|DELETE /holds/{token}. The rules live in
``prichal.services.holds``; this module only parses and shapes.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from prichal.bootstrap import container, function_app
from prichal.domain.holds import Hold, HoldStatus
from prichal.entrypoints.app import Request, Response
from prichal.entrypoints.clients import client_of
from prichal.entrypoints.fields import Text
from prichal.entrypoints.openapi import Header, describe
from prichal.services.holds import HoldRequest

app = function_app("lock-seat", "Seat holds",
                   "Temporary, all-or-nothing holds on seats of a sailing, with a TTL, extension and release.")


class HoldCreate(BaseModel):
    """Seats for assigned seating, a quantity for free seating (which one the sailing decides)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"anyOf": [
        {"required": ["seat_ids"], "properties": {"seat_ids": {"type": "array", "minItems": 1}}},
        {"required": ["quantity"], "properties": {"quantity": {"type": "integer"}}}]})
    sailing_id: Text = Field(min_length=1, max_length=64)
    seat_ids: list[Text] | None = Field(default=None, description="assigned seating: the seats to hold")
    quantity: StrictInt | None = Field(default=None, ge=1, description="free seating: how many places")


class HoldView(BaseModel):
    token: str
    sailing_id: str
    seat_ids: list[str]
    quantity: int
    status: HoldStatus
    created_at: datetime
    expires_at: datetime
    extendable_until: datetime


def _view(hold: Hold) -> dict:
    """A ``HoldView`` as JSON, built directly: this answer is on the hottest path."""
    return {"token": hold.token, "sailing_id": hold.sailing_id, "seat_ids": list(hold.seat_ids),
            "quantity": hold.quantity, "status": hold.status.value, "created_at": _utc(hold.created_at),
            "expires_at": _utc(hold.expires_at),
            "extendable_until": _utc(hold.created_at + container().hold_policy.max_lifetime)}


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


CLIENT = Header("X-Client-Id", "the buyer as the storefront names it (rate limits and caps count per buyer)")


@app.route("POST", "/holds", body=HoldCreate, response=HoldView, status=201, errors=(404, 409, 429))
@describe(headers=(CLIENT,))
def create_hold(request: Request, body: HoldCreate) -> dict:
    """Hold seats (assigned seating) or a quantity of places (free seating). One buyer (a client
    id signed with the storefront key, else the address) holds at most a few seats per sailing."""
    client = client_of(request, container().settings.client_id_header)
    hold = container().holds.create(request.tenant.id, HoldRequest(
        sailing_id=body.sailing_id, seat_ids=body.seat_ids, quantity=body.quantity,
        client_id=client.id, client_address=client.address, holder=client.holder))
    return _view(hold)


@app.route("GET", "/holds/{token}", response=HoldView, errors=(404,))
def read_hold(request: Request, token: str) -> dict:
    """Read a hold; ``status`` tells whether it is still active."""
    return _view(container().holds.get(request.tenant.id, token))


@app.route("PATCH", "/holds/{token}", response=HoldView, errors=(404, 409, 410))
def extend_hold(request: Request, token: str) -> dict:
    """Extend a live hold by its TTL, never past ``extendable_until``."""
    return _view(container().holds.extend(request.tenant.id, token))


@app.route("DELETE", "/holds/{token}", status=204, errors=(404, 409))
def release_hold(request: Request, token: str) -> Response:
    """Release a hold; releasing it again changes nothing."""
    container().holds.release(request.tenant.id, token)
    return Response(status=204)


handle = app.openfaas_handler
main = app.functions_framework_target
