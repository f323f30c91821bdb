"""refund: refund quotes and refunds of paid tickets, the ticket revocation list.

Buyer (``Authorization: Bearer <order access token>``):
    POST /orders/{order_id}/quote       which tickets, how much each, why (policy)
    POST /orders/{order_id}/refunds     refund all or some tickets (``Idempotency-Key``)
    GET  /orders/{order_id}/refunds     the order's refunds
Agent (``Authorization: Bearer <staff token>``, ``prichal.entrypoints.staff.require_staff``):
    POST /agent/orders/{order_id}/quote
    POST /agent/orders/{order_id}/refunds   may set ``amount`` (override), must give ``reason``
    GET  /agent/sailings/{sailing_id}/cancellation   progress of a sailing's cancellation
Scanners (a staff token with ``orders.read``):
    GET  /revocations?sailing_id=&since=   ticket ids whose codes are void
The rules live in ``prichal.services.refunds``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.domain.money import format_rub
from prichal.domain.staff import Permission
from prichal.entrypoints.app import Request, Response
from prichal.entrypoints.fields import Text
from prichal.entrypoints.openapi import Header, describe
from prichal.entrypoints.staff import require_staff
from prichal.services.refunds import Buyer, CancellationProgress, RefundQuote, RefundView

app = function_app("refund", "Refunds", "Refund quotes and refunds of paid tickets; the ticket revocation list.")

MONEY = r"^[0-9]+\.[0-9]{2}$"
IDEMPOTENCY = Header("Idempotency-Key", "required: the same key answers the first refund again (<= 64 characters)")


class QuoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_ids: list[Text] | None = Field(default=None, min_length=1, max_length=50,
                                          description="omit: every live ticket of the order")


class RefundIn(QuoteIn):
    pass


class AgentRefundIn(QuoteIn):
    amount: Text | None = Field(default=None, pattern=r"^[0-9]+(\.[0-9]{1,2})?$", max_length=15,
                                description="override: the amount to give back (decimal string), at most what "
                                            "is left; needs orders.refund_override")
    reason: Text = Field(min_length=1, max_length=500, description="why the money goes back (logged)")


class DecisionView(BaseModel):
    refundable: bool
    price: str = Field(pattern=MONEY)
    fee: str = Field(pattern=MONEY)
    amount: str = Field(pattern=MONEY)
    basis: str = Field(description="tier | after_last_tier | too_late | sailing_canceled | boarded")
    detail: str
    tier: int | None
    deadline: datetime | None


class QuoteLineView(BaseModel):
    ticket_id: str
    position: int
    seat_id: str | None
    description: str
    decision: DecisionView


class QuoteView(BaseModel):
    order_id: str
    number: int
    currency: str
    refundable: bool
    amount: str = Field(pattern=MONEY, description="what a refund of these tickets gives back")
    left: str = Field(pattern=MONEY, description="what is still refundable on the order")
    lines: list[QuoteLineView]


class RefundedTicketView(BaseModel):
    ticket_id: str
    price: str = Field(pattern=MONEY)
    fee: str = Field(pattern=MONEY)
    amount: str = Field(pattern=MONEY)
    basis: dict[str, Any]


class RefundOut(BaseModel):
    id: str
    order_id: str
    status: str = Field(description="requested (not accepted by the provider yet), pending, succeeded, canceled, "
                                    "failed")
    amount: str = Field(pattern=MONEY)
    kind: str
    reason: str
    actor: str
    order_status: str
    tickets: list[RefundedTicketView]
    created_at: datetime


class RefundList(BaseModel):
    refunds: list[RefundOut]


class Revocation(BaseModel):
    ticket_id: str
    sailing_id: str
    revoked_at: datetime


class RevocationList(BaseModel):
    revoked: list[Revocation]


class RevocationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sailing_id: Text | None = Field(default=None, max_length=36)
    since: datetime | None = None


class ProgressView(BaseModel):
    sailing_id: str
    status: str
    reason: str
    canceled_by: str
    total: int
    refunded: int
    left: int
    unpaid: int


def quote_view(quote: RefundQuote) -> dict[str, Any]:
    return {"order_id": quote.order_id, "number": quote.number, "currency": quote.currency,
            "refundable": quote.refundable, "amount": format_rub(quote.amount), "left": format_rub(quote.left),
            "lines": [{"ticket_id": line.ticket_id, "position": line.position, "seat_id": line.seat_id,
                       "description": line.description, "decision": line.decision.as_json()}
                      for line in quote.lines]}


def refund_view(view: RefundView) -> dict[str, Any]:
    return {"id": view.id, "order_id": view.order_id, "status": view.status, "amount": format_rub(view.amount),
            "kind": view.kind, "reason": view.reason, "actor": view.actor, "order_status": view.order_status,
            "tickets": [{"ticket_id": t.ticket_id, "price": format_rub(t.price), "fee": format_rub(t.fee),
                         "amount": format_rub(t.amount), "basis": t.basis} for t in view.tickets],
            "created_at": view.created_at.isoformat()}


def progress_view(progress: CancellationProgress) -> dict[str, Any]:
    return {"sailing_id": progress.sailing_id, "status": progress.status, "reason": progress.reason,
            "canceled_by": progress.canceled_by, "total": progress.total, "refunded": progress.refunded,
            "left": progress.left, "unpaid": progress.unpaid}


def _buyer(request: Request) -> Buyer:
    auth = request.header("Authorization") or ""
    return Buyer(auth[7:].strip() if auth.lower().startswith("bearer ") else "")  # never a query parameter


def _answer(view: RefundView) -> Response:
    headers = {"Location": f"/function/refund/orders/{view.order_id}/refunds"}
    if view.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(status=201, headers=headers, body=refund_view(view))  # a replay: the first answer again


# --- buyer ----------------------------------------------------------------------------------

@app.route("POST", "/orders/{order_id}/quote", body=QuoteIn, response=QuoteView, errors=(403, 404, 409))
@describe(security=("orderToken",))
def buyer_quote(request: Request, order_id: str, body: QuoteIn) -> dict[str, Any]:
    """What refunding these tickets would give back, and why (the seller's refund policy)."""
    return quote_view(container().refunds.quote(request.tenant, order_id, body.ticket_ids, _buyer(request)))


@app.route("POST", "/orders/{order_id}/refunds", body=RefundIn, response=RefundOut, status=201,
           errors=(403, 404, 409, 503))
@describe(security=("orderToken",), headers=(IDEMPOTENCY,))
def buyer_refund(request: Request, order_id: str, body: RefundIn) -> Response:
    """Refund all or some tickets of the order under the seller's policy (send an Idempotency-Key)."""
    return _answer(container().refunds.refund(request.tenant, order_id, body.ticket_ids,
                                              request.header("Idempotency-Key") or "", _buyer(request)))


@app.route("GET", "/orders/{order_id}/refunds", response=RefundList, errors=(403, 404))
@describe(security=("orderToken",))
def buyer_refunds(request: Request, order_id: str) -> dict[str, Any]:
    """The order's refunds and their states."""
    views = container().refunds.refunds_of(request.tenant, order_id, _buyer(request))
    return {"refunds": [refund_view(view) for view in views]}


# --- agent ----------------------------------------------------------------------------------

@app.route("POST", "/agent/orders/{order_id}/quote", body=QuoteIn, response=QuoteView,
           errors=(401, 403, 404, 409))
@describe(security=("staffToken",))
def agent_quote(request: Request, order_id: str, body: QuoteIn) -> dict[str, Any]:
    """The policy's amounts for an agent (staff token with orders.refund)."""
    actor = require_staff(request, Permission.ORDERS_REFUND)
    return quote_view(container().refunds.quote(request.tenant, order_id, body.ticket_ids, actor))


@app.route("POST", "/agent/orders/{order_id}/refunds", body=AgentRefundIn, response=RefundOut, status=201,
           errors=(401, 403, 404, 409, 503))
@describe(security=("staffToken",), headers=(IDEMPOTENCY,))
def agent_refund(request: Request, order_id: str, body: AgentRefundIn) -> Response:
    """An agent's refund: the policy's amounts, or ``amount`` (orders.refund_override); a reason always."""
    actor = require_staff(request, Permission.ORDERS_REFUND_OVERRIDE if body.amount is not None
                          else Permission.ORDERS_REFUND)
    amount = Decimal(body.amount) if body.amount is not None else None
    return _answer(container().refunds.refund(request.tenant, order_id, body.ticket_ids,
                                              request.header("Idempotency-Key") or "", actor,
                                              amount_override=amount, reason=body.reason))


@app.route("GET", "/agent/sailings/{sailing_id}/cancellation", response=ProgressView,
           errors=(401, 403, 404))
@describe(security=("staffToken",))
def cancellation_progress(request: Request, sailing_id: str) -> dict[str, Any]:
    """Refunded / total of a sailing's cancellation, while it runs."""
    require_staff(request, Permission.ORDERS_READ)
    return progress_view(container().refunds.progress(request.tenant, sailing_id))


# --- scanners -------------------------------------------------------------------------------

@app.route("GET", "/revocations", query=RevocationQuery, response=RevocationList, errors=(401, 403, 404))
@describe(security=("staffToken",))
def revocations(request: Request, query: RevocationQuery) -> dict[str, Any]:
    """Tickets whose codes are void (refunded): a scanner downloads them with its staff token
    (tickets.board, as the boarding function's scans)."""
    require_staff(request, Permission.TICKETS_BOARD)
    return {"revoked": container().refunds.revocations(request.tenant, query.sailing_id, query.since)}


handle = app.openfaas_handler
main = app.functions_framework_target
