"""The purchase through the local gateway: hold -> order -> sandbox payment page -> webhook
-> paid -> ``order.paid`` on RabbitMQ, and what must not happen along the way."""

from __future__ import annotations

import json
import re
import uuid
from base64 import b64encode
from concurrent.futures import ThreadPoolExecutor

import pika
import pytest
import requests
from sqlalchemy import select, text

from prichal.adapters.db import tables as t
from tests.conftest import assigned_sailing, bound_queue, free_sailing
from tests.e2e.gateway_harness import (
    INTERNAL,
    NO_BUYER_LIMITS,
    free_port,
    run_gateway,
    sandbox_env,
    tenant_host,
    wait_for,
    webhook_url,
)

SANDBOX_SECRET = "sandbox-secret"


@pytest.fixture(scope="module")
def gateway(test_env):
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS}
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield url


@pytest.fixture
def events(test_env):
    """A queue bound to this run's exchange for every order event; yields a reader."""
    with bound_queue(test_env.events_exchange, "order.#") as (channel, queue):

        def read(order_id: str, event_type: str) -> tuple[dict, pika.BasicProperties]:
            def find():
                while True:
                    method, properties, body = channel.basic_get(queue, auto_ack=True)
                    if method is None:
                        return None
                    message = json.loads(body)
                    if message["type"] == event_type and message["data"]["order_id"] == order_id:
                        return message, properties
            return wait_for(find, timeout=60, message=f"{event_type} for {order_id}")

        yield read


def _hold(gateway, demo, body, client="buyer-1"):
    answer = requests.post(f"{gateway}/function/lock-seat/holds", json=body, timeout=10,
                           headers={**tenant_host(demo.slug), "X-Client-Id": client})
    assert answer.status_code == 201, answer.text
    return answer.json()


def _order(gateway, demo, body, client="buyer-1", key=None):
    headers = {**tenant_host(demo.slug), "X-Client-Id": client}
    if key:
        headers["Idempotency-Key"] = key
    return requests.post(f"{gateway}/function/create-order/orders", json=body, headers=headers, timeout=30)


def _order_body(token, seats=("main-B-1", "main-B-2"), types=("adult", "child")):
    return {"hold_token": token, "customer": {"name": "Анна Петрова", "email": "anna@example.test"},
            "items": [{"seat_id": s, "ticket_type": tt} for s, tt in zip(seats, types, strict=True)]}


def _read_order(gateway, demo, created):
    return requests.get(f"{gateway}/function/create-order/orders/{created['id']}", timeout=10,
                        headers={**tenant_host(demo.slug), "Authorization": f"Bearer {created['access_token']}"}).json()


def _pay(confirmation_url, decision="pay"):
    page = requests.get(confirmation_url, timeout=10)
    assert page.status_code == 200 and "Оплатить" in page.text
    return requests.post(confirmation_url, data={"decision": decision}, allow_redirects=False, timeout=60)


def test_the_order_token_is_accepted_only_as_a_bearer_header(gateway, demo):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-G-1"]})
    created = _order(gateway, demo, _order_body(hold["token"], ("main-G-1",), ("adult",))).json()
    url = f"{gateway}/function/create-order/orders/{created['id']}"
    in_query = requests.get(url, params={"access_token": created["access_token"]}, headers=tenant_host(demo.slug),
                            timeout=10)
    assert in_query.status_code == 403 and in_query.headers["Content-Type"] == "application/problem+json"
    assert _read_order(gateway, demo, created)["id"] == created["id"]


