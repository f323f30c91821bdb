"""``YooKassaClient`` against the sandbox over real HTTP on loopback.

The sandbox keeps YooKassa's rules (idempotence keys, string amounts, statuses, refund
limits) and can be told to fail the next calls, so retries are exercised through real HTTP:
the sandbox's request log shows which idempotence key every attempt carried. The client's
sleep is recorded, never slept: the tests check the backoff policy, not the clock.
"""

from __future__ import annotations

import socket
import uuid
from decimal import Decimal
from typing import Any

import pytest

from prichal.adapters.payments.base import PaymentRejected, PaymentUnavailable
from prichal.adapters.payments.yookassa import YooKassaClient
from tests.sandbox_harness import SECRET, Sandbox, new_shop

RETURN_URL = "https://shop.example.test/orders/42/paid"


@pytest.fixture
def slept() -> list[float]:
    return []


@pytest.fixture
def client(sandbox: Sandbox, shop: str, slept: list[float]) -> YooKassaClient:
    return YooKassaClient(sandbox.api, shop, SECRET, timeout=10, max_attempts=5, backoff_base=0.5,
                          sleep=slept.append)


def key() -> str:
    return str(uuid.uuid4())


def create(client: YooKassaClient, amount: str = "1500.00", *, idempotence_key: str | None = None,
           capture: bool = True, **overrides: Any) -> Any:
    arguments: dict[str, Any] = {"amount": Decimal(amount), "description": "Заказ 42: Ночные мосты, 2 билета",
                                 "return_url": RETURN_URL, "metadata": {"order_id": "42"}, "receipt": None,
                                 "idempotence_key": idempotence_key or key(), "capture": capture}
    return client.create_payment(**{**arguments, **overrides})


def pay(sandbox: Sandbox, payment: Any) -> None:
    answer = sandbox.decide(payment.confirmation_url, "pay")
    assert answer.status_code == 303, answer.text


# --- payments ---------------------------------------------------------------------------------

