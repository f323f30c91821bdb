"""create-order: turn a hold into an order with VAT and start its payment.

POST /orders (honours ``Idempotency-Key``), GET /orders/{id} for the buyer with the access
token returned at creation. The rules live in ``prichal.services.checkout``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

from prichal.bootstrap import container, function_app
from prichal.domain.contacts import PHONE_TYPED, control_character, e164_phone
from prichal.domain.errors import InvalidInput
from prichal.domain.money import format_rub
from prichal.domain.orders import Customer, Order, OrderStatus, Payment, PaymentStatus
from prichal.domain.vat import VatRate
from prichal.entrypoints.app import Request, Response
from prichal.entrypoints.clients import client_id, client_of
from prichal.entrypoints.fields import Email, Text
from prichal.entrypoints.openapi import HTML, Header, Media, describe
from prichal.services.checkout import ItemRequest, OrderRequest

app = function_app("create-order", "Orders", "Orders from holds, with VAT per line and a payment to confirm.")

MONEY = r"^-?[0-9]+\.[0-9]{2}$"


def _one_of_needed(*fields: str) -> dict[str, Any]:
    """``anyOf`` in the JSON schema for "at least one of these, not empty" (a model validator checks it)."""
    return {"anyOf": [{"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
                      for name in fields]}


class CustomerIn(BaseModel):
    """The buyer: a name and an email or a phone (or both) for the receipt."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_of_needed("email", "phone"))
    name: Text = Field(min_length=1, max_length=200)
    email: Email | None = Field(default=None, max_length=254, description="RFC 5322/6531; stored normalised")
    phone: Text | None = Field(default=None, pattern=PHONE_TYPED,
                               description="10-15 digits, as typed (+7 921 555-12-34, 8 (921) 555-12-34); "
                                           "stored as + and its E.164 digits")

    @field_validator("phone")
    @classmethod
    def _e164(cls, phone: str | None) -> str | None:
        return None if phone is None else e164_phone(phone)  # a BadPhone is a ValueError: 422

    @model_validator(mode="after")
    def _contact(self) -> CustomerIn:
        if not self.email and not self.phone:
            raise ValueError("an email or a phone is needed for the receipt")
        return self


