"""The boarding function: a scanned ticket is let in once; refused when it boarded already,
was refunded, is for another sailing or another seller, or the code is not ours; every scan
audited; the progress of a sailing; roles and tokens."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from prichal.domain.ticket_codes import TicketClaims, TicketSigner
from tests.documents_support import paid_order
from tests.staff_support import PROBLEM, ROLES, bearer, crm, staff_token
from tests.support import call, internal


def _code(container, demo, ticket_id: str, sailing_id: str, number: int) -> str:
    return container.ticket_signer.sign(TicketClaims(ticket=ticket_id, tenant=demo.slug, sailing=sailing_id,
                                                     seat=None, order=number, departs=datetime.now(UTC).isoformat()))


@pytest.fixture
def ticket(container, demo):
    order = paid_order(container, demo, seats=("main-D-1", "main-D-2"), types=("adult", "child"))
    item = order.items[0]
    return {"order": order, "id": item.ticket_id, "code": _code(container, demo, item.ticket_id, order.sailing_id,
                                                                  order.number)}


def scan(demo, token, code, **body):
    return call("boarding", "POST", "/scans", tenant=demo.slug, headers=bearer(token), body={"code": code, **body})


def _audit(container, demo, action):
    with container.uow(demo.tenant_id) as uow:
        return uow.audit.entries(limit=100, action=action)


def test_a_ticket_boards_once(container, demo, ticket):
    gate = staff_token(demo.tenant_id, "agent", scopes=["tickets.board"])
    first = scan(demo, gate, ticket["code"], sailing_id=ticket["order"].sailing_id)
    assert first.status == 200, first.json
    assert first.json["ticket_id"] == ticket["id"] and first.json["seat_id"] == "main-D-1"
    assert first.json["ticket_type"] == "adult" and first.json["customer_name"] == "Анна Петрова"
    assert first.json["order_number"] == ticket["order"].number and first.json["boarded_at"]

    again = scan(demo, gate, ticket["code"])
    assert again.status == 409 and again.headers["Content-Type"] == PROBLEM
    assert again.json["code"] == "ticket-already-boarded" and again.json["boarded_at"] == first.json["boarded_at"]
    assert [e["action"] for e in _audit(container, demo, None) if e["target_id"] == ticket["id"]] == [
        "ticket.board_refused", "ticket.board"]  # newest first; the refusal says why
    with container.uow(demo.tenant_id) as uow:
        log = [e["action"] for e in uow.log.for_order(ticket["order"].id)]
    assert log.count("ticket.boarded") == 1
    card = crm("GET", f"/orders/{ticket['order'].id}", demo.slug, staff_token(demo.tenant_id, "agent")).json
    assert [(i["ticket_id"], i["boarded_at"] is not None) for i in card["items"]] == [
        (ticket["id"], True), (ticket["order"].items[1].ticket_id, False)]  # the agent sees who is on board


def test_scans_are_counted_by_outcome_on_metrics(container, demo, ticket):
    from prometheus_client import REGISTRY

    def count(outcome: str) -> float:
        return REGISTRY.get_sample_value("prichal_boarding_scans_total", {"outcome": outcome}) or 0.0

    before = {o: count(o) for o in ("boarded", "ticket-already-boarded", "invalid-ticket-code")}
    gate = staff_token(demo.tenant_id, "agent", scopes=["tickets.board"])
    for code in (ticket["code"], ticket["code"], "PT2.garbage"):
        scan(demo, gate, code)
    assert {o: count(o) - before[o] for o in before} == {"boarded": 1, "ticket-already-boarded": 1,
                                                         "invalid-ticket-code": 1}
    text_metrics = call("boarding", "GET", "/metrics", headers=internal()).raw.decode()
    assert 'prichal_boarding_scans_total{outcome="boarded"}' in text_metrics


def test_the_progress_of_a_sailing(container, demo, ticket):
    gate = staff_token(demo.tenant_id, "agent", scopes=["tickets.board"])
    sailing = ticket["order"].sailing_id
    before = call("boarding", "GET", f"/sailings/{sailing}", tenant=demo.slug, headers=bearer(gate))
    assert before.status == 200, before.json
    assert (before.json["sold"], before.json["boarded"], before.json["waiting"]) == (2, 0, 2)
    assert scan(demo, gate, ticket["code"]).status == 200
    after = call("boarding", "GET", f"/sailings/{sailing}", tenant=demo.slug, headers=bearer(gate)).json
    assert (after["sold"], after["boarded"], after["waiting"]) == (2, 1, 1)
    unknown = call("boarding", "GET", "/sailings/00000000-0000-4000-8000-000000000000", tenant=demo.slug,
                   headers=bearer(gate))
    assert unknown.status == 404 and unknown.headers["Content-Type"] == PROBLEM
    assert call("boarding", "GET", "/sailings/not-a-uuid", tenant=demo.slug, headers=bearer(gate)).status == 404


def test_a_refunded_ticket_is_refused_and_nothing_changes(container, demo, ticket, owner_engine):
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE tickets SET status = 'refunded' WHERE id = :t"), {"t": ticket["id"]})
    answer = scan(demo, staff_token(demo.tenant_id, "agent"), ticket["code"])
    assert answer.status == 409 and answer.json["code"] == "ticket-not-valid"
    assert answer.json["ticket_status"] == "refunded"
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT boarded_at FROM tickets WHERE id = :t"), {"t": ticket["id"]}).scalar() is None


def test_a_ticket_of_a_canceled_sailing_is_refused_while_its_refunds_run(container, demo, ticket, owner_engine):
    with owner_engine.begin() as conn:  # canceled, the refund batches not there yet: the ticket is still sold
        conn.execute(text("UPDATE sailings SET status = 'cancelled' WHERE id = :s"), {"s": ticket["order"].sailing_id})
    answer = scan(demo, staff_token(demo.tenant_id, "agent"), ticket["code"])
    assert answer.status == 409 and answer.json["code"] == "ticket-not-valid"
    assert answer.json["sailing_status"] == "cancelled" and answer.json["ticket_status"] == "sold"


def test_a_ticket_of_another_sailing_is_refused(container, demo, ticket):
    other = next(s["id"] for s in demo.sailings if s["id"] != ticket["order"].sailing_id)
    answer = scan(demo, staff_token(demo.tenant_id, "agent"), ticket["code"], sailing_id=other)
    assert answer.status == 409 and answer.json["code"] == "ticket-wrong-sailing"
    assert answer.json["ticket_sailing_id"] == ticket["order"].sailing_id
    malformed = scan(demo, staff_token(demo.tenant_id, "agent"), ticket["code"], sailing_id="not-a-uuid")
    assert malformed.status == 422 and malformed.json["errors"][0]["loc"] == ["body", "sailing_id"]


@pytest.mark.parametrize("code", ["", "PT2.garbage", "x" * 1001, "PT1.AAAA.BBBB"])
def test_codes_that_are_not_ours_are_refused(container, demo, code):
    answer = scan(demo, staff_token(demo.tenant_id, "agent"), code)
    assert answer.status == 422 and answer.headers["Content-Type"] == PROBLEM
    assert answer.json["code"] in {"invalid-ticket-code", "validation-failed"}


def test_a_code_signed_with_another_key_is_refused(container, demo, ticket):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    forged = TicketSigner(Ed25519PrivateKey.generate()).sign(TicketClaims(
        ticket=ticket["id"], tenant=demo.slug, sailing=ticket["order"].sailing_id, seat=None,
        order=ticket["order"].number, departs=datetime.now(UTC).isoformat()))
    answer = scan(demo, staff_token(demo.tenant_id, "agent"), forged)
    assert answer.status == 422 and answer.json["code"] == "invalid-ticket-code"


def test_another_seller_s_ticket_is_not_found(container, demo, other_demo, ticket):
    theirs = staff_token(other_demo.tenant_id, "admin")
    answer = scan(other_demo, theirs, ticket["code"])
    assert answer.status == 404 and answer.headers["Content-Type"] == PROBLEM
    # a code claiming their slug for our ticket id: the ticket is not theirs either (RLS)
    relabeled = container.ticket_signer.sign(TicketClaims(
        ticket=ticket["id"], tenant=other_demo.slug, sailing=ticket["order"].sailing_id, seat=None, order=1,
        departs=datetime.now(UTC).isoformat()))
    assert scan(other_demo, theirs, relabeled).status == 404
    assert call("boarding", "GET", f"/sailings/{ticket['order'].sailing_id}", tenant=other_demo.slug,
                headers=bearer(theirs)).status == 404


@pytest.mark.parametrize("role", ROLES)
def test_who_may_scan(container, demo, ticket, role):
    answer = scan(demo, staff_token(demo.tenant_id, role), ticket["code"])
    assert answer.status == (403 if role == "finance" else 200), answer.json


def test_a_token_without_the_scope_or_no_token_is_refused(container, demo, ticket):
    reader = staff_token(demo.tenant_id, "agent", scopes=["orders.read"])
    assert scan(demo, reader, ticket["code"]).status == 403
    assert call("boarding", "POST", "/scans", tenant=demo.slug, body={"code": ticket["code"]}).status == 401
    assert scan(demo, staff_token(demo.tenant_id, "agent"), ticket["code"], extra=1).status == 422


def test_two_scanners_at_once_let_the_ticket_in_once(container, demo, ticket):
    gates = [staff_token(demo.tenant_id, "agent", scopes=["tickets.board"]) for _ in range(2)]
    statuses: list[int] = []
    barrier = threading.Barrier(2)

    def one(token: str) -> None:
        barrier.wait()
        statuses.append(scan(demo, token, ticket["code"]).status)

    threads = [threading.Thread(target=one, args=(gate,)) for gate in gates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409]