def test_full_purchase_with_the_sandbox_provider(gateway, demo, events, owner_engine):
    sailing = assigned_sailing(demo)
    hold = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": ["main-B-1", "main-B-2"]})
    answer = _order(gateway, demo, _order_body(hold["token"]), key=str(uuid.uuid4()))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert created["status"] == "awaiting_payment" and created["total"] == "2400.00"
    assert [i["price"] for i in created["items"]] == ["1500.00", "900.00"]
    assert [i["vat_amount"] for i in created["items"]] == ["270.49", "162.30"]
    assert created["vat_total"] == "432.79" and created["payment"]["confirmation_url"]

    seatmap = requests.get(f"{gateway}/function/catalog/sailings/{sailing}/seatmap",
                           headers=tenant_host(demo.slug), timeout=10).json()
    assert {s["id"]: s["status"] for s in seatmap["seats"]}["main-B-1"] == "held"

    paid = _pay(created["payment"]["confirmation_url"])
    assert paid.status_code == 303
    order = wait_for(lambda: (o := _read_order(gateway, demo, created))["status"] == "paid" and o, timeout=60,
                     message="order paid")
    assert order["payment"]["status"] == "succeeded" and order["paid_at"]

    message, properties = events(created["id"], "order.paid")
    assert message["version"] == 1 and message["tenant"] == demo.tenant_id and message["data"]["total"] == "2400.00"
    assert properties.message_id == message["id"] and properties.content_type == "application/json"

    seatmap = requests.get(f"{gateway}/function/catalog/sailings/{sailing}/seatmap",
                           headers=tenant_host(demo.slug), timeout=10).json()
    assert {s["id"]: s["status"] for s in seatmap["seats"]}["main-B-2"] == "sold"
    with owner_engine.connect() as conn:
        actions = [row.action for row in conn.execute(
            select(t.order_log.c.action).where(t.order_log.c.order_id == created["id"]).order_by(t.order_log.c.id))]
    assert actions[:4] == ["order.created", "hold.ordered", "seat.reserved", "payment.created"]
    assert {"payment.started", "payment.succeeded", "order.paid"} <= set(actions)


def test_free_seating_purchase_moves_places_to_sold(gateway, demo, events, owner_engine):
    sailing = free_sailing(demo)
    hold = _hold(gateway, demo, {"sailing_id": sailing, "quantity": 3})
    body = {"hold_token": hold["token"], "customer": {"name": "Иван", "phone": "+79001234567"},
            "items": [{"ticket_type": "adult", "quantity": 2}, {"ticket_type": "child", "quantity": 1}]}
    created = _order(gateway, demo, body).json()
    assert created["total"] == "2300.00", created
    _pay(created["payment"]["confirmation_url"])
    events(created["id"], "order.paid")
    with owner_engine.connect() as conn:
        row = conn.execute(select(t.sailings.c.places_sold, t.sailings.c.places_held)
                           .where(t.sailings.c.id == sailing)).one()
    assert (row.places_sold, row.places_held) == (3, 0)


def test_declined_payment_cancels_the_order_and_frees_the_seats(gateway, demo, events):
    sailing = assigned_sailing(demo)
    hold = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": ["main-C-1"]})
    created = _order(gateway, demo, _order_body(hold["token"], ("main-C-1",), ("adult",))).json()
    declined = _pay(created["payment"]["confirmation_url"], decision="decline")
    # The buyer reads the real outcome, not the shop's «Оплата принята» page it used to be sent to.
    assert declined.status_code == 200 and "Оплата отменена" in declined.text and "принята" not in declined.text
    events(created["id"], "order.cancelled")
    assert _read_order(gateway, demo, created)["status"] == "cancelled"
    again = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": ["main-C-1"]}, client="buyer-2")
    assert again["seat_ids"] == ["main-C-1"]


def test_idempotent_create_order(gateway, demo):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-D-1"]})
    body = _order_body(hold["token"], ("main-D-1",), ("adult",))
    key = str(uuid.uuid4())
    first = _order(gateway, demo, body, key=key)
    second = _order(gateway, demo, body, key=key)
    assert first.status_code == second.status_code == 201
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert first.json() == second.json()
    other = _order(gateway, demo, {**body, "customer": {"name": "Кто-то", "email": "x@example.test"}}, key=key)
    assert other.status_code == 422 and other.json()["code"] == "idempotency-key-reused"


def test_two_orders_race_for_one_hold(gateway, demo, owner_engine):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-D-5"]})
    body = _order_body(hold["token"], ("main-D-5",), ("adult",))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: _order(gateway, demo, body), range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 1 and set(statuses) == {201, 409}, statuses
    with owner_engine.connect() as conn:
        count = conn.execute(select(t.orders.c.id).where(t.orders.c.hold_token == hold["token"])).all()
    assert len(count) == 1


