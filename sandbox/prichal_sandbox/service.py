"""The sandbox payment provider: a YooKassa API v3 look-alike for demos and tests.

It answers the calls ``YooKassaClient`` makes with YooKassa's JSON shapes and rules, so the
sandbox runs the production client, and it plays the buyer's side (a confirmation page)
and YooKassa's notifications. Served by the ``mock-payments`` function.

API (HTTP Basic auth: any shop id, password = setting ``mock_payments_secret``; a missing
or wrong secret gets 401 ``invalid_credentials``)::

    POST /v3/payments                 POST /v3/payments/{id}/capture
    GET  /v3/payments/{id}            POST /v3/payments/{id}/cancel
    POST /v3/refunds                  GET  /v3/refunds/{id}

Every POST needs ``Idempotence-Key`` (<= 64 chars): the same key with the same body answers
the first answer again (4xx included), the same key with another body is a 400, a key whose
first request is still running answers 202 ``processing``. Amounts must be strings
(``"1500.00"``), currency ``RUB``. Errors are YooKassa's
``{"type": "error", "id", "code", "description", "parameter"}``.

Buyer: ``confirmation_url`` is ``<mock_payments_public_url>/pay/{id}``, a page with
"Оплатить" / "Отказаться". ``return_url`` must be an absolute http(s) URL without control
characters (else 400, ``parameter: confirmation.return_url``); an IRI is sent as an ASCII URI
(``return_urls``). After paying, the buyer is sent back to it (303); after declining, and
without a return URL, the page shows the outcome (with a link back). Paying makes the payment
``succeeded`` (``waiting_for_capture`` when created with ``capture: false``); declining cancels it with
``{"party": "yoo_money", "reason": "expired_on_confirmation"}`` -- YooKassa has no
"declined by buyer" reason; a buyer who never confirms is cancelled by YooKassa with this
documented pair, which is what checkout must handle. Each change that YooKassa notifies about
(buyer's decision, capture, cancel, refund) is POSTed to ``mock_payments_notify_url``
(``{shop_id}`` and ``{webhook_token}`` substituted) as ``{"type": "notification", "event", "object"}``, up to
``NOTIFY_ATTEMPTS`` times until a 200.

Test controls (same Basic auth; a payment of another shop is 404)::

    GET  /sandbox/payments/{id}         the stored payment plus ``sandbox_notifications``
                                        (every delivery with its attempts), ``sandbox_receipt``
                                        and ``sandbox_refunds``
    POST /sandbox/payments/{id}/notify  {"event": "payment.succeeded", "object": {...}?}
                                        re-send a notification with the current object, or
                                        with the given one (to forge a disagreeing one)
    POST /sandbox/payments/{id}/status  {"status": "succeeded", "cancellation_details": {...}?}
                                        force a state; sends nothing
    POST /sandbox/refunds/{id}/status   {"status": "succeeded" | "canceled", "cancellation_details"?}
                                        settle a refund left pending (fault ``refund_status``)
    POST /sandbox/faults                {"create_payment": [500, 202, {"status": 202,
                                        "retry_after": 10}, {"delay_ms": 300}], ...}
                                        queue answers for the shop's next calls of an operation
                                        (create_payment, get_payment, capture_payment,
                                        cancel_payment, create_refund, get_refund): a status
                                        answers it without doing anything; ``delay_ms`` does the
                                        call and answers late (a lost answer, for client timeouts)
    GET  /sandbox/requests              the shop's API calls: operation, path, idempotence key,
                                        status (to assert a retry reused its key)

Faults, request logs and idempotence keys are per shop id, so tests that each use their
own shop id never see each other's.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import time
import uuid
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError, field_validator

from prichal.domain.webhook_tokens import webhook_token
from prichal.entrypoints.fields import StrictText, Text
from prichal_sandbox.return_urls import as_uri
from prichal_sandbox.store import Record, SandboxStore

NOTIFY_ATTEMPTS = 3
NOTIFY_PAUSE_SECONDS = 0.2
DEFAULT_RETRY_AFTER_MS = 1000
CAPTURE_WINDOW = timedelta(days=7)  # YooKassa's limit for capturing a two-stage payment
IDEMPOTENCE_KEY_LIMIT = 64
KOPECK = Decimal("0.01")
BUYER_CANCELLATION = {"party": "yoo_money", "reason": "expired_on_confirmation"}
MERCHANT_CANCELLATION = {"party": "merchant", "reason": "canceled_by_merchant"}
ERROR_CODES = {400: "invalid_request", 401: "invalid_credentials", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 415: "unsupported_media_type", 429: "too_many_requests"}
MUTATING = ("create_payment", "capture_payment", "cancel_payment", "create_refund")
OPERATIONS = (*MUTATING, "get_payment", "get_refund")
Operation = Literal["create_payment", "capture_payment", "cancel_payment", "create_refund",
                    "get_payment", "get_refund"]
Status = Literal["pending", "waiting_for_capture", "succeeded", "canceled"]
Event = Literal["payment.waiting_for_capture", "payment.succeeded", "payment.canceled", "refund.succeeded"]


class SandboxError(Exception):
    """A definite refusal, answered as YooKassa's error object."""

    def __init__(self, status: int, description: str, parameter: str | None = None, code: str | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.code = code or ERROR_CODES.get(status, "internal_server_error" if status >= 500 else "invalid_request")
        self.description = description
        self.parameter = parameter

    def body(self) -> Record:
        body = {"type": "error", "id": str(uuid.uuid4()), "code": self.code, "description": self.description}
        if self.parameter:
            body["parameter"] = self.parameter
        return body


@dataclass(frozen=True)
class Answer:
    status: int
    body: Record
    headers: dict[str, str] = field(default_factory=dict)


def _error(exc: SandboxError) -> Answer:
    headers = {"WWW-Authenticate": 'Basic realm="sandbox"'} if exc.status == 401 else {}
    return Answer(exc.status, exc.body(), headers)


# --- request bodies (YooKassa's shapes; strict where our client could get it wrong) -----------

class Amount(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictStr = Field(pattern=r"^\d{1,10}(\.\d{1,2})?$", description='a string such as "1500.00"')
    currency: Literal["RUB"]

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.value)


class Confirmation(BaseModel):
    type: Literal["redirect"]
    return_url: StrictText | None = Field(default=None, max_length=2048)

    @field_validator("return_url")
    @classmethod
    def _usable_as_location(cls, value: str | None) -> str | None:
        """Refused now, not when the buyer who has paid is sent back (a bare 500 then)."""
        if value:
            as_uri(value)
        return value


Metadata = dict[Annotated[Text, Field(max_length=32)], Annotated[StrictText, Field(max_length=512)]]


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")  # YooKassa knows many more fields; none matter here
    amount: Amount
    capture: StrictBool = False  # YooKassa's default is two-stage
    confirmation: Confirmation | None = None
    description: StrictText | None = Field(default=None, max_length=128)
    metadata: Metadata | None = Field(default=None, max_length=16)
    receipt: dict[str, Any] | None = None


class PaymentCapture(BaseModel):
    model_config = ConfigDict(extra="ignore")
    amount: Amount | None = None
    receipt: dict[str, Any] | None = None


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="ignore")
    payment_id: StrictText = Field(min_length=1, max_length=64)
    amount: Amount
    description: StrictText | None = Field(default=None, max_length=250)
    receipt: dict[str, Any] | None = None