def test_create_and_read_a_payment(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    receipt = {"customer": {"email": "buyer@example.test"},
               "items": [{"description": "Билет взрослый", "quantity": Decimal("2"),
                          "amount": {"value": "750.00", "currency": "RUB"}, "vat_code": 11,
                          "payment_mode": "full_prepayment", "payment_subject": "service"}]}
    payment = create(client, description="Я" * 200, receipt=receipt)

    assert payment.status == "pending" and payment.paid is False
    assert payment.amount == Decimal("1500.00") and isinstance(payment.amount, Decimal)
    assert payment.currency == "RUB"
    assert payment.metadata == {"order_id": "42"}
    assert payment.confirmation_url == f"{sandbox.url}/pay/{payment.id}"
    assert payment.raw["description"] == "Я" * 128  # YooKassa's limit: the client truncates
    assert payment.raw["confirmation"]["return_url"] == RETURN_URL

    again = client.get_payment(payment.id)
    assert (again.id, again.status, again.amount, again.metadata) == (payment.id, "pending", Decimal("1500.00"),
                                                                      {"order_id": "42"})
    stored = sandbox.inspect(shop, payment.id)
    assert stored["sandbox_receipt"]["items"][0]["quantity"] == "2"  # Decimals leave as strings


@pytest.mark.parametrize(("amount", "sent"), [("1500", "1500.00"), ("0.1", "0.10"), ("99999.99", "99999.99")])
def test_amounts_go_out_as_strings_and_come_back_as_decimals(client: YooKassaClient, amount: str,
                                                             sent: str) -> None:
    payment = create(client, amount)
    assert payment.raw["amount"] == {"value": sent, "currency": "RUB"}
    assert payment.amount == Decimal(sent) and isinstance(payment.amount, Decimal)
    assert client.get_payment(payment.id).amount == Decimal(sent)


@pytest.mark.parametrize(("amount", "error"), [(1500.0, TypeError), (Decimal("10.005"), ValueError),
                                               (Decimal("0"), ValueError), (Decimal("NaN"), TypeError)])
def test_bad_amounts_never_leave_the_client(client: YooKassaClient, sandbox: Sandbox, shop: str,
                                            amount: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        client.create_payment(amount=amount, description="x", return_url=RETURN_URL, metadata={},
                              receipt=None, idempotence_key=key())
    assert sandbox.requests_log(shop) == []


def test_two_stage_payment_is_captured(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = create(client, "2000.00", capture=False)
    pay(sandbox, payment)
    assert client.get_payment(payment.id).status == "waiting_for_capture"
    assert client.get_payment(payment.id).paid is True

    captured = client.capture_payment(payment.id, key(), amount=Decimal("1800.00"))
    assert (captured.status, captured.paid, captured.amount) == ("succeeded", True, Decimal("1800.00"))


def test_a_pending_payment_cannot_be_canceled(client: YooKassaClient) -> None:
    """As at YooKassa: a one-stage payment lapses by itself; only waiting_for_capture cancels."""
    payment = create(client)
    with pytest.raises(PaymentRejected) as rejected:
        client.cancel_payment(payment.id, key())
    assert rejected.value.status == 400 and client.get_payment(payment.id).status == "pending"


def test_cancel_a_payment_waiting_for_capture_then_cancel_again_is_rejected(client: YooKassaClient,
                                                                           sandbox: Sandbox) -> None:
    payment = create(client, capture=False)
    pay(sandbox, payment)
    canceled = client.cancel_payment(payment.id, key())
    assert (canceled.status, canceled.paid, canceled.cancellation_reason) == ("canceled", False,
                                                                              "canceled_by_merchant")
    with pytest.raises(PaymentRejected) as rejected:
        client.cancel_payment(payment.id, key())
    assert rejected.value.status == 400
    assert rejected.value.body["code"] == "invalid_request"


def test_unknown_and_foreign_payments_are_not_found(client: YooKassaClient, sandbox: Sandbox) -> None:
    with pytest.raises(PaymentRejected) as missing:
        client.get_payment(str(uuid.uuid4()))
    assert missing.value.status == 404 and missing.value.body["code"] == "not_found"

    other = YooKassaClient(sandbox.api, new_shop(), SECRET, sleep=lambda _: None)
    payment = create(client)
    with pytest.raises(PaymentRejected) as foreign:
        other.get_payment(payment.id)
    assert foreign.value.status == 404


# --- refunds ----------------------------------------------------------------------------------

def test_full_refund(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = create(client, "1500.00")
    pay(sandbox, payment)
    refund = client.create_refund(payment_id=payment.id, amount=Decimal("1500"), idempotence_key=key(),
                                  description="Возврат по заявке 7")
    assert (refund.payment_id, refund.status, refund.amount) == (payment.id, "succeeded", Decimal("1500.00"))
    read = client.get_refund(refund.id)
    assert (read.id, read.amount, read.raw["description"]) == (refund.id, Decimal("1500.00"), "Возврат по заявке 7")
    assert client.get_payment(payment.id).raw["refunded_amount"] == {"value": "1500.00", "currency": "RUB"}
    with pytest.raises(PaymentRejected) as foreign:
        YooKassaClient(sandbox.api, new_shop(), SECRET).get_refund(refund.id)
    assert foreign.value.status == 404 and foreign.value.body["description"] == "no such refund"


def test_partial_refunds_up_to_the_amount_and_no_further(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = create(client, "1500.00")
    pay(sandbox, payment)
    first = client.create_refund(payment_id=payment.id, amount=Decimal("500.00"), idempotence_key=key())
    second = client.create_refund(payment_id=payment.id, amount=Decimal("999.99"), idempotence_key=key())
    assert first.id != second.id

    with pytest.raises(PaymentRejected) as over:
        client.create_refund(payment_id=payment.id, amount=Decimal("0.02"), idempotence_key=key())
    assert over.value.status == 400
    assert over.value.body["parameter"] == "amount.value"

    last = client.create_refund(payment_id=payment.id, amount=Decimal("0.01"), idempotence_key=key())
    assert last.amount == Decimal("0.01")
    assert client.get_payment(payment.id).raw["refunded_amount"]["value"] == "1500.00"


def test_refund_of_an_unpaid_payment_is_rejected(client: YooKassaClient) -> None:
    payment = create(client)
    with pytest.raises(PaymentRejected) as rejected:
        client.create_refund(payment_id=payment.id, amount=Decimal("1.00"), idempotence_key=key())
    assert rejected.value.status == 400 and rejected.value.body["parameter"] == "payment_id"


# --- idempotence --------------------------------------------------------------------------------

def test_same_key_same_request_is_the_same_payment(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    same = key()
    first = create(client, idempotence_key=same)
    second = create(client, idempotence_key=same)
    assert second.id == first.id
    assert second.raw == first.raw
    assert [r["idempotence_key"] for r in sandbox.requests_log(shop, "create_payment")] == [same, same]


def test_same_key_other_request_is_rejected(client: YooKassaClient) -> None:
    same = key()
    create(client, "1500.00", idempotence_key=same)
    with pytest.raises(PaymentRejected) as rejected:
        create(client, "1600.00", idempotence_key=same)
    assert rejected.value.status == 400
    assert rejected.value.body["parameter"] == "Idempotence-Key"


# --- retries ----------------------------------------------------------------------------------------

def test_5xx_is_repeated_with_the_same_key(client: YooKassaClient, sandbox: Sandbox, shop: str,
                                           slept: list[float]) -> None:
    sandbox.faults(shop, create_payment=[500, 503])
    chosen = key()
    payment = create(client, idempotence_key=chosen)

    log = sandbox.requests_log(shop, "create_payment")
    assert [(r["status"], r["idempotence_key"]) for r in log] == [(500, chosen), (503, chosen), (200, chosen)]
    assert slept == [0.5, 1.0]  # exponential backoff from backoff_base
    assert client.get_payment(payment.id).id == payment.id


def test_202_processing_waits_retry_after_and_repeats(client: YooKassaClient, sandbox: Sandbox, shop: str,
                                                      slept: list[float]) -> None:
    sandbox.faults(shop, capture_payment=[{"status": 202, "retry_after": 1500}])
    payment = create(client, capture=False)
    pay(sandbox, payment)
    chosen = key()
    captured = client.capture_payment(payment.id, chosen)

    assert captured.status == "succeeded"
    assert slept == [1.5]  # retry_after is in milliseconds
    log = sandbox.requests_log(shop, "capture_payment")
    assert [(r["status"], r["idempotence_key"]) for r in log] == [(202, chosen), (200, chosen)]


def test_5xx_forever_is_unavailable_and_the_same_key_later_creates_one_payment(
        client: YooKassaClient, sandbox: Sandbox, shop: str, slept: list[float]) -> None:
    sandbox.faults(shop, create_payment=[500, 502, 503, 504, 500])
    chosen = key()
    with pytest.raises(PaymentUnavailable):
        create(client, idempotence_key=chosen)
    assert len(slept) == 4
    assert slept == sorted(slept)
    log = sandbox.requests_log(shop, "create_payment")
    assert len(log) == 5 and {r["idempotence_key"] for r in log} == {chosen}

    later = create(client, idempotence_key=chosen)  # the caller's own retry, with its stored key
    assert create(client, idempotence_key=chosen).id == later.id


def test_a_lost_answer_is_repeated_and_does_not_pay_twice(sandbox: Sandbox, shop: str,
                                                          slept: list[float]) -> None:
    """The sandbox creates the payment but answers after the client gave up waiting."""
    client = YooKassaClient(sandbox.api, shop, SECRET, timeout=1.0, sleep=slept.append)
    sandbox.faults(shop, create_payment=[{"delay_ms": 3000}])
    chosen = key()
    payment = create(client, idempotence_key=chosen)

    log = sandbox.requests_log(shop, "create_payment")
    assert [r["idempotence_key"] for r in log] == [chosen] * len(log) and len(log) >= 2
    assert len(slept) == len(log) - 1
    assert client.get_payment(payment.id).status == "pending"


def test_connection_refused_is_unavailable_after_the_budget(shop: str, slept: list[float]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    client = YooKassaClient(f"http://127.0.0.1:{closed_port}/v3", shop, SECRET, max_attempts=3,
                            backoff_base=0.25, sleep=slept.append)
    with pytest.raises(PaymentUnavailable):
        client.get_payment(str(uuid.uuid4()))
    assert slept == [0.25, 0.5]


def test_wrong_secret_is_rejected_not_retried(sandbox: Sandbox, shop: str, slept: list[float]) -> None:
    client = YooKassaClient(sandbox.api, shop, "not-the-secret", sleep=slept.append)
    with pytest.raises(PaymentRejected) as rejected:
        create(client)
    assert rejected.value.status == 401
    assert rejected.value.body["code"] == "invalid_credentials"
    assert "not-the-secret" not in str(rejected.value) and "not-the-secret" not in repr(client)
    assert slept == []


def test_a_key_is_required_and_never_minted(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    for bad in ("", "k" * 65):
        with pytest.raises(ValueError, match="idempotence key"):
            client.create_payment(amount=Decimal("1.00"), description="x", return_url=RETURN_URL, metadata={},
                                  receipt=None, idempotence_key=bad)
    assert sandbox.requests_log(shop) == []