def test_another_clients_hold_and_unknown_hold_write_nothing(gateway, demo, owner_engine):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-D-7"]})
    stolen = _order(gateway, demo, _order_body(hold["token"], ("main-D-7",), ("adult",)), client="thief")
    assert stolen.status_code == 409 and stolen.json()["code"] == "hold-not-usable"
    unknown = _order(gateway, demo, _order_body("A" * 32, ("main-D-7",), ("adult",)))
    assert unknown.status_code == 404
    bad = _order(gateway, demo, {"hold_token": hold["token"], "customer": {"name": "X"}, "items": []})
    assert bad.status_code == 422 and bad.headers["Content-Type"] == "application/problem+json"
    with owner_engine.connect() as conn:
        conn.execute(text("SELECT 1"))
        assert conn.execute(select(t.orders.c.id).where(t.orders.c.tenant_id == demo.tenant_id)).all() == []


def test_notification_from_outside_the_allowlist_is_rejected(gateway, demo, owner_engine):
    body = {"type": "notification", "event": "payment.succeeded", "object": {"id": str(uuid.uuid4())}}
    # a client on this machine claims one of YooKassa's addresses: the gateway replaces the claim
    answer = requests.post(webhook_url(gateway, "yookassa", demo.slug), json=body, timeout=10,
                           headers={"X-Forwarded-For": "185.71.76.1"})
    assert answer.status_code == 403 and answer.json()["code"] == "forbidden"
    assert answer.json()["source_address"] == "127.0.0.1"
    # from an allowed address, but without the URL's secret: as if the tenant did not exist
    for guessed in (f"{gateway}/function/payment-webhook/mock/{demo.slug}",
                    f"{gateway}/function/payment-webhook/mock/{demo.slug}/guessed"):
        assert requests.post(guessed, json=body, timeout=10).status_code == 404
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.payment_notifications.c.id)
                            .where(t.payment_notifications.c.tenant_id == demo.tenant_id)).all() == []


def test_forged_duplicate_and_reordered_notifications(gateway, demo, events, owner_engine):
    """The re-read state wins; nothing is applied twice; an older event changes nothing."""
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-E-1"]})
    created = _order(gateway, demo, _order_body(hold["token"], ("main-E-1",), ("adult",))).json()
    payment_id = re.search(r"/pay/([^/?]+)", created["payment"]["confirmation_url"]).group(1)
    webhook = webhook_url(gateway, "mock", demo.slug)
    forged = {"type": "notification", "event": "payment.succeeded",
              "object": {"id": payment_id, "status": "succeeded", "paid": True,
                         "amount": {"value": "2400.00", "currency": "RUB"}}}
    answer = requests.post(webhook, json=forged, timeout=30)
    assert answer.status_code == 200 and answer.json()["outcome"] == "no-change"
    assert _read_order(gateway, demo, created)["status"] == "awaiting_payment"

    _pay(created["payment"]["confirmation_url"])
    events(created["id"], "order.paid")
    for event in ("payment.succeeded", "payment.succeeded", "payment.waiting_for_capture"):
        again = requests.post(webhook, json={**forged, "event": event}, timeout=30)
        assert again.status_code == 200 and again.json()["outcome"] == "no-change"
    with owner_engine.connect() as conn:
        published = conn.execute(select(t.outbox.c.id).where(t.outbox.c.type == "order.paid",
                                                             t.outbox.c.data["order_id"].astext == created["id"])).all()
        paid_logs = conn.execute(select(t.order_log.c.id).where(t.order_log.c.order_id == created["id"],
                                                                t.order_log.c.action == "order.paid")).all()
    assert len(published) == 1 and len(paid_logs) == 1


