"""What a provider's payment may do to an order, against a fake YooKassa over loopback HTTP
(the sandbox in its own process, as an outside server would be): only a payment that is
exactly the order's pays it (item 7), and expiry asks the provider before it expires an
order whose payment may have succeeded a moment ago (item 12)."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest
import requests
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.adapters.payments.yookassa import YooKassaClient
from prichal.admin import main as admin
from tests.conftest import assigned_sailing
from tests.e2e.test_runtimes import free_port, start_function
from tests.sandbox_harness import WebhookSink, serving
from tests.support import call, internal

SECRET = "yk-settlement-" + uuid.uuid4().hex[:8]
SECRET_NAME = "yookassa-settlement"
YOOKASSA_ADDRESS = "185.71.76.1"  # inside YooKassa's published ranges (the default allowlist)
BUYER = {"X-Client-Id": "settlement-buyer"}


@pytest.fixture(scope="module")
def fake_yookassa(test_env):
    sink = WebhookSink()  # its notifications are not needed: the tests deliver them by hand
    with serving(sink) as sink_url:
        port = free_port()
        served = start_function("mock-payments", {
            **os.environ, **test_env.as_environ(), "REDIS_PREFIX": test_env.redis_prefix + "yk-settle:",
            "MOCK_PAYMENTS_SECRET": SECRET, "MOCK_PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "MOCK_PAYMENTS_NOTIFY_URL": sink_url + "/hook/{shop_id}"}, port, label="fake-yookassa")
        served.wait_ready()
        yield served
        served.stop()


@pytest.fixture
def shop(container, demo, fake_yookassa, monkeypatch):
    """The demo tenant sells through the fake YooKassa; yields a client of its shop."""
    monkeypatch.setenv(SECRET_NAME.upper().replace("-", "_"), SECRET)
    assert admin(["payments", demo.slug, "--provider", "yookassa", "--shop-id", demo.slug,
                  "--secret-name", SECRET_NAME, "--api-url", f"{fake_yookassa.url}/v3"]) == 0
    return YooKassaClient(f"{fake_yookassa.url}/v3", demo.slug, SECRET, max_attempts=1)


def _control(fake_yookassa, demo, method, path, body=None):
    answer = requests.request(method, fake_yookassa.url + path, json=body, auth=(demo.slug, SECRET), timeout=30)
    assert answer.ok, answer.text
    return answer.json()


def _place(demo, seat):
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                body={"sailing_id": assigned_sailing(demo), "seat_ids": [seat]})
    assert hold.status == 201, hold.json
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": hold.json["token"], "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": seat, "ticket_type": "adult"}]})
    assert order.status == 201, order.json
    assert order.json["payment"]["provider"] == "yookassa"
    return order.json


def _provider_id(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return conn.execute(select(t.payments.c.provider_payment_id)
                            .where(t.payments.c.order_id == order_id)).scalar_one()


def _order_row(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return conn.execute(select(t.orders).where(t.orders.c.id == order_id)).one()


def _actions(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return [row.action for row in conn.execute(select(t.order_log.c.action)
                                                   .where(t.order_log.c.order_id == order_id))]


def _notify(container, demo, payment_id, event="payment.succeeded"):
    tenant = container.tenants.by_slug(demo.slug)
    return container.payments.handle_notification(
        tenant, "yookassa", {"type": "notification", "event": event, "object": {"id": payment_id}}, YOOKASSA_ADDRESS)


def _lapse(owner_engine, order_id):
    with owner_engine.begin() as conn:
        conn.execute(t.orders.update().where(t.orders.c.id == order_id).values(expires_at=t.orders.c.created_at))


# --- item 7: a payment that is not exactly the order's never pays it ------------------------

def test_the_right_payment_pays_the_order(container, demo, shop, fake_yookassa, owner_engine):
    order = _place(demo, "main-J-1")
    payment_id = _provider_id(owner_engine, order["id"])
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{payment_id}/status", {"status": "succeeded"})
    assert _notify(container, demo, payment_id) == "order-paid"
    assert _order_row(owner_engine, order["id"]).status == "paid"


@pytest.mark.parametrize(("amount", "metadata", "reason"), [
    ("1.00", None, "amount 1.00 instead of 1500.00"),
    ("1500.01", None, "amount 1500.01 instead of 1500.00"),
    (None, {"order_id": str(uuid.uuid4())}, "metadata names another order"),
    (None, {"tenant": "another-seller"}, "metadata names another seller"),
    (None, {"order_id": None, "tenant": None}, "metadata names another order"),
], ids=["too little", "a kopeck more", "another order", "another tenant", "no metadata"])
def test_a_payment_that_is_not_the_orders_is_flagged_logged_and_refunded(container, demo, shop, fake_yookassa,
                                                                         owner_engine, amount, metadata, reason):
    """The provider id our payment row holds leads to a payment of a different amount or for
    another order or seller (a provider bug, a swapped shop): the order stays unpaid."""
    order = _place(demo, "main-J-2")
    names = {"order_id": order["id"], "order_number": str(order["number"]), "tenant": demo.slug}
    names = {k: v for k, v in {**names, **(metadata or {})}.items() if v is not None}
    other = shop.create_payment(amount=Decimal(amount or order["total"]), description="x",
                                return_url="https://shop.example.test/", metadata=names, receipt=None,
                                idempotence_key=str(uuid.uuid4()))
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{other.id}/status", {"status": "succeeded"})
    with owner_engine.begin() as conn:
        conn.execute(t.payments.update().where(t.payments.c.order_id == order["id"])
                     .values(provider_payment_id=other.id))

    assert _notify(container, demo, other.id) == "payment-mismatch-refunded"
    row = _order_row(owner_engine, order["id"])
    assert row.status == "awaiting_payment" and row.paid_at is None
    assert reason in row.needs_attention
    actions = _actions(owner_engine, order["id"])
    assert "payment.mismatch" in actions and "refund.requested" in actions and "refund.sent" in actions
    assert "order.paid" not in actions
    refunds = _control(fake_yookassa, demo, "GET", f"/sandbox/payments/{other.id}")["sandbox_refunds"]
    assert [r["object"]["amount"]["value"] for r in refunds] == [amount or order["total"]]
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.outbox.c.id).where(t.outbox.c.type == "order.paid",
                                                        t.outbox.c.data["order_id"].astext == order["id"])).all() == []
    assert _notify(container, demo, other.id) == "no-change"  # a repeat refunds nothing twice
    assert len(_control(fake_yookassa, demo, "GET", f"/sandbox/payments/{other.id}")["sandbox_refunds"]) == 1


def test_an_authorised_payment_that_is_not_the_orders_is_canceled_not_captured(container, demo, shop,
                                                                              fake_yookassa, owner_engine):
    order = _place(demo, "main-J-9")
    other = shop.create_payment(amount=Decimal("1.00"), description="x", return_url="https://shop.example.test/",
                                metadata={"order_id": order["id"], "tenant": demo.slug}, receipt=None,
                                idempotence_key=str(uuid.uuid4()), capture=False)
    assert requests.post(other.confirmation_url, data={"decision": "pay"}, allow_redirects=False,
                         timeout=30).status_code == 303  # now waiting for capture
    with owner_engine.begin() as conn:
        conn.execute(t.payments.update().where(t.payments.c.order_id == order["id"])
                     .values(provider_payment_id=other.id))
    assert _notify(container, demo, other.id, "payment.waiting_for_capture") == "payment-mismatch-canceled"
    assert _control(fake_yookassa, demo, "GET", f"/sandbox/payments/{other.id}")["status"] == "canceled"
    row = _order_row(owner_engine, order["id"])
    assert row.status == "awaiting_payment" and "amount 1.00 instead of 1500.00" in row.needs_attention


# --- item 12: expiry asks the provider first ------------------------------------------------

@pytest.fixture(autouse=True)
def _expiry_reaches_this_tenant(container, monkeypatch):
    """An expiry run covers every tenant of the session's database, and the lapsed orders
    other modules left behind point at fake providers that are gone: with the production
    budget (10 s of provider calls per run) their retries can use up a run before it reaches
    this module's tenant. The budget itself is tested in tests/unit/test_provider_deadline.py."""
    monkeypatch.setattr(container.payments, "_call_budget", 300.0)


