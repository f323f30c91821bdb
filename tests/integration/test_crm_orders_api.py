"""The crm function's order routes in-process: roles allowed and refused, audit rows,
idempotency, tenants, bad input as problem+json."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, select, text

from prichal.adapters.db import tables as t
from tests.crm_support import place_order
from tests.staff_support import bearer, staff_token
from tests.support import call

EDITORS = ("agent", "supervisor", "admin")
READERS = ("agent", "supervisor", "finance", "admin")


def crm(method, path, demo, token=None, **kw):
    headers = {**(bearer(token) if token else {}), **kw.pop("headers", {})}
    return call("crm", method, path, tenant=demo.slug, headers=headers, **kw)


def audit_rows(owner_engine, tenant_id, action):
    with owner_engine.connect() as conn:
        return list(conn.execute(select(t.staff_audit).where(t.staff_audit.c.tenant_id == tenant_id,
                                                             t.staff_audit.c.action == action)))


@pytest.fixture
def tokens(container, demo):
    return {role: staff_token(demo.tenant_id, role) for role in READERS}


@pytest.fixture
def order(owner_engine, demo):
    return place_order(owner_engine, demo, name="Кузнецова Ольга Ивановна", phone="8 (911) 234-56-78",
                       email="olga@example.test")


# --- search and card ------------------------------------------------------------------------

@pytest.mark.parametrize("role", READERS)
def test_every_reading_role_finds_an_order_by_a_phone_fragment_in_another_format(demo, tokens, order, role):
    answer = crm("GET", "/orders", demo, tokens[role], query={"q": "+7 911 234"})
    assert answer.status == 200, answer.json
    assert [o["number"] for o in answer.json["orders"]] == [order.number]
    answer = crm("GET", "/orders", demo, tokens[role], query={"name": "КУЗНЕЦОВА ол", "status": "paid,refunded"})
    assert [o["id"] for o in answer.json["orders"]] == [order.id]


def test_search_pages_carry_a_cursor(owner_engine, demo, tokens):
    placed = [place_order(owner_engine, demo, name="Листов Пётр") for _ in range(3)]
    first = crm("GET", "/orders", demo, tokens["agent"], query={"name": "листов", "limit": "2"}).json
    second = crm("GET", "/orders", demo, tokens["agent"],
                 query={"name": "листов", "limit": "2", "cursor": first["next_cursor"]}).json
    assert [o["number"] for o in first["orders"] + second["orders"]] == [p.number for p in reversed(placed)]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("query", [{"name": "ив"}, {"phone": "12"}, {"limit": "0"}, {"limit": "x"},
                                   {"cursor": "abc"}, {"status": "lost"}, {"sailing_id": "nope"},
                                   {"unknown": "1"}, {"created_from": "yesterday"}, {"q": " "}])
def test_bad_search_input_is_a_problem(demo, tokens, query):
    answer = crm("GET", "/orders", demo, tokens["agent"], query=query)
    assert answer.status == 422, (query, answer.json)
    assert answer.headers["Content-Type"] == "application/problem+json" and answer.json["errors"]


def test_the_card_through_the_function(demo, tokens, order):
    answer = crm("GET", f"/orders/{order.id}", demo, tokens["finance"])
    assert answer.status == 200, answer.json
    assert answer.json["order"]["customer"]["phone"] == "8 (911) 234-56-78"
    assert answer.json["payments"][0]["provider_payment_id"] == order.provider_payment_id


def test_without_a_valid_token_nothing_is_answered(container, demo, order):
    for token in (None, "garbage", "prs.deadbeef"):
        for path in ("/orders", f"/orders/{order.id}", "/attention"):
            answer = crm("GET", path, demo, token)
            assert answer.status == 401, (token, path, answer.json)
            assert answer.headers["Content-Type"] == "application/problem+json"
    assert crm("POST", f"/orders/{order.id}/notes", demo, None, body={"text": "x"}).status == 401


def test_another_tenants_ids_are_not_found_and_its_tokens_are_not_valid(owner_engine, demo, other_demo, tokens,
                                                                          order):
    theirs = staff_token(other_demo.tenant_id, "admin")
    assert crm("GET", f"/orders/{order.id}", other_demo, theirs).status == 404
    assert crm("GET", "/orders", other_demo, theirs, query={"q": str(order.id)}).json["orders"] == []
    assert crm("GET", "/orders", other_demo, theirs, query={"q": "+7 911 234"}).json["orders"] == []
    for method, path, body in (("PATCH", "contact", {"name": "Взлом"}), ("POST", "notes", {"text": "x"}),
                               ("PUT", "attention", {"detail": "x"}), ("POST", "resend-tickets", None)):
        answer = crm(method, f"/orders/{order.id}/{path}", other_demo, theirs, body=body)
        assert answer.status == 404, (path, answer.json)
    assert crm("GET", "/orders", demo, theirs).status == 401  # their token means nothing here
    assert crm("GET", f"/orders/{uuid.uuid4()}", demo, tokens["agent"]).status == 404
    assert crm("GET", "/orders/not-an-id", demo, tokens["agent"]).status == 404
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.orders.c.customer_name).where(t.orders.c.id == order.id)).scalar_one() == \
            "Кузнецова Ольга Ивановна"


# --- actions: every role ----------------------------------------------------------------------

@pytest.mark.parametrize("role", READERS)
def test_correct_the_contact(owner_engine, demo, tokens, order, role):
    answer = crm("PATCH", f"/orders/{order.id}/contact", demo, tokens[role],
                 body={"phone": "8 921 000-11-22", "email": "Olga.New@Example.test"})
    if role not in EDITORS:
        assert answer.status == 403 and answer.json["code"] == "forbidden"
        assert audit_rows(owner_engine, demo.tenant_id, "order.contact_corrected") == []
        return
    assert answer.status == 200, answer.json
    assert answer.json["changed"] == ["email", "phone"]
    assert answer.json["customer"]["phone"] == "+79210001122"
    [row] = audit_rows(owner_engine, demo.tenant_id, "order.contact_corrected")
    assert row.target_id == order.id and row.actor_type == "staff" and row.data["phone"] == "+79210001122"
    found = crm("GET", "/orders", demo, tokens[role], query={"phone": "921 000 11 22"}).json["orders"]
    assert [o["id"] for o in found] == [order.id]


@pytest.mark.parametrize("role", READERS)
def test_add_a_note(owner_engine, demo, tokens, order, role):
    key = {"Idempotency-Key": f"note-{uuid.uuid4()}"}
    answer = crm("POST", f"/orders/{order.id}/notes", demo, tokens[role], body={"text": "Звонила,\nпросит чек"},
                 headers=key)
    if role not in EDITORS:
        assert answer.status == 403
        return
    assert answer.status == 201, answer.json
    again = crm("POST", f"/orders/{order.id}/notes", demo, tokens[role], body={"text": "Звонила,\nпросит чек"},
                headers=key)
    assert again.status == 201 and again.json["replayed"] is True
    assert again.json["note"]["id"] == answer.json["note"]["id"]
    notes = crm("GET", f"/orders/{order.id}", demo, tokens[role]).json["notes"]
    assert [n["text"] for n in notes] == ["Звонила,\nпросит чек"]
    assert len(audit_rows(owner_engine, demo.tenant_id, "order.note_added")) == 1
    other = crm("POST", f"/orders/{order.id}/notes", demo, tokens[role], body={"text": "другое"}, headers=key)
    assert other.status == 409 and other.json["code"] == "idempotency-key-reused"


@pytest.mark.parametrize("role", READERS)
def test_set_and_clear_the_attention_flag(owner_engine, demo, tokens, order, role):
    answer = crm("PUT", f"/orders/{order.id}/attention", demo, tokens[role],
                 body={"detail": "перезвонить после рейса", "follow_up_on": "2026-07-02"})
    if role not in EDITORS:
        assert answer.status == 403
        assert crm("DELETE", f"/orders/{order.id}/attention", demo, tokens[role]).status == 403
        return
    assert answer.status == 200, answer.json
    assert answer.json["flags"] == [{"reason": "manual", "detail": "перезвонить после рейса",
                                     "follow_up_on": "2026-07-02"}]
    twice = crm("PUT", f"/orders/{order.id}/attention", demo, tokens[role],
                body={"detail": "перезвонить после рейса", "follow_up_on": "2026-07-02"})
    assert len(twice.json["flags"]) == 1  # the same flag, not a second one
    queue = crm("GET", "/attention", demo, tokens["finance"]).json
    [item] = [i for i in queue["items"] if i["order_id"] == order.id]
    assert item["follow_up_on"] == str(date(2026, 7, 2)) and item["reasons"][0]["reason"] == "manual"
    found = crm("GET", "/orders", demo, tokens[role], query={"needs_attention": "true"}).json["orders"]
    assert order.id in [o["id"] for o in found]
    cleared = crm("DELETE", f"/orders/{order.id}/attention", demo, tokens[role])
    assert cleared.status == 200 and cleared.json["flags"] == []
    assert all(i["order_id"] != order.id for i in crm("GET", "/attention", demo, tokens[role]).json["items"])
    assert len(audit_rows(owner_engine, demo.tenant_id, "order.attention_set")) == 2
    assert len(audit_rows(owner_engine, demo.tenant_id, "order.attention_cleared")) == 1


@pytest.mark.parametrize("role", READERS)
def test_resend_the_tickets(owner_engine, demo, tokens, order, role):
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": demo.tenant_id})
        conn.execute(t.documents.insert().values(
            tenant_id=demo.tenant_id, order_id=order.id, kind="ticket", position=1, ticket_id=order.ticket_ids[0],
            number=1, year=2026, issued_on=date(2026, 6, 1), s3_key="k", sha256="x", size=1, status="stored"))
        conn.execute(t.email_deliveries.insert().values(order_id=order.id, tenant_id=demo.tenant_id,
                                                        recipient="olga@example.test", status="failed",
                                                        attempts=1, last_error="550 mailbox full"))
    key = {"Idempotency-Key": f"resend-{uuid.uuid4()}"}
    answer = crm("POST", f"/orders/{order.id}/resend-tickets", demo, tokens[role], headers=key)
    if role not in EDITORS:
        assert answer.status == 403
        return
    assert answer.status == 200 and answer.json["status"] == "queued", answer.json
    assert crm("POST", f"/orders/{order.id}/resend-tickets", demo, tokens[role], headers=key).json["replayed"]
    with owner_engine.connect() as conn:
        delivery = conn.execute(select(t.email_deliveries).where(t.email_deliveries.c.order_id == order.id)).one()
        events = conn.execute(select(func.count()).select_from(t.outbox).where(
            t.outbox.c.tenant_id == demo.tenant_id, t.outbox.c.type == "order.tickets-resend")).scalar_one()
    assert delivery.status == "pending" and delivery.last_error is None
    assert events == 1
    assert len(audit_rows(owner_engine, demo.tenant_id, "order.tickets_resend")) == 1


def test_resend_needs_a_paid_order_with_documents(owner_engine, demo, tokens):
    unpaid = place_order(owner_engine, demo, status="awaiting_payment")
    answer = crm("POST", f"/orders/{unpaid.id}/resend-tickets", demo, tokens["agent"])
    assert answer.status == 409 and answer.headers["Content-Type"] == "application/problem+json"
    paid_without_documents = place_order(owner_engine, demo)
    assert crm("POST", f"/orders/{paid_without_documents.id}/resend-tickets", demo, tokens["agent"]).status == 409


@pytest.mark.parametrize("body", [{}, {"email": "not an address"}, {"phone": "12345"}, {"name": "  "},
                                  {"name": "x\u0007y"}, {"extra": 1}, {"phone": "+7 (921) abc-de-fg"}])
def test_bad_contact_changes_nothing(owner_engine, demo, tokens, order, body):
    answer = crm("PATCH", f"/orders/{order.id}/contact", demo, tokens["agent"], body=body)
    assert answer.status == 422, (body, answer.json)
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert audit_rows(owner_engine, demo.tenant_id, "order.contact_corrected") == []


@pytest.mark.parametrize("path, body", [("notes", {"text": ""}), ("notes", {}), ("attention", {"detail": "x",
                                         "follow_up_on": "someday"}), ("attention", {})])
def test_bad_action_bodies_are_problems(demo, tokens, order, path, body):
    method = "POST" if path == "notes" else "PUT"
    answer = crm(method, f"/orders/{order.id}/{path}", demo, tokens["agent"], body=body)
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    bad_key = crm(method, f"/orders/{order.id}/{path}", demo, tokens["agent"], body={"text": "ok", "detail": "ok"},
                  headers={"Idempotency-Key": "ключ"})
    assert bad_key.status == 422


# --- refunds through the refund service --------------------------------------------------------

@pytest.mark.parametrize("role", ["finance"])
def test_roles_without_orders_refund_are_refused(demo, tokens, order, role):
    answer = crm("POST", f"/orders/{order.id}/refunds", demo, tokens[role], body={"reason": "просьба"},
                 headers={"Idempotency-Key": "r1"})
    assert answer.status == 403 and answer.json["permission"] == "orders.refund"


def test_a_refund_needs_a_key_and_a_reason(demo, tokens, order):
    assert crm("POST", f"/orders/{order.id}/refunds", demo, tokens["agent"], body={"reason": "x"}).status == 422
    assert crm("POST", f"/orders/{order.id}/refunds", demo, tokens["agent"], body={},
               headers={"Idempotency-Key": "r2"}).status == 422
