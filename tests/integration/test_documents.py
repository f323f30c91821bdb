"""issue_documents against real PostgreSQL, a moto S3 server and an aiosmtpd sink on loopback."""

from __future__ import annotations

import hashlib
import io
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from prometheus_client import REGISTRY
from pypdf import PdfReader
from sqlalchemy import func, select, text

from prichal.adapters.db import tables as t
from prichal.adapters.object_storage import ObjectStorage
from prichal.domain.documents import DocumentKind, MissingRequisites, TemplateBroken, document_lines
from prichal.domain.pricing import OrderLine, receipt
from prichal.domain.ticket_codes import verify
from prichal.entrypoints.problems import status_for
from tests.documents_support import documents_of as _documents
from tests.documents_support import issue as _issue
from tests.documents_support import (
    order_paid_event,
    paid_order,
    pdf_producer,
    pdf_text,
    qr_codes,
)
from tests.documents_support import rewire as _rewire
from tests.staff_support import bearer, staff_token
from tests.support import call, internal

# Both ways of drawing a document must say the same: our designs (ReportLab) and the HTML
# templates a tenant starts its own from (WeasyPrint).
both_renderers = pytest.mark.parametrize("renderer", ["auto", "html"])


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


@both_renderers
def test_documents_carry_numbers_requisites_lines_vat_and_words(docs, demo, renderer):
    _rewire(docs, document_renderer=renderer)
    label = "html" if renderer == "html" else "builtin"
    tickets_before = _sample("prichal_document_render_seconds_count", kind="ticket", renderer=label)
    sent_before = _sample("prichal_document_emails_total", outcome="sent")
    order = paid_order(docs, demo, seats=("main-C-1", "main-C-2", "main-C-3"), types=("adult", "child", "adult"))
    result = _issue(docs, order)
    assert _sample("prichal_document_render_seconds_count", kind="ticket", renderer=label) == tickets_before + 3
    assert _sample("prichal_document_emails_total", outcome="sent") == sent_before + 1
    assert result["created"] and result["rendered"] == 5 and result["email"] == "sent"
    by_kind = {(d.kind, d.position): d for d in _documents(docs, order)}
    assert [(k.value, p) for k, p in by_kind] == [("ticket", 1), ("ticket", 2), ("ticket", 3), ("invoice", 1),
                                                   ("act", 1)]
    invoice = pdf_text(docs.storage.get(by_kind[(DocumentKind.INVOICE, 1)].s3_key))
    number = by_kind[(DocumentKind.INVOICE, 1)].number
    assert f"Счёт на оплату № {number} от" in invoice
    for requisite in ("ООО «Причал Демо»", "7801234567", "780101001", "1207800012345", "044030790",
                      "30101810900000000790", "40702810000000012345", "ПАО «Банк Санкт-Петербург»"):
        assert requisite in invoice
    assert "место main C-3" in invoice and "1 500,00" in invoice and "162,30" in invoice
    assert "Итого: 3 900,00" in invoice and "В т.ч. НДС (22%): 703,28" in invoice
    assert "Три тысячи девятьсот рублей 00 копеек" in invoice
    assert "Всего наименований 3, на сумму 3 900,00 руб." in invoice
    act = pdf_text(docs.storage.get(by_kind[(DocumentKind.ACT, 1)].s3_key))
    assert f"Акт № {by_kind[(DocumentKind.ACT, 1)].number} от" in act and "Три тысячи девятьсот рублей" in act
    ticket = pdf_text(docs.storage.get(by_kind[(DocumentKind.TICKET, 2)].s3_key))
    assert by_kind[(DocumentKind.TICKET, 2)].display_number in ticket
    assert "ряд C, место 2" in ticket and "900,00 руб., НДС 22%: 162,30" in ticket and f"№ {order.number}" in ticket
    assert "Детский" in ticket and "Ночные мосты" in ticket and "Теплоход «Нева-1»" in ticket
    expected = "WeasyPrint" if renderer == "html" else "ReportLab"
    assert all(expected in pdf_producer(docs.storage.get(d.s3_key)) for d in by_kind.values())