def _expire():
    answer = call("expire-holds", "POST", "/", headers={"X-Connector": "cron-connector", **internal()})
    assert answer.status == 200, answer.json
    return answer.json


def test_expiry_takes_the_payment_path_when_the_provider_says_paid(container, demo, shop, fake_yookassa,
                                                                   owner_engine):
    order = _place(demo, "main-J-3")
    payment_id = _provider_id(owner_engine, order["id"])
    # the buyer paid a second ago; the notification has not arrived (forced without notifying)
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{payment_id}/status", {"status": "succeeded"})
    _lapse(owner_engine, order["id"])
    ran = _expire()
    assert ran["settled_orders"] >= 1
    row = _order_row(owner_engine, order["id"])
    assert row.status == "paid" and "order.expired" not in _actions(owner_engine, order["id"])
    assert _notify(container, demo, payment_id) == "no-change"  # the late notification changes nothing


def test_expiry_cancels_a_pending_payment_then_expires(container, demo, shop, fake_yookassa, owner_engine):
    order = _place(demo, "main-J-4")
    payment_id = _provider_id(owner_engine, order["id"])
    _lapse(owner_engine, order["id"])
    assert _expire()["expired_orders"] >= 1
    assert _order_row(owner_engine, order["id"]).status == "expired"
    operations = [r["operation"] for r in _control(fake_yookassa, demo, "GET", "/sandbox/requests")["items"]]
    assert "get_payment" in operations and "cancel_payment" in operations
    assert operations.index("get_payment") < operations.index("cancel_payment")
    # the buyer pays after all: the late-payment path revives the order (its seat is still free)
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{payment_id}/status", {"status": "succeeded"})
    assert _notify(container, demo, payment_id) == "order-paid-late"


