"""Resend the tickets: the agent's action resets the email, its ``order.tickets-resend`` event
reaches issue-documents (as the connector would deliver it), and the buyer gets the mail again."""

from __future__ import annotations

from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.services.outbox import message
from tests.documents_support import issue, paid_order
from tests.staff_support import bearer, staff_token
from tests.support import call, internal


def test_an_agent_resends_the_tickets_after_correcting_the_address(docs, demo, sink, owner_engine):
    order = paid_order(docs, demo, seats=("main-J-5",), types=("adult",), email="typo@exampel.test")
    issue(docs, order)
    assert len(sink.for_order(order.number)) == 1
    agent = bearer(staff_token(demo.tenant_id, "agent"))
    fixed = call("crm", "PATCH", f"/orders/{order.id}/contact", tenant=demo.slug, headers=agent,
                 body={"email": "anna@example.test"})
    assert fixed.status == 200, fixed.json
    answer = call("crm", "POST", f"/orders/{order.id}/resend-tickets", tenant=demo.slug, headers=agent)
    assert answer.status == 200 and answer.json["recipient"] == "anna@example.test", answer.json
    with owner_engine.connect() as conn:
        row = conn.execute(select(t.outbox).where(t.outbox.c.tenant_id == demo.tenant_id,
                                                  t.outbox.c.type == "order.tickets-resend")).one()
    delivered = call("issue-documents", "POST", "/", headers=internal(), body=message(row))
    assert delivered.status == 200 and delivered.json["email"] == "sent", delivered.json
    mails = sink.for_order(order.number)
    assert len(mails) == 2 and "anna@example.test" in mails[1]["To"]
    again = call("issue-documents", "POST", "/", headers=internal(), body=message(row))  # a redelivery
    assert again.json["email"] == "sent" and len(sink.for_order(order.number)) == 2
    timeline = call("crm", "GET", f"/orders/{order.id}", tenant=demo.slug, headers=agent).json["emails"]["history"]
    assert [e["action"] for e in timeline][-2:] == ["email.resend_requested", "email.sent"]