@both_renderers
def test_the_qr_code_decodes_from_the_pdf_and_its_signature_verifies(docs, demo, renderer):
    _rewire(docs, document_renderer=renderer)
    order = paid_order(docs, demo, seats=("main-D-4",), types=("adult",))
    _issue(docs, order)
    ticket = next(d for d in _documents(docs, order) if d.kind is DocumentKind.TICKET)
    [code] = qr_codes(docs.storage.get(ticket.s3_key))
    key = call("documents", "GET", "/ticket-key").json
    from base64 import b64decode

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(b64decode(key["public_key"]))
    claims = verify(code, public)
    assert (claims.ticket, claims.seat, claims.order, claims.tenant) == (ticket.ticket_id, "main-D-4", order.number,
                                                                         demo.slug)
    assert claims.kid == key["kid"]
    forged = code.replace(".", ".x", 1)
    with pytest.raises(ValueError):
        verify(forged, public)


def test_the_qr_code_of_the_e_ticket_boards_at_the_gangway_once(docs, demo):
    """The code a crew phone reads from the PDF is what the boarding function takes."""
    from tests.staff_support import bearer, staff_token

    order = paid_order(docs, demo, seats=("main-D-5",), types=("adult",))
    _issue(docs, order)
    ticket = next(d for d in _documents(docs, order) if d.kind is DocumentKind.TICKET)
    [code] = qr_codes(docs.storage.get(ticket.s3_key))
    gate = bearer(staff_token(demo.tenant_id, "agent", scopes=["tickets.board"]))
    first = call("boarding", "POST", "/scans", tenant=demo.slug, headers=gate,
                 body={"code": code, "sailing_id": order.sailing_id})
    assert first.status == 200, first.json
    assert (first.json["ticket_id"], first.json["seat_id"]) == (ticket.ticket_id, "main-D-5")
    again = call("boarding", "POST", "/scans", tenant=demo.slug, headers=gate, body={"code": code})
    assert again.status == 409 and again.json["code"] == "ticket-already-boarded"


def test_objects_are_in_s3_with_the_recorded_sha256(docs, demo, s3):
    order = paid_order(docs, demo)
    _issue(docs, order)
    plain = ObjectStorage(s3.endpoint_url, s3.bucket, "any", "any", "us-east-1")  # a plain S3 client
    for document in _documents(docs, order):
        assert document.stored
        assert document.s3_key == f"tenants/{demo.slug}/orders/{order.number}/{document.kind.value}-" \
                                  f"{document.position}.pdf"
        data = plain.get(document.s3_key)
        assert data.startswith(b"%PDF") and len(data) == document.size
        assert hashlib.sha256(data).hexdigest() == document.sha256


def test_redelivery_makes_nothing_new(docs, demo, sink, owner_engine):
    order = paid_order(docs, demo)
    _issue(docs, order)
    before = _documents(docs, order)
    with owner_engine.connect() as conn:
        counters = conn.execute(select(t.document_numbers).where(t.document_numbers.c.tenant_id == demo.tenant_id)
                                .order_by(t.document_numbers.c.kind)).all()
    again = _issue(docs, order)
    assert again["created"] is False and again["rendered"] == 0 and again["email"] == "sent"
    assert _documents(docs, order) == before
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.document_numbers).where(t.document_numbers.c.tenant_id == demo.tenant_id)
                            .order_by(t.document_numbers.c.kind)).all() == counters
    assert len(sink.for_order(order.number)) == 1


def test_a_redelivery_restores_a_stored_document_whose_object_went_missing(docs, demo, sink, s3):
    order = paid_order(docs, demo, seats=("main-E-7",), types=("adult",))
    _issue(docs, order)
    before = {d.id: d for d in _documents(docs, order)}
    invoice = next(d for d in before.values() if d.kind is DocumentKind.INVOICE)
    client = ObjectStorage(s3.endpoint_url, s3.bucket, "prichal", "prichal-secret", "us-east-1")._client
    client.delete_object(Bucket=s3.bucket, Key=invoice.s3_key)

    result = _issue(docs, order)
    assert (result["created"], result["rendered"], result["email"]) == (False, 1, "sent")
    after = {d.id: d for d in _documents(docs, order)}
    assert [(d.number, d.s3_key) for d in after.values()] == [(d.number, d.s3_key) for d in before.values()]
    restored = docs.storage.get(invoice.s3_key)
    assert hashlib.sha256(restored).hexdigest() == after[invoice.id].sha256 == invoice.sha256  # the same file
    assert len(sink.messages) == 1