def test_expiry_cancelled_at_the_provider_cancels_the_order(container, demo, shop, fake_yookassa, owner_engine):
    order = _place(demo, "main-J-5")
    payment_id = _provider_id(owner_engine, order["id"])
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{payment_id}/status", {"status": "canceled"})
    _lapse(owner_engine, order["id"])
    _expire()
    assert _order_row(owner_engine, order["id"]).status == "cancelled"


def test_an_unreachable_provider_defers_expiry_to_the_next_run(container, demo, shop, fake_yookassa, owner_engine):
    order = _place(demo, "main-J-6")
    _lapse(owner_engine, order["id"])
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"get_payment": [503, 503, 503]})
    ran = _expire()
    assert ran["deferred_orders"] >= 1
    row = _order_row(owner_engine, order["id"])
    assert row.status == "awaiting_payment" and "order.expired" not in _actions(owner_engine, order["id"])
    assert _expire()["expired_orders"] >= 1  # the provider answers again: the next run expires it
    assert _order_row(owner_engine, order["id"]).status == "expired"


# --- item 11: a refund the provider never accepted raises an alert ----------------------------

def _stuck_refunds_metric():
    text = call("expire-holds", "GET", "/metrics", headers=internal()).raw.decode()
    line = next(line for line in text.splitlines() if line.startswith("prichal_refunds_stuck "))
    return float(line.split()[1])


def test_a_refund_that_was_never_sent_shows_in_the_stuck_refunds_metric(container, demo, shop, fake_yookassa,
                                                                        owner_engine, clock):
    """A refund the provider refused to take (it stays ``requested``) counts in the gauge once
    it is older than the alert's age, and leaves it when it got through."""
    from datetime import timedelta

    from prichal.services.payments import count_stuck_refunds

    order = _place(demo, "main-J-7")
    other = shop.create_payment(amount=Decimal("1.00"), description="x", return_url="https://shop.example.test/",
                                metadata={"order_id": order["id"], "tenant": demo.slug}, receipt=None,
                                idempotence_key=str(uuid.uuid4()))
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{other.id}/status", {"status": "succeeded"})
    with owner_engine.begin() as conn:
        conn.execute(t.payments.update().where(t.payments.c.order_id == order["id"])
                     .values(provider_payment_id=other.id))
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [503, 503, 503]})
    assert _notify(container, demo, other.id) == "payment-mismatch-refunded"
    with owner_engine.connect() as conn:
        refund_id = conn.execute(select(t.refunds.c.id).where(t.refunds.c.order_id == order["id"])).scalar_one()
        assert conn.execute(select(t.refunds.c.status).where(t.refunds.c.id == refund_id)).scalar_one() == "requested"

    def mine():
        return count_stuck_refunds([demo.tenant_id], container.uow, clock(), timedelta(minutes=15))

    assert mine() == 0  # younger than the alert's age
    clock.advance(minutes=16)
    assert mine() == 1
    stuck = _expire()["refunds_stuck"]
    assert stuck >= 1 and _stuck_refunds_metric() == stuck

    container.payments.send_refund(container.tenants.by_slug(demo.slug), str(refund_id))  # the provider is back
    assert mine() == 0
    assert _expire()["refunds_stuck"] == stuck - 1 and _stuck_refunds_metric() == stuck - 1


