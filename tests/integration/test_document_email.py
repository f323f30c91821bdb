"""The tickets email against real PostgreSQL, moto S3 and aiosmtpd on loopback: its headers,
internationalised addresses, and what happens when an address cannot be delivered."""

from __future__ import annotations

import json
import re
from email import message_from_string, policy
from email.utils import parsedate_to_datetime

import pytest
from sqlalchemy import select, text

from prichal.adapters.db import tables as t
from prichal.services.documents import EmailDeferred
from prichal_localrun.mailsink import MailSink
from prichal_localrun.s3server import free_port
from tests.documents_support import issue, order_paid_event, paid_order
from tests.support import call, internal


@pytest.fixture
def local_sink(docs, tmp_path):
    """The local runtime's own mail sink (SMTPUTF8, refusing ``bounce@...`` with a 550 at RCPT)."""
    sink = MailSink("127.0.0.1", free_port(), tmp_path / "mail", refuse=re.compile(r"^bounce@"))
    sink.folder.mkdir()
    sink.start()
    docs.settings.smtp_port = sink.port
    yield sink
    sink.stop()


def _kept(sink: MailSink) -> list:
    """The kept messages; their headers may be UTF-8 (SMTPUTF8), so read as text, not bytes."""
    return [message_from_string(path.read_text("utf-8"), policy=policy.default)
            for path in sorted(sink.folder.iterdir())]


def _order_row(owner_engine, order):
    with owner_engine.connect() as conn:
        row = conn.execute(select(t.orders.c.needs_attention).where(t.orders.c.id == order.id)).one()
        log = conn.execute(select(t.order_log.c.action, t.order_log.c.data)
                           .where(t.order_log.c.order_id == order.id).order_by(t.order_log.c.id)).all()
        delivery = conn.execute(select(t.email_deliveries.c.status, t.email_deliveries.c.last_error)
                                .where(t.email_deliveries.c.order_id == order.id)).one()
    return row.needs_attention, [(entry.action, entry.data) for entry in log], delivery


def test_the_email_carries_the_send_time_as_its_date(docs, demo, sink, clock):
    order = paid_order(docs, demo, seats=("main-J-1",), types=("adult",))
    clock.advance(minutes=7)
    issue(docs, order)
    [mail] = sink.for_order(order.number)
    sent = parsedate_to_datetime(mail["Date"])
    assert sent.utcoffset() is not None and sent.utcoffset().total_seconds() == 0
    assert sent == clock.now.replace(microsecond=0)


def test_an_idn_domain_is_sent_in_its_ascii_form(docs, demo, sink):
    order = paid_order(docs, demo, seats=("main-J-2",), types=("adult",), email="anna@пример.рф",
                       name="Анна\r\nBcc: spy@example.com")
    assert issue(docs, order)["email"] == "sent"
    [mail] = sink.for_order(order.number)
    assert mail["X-Test-Envelope-To"] == "anna@xn--e1afmkfd.xn--p1ai"
    [to] = mail["To"].addresses
    assert to.addr_spec == "anna@xn--e1afmkfd.xn--p1ai" and to.display_name == "Анна Bcc: spy@example.com"
    assert mail["Bcc"] is None


def test_a_non_ascii_mailbox_goes_by_smtputf8(docs, demo, local_sink):
    order = paid_order(docs, demo, seats=("main-J-3",), types=("adult",), email="анна@пример.рф")
    assert issue(docs, order)["email"] == "sent"
    [mail] = _kept(local_sink)
    assert mail["To"].addresses[0].addr_spec == "анна@пример.рф"


def test_a_server_without_smtputf8_is_a_flagged_permanent_failure(docs, demo, sink, owner_engine):
    order = paid_order(docs, demo, seats=("main-J-4",), types=("adult",), email="анна@пример.рф")
    assert issue(docs, order)["email"] == "failed"  # acked: retrying cannot help
    attention, log, delivery = _order_row(owner_engine, order)
    assert delivery.status == "failed" and "SMTPUTF8" in delivery.last_error
    assert "could not be emailed" in attention and ("order.flagged", {"reason": attention}) in log
    assert sink.for_order(order.number) == []


def test_a_recipient_the_server_refuses_is_flagged_and_acked_not_retried(docs, demo, local_sink, owner_engine):
    order = paid_order(docs, demo, seats=("main-J-5",), types=("adult",), email="bounce@example.com")
    answer = call("issue-documents", "POST", "/", raw=json.dumps(order_paid_event(order)).encode(), headers=internal())
    assert answer.status == 200 and answer.json["email"] == "failed", answer.json
    attention, log, delivery = _order_row(owner_engine, order)
    assert delivery.status == "failed" and "550" in delivery.last_error
    assert "could not be emailed" in attention and "550" in attention
    assert [action for action, _ in log][-2:] == ["email.failed", "order.flagged"]
    # a redelivery of order.paid sends nothing and flags nothing twice
    again = call("issue-documents", "POST", "/", raw=json.dumps(order_paid_event(order)).encode(), headers=internal())
    assert again.status == 200 and again.json["email"] == "failed"
    assert [action for action, _ in _order_row(owner_engine, order)[1]].count("order.flagged") == 1
    assert _kept(local_sink) == []


def test_a_recipient_refused_for_now_is_retried(docs, demo, sink, owner_engine):
    order = paid_order(docs, demo, seats=("main-J-6",), types=("adult",), email="later@example.com")
    sink.refuse_rcpt["later@example.com"] = "450 4.2.1 mailbox busy, try later"
    with pytest.raises(EmailDeferred):
        issue(docs, order)
    attention, _, delivery = _order_row(owner_engine, order)
    assert delivery.status == "pending" and "450" in delivery.last_error and attention is None
    del sink.refuse_rcpt["later@example.com"]
    assert issue(docs, order)["email"] == "sent" and len(sink.for_order(order.number)) == 1


@pytest.mark.parametrize("stored", ["Evil<evil@example.com>", "Bcc:x@example.com", "x@example.com\r\nBcc: y@z.com"])
def test_an_address_stored_before_it_was_checked_is_a_flagged_failure_not_a_500(docs, demo, sink, owner_engine,
                                                                                   stored):
    order = paid_order(docs, demo, seats=("main-J-7",), types=("adult",), email=stored)
    answer = call("issue-documents", "POST", "/", raw=json.dumps(order_paid_event(order)).encode(), headers=internal())
    assert answer.status == 200 and answer.json["email"] == "failed", answer.json
    attention, _, delivery = _order_row(owner_engine, order)
    assert delivery.status == "failed" and "cannot be written to" in attention
    assert sink.messages == []


def test_an_email_interrupted_twice_is_not_sent_again_and_the_order_is_flagged(docs, demo, sink, clock, owner_engine):
    order = paid_order(docs, demo, seats=("main-J-8",), types=("adult",))
    with owner_engine.begin() as conn:  # two processes died after claiming, before recording
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": demo.tenant_id})
        conn.execute(t.email_deliveries.insert().values(order_id=order.id, tenant_id=demo.tenant_id,
                                                         recipient="anna@example.test", status="sending",
                                                         attempts=2, interrupted=True, claimed_at=clock.now))
    clock.advance(seconds=docs.settings.email_lease_seconds + 1)
    assert issue(docs, order)["email"] == "failed" and sink.for_order(order.number) == []
    attention, log, _ = _order_row(owner_engine, order)
    assert "interrupted twice" in attention and ("order.flagged", {"reason": attention}) in log
