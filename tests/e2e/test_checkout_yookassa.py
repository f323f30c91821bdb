"""The same purchase with a tenant on the ``yookassa`` provider, against a YooKassa-shaped
server on loopback (the sandbox served on its own port, as an outside fake would be):
real Basic auth with the tenant's shop id and secret, notifications to
``/payment-webhook/yookassa/<tenant>/<token>`` accepted only through the configured allowlist."""

from __future__ import annotations

import os
import uuid
from base64 import b64encode

import pytest
import requests

from prichal.admin import main as admin
from tests.conftest import assigned_sailing
from tests.e2e.gateway_harness import INTERNAL, WEBHOOK_URL_KEY, free_port, run_gateway, tenant_host, wait_for
from tests.e2e.test_runtimes import start_function

SECRET = "yk-e2e-secret-" + uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def ports():
    return {"gateway": free_port(), "yookassa": free_port()}


@pytest.fixture(scope="module")
def fake_yookassa(test_env, ports):
    port = ports["yookassa"]
    served = start_function("mock-payments", {
        **os.environ, **test_env.as_environ(), "REDIS_PREFIX": test_env.redis_prefix + "yk:",
        "MOCK_PAYMENTS_SECRET": SECRET, "MOCK_PAYMENTS_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "WEBHOOK_URL_KEY": WEBHOOK_URL_KEY,
        "MOCK_PAYMENTS_NOTIFY_URL":
            f"http://127.0.0.1:{ports['gateway']}/function/payment-webhook/yookassa/{{shop_id}}/{{webhook_token}}"},
        port, label="fake-yookassa")
    served.wait_ready()
    yield served
    served.stop()


@pytest.fixture(scope="module")
def gateway(test_env, ports, fake_yookassa):
    env = {**test_env.as_environ(), "YOOKASSA_WEBHOOK_ALLOWLIST": "127.0.0.1/32",
           "YOOKASSA_E2E": SECRET, "HOLD_RATE_LIMIT_PER_MINUTE": "1000", "ORDER_RATE_LIMIT_PER_MINUTE": "0",
           "ORDER_RATE_LIMIT_PER_ADDRESS_PER_MINUTE": "0", "HOLD_MAX_SEATS_PER_CLIENT": "0"}
    with run_gateway(env=env, port=ports["gateway"], workers=1, threads=8) as url:
        yield url


def test_purchase_through_the_yookassa_provider(gateway, fake_yookassa, demo):
    assert admin(["payments", demo.slug, "--provider", "yookassa", "--shop-id", demo.slug,
                  "--secret-name", "yookassa-e2e", "--api-url", f"{fake_yookassa.url}/v3"]) == 0
    headers = {**tenant_host(demo.slug), "X-Client-Id": "yk-buyer"}
    # the functions cache tenants for a few seconds: wait until create-order sees the new provider
    sailing = assigned_sailing(demo)

    def order_with_yookassa():
        hold = requests.post(f"{gateway}/function/lock-seat/holds", headers=headers, timeout=10,
                             json={"sailing_id": sailing, "seat_ids": ["upper-B-1", "upper-B-2"]}).json()
        created = requests.post(f"{gateway}/function/create-order/orders", headers=headers, timeout=30, json={
            "hold_token": hold["token"], "customer": {"name": "Ольга", "email": "olga@example.test"},
            "items": [{"seat_id": "upper-B-1", "ticket_type": "adult"},
                      {"seat_id": "upper-B-2", "ticket_type": "concession"}]}).json()
        if created["payment"]["provider"] == "yookassa":
            return created
        requests.delete(f"{gateway}/function/lock-seat/holds/{hold['token']}", headers=headers, timeout=10)
        return None

    created = wait_for(order_with_yookassa, timeout=60, interval=1, message="create-order on yookassa")
    assert created["total"] == "3900.00" and created["payment"]["confirmation_url"].startswith(fake_yookassa.url)

    payment_id = created["payment"]["confirmation_url"].rsplit("/", 1)[1]
    auth = {"Authorization": "Basic " + b64encode(f"{demo.slug}:{SECRET}".encode()).decode()}
    stored = requests.get(f"{fake_yookassa.url}/sandbox/payments/{payment_id}", headers=auth, timeout=10).json()
    receipt = stored["sandbox_receipt"]
    assert receipt["customer"]["email"] == "olga@example.test" and receipt["tax_system_code"] == 1
    assert sorted((i["amount"]["value"], i["vat_code"], i["payment_mode"]) for i in receipt["items"]) == [
        ("1700.00", 12, "full_prepayment"), ("2200.00", 12, "full_prepayment")]

    paid = requests.post(created["payment"]["confirmation_url"], data={"decision": "pay"}, allow_redirects=False,
                         timeout=60)
    assert paid.status_code == 303

    def read():
        order = requests.get(f"{gateway}/function/create-order/orders/{created['id']}", timeout=10,
                             headers={**tenant_host(demo.slug), "Authorization": f"Bearer {created['access_token']}"})
        return order.json() if order.json()["status"] == "paid" else None

    order = wait_for(read, timeout=60, message="paid through yookassa")
    assert order["payment"]["status"] == "succeeded"
    inspected = requests.get(f"{fake_yookassa.url}/sandbox/payments/{payment_id}", headers=auth, timeout=10).json()
    assert inspected["sandbox_notifications"][-1]["delivered"] is True


