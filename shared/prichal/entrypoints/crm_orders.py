"""CRM routes of orders: search, the order card, actions, the attention queue.

``register(app)`` adds them to the crm function (``functions/crm/handler.py``). Every route
asks ``require_staff`` for its permission (orders.read to look, orders.edit to change
contact, notes, flags and resend, orders.refund to refund). Ids of another tenant's orders
are simply not found (row-level security), whatever the token.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container
from prichal.domain.order_search import MAX_PAGE, SearchCriteria, guess
from prichal.domain.staff import Permission

from .app import FunctionApp, Request
from .fields import Text
from .openapi import Header, describe
from .staff import require_staff

STAFF = ("staffToken",)
IDEMPOTENCY = Header("Idempotency-Key", "the first answer to a key is the answer to its retries")
IDEMPOTENCY_REQUIRED = Header("Idempotency-Key", "required: the refund is made once per key", required=True)


class SearchQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: Text | None = Field(default=None, max_length=500, description="one search box: number, ticket, e-mail, "
                                                                      "phone or name, guessed from the text")
    number: int | None = Field(default=None, ge=1, le=2**31 - 1, description="order number")
    ticket: Text | None = Field(default=None, max_length=1000, description="ticket QR code, number or id")
    email: Text | None = Field(default=None, max_length=254, description="whole address or a fragment")
    phone: Text | None = Field(default=None, max_length=32, description="any format; a fragment matches")
    name: Text | None = Field(default=None, max_length=200, description="any case, partial, ё = е")
    payment_id: Text | None = Field(default=None, max_length=100, description="the provider's payment id or ours")
    sailing_id: Text | None = Field(default=None, max_length=36)
    created_from: dt.datetime | None = Field(default=None, description="orders placed at or after")
    created_to: dt.datetime | None = Field(default=None, description="orders placed before")
    status: Text | None = Field(default=None, max_length=200, description="comma-separated order statuses")
    needs_attention: bool | None = None
    cursor: Text | None = Field(default=None, max_length=12, description="next_cursor of the previous page")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE)


class OrderRow(BaseModel):
    id: str
    number: int
    status: str
    created_at: dt.datetime
    customer_name: str
    customer_email: str | None
    customer_phone: str | None
    total: Decimal
    currency: str
    sailing_id: str
    departs_at: dt.datetime | None
    tickets: int
    needs_attention: str | None


class SearchAnswer(BaseModel):
    orders: list[OrderRow]
    next_cursor: str | None = Field(description="pass as cursor for the next (older) page; null at the end")


class OrderCardView(BaseModel):
    order: dict[str, Any]
    sailing: dict[str, Any]
    items: list[dict[str, Any]]
    vat: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    refunds: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    links_expire_in: int
    emails: dict[str, Any]
    timeline: list[dict[str, Any]]
    notes: list[dict[str, Any]]
    flags: list[dict[str, Any]]


class ActionAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: str
    replayed: bool = Field(description="true when this is the stored answer to an earlier request with the key")


class ContactBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text | None = Field(default=None, min_length=1, max_length=200)
    email: Text | None = Field(default=None, min_length=3, max_length=254)
    phone: Text | None = Field(default=None, min_length=10, max_length=32, description="stored as +E.164")


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=4000)


class AttentionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    detail: Text = Field(min_length=1, max_length=1000)
    follow_up_on: dt.date | None = Field(default=None, description="when to look again")


class ClearQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Text | None = Field(default=None, max_length=64, description="one reason; none: every flag")


class RefundBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket_ids: list[Text] | None = Field(default=None, max_length=100, description="none: every live ticket")
    reason: Text = Field(min_length=1, max_length=500)
    amount_override: Decimal | None = Field(default=None, ge=0, max_digits=12, decimal_places=2,
                                            description="orders.refund_override only")


class RefundAnswer(BaseModel):
    """The refund service's view of the refund (``services/refunds.py: RefundView``)."""

    model_config = ConfigDict(extra="allow")
    id: str
    order_id: str
    status: str = Field(description="requested, pending, succeeded, canceled or failed")
    amount: Decimal
    reason: str
    order_status: str
    replayed: bool


class QueueReason(BaseModel):
    reason: str
    detail: str
    since: dt.datetime
    source: str
    follow_up_on: dt.date | None
    raised_by: str


class QueueItemView(BaseModel):
    order_id: str
    number: int
    status: str
    customer_name: str
    since: dt.datetime
    follow_up_on: dt.date | None
    reasons: list[QueueReason]


class QueueAnswer(BaseModel):
    size: int
    items: list[QueueItemView]


def criteria_of(query: SearchQuery) -> SearchCriteria:
    statuses = tuple(s.strip() for s in (query.status or "").split(",") if s.strip())
    explicit = SearchCriteria(number=query.number, ticket=query.ticket, email=query.email, phone=query.phone,
                              name=query.name, payment_id=query.payment_id, sailing_id=query.sailing_id,
                              created_from=query.created_from, created_to=query.created_to, statuses=statuses,
                              needs_attention=query.needs_attention)
    if not query.q:
        return explicit
    guessed = guess(query.q)
    return dataclasses.replace(explicit, **{f.name: getattr(guessed, f.name) for f in dataclasses.fields(guessed)
                                            if getattr(guessed, f.name) not in (None, ())})