def test_payment_after_expiry_is_revived_or_refunded(gateway, demo, events, owner_engine):
    sailing = assigned_sailing(demo)
    auth = {"Authorization": "Basic " + b64encode(f"{demo.slug}:{SANDBOX_SECRET}".encode()).decode()}
    outcomes = {}
    for seat, resell in (("main-F-1", False), ("main-F-2", True)):
        hold = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": [seat]})
        created = _order(gateway, demo, _order_body(hold["token"], (seat,), ("adult",))).json()
        with owner_engine.begin() as conn:  # the order's time ran out
            conn.execute(t.orders.update().where(t.orders.c.id == created["id"])
                         .values(expires_at=t.orders.c.created_at))
        expired = requests.post(f"{gateway}/function/expire-holds", headers=INTERNAL, timeout=30)
        assert expired.status_code == 200, expired.text  # (the runtime's own cron may have expired it first)
        with owner_engine.connect() as conn:
            assert conn.execute(select(t.orders.c.status).where(t.orders.c.id == created["id"])).scalar() == "expired"
        events(created["id"], "order.expired")
        if resell:
            other = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": [seat]}, client="buyer-9")
            _order(gateway, demo, _order_body(other["token"], (seat,), ("adult",)), client="buyer-9")
        payment_id = re.search(r"/pay/([^/?]+)", created["payment"]["confirmation_url"]).group(1)
        mock = f"{gateway}/function/mock-payments/sandbox/payments/{payment_id}"
        assert requests.post(f"{mock}/status", json={"status": "succeeded"}, headers=auth, timeout=10).ok
        notified = requests.post(f"{mock}/notify", json={"event": "payment.succeeded"}, headers=auth, timeout=30)
        assert notified.ok
        outcomes[seat] = wait_for(lambda cid=created["id"]: _outcome(owner_engine, cid), timeout=60)
    assert outcomes["main-F-1"] == ("paid", None)
    status, attention = outcomes["main-F-2"]
    assert status == "expired" and "refund" in attention
    with owner_engine.connect() as conn:
        refunds = conn.execute(select(t.refunds.c.status, t.refunds.c.provider_refund_id)).all()
    assert any(r.provider_refund_id and r.status in ("pending", "succeeded") for r in refunds)


def _outcome(engine, order_id):
    with engine.connect() as conn:
        row = conn.execute(select(t.orders.c.status, t.orders.c.needs_attention)
                           .where(t.orders.c.id == order_id)).one()
    return (row.status, row.needs_attention) if row.status == "paid" or row.needs_attention else None


def test_seat_never_sold_twice_when_redis_lost_the_hold(gateway, demo, test_env, owner_engine):
    """Redis forgets a hold; a second buyer holds the same seat; the first order wins and
    the second is refused by the unique index on live tickets, writing nothing."""
    import redis

    from tests.conftest import REDIS_URL

    sailing = assigned_sailing(demo)
    first = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": ["main-G-9"]}, client="buyer-1")
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{test_env.redis_prefix}t:{demo.tenant_id}:{{sail:{sailing}}}:*"):
        client.delete(key)
    client.close()
    second = _hold(gateway, demo, {"sailing_id": sailing, "seat_ids": ["main-G-9"]}, client="buyer-2")
    body = _order_body(first["token"], ("main-G-9",), ("adult",))
    assert _order(gateway, demo, body, client="buyer-1").status_code == 201
    with owner_engine.connect() as conn:
        before = conn.execute(select(t.orders.c.id).where(t.orders.c.tenant_id == demo.tenant_id)).all()
    refused = _order(gateway, demo, _order_body(second["token"], ("main-G-9",), ("adult",)), client="buyer-2")
    assert refused.status_code == 409 and refused.json()["code"] == "seats-unavailable"
    assert refused.json()["seat_ids"] == ["main-G-9"]
    with owner_engine.connect() as conn:
        after = conn.execute(select(t.orders.c.id).where(t.orders.c.tenant_id == demo.tenant_id)).all()
        live = conn.execute(select(t.tickets.c.id).where(t.tickets.c.sailing_id == sailing,
                                                         t.tickets.c.seat_id == "main-G-9",
                                                         t.tickets.c.status.in_(("reserved", "sold")))).all()
    assert after == before and len(live) == 1


def test_concurrent_retries_with_one_idempotency_key_make_one_order(gateway, demo, owner_engine):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-H-11"]})
    body = _order_body(hold["token"], ("main-H-11",), ("adult",))
    key = str(uuid.uuid4())
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _order(gateway, demo, body, key=key), range(6)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers]
    assert len({a.json()["id"] for a in answers}) == 1
    with owner_engine.connect() as conn:
        assert len(conn.execute(select(t.orders.c.id).where(t.orders.c.idempotency_key == key)).all()) == 1