def _order_on_yookassa(gateway, demo, seats, client):
    """An order whose payment went to YooKassa (waits out the functions' tenant cache)."""
    headers = {**tenant_host(demo.slug), "X-Client-Id": client}
    sailing = assigned_sailing(demo)

    def attempt():
        hold = requests.post(f"{gateway}/function/lock-seat/holds", headers=headers, timeout=10,
                             json={"sailing_id": sailing, "seat_ids": list(seats)}).json()
        created = requests.post(f"{gateway}/function/create-order/orders", headers=headers, timeout=30, json={
            "hold_token": hold["token"], "customer": {"name": "Ольга", "email": "olga@example.test"},
            "items": [{"seat_id": seat, "ticket_type": "adult"} for seat in seats]}).json()
        if created["payment"]["provider"] == "yookassa":
            return created
        requests.delete(f"{gateway}/function/lock-seat/holds/{hold['token']}", headers=headers, timeout=10)
        return None

    return wait_for(attempt, timeout=60, interval=1, message="create-order on yookassa")


def test_switching_the_provider_keeps_payments_in_flight_on_their_account(gateway, fake_yookassa, demo,
                                                                          owner_engine):
    """Orders paid on YooKassa while the tenant already moved to the sandbox: the notification
    is re-read with the payment's own account and applied; expire-holds keeps working."""
    from sqlalchemy import select

    from prichal.adapters.db import tables as t

    assert admin(["payments", demo.slug, "--provider", "yookassa", "--shop-id", demo.slug,
                  "--secret-name", "yookassa-e2e", "--api-url", f"{fake_yookassa.url}/v3"]) == 0
    paid_later = _order_on_yookassa(gateway, demo, ["upper-C-1"], "yk-switch-1")
    lapsing = _order_on_yookassa(gateway, demo, ["upper-C-2"], "yk-switch-2")
    assert admin(["payments", demo.slug, "--provider", "mock"]) == 0

    with owner_engine.begin() as conn:  # the second order's time ran out
        conn.execute(t.orders.update().where(t.orders.c.id == lapsing["id"]).values(expires_at=t.orders.c.created_at))
    expired = requests.post(f"{gateway}/function/expire-holds", headers=INTERNAL, timeout=60)
    assert expired.status_code == 200, expired.text
    assert expired.json()["expired_orders"] >= 1 and expired.json()["deferred_orders"] == 0

    paid = requests.post(paid_later["payment"]["confirmation_url"], data={"decision": "pay"}, allow_redirects=False,
                         timeout=60)
    assert paid.status_code == 303

    def status(order_id):
        with owner_engine.connect() as conn:
            return conn.execute(select(t.orders.c.status).where(t.orders.c.id == order_id)).scalar_one()

    assert wait_for(lambda: status(paid_later["id"]) == "paid", timeout=60, message="paid after the switch")
    assert status(lapsing["id"]) == "expired"
    with owner_engine.connect() as conn:
        accounts = conn.execute(select(t.payments.c.provider, t.payments.c.shop_id, t.payments.c.secret_name)
                                .where(t.payments.c.order_id.in_([paid_later["id"], lapsing["id"]]))).all()
        outcomes = conn.execute(select(t.payment_notifications.c.outcome)
                                .where(t.payment_notifications.c.tenant_id == demo.tenant_id)).scalars().all()
    assert set(accounts) == {("yookassa", demo.slug, "yookassa-e2e")}
    assert "order-paid" in outcomes