class CancellationDetails(BaseModel):
    party: Literal["merchant", "yoo_money", "payment_network"]
    reason: StrictText = Field(min_length=1, max_length=64)


class StatusControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Status
    cancellation_details: CancellationDetails | None = None


class NotifyControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event: Event
    object: dict[str, Any] | None = None


class Fault(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: StrictInt | None = Field(default=None, description="202, or 400..599: answered instead of the call")
    retry_after: StrictInt | None = Field(default=None, ge=0, le=60_000, description="ms, for a 202")
    delay_ms: StrictInt | None = Field(default=None, ge=1, le=30_000, description="do the call, answer late")
    refund_status: Literal["pending"] | None = Field(
        default=None, description="create_refund: do the call, the refund stays pending (no notification) until "
                                  "POST /sandbox/refunds/{id}/status")


class RefundStatusControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["succeeded", "canceled"]
    cancellation_details: CancellationDetails | None = None


class FaultsControl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    create_payment: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)
    capture_payment: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)
    cancel_payment: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)
    create_refund: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)
    get_payment: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)
    get_refund: list[StrictInt | Fault] = Field(default_factory=list, max_length=50)


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        parameter = ".".join(str(part) for part in first["loc"]) or None
        raise SandboxError(400, f"{parameter or 'body'}: {first['msg']}", parameter) from exc


