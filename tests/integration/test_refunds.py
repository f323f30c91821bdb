"""Refunds against the real PostgreSQL and Redis and a fake YooKassa over loopback HTTP
(the sandbox in its own process): quote, partial then full refund, over-refunds refused,
exactly one refund under concurrency, provider faults, notifications, seats back on sale,
the revocation list, the late-payment refund the cron sends."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from prichal.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from prichal.services.refunds import Buyer, SystemActor
from tests.conftest import assigned_sailing
from tests.integration import test_payment_settlement as settlement
from tests.integration.test_payment_settlement import YOOKASSA_ADDRESS, _control, _provider_id
from tests.support import call

fake_yookassa = settlement.fake_yookassa  # the fake YooKassa (the sandbox in its own process) and its shop
shop = settlement.shop

BUYER = {"X-Client-Id": "refund-buyer"}


def paid(container, demo, fake_yookassa, seats=("main-H-1", "main-H-2")):
    """An order of ``seats`` placed through lock-seat and create-order and paid at the fake YooKassa."""
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                body={"sailing_id": assigned_sailing(demo), "seat_ids": list(seats)})
    assert hold.status == 201, hold.json
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": hold.json["token"], "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": seat, "ticket_type": "adult"} for seat in seats]})
    assert order.status == 201, order.json
    payment_id = order.json["payment"]["id"]
    with container.uow(container.tenants.by_slug(demo.slug).id) as uow:
        provider_id = uow.payments.get(payment_id).provider_payment_id
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{provider_id}/status", {"status": "succeeded"})
    tenant = container.tenants.by_slug(demo.slug)
    assert container.payments.handle_notification(tenant, "yookassa", {
        "type": "notification", "event": "payment.succeeded", "object": {"id": provider_id}},
        YOOKASSA_ADDRESS) == "order-paid"
    return order.json


def tickets_of(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return list(conn.execute(select(t.tickets).where(t.tickets.c.order_id == order_id)
                                 .order_by(t.tickets.c.id)))


def order_row(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return conn.execute(select(t.orders).where(t.orders.c.id == order_id)).one()


def refunds_of(owner_engine, order_id):
    with owner_engine.connect() as conn:
        return list(conn.execute(select(t.refunds).where(t.refunds.c.order_id == order_id)
                                 .order_by(t.refunds.c.created_at)))


def provider_refunds(fake_yookassa, demo, provider_payment_id):
    return _control(fake_yookassa, demo, "GET", f"/sandbox/payments/{provider_payment_id}")["sandbox_refunds"]


@pytest.fixture
def tenant(container, demo, shop):
    return container.tenants.by_slug(demo.slug)


def test_quote_then_refund_one_ticket_then_the_rest(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa)
    buyer = Buyer(order["access_token"])
    first, second = [row.id for row in tickets_of(owner_engine, order["id"])]
    quote = container.refunds.quote(tenant, order["id"], [first], buyer)
    assert quote.refundable and quote.amount > 0 and quote.lines[0].decision.basis == "tier"

    view = container.refunds.refund(tenant, order["id"], [first], "k-" + uuid.uuid4().hex, buyer)
    assert view.amount == quote.amount and view.order_status == "partially_refunded"
    assert view.status in ("pending", "succeeded")
    statuses = {row.id: row.status for row in tickets_of(owner_engine, order["id"])}
    assert statuses == {first: "refunded", second: "sold"}

    rest = container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, buyer)
    assert rest.order_status == "refunded" and [line.ticket_id for line in rest.tickets] == [second]
    row = order_row(owner_engine, order["id"])
    assert row.status == "refunded" and row.refunded_total == row.total
    sent = provider_refunds(fake_yookassa, demo, _provider_id(owner_engine, order["id"]))
    assert len(sent) == 2
    assert [len(r["receipt"]["items"]) for r in sent] == [1, 1]  # the 54-FZ receipt names the ticket


def test_the_same_key_answers_the_first_refund_and_a_second_refund_of_the_tickets_is_refused(
        container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-H-3",))
    buyer, key = Buyer(order["access_token"]), "k-" + uuid.uuid4().hex
    first = container.refunds.refund(tenant, order["id"], None, key, buyer)
    again = container.refunds.refund(tenant, order["id"], None, key, buyer)
    assert again.id == first.id and again.replayed
    with pytest.raises(Conflict):
        container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, buyer)
    assert len(refunds_of(owner_engine, order["id"])) == 1


def test_concurrent_duplicate_refunds_make_one(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-H-4", "main-H-5"))
    buyer = Buyer(order["access_token"])
    outcomes: list[object] = []

    def attempt(key):
        try:
            outcomes.append(container.refunds.refund(tenant, order["id"], None, key, buyer).id)
        except Conflict as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=attempt, args=(f"k-{i}-{uuid.uuid4().hex}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(isinstance(o, str) for o in outcomes) == 1
    assert len(refunds_of(owner_engine, order["id"])) == 1
    assert len(provider_refunds(fake_yookassa, demo, _provider_id(owner_engine, order["id"]))) == 1


def test_bad_requests_change_nothing(container, demo, other_demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-H-6",))
    other = paid(container, demo, fake_yookassa, seats=("main-H-7",))
    buyer = Buyer(order["access_token"])
    key = "k-" + uuid.uuid4().hex
    with pytest.raises(NotFound):
        container.refunds.refund(tenant, str(uuid.uuid4()), None, key, buyer)
    with pytest.raises(NotFound):
        container.refunds.refund(tenant, "not-a-uuid", None, key, buyer)
    with pytest.raises(Forbidden):
        container.refunds.refund(tenant, order["id"], None, key, Buyer("wrong"))
    with pytest.raises(Forbidden):  # the other order's token does not open this one
        container.refunds.refund(tenant, order["id"], None, key, Buyer(other["access_token"]))
    foreign = container.tenants.by_slug(other_demo.slug)
    with pytest.raises(NotFound):  # RLS: another tenant's order does not exist there
        container.refunds.refund(foreign, order["id"], None, key, buyer)
    with pytest.raises(InvalidInput):  # tickets of another order
        container.refunds.refund(tenant, order["id"], [tickets_of(owner_engine, other["id"])[0].id], key, buyer)
    with pytest.raises(Forbidden):  # only agents set amounts
        container.refunds.refund(tenant, order["id"], None, key, buyer, amount_override=Decimal("1.00"))
    for amount in ("-1", "abc", "1.001", "NaN", 1.5):
        with pytest.raises(InvalidInput):
            container.refunds.refund(tenant, order["id"], None, key, SystemActor(), amount_override=amount)
    with pytest.raises(InvalidInput):
        container.refunds.refund(tenant, order["id"], None, "", buyer)
    assert refunds_of(owner_engine, order["id"]) == []
    assert order_row(owner_engine, order["id"]).status == "paid"


def test_an_override_above_what_is_left_is_refused(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-H-8", "main-H-9"))
    total = order_row(owner_engine, order["id"]).total
    first = tickets_of(owner_engine, order["id"])[0].id
    with pytest.raises(InvalidInput):
        container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, SystemActor(),
                                 amount_override=total + Decimal("0.01"), reason="goodwill")
    part = container.refunds.refund(tenant, order["id"], [first], "k-" + uuid.uuid4().hex, SystemActor(),
                                    amount_override=Decimal("100.00"), reason="phone call")
    assert part.amount == Decimal("100.00") and part.tickets[0].fee > 0
    assert order_row(owner_engine, order["id"]).refunded_total == Decimal("100.00")


def test_a_refunded_seat_can_be_held_and_sold_again(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-I-1",))
    container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    again = paid(container, demo, fake_yookassa, seats=("main-I-1",))
    assert order_row(owner_engine, again["id"]).status == "paid"


def test_the_revocation_list_holds_the_refunded_ticket(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-I-2", "main-I-3"))
    first, second = [row.id for row in tickets_of(owner_engine, order["id"])]
    container.refunds.refund(tenant, order["id"], [first], "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    revoked = {r["ticket_id"] for r in container.refunds.revocations(tenant, assigned_sailing(demo), None)}
    assert first in revoked and second not in revoked


def test_a_boarded_ticket_is_not_refunded_by_the_buyer(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-I-4",))
    ticket = tickets_of(owner_engine, order["id"])[0].id
    with container.uow(tenant.id) as uow:
        assert container.inventory.board(uow, ticket, container.now())
        uow.commit()
    with pytest.raises(Conflict):
        container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    assert refunds_of(owner_engine, order["id"]) == []


def test_a_refund_racing_a_boarding_scan_ends_one_way(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-I-5",))
    ticket = tickets_of(owner_engine, order["id"])[0].id
    results: dict[str, object] = {}

    def board():
        with container.uow(tenant.id) as uow:
            results["boarded"] = container.inventory.board(uow, ticket, container.now())
            uow.commit()

    def refund():
        try:
            results["refund"] = container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex,
                                                         Buyer(order["access_token"]))
        except Conflict as exc:
            results["refund"] = exc

    threads = [threading.Thread(target=board), threading.Thread(target=refund)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    row = tickets_of(owner_engine, order["id"])[0]
    if results["boarded"]:
        assert row.status == "sold" and row.boarded_at is not None and isinstance(results["refund"], Conflict)
    else:
        assert row.status == "refunded" and row.boarded_at is None


def test_provider_5xx_then_success_with_the_same_key(container, demo, fake_yookassa, tenant, owner_engine, clock):
    order = paid(container, demo, fake_yookassa, seats=("main-I-6",))
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [503, 503, 503]})  # one call's attempts
    view = container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex,
                                    Buyer(order["access_token"]))
    row = refunds_of(owner_engine, order["id"])[0]
    assert view.status == "requested" and row.status == "requested" and row.attempts >= 1
    clock.advance(minutes=10)
    counts = container.refunds.reconcile(tenant, clock() - timedelta(seconds=0))
    assert counts["sent"] >= 1
    after = refunds_of(owner_engine, order["id"])[0]
    assert after.status == "succeeded" and after.idempotence_key == row.idempotence_key
    sent = provider_refunds(fake_yookassa, demo, _provider_id(owner_engine, order["id"]))
    assert len(sent) == 1


def test_refund_succeeded_notifications_duplicated_and_reordered_change_nothing_twice(
        container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-I-7",))
    container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    row = refunds_of(owner_engine, order["id"])[0]
    body = {"type": "notification", "event": "refund.succeeded", "object": {"id": row.provider_refund_id}}
    outcomes = [container.payments.handle_notification(tenant, "yookassa", body, YOOKASSA_ADDRESS)
                for _ in range(3)]
    assert set(outcomes) <= {"no-change", "refund-succeeded"}
    with owner_engine.connect() as conn:
        logged = conn.execute(select(func.count()).select_from(t.order_log).where(
            t.order_log.c.order_id == order["id"], t.order_log.c.action == "refund.succeeded")).scalar_one()
    assert logged == 1
    assert refunds_of(owner_engine, order["id"])[0].status == "succeeded"


# --- the refund function over its HTTP contract --------------------------------------------

def _auth(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_buyer_quotes_and_refunds_over_http(container, demo, fake_yookassa, tenant, owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-G-1", "main-G-2"))
    first = tickets_of(owner_engine, order["id"])[0].id
    quote = call("refund", "POST", f"/orders/{order['id']}/quote", tenant=demo.slug,
                 headers=_auth(order["access_token"]), body={"ticket_ids": [first]})
    assert quote.status == 200, quote.json
    assert quote.json["refundable"] and quote.json["lines"][0]["decision"]["basis"] == "tier"
    key = {"Idempotency-Key": "k-" + uuid.uuid4().hex, **_auth(order["access_token"])}
    done = call("refund", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug, headers=key,
                body={"ticket_ids": [first]})
    assert done.status == 201, done.json
    assert done.json["amount"] == quote.json["amount"] and done.json["order_status"] == "partially_refunded"
    again = call("refund", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug, headers=key,
                 body={"ticket_ids": [first]})
    assert again.status == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["id"] == done.json["id"]
    listed = call("refund", "GET", f"/orders/{order['id']}/refunds", tenant=demo.slug,
                  headers=_auth(order["access_token"]))
    assert [r["id"] for r in listed.json["refunds"]] == [done.json["id"]]


@pytest.mark.parametrize(("path", "body", "headers", "status"), [
    ("/orders/{order}/refunds", {}, {}, 403),  # no token
    ("/orders/{order}/refunds", {}, {"Authorization": "Bearer nope"}, 403),
    ("/orders/{unknown}/refunds", {}, "token", 404),
    ("/orders/{order}/refunds", {"ticket_ids": []}, "token", 422),
    ("/orders/{order}/refunds", {"ticket_ids": ["x"]}, "token", 422),
    ("/orders/{order}/refunds", {"amount": "10.00"}, "token", 422),  # a buyer sets no amount
    ("/orders/{order}/refunds", {}, "token-no-key", 422),
    ("/agent/orders/{order}/refunds", {"amount": "-1", "reason": "x"}, {}, 422),
    ("/agent/orders/{order}/refunds", {"amount": 10.5, "reason": "x"}, {}, 422),
    ("/agent/orders/{order}/refunds", {"amount": "1e3", "reason": "x"}, {}, 422),
], ids=["no-token", "wrong-token", "unknown-order", "no-tickets", "foreign-ticket", "buyer-amount", "no-key",
        "negative", "float", "exponent"])
def test_bad_http_input_is_problem_json_and_writes_nothing(container, demo, fake_yookassa, tenant, owner_engine,
                                                           path, body, headers, status):
    order = paid(container, demo, fake_yookassa, seats=("main-G-3",))
    if headers in ("token", "token-no-key"):
        headers = {**_auth(order["access_token"]),
                   **({"Idempotency-Key": "k-" + uuid.uuid4().hex} if headers == "token" else {})}
    else:
        headers = {"Idempotency-Key": "k-" + uuid.uuid4().hex, **headers}
    answer = call("refund", "POST", path.format(order=order["id"], unknown=uuid.uuid4()), tenant=demo.slug,
                  headers=headers, body=body)
    assert answer.status == status, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert refunds_of(owner_engine, order["id"]) == []
    assert order_row(owner_engine, order["id"]).status == "paid"


# --- the provider's side: pending, canceled, the cron ----------------------------------------

def _reconcile():
    from tests.support import internal

    answer = call("refund-reconcile", "POST", "/", headers={"X-Connector": "cron-connector", **internal()})
    assert answer.status == 200, answer.json
    return answer.json


def test_a_pending_refund_is_reread_until_final(container, demo, fake_yookassa, tenant, owner_engine, clock):
    order = paid(container, demo, fake_yookassa, seats=("main-G-4",))
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [{"refund_status": "pending"}]})
    view = container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex,
                                    Buyer(order["access_token"]))
    assert view.status == "pending"
    row = refunds_of(owner_engine, order["id"])[0]
    clock.advance(minutes=5)
    _reconcile()
    assert refunds_of(owner_engine, order["id"])[0].status == "pending"  # still pending at the provider
    _control(fake_yookassa, demo, "POST", f"/sandbox/refunds/{row.provider_refund_id}/status",
             {"status": "succeeded"})
    clock.advance(minutes=5)
    assert _reconcile()["reread"] >= 1
    assert refunds_of(owner_engine, order["id"])[0].status == "succeeded"


def test_a_refund_canceled_at_the_provider_stays_visible_for_an_agent(container, demo, fake_yookassa, tenant,
                                                                      owner_engine, clock):
    order = paid(container, demo, fake_yookassa, seats=("main-G-5",))
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [{"refund_status": "pending"}]})
    container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    row = refunds_of(owner_engine, order["id"])[0]
    _control(fake_yookassa, demo, "POST", f"/sandbox/refunds/{row.provider_refund_id}/status",
             {"status": "canceled", "cancellation_details": {"party": "payment_network",
                                                             "reason": "rejected_by_timeout"}})
    clock.advance(minutes=5)
    _reconcile()
    after = refunds_of(owner_engine, order["id"])[0]
    assert after.status == "canceled" and "rejected_by_timeout" in after.last_error
    assert "failed" in order_row(owner_engine, order["id"]).needs_attention
    with owner_engine.connect() as conn:
        actions = list(conn.execute(select(t.order_log.c.action).where(t.order_log.c.order_id == order["id"]))
                       .scalars())
    assert "attention.refund_failed" in actions and "refund.canceled" in actions
    # a late refund.succeeded for it (forged or reordered) does not move it back
    body = {"type": "notification", "event": "refund.succeeded", "object": {"id": row.provider_refund_id}}
    assert container.payments.handle_notification(tenant, "yookassa", body, YOOKASSA_ADDRESS) in (
        "no-change", "refund-canceled")
    assert refunds_of(owner_engine, order["id"])[0].status == "canceled"


def test_a_refund_refused_by_the_provider_is_failed_and_flagged(container, demo, fake_yookassa, tenant,
                                                                owner_engine):
    order = paid(container, demo, fake_yookassa, seats=("main-G-6",))
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [400]})
    view = container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex,
                                    Buyer(order["access_token"]))
    assert view.status == "failed" and view.last_error
    assert "failed" in order_row(owner_engine, order["id"]).needs_attention


def test_the_unsent_late_payment_refund_is_sent_by_the_cron(container, demo, fake_yookassa, tenant, owner_engine,
                                                            clock):
    from tests.integration.test_payment_settlement import _expire, _lapse, _notify

    late = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                body={"sailing_id": assigned_sailing(demo), "seat_ids": ["main-G-7"]})
    late = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": late.json["token"], "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": "main-G-7", "ticket_type": "adult"}]}).json
    _lapse(owner_engine, late["id"])
    _expire()
    assert order_row(owner_engine, late["id"]).status == "expired"
    paid(container, demo, fake_yookassa, seats=("main-G-7",))  # the seat is sold to someone else
    payment_id = _provider_id(owner_engine, late["id"])
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{payment_id}/status", {"status": "succeeded"})
    _control(fake_yookassa, demo, "POST", "/sandbox/faults", {"create_refund": [503, 503, 503]})
    assert _notify(container, demo, payment_id) == "late-payment-refunded"
    assert refunds_of(owner_engine, late["id"])[0].status == "requested"
    clock.advance(minutes=5)
    assert _reconcile()["sent"] >= 1
    row = refunds_of(owner_engine, late["id"])[0]
    assert row.status == "succeeded" and row.kind == "late-payment"
    assert len(provider_refunds(fake_yookassa, demo, payment_id)) == 1


# --- agents (staff tokens) ---------------------------------------------------------------------

def test_an_agent_refunds_with_an_override_and_a_reason_and_is_audited(container, demo, fake_yookassa, tenant,
                                                                       owner_engine):
    from tests.staff_support import bearer, staff_token

    order = paid(container, demo, fake_yookassa, seats=("main-F-1", "main-F-2"))
    buyer_ticket, agent_ticket = [row.id for row in tickets_of(owner_engine, order["id"])]
    mine = call("refund", "POST", f"/orders/{order['id']}/refunds", tenant=demo.slug,
                body={"ticket_ids": [buyer_ticket]},
                headers={"Idempotency-Key": "k-" + uuid.uuid4().hex, **_auth(order["access_token"])})
    assert mine.status == 201, mine.json
    supervisor = staff_token(tenant.id, "supervisor")
    agent = staff_token(tenant.id, "agent")
    path = f"/agent/orders/{order['id']}/refunds"
    body = {"ticket_ids": [agent_ticket], "amount": "123.45", "reason": "called: boat too cold"}
    refused = call("refund", "POST", path, tenant=demo.slug, body=body,
                   headers={"Idempotency-Key": "k-" + uuid.uuid4().hex, **bearer(agent)})
    assert refused.status == 403  # an agent may refund, not override
    nobody = call("refund", "POST", path, tenant=demo.slug, body=body, headers={"Idempotency-Key": "k-x"})
    assert nobody.status == 401
    done = call("refund", "POST", path, tenant=demo.slug, body=body,
                headers={"Idempotency-Key": "k-" + uuid.uuid4().hex, **bearer(supervisor)})
    assert done.status == 201, done.json
    assert done.json["amount"] == "123.45" and done.json["order_status"] == "refunded"
    assert done.json["actor"].startswith("agent:")
    with owner_engine.connect() as conn:
        audit = list(conn.execute(select(t.metadata.tables["staff_audit"]).where(
            t.metadata.tables["staff_audit"].c.target_id == order["id"])))
    assert [row.action for row in audit] == ["order.refund"]
    sent = provider_refunds(fake_yookassa, demo, _provider_id(owner_engine, order["id"]))
    assert [r["object"]["amount"]["value"] for r in sent][-1] == "123.45"
    assert sent[-1]["receipt"]["items"][0]["amount"]["value"] == "123.45"


def test_the_scanner_downloads_the_revocation_list_with_a_staff_token(container, demo, fake_yookassa, tenant,
                                                                       owner_engine):
    from tests.staff_support import bearer, staff_token

    order = paid(container, demo, fake_yookassa, seats=("main-F-3",))
    container.refunds.refund(tenant, order["id"], None, "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    ticket = tickets_of(owner_engine, order["id"])[0].id
    token = staff_token(tenant.id, "agent", scopes=["tickets.board"])
    answer = call("refund", "GET", "/revocations", tenant=demo.slug, headers=bearer(token),
                  query={"sailing_id": assigned_sailing(demo)})
    assert answer.status == 200, answer.json
    assert ticket in {r["ticket_id"] for r in answer.json["revoked"]}
    assert call("refund", "GET", "/revocations", tenant=demo.slug).status == 401


# --- effects: documents, email, the order.refunded event ---------------------------------------

def test_effects_documents_email_event_log(container, demo, fake_yookassa, tenant, owner_engine, test_env, docs,
                                           sink):
    import json as jsonlib

    from prichal.domain import events
    from tests.conftest import bound_queue
    from tests.documents_support import issue

    order = paid(container, demo, fake_yookassa, seats=("main-F-5", "main-F-6"))
    with container.uow(tenant.id) as uow:
        issue(container, uow.orders.get(order["id"]))
    first, _second = [row.id for row in tickets_of(owner_engine, order["id"])]
    with bound_queue(test_env.events_exchange, "order.refunded") as (channel, queue):
        view = container.refunds.refund(tenant, order["id"], [first], "k-" + uuid.uuid4().hex,
                                        Buyer(order["access_token"]))
        _, _, body = channel.basic_get(queue, auto_ack=True)
    refunded = events.parse(jsonlib.loads(body))
    assert isinstance(refunded, events.OrderRefunded)
    assert refunded.refund_id == view.id and [t.ticket_id for t in refunded.tickets] == [first]
    assert refunded.amount == view.amount and not refunded.fully_refunded

    listed = call("documents", "GET", f"/orders/{order['id']}/documents", tenant=demo.slug,
                  headers=_auth(order["access_token"]))
    assert listed.status == 200, listed.json
    statuses = sorted(d["ticket_status"] for d in listed.json["documents"] if d["kind"] == "ticket")
    assert statuses == ["refunded", "valid"]

    mails = [m for m in sink.for_order(order_row(owner_engine, order["id"]).number) if "возврат" in m["Subject"]]
    assert len(mails) == 1 and "больше не действуют" in mails[0].get_content()
    with owner_engine.connect() as conn:
        actions = list(conn.execute(select(t.order_log.c.action).where(t.order_log.c.order_id == order["id"])
                                    .order_by(t.order_log.c.id)).scalars())
    tail = actions[actions.index("refund.requested"):]
    assert tail[:3] == ["refund.requested", "seat.refunded", "order.partially_refunded"]
    assert "refund.sent" in tail and "refund.emailed" in tail


def test_refunded_free_seating_places_go_back_on_sale(container, demo, fake_yookassa, tenant, owner_engine):
    from tests.conftest import free_sailing

    sailing_id = free_sailing(demo)
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                body={"sailing_id": sailing_id, "quantity": 2})
    assert hold.status == 201, hold.json
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": hold.json["token"], "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"ticket_type": "adult", "quantity": 2}]}).json
    with container.uow(tenant.id) as uow:
        provider_id = uow.payments.for_order(order["id"]).provider_payment_id
    _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{provider_id}/status", {"status": "succeeded"})
    assert container.payments.handle_notification(tenant, "yookassa", {
        "type": "notification", "event": "payment.succeeded", "object": {"id": provider_id}},
        YOOKASSA_ADDRESS) == "order-paid"

    def sold():
        with owner_engine.connect() as conn:
            return conn.execute(select(t.sailings.c.places_sold).where(t.sailings.c.id == sailing_id)).scalar_one()

    before = sold()
    first = tickets_of(owner_engine, order["id"])[0].id
    container.refunds.refund(tenant, order["id"], [first], "k-" + uuid.uuid4().hex, Buyer(order["access_token"]))
    assert sold() == before - 1
    assert order_row(owner_engine, order["id"]).status == "partially_refunded"