def test_numbers_are_consecutive_per_kind(docs, demo):
    first, second = paid_order(docs, demo, seats=("main-E-1",), types=("adult",)), \
        paid_order(docs, demo, seats=("main-E-2", "main-E-3"), types=("adult", "adult"))
    _issue(docs, second)
    _issue(docs, first)
    numbers = {(d.kind, d.order_id, d.position): d.number for d in _documents(docs, first) + _documents(docs, second)}
    assert sorted(n for (k, _, _), n in numbers.items() if k is DocumentKind.TICKET) == [1, 2, 3]
    assert numbers[(DocumentKind.INVOICE, second.id, 1)] == 1 and numbers[(DocumentKind.INVOICE, first.id, 1)] == 2


def test_a_crash_halfway_resumes_without_duplicates(docs, demo, monkeypatch, sink):
    order = paid_order(docs, demo)
    real_put = docs.storage.put_pdf
    calls = []

    def flaky_put(key, data, metadata=None):
        calls.append(key)
        if len(calls) == 2:
            raise RuntimeError("the process died while uploading")
        return real_put(key, data, metadata)

    monkeypatch.setattr(docs.storage, "put_pdf", flaky_put)
    with pytest.raises(RuntimeError):
        _issue(docs, order)
    recorded = _documents(docs, order)
    assert len(recorded) == 4 and not any(d.stored for d in recorded)  # numbers kept, nothing marked
    monkeypatch.setattr(docs.storage, "put_pdf", real_put)
    result = _issue(docs, order)
    assert result["created"] is False and result["rendered"] == 4
    after = _documents(docs, order)
    assert [(d.kind, d.number) for d in after] == [(d.kind, d.number) for d in recorded]
    assert all(d.stored for d in after) and len(sink.for_order(order.number)) == 1


def test_the_email_arrives_once_with_the_tickets_attached_and_links(docs, demo, sink):
    order = paid_order(docs, demo)
    _issue(docs, order)
    [mail] = sink.for_order(order.number)
    assert mail["To"].addresses[0].addr_spec == "anna@example.test"
    assert mail["Message-ID"].strip() == f"<order-{order.id}@{demo.slug}.prichal.local>"
    attachments = {a.get_filename(): a.get_content() for a in mail.iter_attachments()}
    assert sorted(attachments) == [f"ticket-{order.number}-1.pdf", f"ticket-{order.number}-2.pdf"]
    assert all(pdf.startswith(b"%PDF") for pdf in attachments.values())
    html = mail.get_body(("html",)).get_content()
    text_part = mail.get_body(("plain",)).get_content()
    assert "Причал Демо" in html and "#0b3d91" in html  # the tenant's brand
    links = [line.split(": ", 1)[1] for line in text_part.splitlines() if "X-Amz-Signature" in line]
    assert len(links) == 2 and all(requests.get(link, timeout=10).content.startswith(b"%PDF") for link in links)


def test_a_temporary_smtp_failure_is_retried_and_a_permanent_one_recorded(docs, demo, sink):
    from prichal.services.documents import EmailDeferred

    order = paid_order(docs, demo)
    sink.fail_next.append("451 4.3.0 try again later")
    with pytest.raises(EmailDeferred):
        _issue(docs, order)
    with docs.uow(order.tenant_id) as uow:
        delivery = uow.documents.email(order.id)
    assert delivery.status == "pending" and "451" in delivery.last_error
    assert _issue(docs, order)["email"] == "sent" and len(sink.for_order(order.number)) == 1

    rejected = paid_order(docs, demo, seats=("main-F-1",), types=("adult",))
    sink.fail_next.append("554 5.7.1 no such mailbox")
    assert _issue(docs, rejected)["email"] == "failed"
    assert _issue(docs, rejected)["email"] == "failed" and sink.for_order(rejected.number) == []


def test_an_interrupted_send_is_retried_once_after_its_lease(docs, demo, sink, clock, owner_engine):
    order = paid_order(docs, demo)
    with owner_engine.begin() as conn:  # as if a process died after claiming, before recording
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": demo.tenant_id})
        conn.execute(t.email_deliveries.insert().values(order_id=order.id, tenant_id=demo.tenant_id,
                                                         recipient="anna@example.test", status="sending",
                                                         attempts=1, claimed_at=clock.now))
    from prichal.services.documents import EmailDeferred

    with pytest.raises(EmailDeferred):  # still within the lease: maybe another process is sending
        _issue(docs, order)
    clock.advance(seconds=docs.settings.email_lease_seconds + 1)
    assert _issue(docs, order)["email"] == "sent" and len(sink.for_order(order.number)) == 1