# --- item 15: free tickets go with paid ones; an order of free tickets only is refused ------

@pytest.fixture
def infant_tariff(demo, owner_engine):
    with owner_engine.begin() as conn:
        conn.execute(t.tariffs.insert().values(tenant_id=demo.tenant_id, program_id=demo.assigned_program_id,
                                               ticket_type="infant", name="Младенец (до 3 лет)",
                                               price=Decimal("0.00")))


def _counts(owner_engine, tenant_id):
    from sqlalchemy import func

    with owner_engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)
                                          .where(table.c.tenant_id == tenant_id)).scalar_one()
                for table in (t.orders, t.tickets, t.payments, t.order_log, t.outbox)}


def _hold(demo, seats):
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                body={"sailing_id": assigned_sailing(demo), "seat_ids": seats})
    assert hold.status == 201, hold.json
    return hold.json["token"]


def test_a_free_ticket_goes_with_a_paid_one(container, demo, shop, fake_yookassa, owner_engine, infant_tariff):
    token = _hold(demo, ["main-I-1", "main-I-2"])
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": token, "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": "main-I-1", "ticket_type": "adult"}, {"seat_id": "main-I-2", "ticket_type": "infant"}]})
    assert order.status == 201, order.json
    assert order.json["total"] == "1500.00" and [i["price"] for i in order.json["items"]] == ["1500.00", "0.00"]
    stored = _control(fake_yookassa, demo, "GET", f"/sandbox/payments/{_provider_id(owner_engine, order.json['id'])}")
    assert stored["amount"]["value"] == "1500.00"
    assert [item["amount"]["value"] for item in stored["sandbox_receipt"]["items"]] == ["1500.00"]


def test_an_order_of_free_tickets_only_is_refused_before_anything_is_written(container, demo, shop, fake_yookassa,
                                                                           owner_engine, infant_tariff):
    token = _hold(demo, ["main-I-3"])
    before = _counts(owner_engine, demo.tenant_id)
    refused = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": token, "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": "main-I-3", "ticket_type": "infant"}]})
    assert refused.status == 422 and refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json["code"] == "order-total-zero" and refused.json["errors"][0]["loc"] == ["items"]
    assert _counts(owner_engine, demo.tenant_id) == before
    assert _control(fake_yookassa, demo, "GET", "/sandbox/requests")["items"] == []  # no provider call
    paid = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={  # the hold still serves
        "hold_token": token, "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": "main-I-3", "ticket_type": "adult"}]})
    assert paid.status == 201, paid.json


def test_one_unreachable_account_is_asked_once_per_run(container, demo, shop, fake_yookassa, owner_engine):
    """Two lapsed orders on one account whose provider does not answer: the first is tried
    (with its retries), the second waits without another call, so a dead provider cannot
    eat the run's time; both are expired by a later run."""
    orders = [_place(demo, seat) for seat in ("main-H-1", "main-H-2")]
    for order in orders:
        _lapse(owner_engine, order["id"])
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"get_payment": [503, 503, 503]})
    before = len(_control(fake_yookassa, demo, "GET", "/sandbox/requests")["items"])
    ran = _expire()
    asked = _control(fake_yookassa, demo, "GET", "/sandbox/requests")["items"][before:]
    # one order's attempts (as many as its tenant's share of the run allows), none for the other
    assert 1 <= len(asked) <= 3 and {(r["operation"], r["path"]) for r in asked} == {("get_payment", asked[0]["path"])}
    assert ran["deferred_orders"] >= 2
    assert [_order_row(owner_engine, o["id"]).status for o in orders] == ["awaiting_payment"] * 2
    _expire()
    assert [_order_row(owner_engine, o["id"]).status for o in orders] == ["expired"] * 2
