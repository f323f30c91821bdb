"""mock-payments: the sandbox payment provider, a YooKassa API v3 look-alike with its own
confirmation page, notifications and test controls (no tenant: callers authenticate as a shop).

The rules and the test-control API are documented in ``prichal_sandbox.service``;
this module only maps routes to it and shapes JSON or HTML answers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request, Response
from prichal.entrypoints.openapi import FORM, HTML, JSON, F, Header, Media, describe
from prichal_sandbox.bootstrap import sandbox_payments
from prichal_sandbox.pages import checkout_page, message_page, outcome_page
from prichal_sandbox.return_urls import location
from prichal_sandbox.service import (
    Answer,
    FaultsControl,
    NotifyControl,
    Operation,
    PaymentCapture,
    PaymentCreate,
    RefundCreate,
    RefundStatusControl,
    SandboxError,
    SandboxPayments,
    Status,
    StatusControl,
)

app = function_app("mock-payments", "Sandbox payments",
                   "A YooKassa API v3 look-alike for demos and tests: payments, refunds, a confirmation "
                   "page, notifications, and controls to force states and inject faults.")


# --- what the sandbox answers (YooKassa's shapes), for the OpenAPI description ------------------

class Money(BaseModel):
    value: str = Field(pattern=r"^[0-9]+\.[0-9]{2}$")
    currency: Literal["RUB"]


class YooKassaError(BaseModel):
    """Every refusal of the API and the test controls (not problem+json: YooKassa's own shape)."""

    type: Literal["error"]
    id: str
    code: str = Field(description="invalid_request, invalid_credentials, not_found, ...")
    description: str
    parameter: str | None = None


class Processing(BaseModel):
    """202: the first request with this Idempotence-Key is still running; repeat it."""

    type: Literal["processing"]
    description: str
    retry_after: int = Field(description="milliseconds")


class PaymentObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    status: Status
    paid: bool
    amount: Money
    created_at: str
    metadata: dict[str, str]
    refundable: bool
    test: bool
    refunded_amount: Money | None = None
    confirmation: dict[str, Any] | None = None
    cancellation_details: dict[str, str] | None = None


class RefundObject(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str
    payment_id: str
    status: Literal["succeeded"]
    amount: Money
    created_at: str
    description: str | None = None


class Delivery(BaseModel):
    """One notification with its delivery attempts."""

    model_config = ConfigDict(extra="allow")
    event: str
    object_id: str | None
    object_status: str | None
    url: str
    sent_at: str
    attempts: list[dict[str, Any]]
    delivered: bool


class InspectedPayment(PaymentObject):
    sandbox_receipt: dict[str, Any] | None
    sandbox_refunds: list[dict[str, Any]]
    sandbox_notifications: list[Delivery]


class QueuedFaults(BaseModel):
    queued: dict[str, int] = Field(description="per operation: faults now queued")


class RequestLog(BaseModel):
    items: list[dict[str, Any]]


class Decision(BaseModel):
    decision: Literal["pay", "decline"]


SHOP = ("sandboxShop",)
ERROR = (Media(JSON, YooKassaError),)
IDEMPOTENCE = (Header("Idempotence-Key", "required on every POST; the same key answers the first answer again",
                      required=True, schema={"type": "string", "minLength": 1, "maxLength": 64}),)


ANY_OBJECT = {"type": "object", "description": "ignored"}


def _api_doc(answer: type[BaseModel], body: type[BaseModel] | dict[str, Any] | None = None,
             body_required: bool = True) -> Callable[[F], F]:
    """A YooKassa API operation: its object, YooKassa's errors; a POST's body and Idempotence-Key."""
    if body is None:
        return describe(responses={200: Media(JSON, answer)}, errors=ERROR, security=SHOP)
    return describe(responses={200: Media(JSON, answer), 202: Media(JSON, Processing)}, errors=ERROR,
                    body=Media(JSON, body), body_required=body_required, headers=IDEMPOTENCE, security=SHOP)


def sandbox() -> SandboxPayments:
    return sandbox_payments(container())


def _json(answer: Answer) -> Response:
    return Response(status=answer.status, body=answer.body, headers=dict(answer.headers))


def _api(request: Request, operation: Operation, object_id: str | None = None) -> Response:
    return _json(sandbox().api(operation, authorization=request.header("Authorization"),
                               idempotence_key=request.header("Idempotence-Key"), body=request.body,
                               path=request.path, object_id=object_id))


# --- YooKassa API v3 ---------------------------------------------------------------------------

@app.route("POST", "/v3/payments", tenant=False, errors=(400, 401))
@_api_doc(PaymentObject, PaymentCreate)
def create_payment(request: Request) -> Response:
    """Create a payment (YooKassa ``POST /v3/payments``)."""
    return _api(request, "create_payment")


@app.route("GET", "/v3/payments/{payment_id}", tenant=False, errors=(401, 404))
@_api_doc(PaymentObject)
def get_payment(request: Request, payment_id: str) -> Response:
    """Read a payment."""
    return _api(request, "get_payment", payment_id)


@app.route("POST", "/v3/payments/{payment_id}/capture", tenant=False, errors=(400, 401, 404))
@_api_doc(PaymentObject, PaymentCapture, body_required=False)
def capture_payment(request: Request, payment_id: str) -> Response:
    """Capture a two-stage payment (all of it or less)."""
    return _api(request, "capture_payment", payment_id)


@app.route("POST", "/v3/payments/{payment_id}/cancel", tenant=False, errors=(400, 401, 404))
@_api_doc(PaymentObject, ANY_OBJECT, body_required=False)
def cancel_payment(request: Request, payment_id: str) -> Response:
    """Cancel a pending or waiting_for_capture payment."""
    return _api(request, "cancel_payment", payment_id)


@app.route("POST", "/v3/refunds", tenant=False, errors=(400, 401, 404))
@_api_doc(RefundObject, RefundCreate)
def create_refund(request: Request) -> Response:
    """Refund a succeeded payment, fully or partly."""
    return _api(request, "create_refund")


@app.route("GET", "/v3/refunds/{refund_id}", tenant=False, errors=(401, 404))
@_api_doc(RefundObject)
def get_refund(request: Request, refund_id: str) -> Response:
    """Read a refund."""
    return _api(request, "get_refund", refund_id)


# --- the buyer's confirmation page -----------------------------------------------------------------

def _html(status: int, page: str) -> Response:
    return Response(status=status, body=page, content_type=HTML)


def _return_uri(payment: dict) -> str | None:
    return location((payment.get("confirmation") or {}).get("return_url"))


@app.route("GET", "/pay/{payment_id}", tenant=False, errors=(404,))
@describe(responses={200: Media(HTML)}, errors=Media(HTML))
def confirmation_page(request: Request, payment_id: str) -> Response:
    """The page a confirmation_url opens: pay or decline; once decided, the outcome."""
    try:
        payment = sandbox().checkout(payment_id)
    except SandboxError as exc:
        return _html(exc.status, message_page("Платёж не найден", exc.description))
    return _html(200, checkout_page(payment, _return_uri(payment)))


@app.route("POST", "/pay/{payment_id}", tenant=False, status=303, errors=(400, 404, 409))
@describe(responses={303: None, 200: Media(HTML)}, errors=Media(HTML), body=Media(FORM, Decision))
def decide(request: Request, payment_id: str) -> Response:
    """The buyer's decision (form field ``decision=pay|decline``): once paid, back to the shop's
    return_url (as an ASCII URI); declined, or without a return URL, a page with the outcome."""
    form = parse_qs(request.body.decode("utf-8", "replace"))
    decision = (form.get("decision") or [""])[0]
    try:
        payment = sandbox().decide(payment_id, decision)
    except SandboxError as exc:
        return _html(exc.status, message_page("Платёж не принят", exc.description))
    back = _return_uri(payment)
    if back and payment["paid"]:
        return Response(status=303, headers={"Location": back})
    return _html(200, outcome_page(payment, decision == "decline", back))


# --- test controls (see prichal_sandbox.service) ------------------------------------------

@app.route("GET", "/sandbox/payments/{payment_id}", tenant=False, errors=(401, 404))
@describe(responses={200: Media(JSON, InspectedPayment)}, errors=ERROR, security=SHOP)
def inspect_payment(request: Request, payment_id: str) -> Response:
    """The stored payment with its receipt, refunds and notification log."""
    return _json(sandbox().control(request.header("Authorization"),
                                   lambda shop: sandbox().inspect(shop, payment_id)))


@app.route("POST", "/sandbox/payments/{payment_id}/notify", tenant=False, errors=(400, 401, 404))
@describe(responses={200: Media(JSON, Delivery)}, errors=ERROR, body=Media(JSON, NotifyControl), security=SHOP)
def resend_notification(request: Request, payment_id: str) -> Response:
    """Send a notification again, with the current object or a forged one."""
    return _json(sandbox().control(request.header("Authorization"),
                                   lambda shop: sandbox().resend(shop, payment_id, request.body)))


@app.route("POST", "/sandbox/payments/{payment_id}/status", tenant=False, errors=(400, 401, 404))
@describe(responses={200: Media(JSON, PaymentObject)}, errors=ERROR, body=Media(JSON, StatusControl),
          security=SHOP)
def force_status(request: Request, payment_id: str) -> Response:
    """Force a payment's status without notifying."""
    return _json(sandbox().control(request.header("Authorization"),
                                   lambda shop: sandbox().force_status(shop, payment_id, request.body)))


@app.route("POST", "/sandbox/refunds/{refund_id}/status", tenant=False, errors=(400, 401, 404, 409))
@describe(responses={200: Media(JSON, RefundObject)}, errors=ERROR, body=Media(JSON, RefundStatusControl),
          security=SHOP)
def force_refund_status(request: Request, refund_id: str) -> Response:
    """Settle a pending refund (created with the ``refund_status: pending`` fault) without notifying."""
    return _json(sandbox().control(request.header("Authorization"),
                                   lambda shop: sandbox().force_refund_status(shop, refund_id, request.body)))


@app.route("POST", "/sandbox/faults", tenant=False, errors=(400, 401))
@describe(responses={200: Media(JSON, QueuedFaults)}, errors=ERROR, body=Media(JSON, FaultsControl), security=SHOP)
def queue_faults(request: Request) -> Response:
    """Queue fault answers for the shop's next API calls."""
    return _json(sandbox().control(request.header("Authorization"),
                                   lambda shop: sandbox().queue_faults(shop, request.body)))


@app.route("GET", "/sandbox/requests", tenant=False, errors=(401,))
@describe(responses={200: Media(JSON, RequestLog)}, errors=ERROR, security=SHOP)
def api_requests(request: Request) -> Response:
    """The shop's API calls as the sandbox saw them (operation, path, idempotence key, status)."""
    return _json(sandbox().control(request.header("Authorization"), sandbox().requests))


handle = app.openfaas_handler
main = app.functions_framework_target