def register(app: FunctionApp) -> None:
    @app.route("GET", "/orders", query=SearchQuery, response=SearchAnswer, errors=(401, 403, 422))
    @describe(security=STAFF)
    def search_orders(request: Request, query: SearchQuery) -> dict[str, Any]:
        """Find orders: by number, ticket, e-mail, phone, name, payment, sailing, dates, status, attention."""
        require_staff(request, Permission.ORDERS_READ)
        page = container().order_search.search(request.tenant.id, criteria_of(query), query.cursor, query.limit)
        return {"orders": [dataclasses.asdict(o) for o in page.orders], "next_cursor": page.next_cursor}

    @app.route("GET", "/orders/{order_id}", response=OrderCardView, errors=(401, 403, 404))
    @describe(security=STAFF)
    def order_card(request: Request, order_id: str) -> dict[str, Any]:
        """The order card: items, VAT, payments, refunds, documents, e-mails, timeline, notes, flags."""
        require_staff(request, Permission.ORDERS_READ)
        return container().order_card.card(request.tenant.id, order_id)

    @app.route("POST", "/orders/{order_id}/resend-tickets", response=ActionAnswer, errors=(401, 403, 404, 409, 422))
    @describe(security=STAFF, headers=(IDEMPOTENCY,))
    def resend_tickets(request: Request, order_id: str) -> dict[str, Any]:
        """Email the tickets again to the order's address."""
        actor = require_staff(request, Permission.ORDERS_EDIT)
        return container().order_actions.resend_tickets(request.tenant.id, order_id, actor,
                                                        request.header("Idempotency-Key"))

    @app.route("PATCH", "/orders/{order_id}/contact", body=ContactBody, response=ActionAnswer,
               errors=(401, 403, 404, 409, 422))
    @describe(security=STAFF, headers=(IDEMPOTENCY,))
    def correct_contact(request: Request, order_id: str, body: ContactBody) -> dict[str, Any]:
        """Correct the buyer's name, e-mail or phone."""
        actor = require_staff(request, Permission.ORDERS_EDIT)
        return container().order_actions.correct_contact(request.tenant.id, order_id, actor,
                                                         request.header("Idempotency-Key"), name=body.name,
                                                         email=body.email, phone=body.phone)

    @app.route("POST", "/orders/{order_id}/notes", body=NoteBody, response=ActionAnswer, status=201,
               errors=(401, 403, 404, 409, 422))
    @describe(security=STAFF, headers=(IDEMPOTENCY,))
    def add_note(request: Request, order_id: str, body: NoteBody) -> dict[str, Any]:
        """Add an internal note (buyers never see it)."""
        actor = require_staff(request, Permission.ORDERS_EDIT)
        return container().order_actions.add_note(request.tenant.id, order_id, actor,
                                                  request.header("Idempotency-Key"), body.text)

    @app.route("PUT", "/orders/{order_id}/attention", body=AttentionBody, response=ActionAnswer,
               errors=(401, 403, 404, 409, 422))
    @describe(security=STAFF, headers=(IDEMPOTENCY,))
    def set_attention(request: Request, order_id: str, body: AttentionBody) -> dict[str, Any]:
        """Flag the order for attention, with a follow-up date."""
        actor = require_staff(request, Permission.ORDERS_EDIT)
        return container().order_actions.set_attention(request.tenant.id, order_id, actor,
                                                       request.header("Idempotency-Key"), body.detail,
                                                       body.follow_up_on)

    @app.route("DELETE", "/orders/{order_id}/attention", query=ClearQuery, response=ActionAnswer,
               errors=(401, 403, 404, 409, 422))
    @describe(security=STAFF, headers=(IDEMPOTENCY,))
    def clear_attention(request: Request, order_id: str, query: ClearQuery) -> dict[str, Any]:
        """Clear the order's attention flags (one reason, or all)."""
        actor = require_staff(request, Permission.ORDERS_EDIT)
        return container().order_actions.clear_attention(request.tenant.id, order_id, actor,
                                                         request.header("Idempotency-Key"), query.reason)

    @app.route("POST", "/orders/{order_id}/refunds", body=RefundBody, response=RefundAnswer, status=201,
               errors=(401, 403, 404, 409, 422, 503))
    @describe(security=STAFF, headers=(IDEMPOTENCY_REQUIRED,))
    def refund(request: Request, order_id: str, body: RefundBody) -> dict[str, Any]:
        """Refund tickets of the order with a reason (through the refund service)."""
        actor = require_staff(request, Permission.ORDERS_REFUND)
        view = container().order_actions.refund(request.tenant, order_id, actor, request.header("Idempotency-Key"),
                                                ticket_ids=body.ticket_ids, reason=body.reason,
                                                amount_override=body.amount_override)
        return dataclasses.asdict(view)

    @app.route("GET", "/attention", response=QueueAnswer, errors=(401, 403))
    @describe(security=STAFF)
    def attention_queue(request: Request) -> dict[str, Any]:
        """Orders that need a person, with every reason, oldest first."""
        require_staff(request, Permission.ORDERS_READ)
        items = container().attention_queue.queue(request.tenant.id)
        return {"size": len(items), "items": [dataclasses.asdict(item) for item in items]}