class ItemIn(BaseModel):
    """One line: the ticket type or the tariff id (or both) and, on assigned seating, the seat."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_one_of_needed("ticket_type", "tariff_id"))
    seat_id: Text | None = Field(default=None, max_length=64, description="assigned seating: one item per held seat")
    ticket_type: Text | None = Field(default=None, max_length=32, description="adult, child, concession, ...")
    tariff_id: Text | None = Field(default=None, max_length=36)
    quantity: StrictInt = Field(default=1, ge=1, le=50, description="free seating: places of this type")

    @model_validator(mode="after")
    def _tariff(self) -> ItemIn:
        if not self.ticket_type and not self.tariff_id:
            raise ValueError("give a ticket_type or a tariff_id")
        return self


class OrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hold_token: Text = Field(min_length=1, max_length=64)
    customer: CustomerIn
    items: list[ItemIn] = Field(min_length=1, max_length=50)
    return_url: Text | None = Field(default=None, max_length=2000, pattern=r"^https?://")


class CustomerView(BaseModel):
    name: str
    email: str | None
    phone: str | None


class ItemView(BaseModel):
    position: int
    seat_id: str | None
    ticket_type: str
    tariff_id: str
    description: str
    price: str = Field(pattern=MONEY)
    vat_rate: VatRate
    vat_amount: str = Field(pattern=MONEY)


class PaymentView(BaseModel):
    id: str
    provider: str
    status: PaymentStatus
    confirmation_url: str | None = Field(description="where the buyer pays")


class OrderView(BaseModel):
    id: str
    number: int
    status: OrderStatus
    sailing_id: str
    customer: CustomerView
    items: list[ItemView]
    total: str = Field(pattern=MONEY)
    vat_total: str = Field(pattern=MONEY)
    currency: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None
    payment: PaymentView | None


class OrderCreated(OrderView):
    access_token: str = Field(description="the buyer's key to GET /orders/{id}: Authorization: Bearer <token>")


def order_view(order: Order, payment: Payment | None) -> dict[str, Any]:
    return {
        "id": order.id,
        "number": order.number,
        "status": order.status.value,
        "sailing_id": order.sailing_id,
        "customer": {"name": order.customer.name, "email": order.customer.email, "phone": order.customer.phone},
        "items": [{"position": i.position, "seat_id": i.seat_id, "ticket_type": i.ticket_type,
                   "tariff_id": i.tariff_id, "description": i.description, "price": format_rub(i.price),
                   "vat_rate": i.vat_rate.value, "vat_amount": format_rub(i.vat_amount)} for i in order.items],
        "total": format_rub(order.total),
        "vat_total": format_rub(order.vat_total),
        "currency": order.currency,
        "created_at": order.created_at.isoformat(),
        "expires_at": order.expires_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "payment": None if payment is None else {
            "id": payment.id, "provider": payment.provider, "status": payment.status.value,
            "confirmation_url": payment.confirmation_url},
    }


@app.route("POST", "/orders", body=OrderCreate, response=OrderCreated, status=201,
           errors=(403, 404, 409, 410, 429, 503))
@describe(headers=(Header("Idempotency-Key", "the same key answers the first answer again (at most 64 characters)"),
                   Header("X-Client-Id", "the buyer as the storefront names it")))
def create_order(request: Request, body: OrderCreate) -> Response:
    """Create an order from a hold and start its payment (send an Idempotency-Key)."""
    key = (request.header("Idempotency-Key") or "").strip() or None
    if key is not None and len(key) > 64:
        raise InvalidInput("Idempotency-Key is too long", errors=[
            {"loc": ["header", "Idempotency-Key"], "type": "too_long", "msg": "at most 64 characters"}])
    if key is not None and control_character(key) is not None:
        raise InvalidInput("Idempotency-Key holds a control character", errors=[
            {"loc": ["header", "Idempotency-Key"], "type": "control_character", "msg": "no control characters"}])
    client = client_of(request, container().settings.client_id_header)
    container().order_limit.check(request.tenant.id, client.holder, client.address)  # 429 with Retry-After
    placed = container().checkout.place(request.tenant, OrderRequest(
        hold_token=body.hold_token,
        customer=Customer(body.customer.name, body.customer.email, body.customer.phone),
        items=[ItemRequest(i.seat_id, i.ticket_type, i.tariff_id, i.quantity) for i in body.items],
        client_id=client_id(request, container().settings.client_id_header),
        return_url=body.return_url, idempotency_key=key))
    headers = {"Location": f"/function/create-order/orders/{placed.order.id}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(status=201, headers=headers,
                    body={**order_view(placed.order, placed.payment), "access_token": placed.access_token})


@app.route("GET", "/orders/{order_id}", response=OrderView, errors=(403, 404))
@describe(security=("orderToken",))
def read_order(request: Request, order_id: str) -> dict:
    """The order's status for its buyer: ``Authorization: Bearer <access_token>``."""
    auth = request.header("Authorization") or ""
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else None  # never a query parameter: logged
    order, payment = container().checkout.read(request.tenant, order_id, token)
    return order_view(order, payment)


@app.route("GET", "/paid", tenant=False)
@describe(responses={200: Media(HTML)})
def paid_page(request: Request) -> Response:
    """Where the buyer lands after the payment page when the storefront gave no return_url.

    The provider sends the buyer back whatever happened (paid, declined, abandoned) and the page
    knows no order (an access token never travels in a URL), so it claims no outcome: it says
    where the outcome will come from."""
    return Response(body="<!doctype html><meta charset=utf-8><title>Возврат из оплаты</title>"
                         "<h1>Вы вернулись со страницы оплаты</h1>"
                         "<p>Если платёж прошёл, билеты придут на вашу почту в течение нескольких минут. "
                         "Если вы отказались от оплаты, заказ отменится сам, а места вернутся в продажу.</p>",
                    content_type="text/html; charset=utf-8")


handle = app.openfaas_handler
main = app.functions_framework_target