def test_a_seller_without_requisites_fails_permanently_and_records_nothing(docs, demo, owner_engine):
    order = paid_order(docs, demo)
    with owner_engine.begin() as conn:
        conn.execute(t.tenants.update().where(t.tenants.c.id == demo.tenant_id).values(
            legal={"name": "ООО «Без реквизитов»", "inn": "123"}))
    answer = call("issue-documents", "POST", "/", body=order_paid_event(order), headers=internal())
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["code"] == "requisites-missing" and "bic" in answer.json["detail"]
    assert _documents(docs, order) == []
    with pytest.raises(MissingRequisites):
        _issue(docs, order)


def test_not_an_event_is_a_permanent_failure(docs):
    assert call("issue-documents", "POST", "/", raw=b"{oops", headers=internal()).status == 422
    assert call("issue-documents", "POST", "/", body={"type": "order.refunded"}, headers=internal()).status == 422


def test_documents_api_for_the_buyer_and_the_crm_with_expiring_links(docs, demo, monkeypatch, s3):
    order = paid_order(docs, demo)
    _issue(docs, order)
    token = docs.checkout.access_token(order.id)
    path = f"/orders/{order.id}/documents"
    assert call("documents", "GET", path, tenant=demo.slug).status == 403
    assert call("documents", "GET", path, tenant=demo.slug, headers={"Authorization": "Bearer nope"}).status == 403
    # the old shared header means nothing now: a buyer without token
    assert call("documents", "GET", path, tenant=demo.slug, headers={"X-Staff-Token": "guess"}).status == 403
    guessed = call("documents", "GET", path, tenant=demo.slug, headers=bearer("prs.guess"))
    assert guessed.status == 401 and guessed.json["code"] == "unauthenticated"
    staff = call("documents", "GET", path, tenant=demo.slug, headers=bearer(staff_token(demo.tenant_id, "agent"))).json
    assert staff["email"]["recipient"] == "anna@example.test" and staff["documents"][0]["s3_key"]

    answer = call("documents", "GET", path, tenant=demo.slug, headers={"Authorization": f"Bearer {token}"})
    assert answer.status == 200
    listed = answer.json["documents"]
    assert [(d["kind"], d["status"]) for d in listed] == [("ticket", "stored"), ("ticket", "stored"),
                                                          ("invoice", "stored"), ("act", "stored")]
    assert "s3_key" not in listed[0]
    first = requests.get(listed[2]["url"], timeout=10)
    assert first.status_code == 200 and hashlib.sha256(first.content).hexdigest() == listed[2]["sha256"]
    assert parse_qs(urlsplit(listed[2]["url"]).query)["X-Amz-Expires"] == ["600"]  # the default

    _rewire(docs, document_url_expiry_seconds=1)
    short = call("documents", "GET", path, tenant=demo.slug, headers={"Authorization": f"Bearer {token}"})
    url = short.json["documents"][2]["url"]
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["1"] and query["X-Amz-Signature"]
    signed_at = datetime.strptime(query["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    while datetime.now(UTC) <= signed_at + timedelta(seconds=1.5):  # the link's second is over
        time.sleep(0.1)
    late = requests.get(url, timeout=10)
    assert late.status_code == 403 and "Request has expired" in late.text


def test_documents_and_receipt_show_the_same_items_rates_and_totals(docs, demo):
    order = paid_order(docs, demo, seats=("main-G-1", "main-G-2", "main-G-3"), types=("adult", "adult", "child"))
    lines = [OrderLine(i.description, i.price, i.vat_rate, i.ticket_type, i.tariff_id, i.seat_id)
             for i in order.items]
    items = receipt(lines, email="a@b.c", phone=None, full_name=None, tax_system_code=1)["items"]
    documented = document_lines(order)
    assert [(i["description"], Decimal(i["quantity"]), Decimal(i["amount"]["value"])) for i in items] == \
        [(d.description, Decimal(d.quantity), d.price) for d in documented]
    assert [i["vat_code"] for i in items] == [d.vat_rate.calculated.yookassa_vat_code for d in documented]
    assert sum(d.amount for d in documented) == order.total
    assert sum(d.vat_amount for d in documented) == order.vat_total


def test_rows_of_another_tenant_stay_invisible(docs, demo, owner_engine):
    order = paid_order(docs, demo)
    _issue(docs, order)
    with docs.uow("00000000-0000-0000-0000-000000000000") as uow:
        assert uow.conn.execute(select(func.count()).select_from(t.documents)).scalar() == 0
        assert uow.conn.execute(select(func.count()).select_from(t.email_deliveries)).scalar() == 0


def test_a_tenant_template_override_wins(docs, demo, tmp_path):
    folder = tmp_path / demo.slug
    folder.mkdir()
    (folder / "act.html").write_text('{% extends "base.html" %}{% block body %}<h1>Особый акт № '
                                      '{{ document.number }}</h1>{{ total_words }}{% endblock %}')
    _rewire(docs, document_templates_dir=str(tmp_path))
    order = paid_order(docs, demo, seats=("main-H-1",), types=("adult",))
    _issue(docs, order)
    documents = _documents(docs, order)
    act = next(d for d in documents if d.kind is DocumentKind.ACT)
    assert f"Особый акт № {act.number}" in pdf_text(docs.storage.get(act.s3_key))
    invoice = next(d for d in documents if d.kind is DocumentKind.INVOICE)
    assert "Счёт на оплату" in pdf_text(docs.storage.get(invoice.s3_key))
    # a tenant with templates of its own gets all its documents from templates (they may share partials)
    assert all("WeasyPrint" in pdf_producer(docs.storage.get(d.s3_key)) for d in documents)


def test_a_broken_tenant_template_is_a_permanent_failure_that_names_the_template(docs, demo, tmp_path):
    (tmp_path / demo.slug).mkdir()
    (tmp_path / demo.slug / "invoice.html").write_text('{% extends "base.html" %}{% block body %}\n{{ total|rub }\n'
                                                       "{% endblock %}")
    _rewire(docs, document_templates_dir=str(tmp_path))
    order = paid_order(docs, demo, seats=("main-H-4",), types=("adult",))
    with pytest.raises(TemplateBroken) as raised:
        _issue(docs, order)
    assert f"the documents template invoice.html, line 2 of tenant {demo.slug}" in raised.value.detail
    assert status_for(raised.value) == 422  # the connector parks it at once, with this reason


def test_a_tenant_with_only_email_templates_keeps_the_built_in_documents(docs, demo, tmp_path):
    (tmp_path / demo.slug / "email").mkdir(parents=True)
    (tmp_path / demo.slug / "email" / "documents.txt").write_text("Билеты к заказу {{ order.number }}")
    _rewire(docs, document_templates_dir=str(tmp_path))
    order = paid_order(docs, demo, seats=("main-H-2",), types=("adult",))
    _issue(docs, order)
    assert all("ReportLab" in pdf_producer(docs.storage.get(d.s3_key)) for d in _documents(docs, order))


def test_what_people_typed_is_printed_as_typed_not_read_as_markup(docs, demo):
    order = paid_order(docs, demo, seats=("main-H-3",), types=("adult",), name="Анна <b>Петрова</b> & Co")
    _issue(docs, order)
    texts = {d.kind: pdf_text(docs.storage.get(d.s3_key)) for d in _documents(docs, order)}
    for kind in (DocumentKind.INVOICE, DocumentKind.ACT, DocumentKind.TICKET):
        assert "Анна <b>Петрова</b> & Co" in texts[kind]


def test_an_order_too_long_for_a_page_continues_on_the_next_with_the_header_repeated(docs, demo):
    seats = tuple(f"main-{row}-{n}" for row in "BCDE" for n in range(1, 13))
    order = paid_order(docs, demo, seats=seats, types=tuple("adult" for _ in seats))
    _issue(docs, order)
    invoice = next(d for d in _documents(docs, order) if d.kind is DocumentKind.INVOICE)
    pages = PdfReader(io.BytesIO(docs.storage.get(invoice.s3_key))).pages
    assert len(pages) >= 2
    assert "Наименование" in pages[1].extract_text() and "место main E-12" in pdf_text(docs.storage.get(invoice.s3_key))
    assert "Всего наименований 48, на сумму 72 000,00 руб." in pdf_text(docs.storage.get(invoice.s3_key))