def _json_object(raw: bytes) -> Record:
    """A POST body: empty means ``{}`` (cancel and capture may come without one)."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise SandboxError(400, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise SandboxError(400, "the body must be a JSON object")
    return parsed


def _money(value: Decimal) -> dict[str, str]:
    return {"value": str(value.quantize(KOPECK)), "currency": "RUB"}


class SandboxPayments:
    def __init__(self, store: SandboxStore, *, secret: str, public_url: str, notify_url: str,
                 now: Callable[[], datetime], deliver: Callable[[str, Record], int],
                 sleep: Callable[[float], None] = time.sleep,
                 new_id: Callable[[], str] = lambda: str(uuid.uuid4()), webhook_key: str = "") -> None:
        self._store = store
        self._webhook_key = webhook_key  # fills ``{webhook_token}`` in notify_url
        self._secret = secret.encode()
        self._public_url = public_url.rstrip("/")
        self._notify_url = notify_url
        self._now = now
        self._deliver = deliver
        self._sleep = sleep
        self._new_id = new_id

    # --- the API ---------------------------------------------------------------------------------
    def api(self, operation: Operation, *, authorization: str | None, idempotence_key: str | None,
            body: bytes, path: str, object_id: str | None = None) -> Answer:
        """One YooKassa API call: auth, queued faults, idempotence, then the operation."""
        try:
            shop = self.authenticate(authorization)
        except SandboxError as exc:
            return _error(exc)
        fault = self._store.next_fault(shop, operation)
        if fault is not None and fault.get("status") is not None:
            answer = _fault_answer(fault)
        else:
            try:
                answer = self._answer(shop, operation, idempotence_key, body, object_id,
                                      pending=bool(fault and fault.get("refund_status")))
            except SandboxError as exc:
                answer = _error(exc)
        self._store.log_request(shop, {"at": self._timestamp(), "operation": operation, "path": path,
                                       "idempotence_key": idempotence_key, "status": answer.status})
        if fault is not None and fault.get("delay_ms"):  # done and logged; only the answer is late
            self._sleep(fault["delay_ms"] / 1000)
        return answer

    def authenticate(self, authorization: str | None) -> str:
        """The shop id of a Basic auth header carrying the sandbox secret."""
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            shop, sep, secret = b64decode(encoded.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            shop, sep, secret = "", "", ""
        if scheme.lower() != "basic" or not sep or not shop or not hmac.compare_digest(secret.encode(),
                                                                                        self._secret):
            raise SandboxError(401, "Basic auth with a shop id and the sandbox secret key is required")
        return shop

    def _answer(self, shop: str, operation: Operation, key: str | None, raw: bytes,
                object_id: str | None, pending: bool = False) -> Answer:
        if operation not in MUTATING:
            return Answer(200, self._run(shop, operation, {}, object_id))
        if not key:
            raise SandboxError(400, "the Idempotence-Key header is required", "Idempotence-Key")
        if len(key) > IDEMPOTENCE_KEY_LIMIT:
            raise SandboxError(400, f"Idempotence-Key is longer than {IDEMPOTENCE_KEY_LIMIT}", "Idempotence-Key")
        data = _json_object(raw)
        fingerprint = hashlib.sha256(json.dumps([operation, object_id, data], sort_keys=True).encode()).hexdigest()
        held = self._store.claim_key(shop, key, fingerprint)
        if held is not None:
            if held["fingerprint"] != fingerprint:
                raise SandboxError(400, "Idempotence-Key was already used for another request; "
                                        "a new request needs a new key", "Idempotence-Key")
            if held["state"] == "processing":
                return _processing(DEFAULT_RETRY_AFTER_MS)
            return Answer(held["status"], held["body"])
        try:
            answer = Answer(200, self._run(shop, operation, data, object_id, pending))
        except SandboxError as exc:
            answer = _error(exc)
        except BaseException:
            self._store.release_key(shop, key)  # no answer was given: the key may be used again
            raise
        self._store.remember_answer(shop, key, fingerprint, answer.status, answer.body)
        return answer

    def _run(self, shop: str, operation: Operation, data: Record, object_id: str | None,
             pending: bool = False) -> Record:
        if operation == "create_payment":
            return self._create_payment(shop, _parse(PaymentCreate, data))
        if operation == "create_refund":
            return self._create_refund(shop, _parse(RefundCreate, data), pending)
        if operation == "get_refund":
            payment_id = self._store.payment_of_refund(object_id or "")
            record = self._store.payment(payment_id) if payment_id else None
            found = [r["object"] for r in (record or {}).get("refunds", []) if r["object"]["id"] == object_id]
            if not found or record is None or record["shop_id"] != shop:
                raise SandboxError(404, "no such refund")
            return found[0]
        payment_id = object_id or ""
        if operation == "get_payment":
            return self._owned(shop, payment_id)["object"]
        if operation == "capture_payment":
            return self._capture(shop, payment_id, _parse(PaymentCapture, data))
        return self._cancel(shop, payment_id)

    # --- operations --------------------------------------------------------------------------------
    def _create_payment(self, shop: str, data: PaymentCreate) -> Record:
        if data.amount.decimal <= 0:
            raise SandboxError(400, "the amount must be positive", "amount.value")
        payment_id = self._new_id()
        payment: Record = {
            "id": payment_id, "status": "pending", "paid": False, "amount": _money(data.amount.decimal),
            "recipient": {"account_id": shop, "gateway_id": "sandbox"}, "created_at": self._timestamp(),
            "metadata": data.metadata or {}, "refundable": False, "test": True,
        }
        if data.description is not None:
            payment["description"] = data.description
        if data.confirmation is not None:
            payment["confirmation"] = {"type": "redirect", "confirmation_url": f"{self._public_url}/pay/{payment_id}"}
            if data.confirmation.return_url:
                payment["confirmation"]["return_url"] = data.confirmation.return_url
        self._store.add_payment(payment_id, {"shop_id": shop, "capture": data.capture, "receipt": data.receipt,
                                             "object": payment, "refunds": []})
        return payment

    def _capture(self, shop: str, payment_id: str, data: PaymentCapture) -> Record:
        def change(record: Record) -> Record:
            payment = self._check_owner(shop, record)["object"]
            if payment["status"] != "waiting_for_capture":
                raise SandboxError(400, f"the payment is {payment['status']}; only waiting_for_capture "
                                        "can be captured", "payment_id")
            authorised = Decimal(payment["amount"]["value"])
            captured = data.amount.decimal if data.amount else authorised
            if not 0 < captured <= authorised:
                raise SandboxError(400, f"a capture must be more than 0 and at most {authorised}", "amount.value")
            _set_status(payment, "succeeded", None, self._timestamp())
            payment["amount"] = _money(captured)
            if data.receipt is not None:
                record["receipt"] = data.receipt
            return record

        payment = self._update(payment_id, change)["object"]
        self._notify(shop, payment_id, "payment.succeeded", payment)
        return payment

    def _cancel(self, shop: str, payment_id: str) -> Record:
        def change(record: Record) -> Record:
            payment = self._check_owner(shop, record)["object"]
            # As at YooKassa: only a two-stage payment waiting for capture can be canceled;
            # a pending one lapses by itself, and the buyer may still pay it meanwhile.
            if payment["status"] != "waiting_for_capture":
                raise SandboxError(400, f"the payment is {payment['status']}; only waiting_for_capture "
                                        "can be canceled", "payment_id")
            _set_status(payment, "canceled", MERCHANT_CANCELLATION, self._timestamp())
            return record

        payment = self._update(payment_id, change)["object"]
        self._notify(shop, payment_id, "payment.canceled", payment)
        return payment

    def _create_refund(self, shop: str, data: RefundCreate, pending: bool = False) -> Record:
        refund: Record = {"id": self._new_id(), "payment_id": data.payment_id,
                          "status": "pending" if pending else "succeeded",
                          "amount": _money(data.amount.decimal), "created_at": self._timestamp()}
        if data.description:
            refund["description"] = data.description

        def change(record: Record) -> Record:
            payment = self._check_owner(shop, record)["object"]
            if payment["status"] != "succeeded":
                raise SandboxError(400, f"the payment is {payment['status']}; only succeeded payments "
                                        "can be refunded", "payment_id")
            refunded = Decimal((payment.get("refunded_amount") or {}).get("value", "0"))
            left = Decimal(payment["amount"]["value"]) - refunded
            if not 0 < data.amount.decimal <= left:
                raise SandboxError(400, f"a refund must be more than 0 and at most the {left} not yet "
                                        "refunded", "amount.value")
            payment["refunded_amount"] = _money(refunded + data.amount.decimal)
            record["refunds"].append({"object": refund, "receipt": data.receipt})
            return record

        self._update(data.payment_id, change)
        self._store.index_refund(refund["id"], data.payment_id)
        if not pending:
            self._notify(shop, data.payment_id, "refund.succeeded", refund)
        return refund

    # --- the buyer ---------------------------------------------------------------------------------
    def checkout(self, payment_id: str) -> Record:
        """The payment a confirmation page shows (no auth: the buyer holds only the URL)."""
        record = self._store.payment(payment_id)
        if record is None:
            raise SandboxError(404, "no such payment")
        return record["object"]

    def decide(self, payment_id: str, decision: str) -> Record:
        """The buyer pays or declines a pending payment; notifies as YooKassa would."""
        if decision not in ("pay", "decline"):
            raise SandboxError(400, 'decision must be "pay" or "decline"', "decision")
        shop = ""

        def change(record: Record) -> Record:
            nonlocal shop
            shop = record["shop_id"]
            payment = record["object"]
            if payment["status"] != "pending":
                raise SandboxError(409, f"the payment is already {payment['status']}")
            if decision == "decline":
                _set_status(payment, "canceled", BUYER_CANCELLATION, self._timestamp())
            elif record["capture"]:
                _set_status(payment, "succeeded", None, self._timestamp())
            else:
                _set_status(payment, "waiting_for_capture", None, self._timestamp())
            return record

        payment = self._update(payment_id, change)["object"]
        self._notify(shop, payment_id, f"payment.{payment['status']}", payment)
        return payment

    # --- test controls ---------------------------------------------------------------------------------
    def control(self, authorization: str | None, action: Callable[[str], Record]) -> Answer:
        """Run a test control for the authenticated shop; errors as YooKassa's error object."""
        try:
            return Answer(200, action(self.authenticate(authorization)))
        except SandboxError as exc:
            return _error(exc)

    def inspect(self, shop: str, payment_id: str) -> Record:
        record = self._owned(shop, payment_id)
        return {**record["object"], "sandbox_receipt": record["receipt"],
                "sandbox_refunds": record["refunds"], "sandbox_notifications": self._store.notifications(payment_id)}

    def resend(self, shop: str, payment_id: str, raw: bytes) -> Record:
        control = _parse(NotifyControl, _json_object(raw))
        record = self._owned(shop, payment_id)
        obj = control.object
        if obj is None and control.event == "refund.succeeded":
            if not record["refunds"]:
                raise SandboxError(400, "the payment has no refund to notify about; pass an object", "object")
            obj = record["refunds"][-1]["object"]
        return self._notify(shop, payment_id, control.event, obj or record["object"])

    def force_status(self, shop: str, payment_id: str, raw: bytes) -> Record:
        control = _parse(StatusControl, _json_object(raw))
        details = control.cancellation_details.model_dump() if control.cancellation_details else BUYER_CANCELLATION

        def change(record: Record) -> Record:
            _set_status(self._check_owner(shop, record)["object"], control.status, details, self._timestamp())
            return record

        return self._update(payment_id, change)["object"]

    def force_refund_status(self, shop: str, refund_id: str, raw: bytes) -> Record:
        """A pending refund becomes succeeded or canceled (a canceled one gives its amount
        back to the payment's refundable sum); sends nothing, as at YooKassa for canceled."""
        control = _parse(RefundStatusControl, _json_object(raw))
        payment_id = self._store.payment_of_refund(refund_id) or ""
        found: Record = {}

        def change(record: Record) -> Record:
            self._check_owner(shop, record)
            entry = next((r for r in record["refunds"] if r["object"]["id"] == refund_id), None)
            if entry is None:
                raise SandboxError(404, "no such refund")
            refund = entry["object"]
            if refund["status"] != "pending":
                raise SandboxError(409, f"the refund is already {refund['status']}")
            refund["status"] = control.status
            if control.status == "canceled":
                details = control.cancellation_details
                refund["cancellation_details"] = (details.model_dump() if details else
                                                  {"party": "yoo_money", "reason": "rejected_by_payee"})
                payment = record["object"]
                left = Decimal(payment["refunded_amount"]["value"]) - Decimal(refund["amount"]["value"])
                payment["refunded_amount"] = _money(left)
            found.update(refund)
            return record

        if not payment_id:
            raise SandboxError(404, "no such refund")
        self._update(payment_id, change)
        return found

    def queue_faults(self, shop: str, raw: bytes) -> Record:
        control = _parse(FaultsControl, _json_object(raw))
        wanted = {operation: [f if isinstance(f, Fault) else Fault(status=f) for f in getattr(control, operation)]
                  for operation in OPERATIONS}
        for operation, faults in wanted.items():  # all checked before any is queued
            if any(f.status is not None and f.status != 202 and not 400 <= f.status <= 599 for f in faults):
                raise SandboxError(400, "a fault status is 202 or 400..599", operation)
            if any(f.status is None and f.delay_ms is None and f.refund_status is None for f in faults):
                raise SandboxError(400, "a fault needs a status, delay_ms or refund_status", operation)
            if any(f.refund_status is not None for f in faults) and operation != "create_refund":
                raise SandboxError(400, "refund_status is for create_refund only", operation)
        return {"queued": {operation: self._store.queue_faults(shop, operation,
                                                               [f.model_dump(exclude_none=True) for f in faults])
                           for operation, faults in wanted.items() if faults}}

    def requests(self, shop: str) -> Record:
        return {"items": self._store.requests(shop)}

    # --- helpers -----------------------------------------------------------------------------------------
    def _owned(self, shop: str, payment_id: str) -> Record:
        record = self._store.payment(payment_id) if payment_id else None
        if record is None:
            raise SandboxError(404, "no such payment")
        return self._check_owner(shop, record)

    @staticmethod
    def _check_owner(shop: str, record: Record) -> Record:
        if record["shop_id"] != shop:  # another shop's payment does not exist for this one
            raise SandboxError(404, "no such payment")
        return record

    def _update(self, payment_id: str, change: Callable[[Record], Record]) -> Record:
        record = self._store.update_payment(payment_id, change) if payment_id else None
        if record is None:
            raise SandboxError(404, "no such payment", "payment_id")
        return record

    def _notify(self, shop: str, payment_id: str, event: str, obj: Record) -> Record:
        """Deliver like YooKassa: only a 200 counts; a few quick attempts, each one recorded."""
        provider = self._notify_url.partition("/{shop_id}")[0].rsplit("/", 1)[-1]  # .../<provider>/{shop_id}
        url = self._notify_url.replace("{shop_id}", quote(shop, safe="")).replace(
            "{webhook_token}", webhook_token(self._webhook_key, provider, shop))
        body = {"type": "notification", "event": event, "object": obj}
        attempts: list[Record] = []
        for attempt in range(NOTIFY_ATTEMPTS):
            if attempt:
                self._sleep(NOTIFY_PAUSE_SECONDS)
            try:
                attempts.append({"status": self._deliver(url, body)})
            except ConnectionError as exc:
                attempts.append({"error": str(exc)})
            if attempts[-1].get("status") == 200:
                break
        entry = {"event": event, "object_id": obj.get("id"), "object_status": obj.get("status"), "url": url,
                 "sent_at": self._timestamp(), "attempts": attempts, "delivered": attempts[-1].get("status") == 200}
        self._store.log_notification(payment_id, entry)
        return entry

    def _timestamp(self) -> str:
        return _iso(self._now())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _set_status(payment: Record, status: str, cancellation: dict[str, str] | None, now: str) -> None:
    """Move a payment to ``status`` with the fields YooKassa shows in that state."""
    payment.update(status=status, paid=status in ("waiting_for_capture", "succeeded"),
                   refundable=status == "succeeded")
    for stale in ("cancellation_details", "captured_at", "expires_at"):
        payment.pop(stale, None)
    if status == "canceled":
        payment["cancellation_details"] = dict(cancellation or BUYER_CANCELLATION)
    elif status == "succeeded":
        payment["captured_at"] = now
    elif status == "waiting_for_capture":
        payment["expires_at"] = _iso(datetime.fromisoformat(now) + CAPTURE_WINDOW)


def _processing(retry_after_ms: int) -> Answer:
    return Answer(202, {"type": "processing", "description": "The request is being processed; repeat it "
                        "with the same Idempotence-Key", "retry_after": retry_after_ms})


def _fault_answer(fault: Record) -> Answer:
    status = int(fault["status"])
    if status == 202:
        return _processing(fault.get("retry_after", DEFAULT_RETRY_AFTER_MS))
    return _error(SandboxError(status, f"sandbox fault {status} queued by a test"))
