"""The sandbox provider (mock-payments) over real HTTP: the buyer's page, notifications as
YooKassa sends them (parsed with the official SDK), test controls, and bad input."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
import redis as redis_lib
import requests
from yookassa.domain.notification import (
    RefundWebhookNotification,
    WebhookNotification,
    WebhookNotificationFactory,
)

from prichal.adapters.payments.yookassa import YooKassaClient
from tests.conftest import PG_URL, REDIS_URL
from tests.conftest import TestEnv as RunEnv
from tests.sandbox_harness import SECRET, Sandbox, new_shop

RETURN_URL = "https://shop.example.test/orders/7/paid"


@pytest.fixture
def client(sandbox: Sandbox, shop: str) -> YooKassaClient:
    return YooKassaClient(sandbox.api, shop, SECRET, sleep=lambda _: None)


def create(client: YooKassaClient, *, capture: bool = True, description: str = "Заказ 7: Петергоф, 1 билет",
           return_url: str = RETURN_URL) -> Any:
    return client.create_payment(amount=Decimal("1500.00"), description=description, return_url=return_url,
                                 metadata={"order_id": "7"}, receipt=None, idempotence_key=str(uuid.uuid4()),
                                 capture=capture)


def post(sandbox: Sandbox, path: str, *, shop: str | None = None, key: str | None = None,
         body: Any = None, raw: bytes | None = None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["Idempotence-Key"] = key
    return requests.post(sandbox.url + path, json=body if raw is None else None, data=raw, headers=headers,
                         auth=(shop, SECRET) if shop else None, timeout=30)


def parsed(notification: dict[str, Any]) -> WebhookNotification:
    return WebhookNotificationFactory().create(notification)


# --- the buyer's page -------------------------------------------------------------------------

def test_confirmation_page_shows_the_payment(client: YooKassaClient, shop: str) -> None:
    payment = create(client, description='Морская прогулка <script>alert("x")</script>')
    page = requests.get(payment.confirmation_url, timeout=30)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Оплатить" in page.text and "Отказаться" in page.text
    assert "1\u00a0500,00\u00a0₽" in page.text
    assert shop in page.text
    assert "<script>" not in page.text and "&lt;script&gt;" in page.text
    assert page.text.count('method="post"') == 2 and 'name="decision"' in page.text


def test_paying_succeeds_redirects_and_notifies(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client)
    answer = sandbox.decide(payment.confirmation_url, "pay")

    assert answer.status_code == 303 and answer.headers["Location"] == RETURN_URL
    assert client.get_payment(payment.id).status == "succeeded"
    [body] = sandbox.sink.bodies(sandbox.hook_path(shop))
    notification = parsed(body)
    assert notification.event == "payment.succeeded"
    assert notification.object.id == payment.id
    assert notification.object.status == "succeeded" and notification.object.paid is True
    assert notification.object.amount.value == Decimal("1500.00")
    assert dict(notification.object.metadata) == {"order_id": "7"}

    log = sandbox.inspect(shop, payment.id)["sandbox_notifications"]
    assert [(n["event"], n["delivered"], n["attempts"]) for n in log] == [("payment.succeeded", True,
                                                                            [{"status": 200}])]


def test_paying_a_two_stage_payment_waits_for_capture(client: YooKassaClient, sandbox: Sandbox,
                                                      shop: str) -> None:
    payment = create(client, capture=False)
    assert sandbox.decide(payment.confirmation_url, "pay").status_code == 303

    [body] = sandbox.sink.bodies(sandbox.hook_path(shop))
    assert parsed(body).event == "payment.waiting_for_capture"
    stored = client.get_payment(payment.id)
    assert (stored.status, stored.paid) == ("waiting_for_capture", True)
    assert "expires_at" in stored.raw

    client.capture_payment(payment.id, str(uuid.uuid4()))
    events = [parsed(b).event for b in sandbox.sink.bodies(sandbox.hook_path(shop))]
    assert events == ["payment.waiting_for_capture", "payment.succeeded"]


def test_declining_cancels_and_notifies(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client)
    answer = sandbox.decide(payment.confirmation_url, "decline")
    # Not sent back to a shop page that would thank for a payment: the outcome, with a link back.
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    assert "Оплата отменена" in answer.text and "Вы отказались от оплаты" in answer.text
    assert "Оплачено" not in answer.text and "принят" not in answer.text
    assert f'<a href="{RETURN_URL}">Вернуться в магазин</a>' in answer.text
    page = requests.get(payment.confirmation_url, timeout=30)
    assert page.status_code == 200 and "Оплата отменена" in page.text and "Оплатить" not in page.text

    stored = client.get_payment(payment.id)
    assert (stored.status, stored.paid, stored.cancellation_reason) == ("canceled", False,
                                                                        "expired_on_confirmation")
    assert stored.raw["cancellation_details"] == {"party": "yoo_money", "reason": "expired_on_confirmation"}
    [body] = sandbox.sink.bodies(sandbox.hook_path(shop))
    notification = parsed(body)
    assert notification.event == "payment.canceled"
    assert notification.object.cancellation_details.reason == "expired_on_confirmation"


def test_without_return_url_the_buyer_sees_a_done_page(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = client.create_payment(amount=Decimal("10.00"), description="x", return_url="", metadata={},
                                    receipt=None, idempotence_key=str(uuid.uuid4()))
    answer = sandbox.decide(payment.confirmation_url, "pay")
    assert answer.status_code == 200 and "Оплачено" in answer.text and "Платёж оплачен." in answer.text
    assert "Вернуться в магазин" not in answer.text


def test_a_decision_on_a_decided_payment_is_a_conflict(client: YooKassaClient, sandbox: Sandbox,
                                                       shop: str) -> None:
    payment = create(client)
    assert sandbox.decide(payment.confirmation_url, "pay").status_code == 303
    again = sandbox.decide(payment.confirmation_url, "decline")
    assert again.status_code == 409 and again.headers["Content-Type"].startswith("text/html")
    assert client.get_payment(payment.id).status == "succeeded"
    assert len(sandbox.sink.bodies(sandbox.hook_path(shop))) == 1
    page = requests.get(payment.confirmation_url, timeout=30)
    assert page.status_code == 200 and "Оплатить" not in page.text


def test_bad_decisions_and_unknown_payments(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = create(client)
    assert sandbox.decide(payment.confirmation_url, "maybe").status_code == 400
    assert requests.post(payment.confirmation_url, timeout=30, allow_redirects=False).status_code == 400
    assert client.get_payment(payment.id).status == "pending"
    missing = f"{sandbox.url}/pay/{uuid.uuid4()}"
    assert requests.get(missing, timeout=30).status_code == 404
    assert sandbox.decide(missing, "pay").status_code == 404


# --- notifications: retries and refunds ---------------------------------------------------------

def test_a_failing_webhook_is_retried_until_200(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    sandbox.sink.answer(sandbox.hook_path(shop), [500, 503, 200])
    payment = create(client)
    sandbox.decide(payment.confirmation_url, "pay")

    assert len(sandbox.sink.bodies(sandbox.hook_path(shop))) == 3
    [entry] = sandbox.inspect(shop, payment.id)["sandbox_notifications"]
    assert entry["attempts"] == [{"status": 500}, {"status": 503}, {"status": 200}]
    assert entry["delivered"] is True


def test_a_webhook_that_never_answers_200_is_recorded_undelivered(client: YooKassaClient, sandbox: Sandbox,
                                                                  shop: str) -> None:
    sandbox.sink.answer(sandbox.hook_path(shop), [404])
    payment = create(client)
    assert sandbox.decide(payment.confirmation_url, "pay").status_code == 303  # the buyer is not held up

    [entry] = sandbox.inspect(shop, payment.id)["sandbox_notifications"]
    assert entry["delivered"] is False and entry["attempts"] == [{"status": 404}] * 3


def test_refunds_notify_refund_succeeded(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client)
    sandbox.decide(payment.confirmation_url, "pay")
    refund = client.create_refund(payment_id=payment.id, amount=Decimal("700.00"), idempotence_key=str(uuid.uuid4()))

    last = parsed(sandbox.sink.bodies(sandbox.hook_path(shop))[-1])
    assert isinstance(last, RefundWebhookNotification)
    assert last.event == "refund.succeeded"
    assert (last.object.id, last.object.payment_id, last.object.amount.value) == (refund.id, payment.id,
                                                                                 Decimal("700.00"))


# --- test controls ---------------------------------------------------------------------------------

def test_resend_the_current_object_or_a_forged_one(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client)
    sandbox.decide(payment.confirmation_url, "pay")

    again = sandbox.control(shop, "POST", f"/sandbox/payments/{payment.id}/notify", {"event": "payment.succeeded"})
    assert again.status_code == 200 and again.json()["delivered"] is True
    forged_object = {**client.get_payment(payment.id).raw, "status": "canceled", "paid": False}
    forged = sandbox.control(shop, "POST", f"/sandbox/payments/{payment.id}/notify",
                             {"event": "payment.canceled", "object": forged_object})
    assert forged.status_code == 200

    bodies = sandbox.sink.bodies(sandbox.hook_path(shop))
    assert [(b["event"], b["object"]["status"]) for b in bodies] == [
        ("payment.succeeded", "succeeded"), ("payment.succeeded", "succeeded"), ("payment.canceled", "canceled")]
    assert client.get_payment(payment.id).status == "succeeded"  # forging changes nothing stored


def test_force_a_status_without_notifying(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client)
    forced = sandbox.control(shop, "POST", f"/sandbox/payments/{payment.id}/status",
                             {"status": "canceled",
                              "cancellation_details": {"party": "payment_network", "reason": "insufficient_funds"}})
    assert forced.status_code == 200
    stored = client.get_payment(payment.id)
    assert (stored.status, stored.cancellation_reason) == ("canceled", "insufficient_funds")
    assert sandbox.sink.bodies(sandbox.hook_path(shop)) == []

    forced = sandbox.control(shop, "POST", f"/sandbox/payments/{payment.id}/status", {"status": "succeeded"})
    assert forced.json()["status"] == "succeeded" and "cancellation_details" not in forced.json()


def test_controls_are_per_shop(client: YooKassaClient, sandbox: Sandbox) -> None:
    payment = create(client)
    other = new_shop()
    assert sandbox.control(other, "GET", f"/sandbox/payments/{payment.id}").status_code == 404
    assert sandbox.control(other, "POST", f"/sandbox/payments/{payment.id}/status",
                           {"status": "succeeded"}).status_code == 404
    assert sandbox.requests_log(other) == []
    assert requests.get(f"{sandbox.url}/sandbox/requests", timeout=30).status_code == 401


# --- bad input: 4xx with YooKassa's machine-readable error, nothing changed -----------------------

@pytest.mark.parametrize(("body", "parameter"), [
    ({"amount": {"value": 1500.0, "currency": "RUB"}, "capture": True}, "amount.value"),
    ({"amount": {"value": "15.005", "currency": "RUB"}}, "amount.value"),
    ({"amount": {"value": "0.00", "currency": "RUB"}}, "amount.value"),
    ({"amount": {"value": "100.00", "currency": "USD"}}, "amount.currency"),
    ({"amount": {"value": "100.00", "currency": "RUB"}, "description": "я" * 129}, "description"),
    ({"amount": {"value": "100.00", "currency": "RUB"}, "metadata": {"n": 1}}, "metadata.n"),
    ({"amount": {"value": "100.00", "currency": "RUB"}, "confirmation": {"type": "qr"}}, "confirmation.type"),
    ({}, "amount"),
])
def test_bad_payment_bodies_are_400_with_the_parameter(sandbox: Sandbox, shop: str, body: dict[str, Any],
                                                       parameter: str) -> None:
    answer = post(sandbox, "/v3/payments", shop=shop, key=str(uuid.uuid4()), body=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()
    assert (error["type"], error["code"], error["parameter"]) == ("error", "invalid_request", parameter)
    assert error["description"] and error["id"]


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"'])
def test_malformed_json_is_400(sandbox: Sandbox, shop: str, raw: bytes) -> None:
    answer = post(sandbox, "/v3/payments", shop=shop, key=str(uuid.uuid4()), raw=raw)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_request"


def test_idempotence_key_is_required_and_bounded(sandbox: Sandbox, shop: str) -> None:
    body = {"amount": {"value": "100.00", "currency": "RUB"}}
    for key in (None, "k" * 65):
        answer = post(sandbox, "/v3/payments", shop=shop, key=key, body=body)
        assert answer.status_code == 400
        assert answer.json()["parameter"] == "Idempotence-Key"


def test_same_key_repeats_the_first_answer_even_a_refusal(sandbox: Sandbox, shop: str) -> None:
    key = str(uuid.uuid4())
    body = {"amount": {"value": "100", "currency": "RUB"}, "confirmation": {"type": "redirect",
                                                                           "return_url": RETURN_URL}}
    first = post(sandbox, "/v3/payments", shop=shop, key=key, body=body)
    second = post(sandbox, "/v3/payments", shop=shop, key=key, body=dict(reversed(body.items())))
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    assert first.json()["amount"] == {"value": "100.00", "currency": "RUB"}

    bad_key = str(uuid.uuid4())
    bad = {"amount": {"value": "-1", "currency": "RUB"}}
    assert post(sandbox, "/v3/payments", shop=shop, key=bad_key, body=bad).status_code == 400
    repeated = post(sandbox, "/v3/payments", shop=shop, key=bad_key, body=bad)
    assert repeated.status_code == 400 and repeated.json()["parameter"] == "amount.value"


@pytest.mark.parametrize("auth", [None, ("shop", "wrong"), ("", SECRET)])
def test_credentials_are_required(sandbox: Sandbox, auth: tuple[str, str] | None) -> None:
    answer = requests.post(f"{sandbox.url}/v3/payments", json={"amount": {"value": "1.00", "currency": "RUB"}},
                           headers={"Idempotence-Key": str(uuid.uuid4())}, auth=auth, timeout=30)
    assert answer.status_code == 401
    assert answer.json()["type"] == "error" and answer.json()["code"] == "invalid_credentials"
    assert answer.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize("faults", [{"create_payment": [200]}, {"create_payment": ["500"]},
                                    {"pay_everything": [500]}, {"create_payment": [{"delay_ms": 0}]}])
def test_bad_fault_requests_are_400_and_queue_nothing(client: YooKassaClient, sandbox: Sandbox, shop: str,
                                                      faults: dict[str, Any]) -> None:
    answer = sandbox.control(shop, "POST", "/sandbox/faults", faults)
    assert answer.status_code == 400 and answer.json()["code"] == "invalid_request"
    assert create(client).status == "pending"  # no fault was queued


def test_unknown_routes_are_problem_json(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.url}/v3/nothing", timeout=30)
    assert answer.status_code == 404
    assert answer.headers["Content-Type"] == "application/problem+json"


# --- durability: payments live in PostgreSQL, not in Redis ---------------------------------

def _flush_sandbox_keys(test_env: RunEnv) -> int:
    """What a Redis loss does to the sandbox: every key under its prefix is gone."""
    client = redis_lib.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{test_env.redis_prefix}sandbox:*", count=1000))
        return client.delete(*keys) if keys else 0
    finally:
        client.close()


def test_payments_can_be_paid_after_redis_is_flushed(client: YooKassaClient, sandbox: Sandbox, shop: str,
                                                     test_env: RunEnv) -> None:
    key = str(uuid.uuid4())
    body = {"amount": {"value": "1500.00", "currency": "RUB"}, "capture": True,
            "confirmation": {"type": "redirect", "return_url": RETURN_URL}, "metadata": {"order_id": "7"}}
    created = post(sandbox, "/v3/payments", shop=shop, key=key, body=body)
    assert created.status_code == 200
    paid_before = create(client)
    assert sandbox.decide(paid_before.confirmation_url, "pay").status_code == 303
    assert _flush_sandbox_keys(test_env) > 0  # the request log at least was in Redis

    payment = created.json()
    page = requests.get(payment["confirmation"]["confirmation_url"], timeout=30)
    assert page.status_code == 200 and "Оплатить" in page.text
    answer = sandbox.decide(payment["confirmation"]["confirmation_url"], "pay")
    assert answer.status_code == 303 and answer.headers["Location"] == RETURN_URL
    assert client.get_payment(payment["id"]).status == "succeeded"
    # The idempotence key outlived the flush too: a retry answers the same payment, not a second one.
    again = post(sandbox, "/v3/payments", shop=shop, key=key, body=body)
    assert again.status_code == 200 and again.json()["id"] == payment["id"]
    # An earlier payment, its notifications and a refund of it are all still there.
    assert [n["event"] for n in sandbox.inspect(shop, paid_before.id)["sandbox_notifications"]] == [
        "payment.succeeded"]
    refund = client.create_refund(payment_id=paid_before.id, amount=Decimal("500.00"), description="Возврат",
                                  receipt=None, idempotence_key=str(uuid.uuid4()))
    assert refund.status == "succeeded"


def test_the_sandbox_schema_is_created_idempotently(test_env: RunEnv) -> None:
    """The sandbox makes its own schema on first use; the core's migrations do not know it."""
    from sqlalchemy import create_engine, inspect, text

    from prichal_sandbox.schema import SCHEMA, ensure_schema

    database = f"prichal_test_{test_env.run_id}_sandbox"
    admin = create_engine(f"{PG_URL}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    engine = create_engine(f"{PG_URL}/{database}")
    try:
        for _ in range(2):
            with engine.begin() as conn:
                ensure_schema(conn)
        assert set(inspect(engine).get_table_names(schema=SCHEMA)) == {
            "payments", "refunds", "notifications", "idempotence_keys"}
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


# --- return URLs: sent back as an ASCII URI, refused when unusable --------------------------

IRI = "https://магазин.рф/заказ/7?имя=Анна Мария#итог"
IRI_AS_URI = ("https://xn--80aairftm.xn--p1ai/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7/7"
              "?%D0%B8%D0%BC%D1%8F=%D0%90%D0%BD%D0%BD%D0%B0%20%D0%9C%D0%B0%D1%80%D0%B8%D1%8F#%D0%B8%D1%82%D0%BE%D0%B3")


def test_a_non_ascii_return_url_is_sent_back_encoded(client: YooKassaClient, sandbox: Sandbox, shop: str) -> None:
    payment = create(client, return_url=IRI)
    assert client.get_payment(payment.id).raw["confirmation"]["return_url"] == IRI  # echoed as given
    answer = sandbox.decide(payment.confirmation_url, "pay")
    assert answer.status_code == 303, answer.text  # was a bare 500 (a non-ASCII Location) after paying
    assert answer.headers["Location"] == IRI_AS_URI
    assert client.get_payment(payment.id).status == "succeeded"
    page = requests.get(payment.confirmation_url, timeout=30)
    assert page.status_code == 200 and "Оплачено" in page.text
    assert f'<a href="{IRI_AS_URI}">Вернуться в магазин</a>' in page.text


@pytest.mark.parametrize("return_url", [
    "https://shop.example.test/paid\r\nSet-Cookie: session=evil",
    "https://shop.example.test/\x7f", "https://shop.example.test/\x85", "https://shop.example.test/\t",
    "javascript:alert(1)", "/orders/7/paid", "https://shop.example.test:99999/", "https://bad host.example/",
])
def test_an_unusable_return_url_is_refused_when_the_payment_is_created(sandbox: Sandbox, shop: str,
                                                                       return_url: str) -> None:
    body = {"amount": {"value": "100.00", "currency": "RUB"}, "capture": True,
            "confirmation": {"type": "redirect", "return_url": return_url}}
    answer = post(sandbox, "/v3/payments", shop=shop, key=str(uuid.uuid4()), body=body)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"].startswith("application/json")
    error = answer.json()
    assert (error["type"], error["code"], error["parameter"]) == ("error", "invalid_request",
                                                                  "confirmation.return_url")
    assert error["description"].startswith("confirmation.return_url: ")


def test_a_nul_never_reaches_the_sandbox(sandbox: Sandbox, shop: str) -> None:
    """Every function refuses a NUL in a JSON body before its handler runs (PostgreSQL cannot
    hold one): the platform's 422 problem, not the sandbox's YooKassa-shaped error."""
    body = {"amount": {"value": "100.00", "currency": "RUB"}, "capture": True,
            "confirmation": {"type": "redirect", "return_url": "https://shop.example.test/\x00"}}
    answer = post(sandbox, "/v3/payments", shop=shop, key=str(uuid.uuid4()), body=body)
    assert answer.status_code == 422 and answer.headers["Content-Type"].startswith("application/problem+json")


def test_concurrent_decisions_on_one_payment_leave_one_winner(client: YooKassaClient, sandbox: Sandbox,
                                                              shop: str) -> None:
    """The row lock of the durable store: pay and decline at once, exactly one is applied."""
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(3):
        payment = create(client)
        with ThreadPoolExecutor(max_workers=2) as pool:
            answers = list(pool.map(sandbox.decide, [payment.confirmation_url] * 2, ["pay", "decline"]))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses in ([200, 409], [303, 409]), statuses
        final = client.get_payment(payment.id).status
        assert final == ("succeeded" if 303 in statuses else "canceled")
        events = [b["object"]["id"] for b in sandbox.sink.bodies(sandbox.hook_path(shop))]
        assert events.count(payment.id) == 1
