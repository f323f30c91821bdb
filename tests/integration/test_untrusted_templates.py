"""A tenant's templates and brand are not trusted: they cannot run code, read local files
into a PDF, or smuggle CSS through a colour (real PostgreSQL, moto S3, WeasyPrint)."""

from __future__ import annotations

import io
import json

import pytest
import segno
from pypdf import PdfReader
from sqlalchemy import update

from prichal.adapters.db import tables as t
from prichal.domain.documents import DocumentKind, TemplateBroken
from prichal.entrypoints.problems import status_for
from tests.documents_support import documents_of, issue, order_paid_event, paid_order, pdf_text, rewire
from tests.support import call, internal

SECRET = "TOP-SECRET-0123456789"


def _tenant_folder(tmp_path, demo):
    folder = tmp_path / "templates" / demo.slug
    folder.mkdir(parents=True)
    return folder


def _invoice_template(folder, body: str) -> None:
    (folder / "invoice.html").write_text('{% extends "base.html" %}{% block body %}' + body + "{% endblock %}")


def _invoice_pdf(docs, order) -> bytes:
    invoice = next(d for d in documents_of(docs, order) if d.kind is DocumentKind.INVOICE)
    return docs.storage.get(invoice.s3_key)


@pytest.mark.parametrize("payload", [
    '{{ cycler.__init__.__globals__.os.popen("touch %s").read() }}',
    '{{ self.__init__.__globals__.__builtins__.open("%s", "w").write("x") }}',
    '{{ "".__class__.__mro__[1].__subclasses__() }}{{ lipsum.__globals__.os.system("touch %s") }}',
])
def test_a_template_that_reaches_for_python_internals_runs_nothing_and_is_broken(docs, demo, tmp_path, payload):
    marker = tmp_path / "pwned"
    folder = _tenant_folder(tmp_path, demo)
    _invoice_template(folder, payload.replace("%s", str(marker)))
    rewire(docs, document_templates_dir=str(folder.parent))
    order = paid_order(docs, demo, seats=("main-G-1",), types=("adult",))

    with pytest.raises(TemplateBroken) as raised:
        issue(docs, order)
    assert "SecurityError" in raised.value.detail and "invoice.html" in raised.value.detail
    assert status_for(raised.value) == 422
    assert not marker.exists()
    # through the function, as the connector delivers it: a permanent 422, parked at once, never a 500
    answer = call("issue-documents", "POST", "/", raw=json.dumps(order_paid_event(order)).encode(), headers=internal())
    assert answer.status == 422 and answer.json["code"] == "template-broken", answer.json
    assert not marker.exists()


def test_local_files_and_urls_stay_out_of_the_pdf(docs, demo, tmp_path):
    """Attachments, images and stylesheets from outside the template folders are left out
    (absolute, ``..``, a symlink leading out, http); the tenant's own files still work."""
    folder = _tenant_folder(tmp_path, demo)
    outside = tmp_path / "secrets"
    outside.mkdir()
    (outside / "token.txt").write_text(SECRET)
    (outside / "leak.css").write_text('body::before { content: "LEAKED-BY-CSS"; }')
    segno.make("outside").save(str(outside / "outside.png"), kind="png", scale=4)
    (folder / "link.txt").symlink_to(outside / "token.txt")
    (folder / "own.txt").write_text("our own attachment")
    segno.make("own logo").save(str(folder / "logo.png"), kind="png", scale=4)
    _invoice_template(folder, f"""
        <link rel="attachment" href="file://{outside}/token.txt" title="absolute">
        <link rel="attachment" href="../../secrets/token.txt" title="dotdot">
        <link rel="attachment" href="link.txt" title="symlink">
        <link rel="attachment" href="http://127.0.0.1:9/token.txt" title="http">
        <link rel="stylesheet" href="file://{outside}/leak.css">
        <img src="file://{outside}/outside.png"> <img src="../../secrets/outside.png">
        <link rel="attachment" href="own.txt" title="own"> <img src="logo.png">
        <p>Счёт {{{{ document.number }}}}</p>""")
    rewire(docs, document_templates_dir=str(folder.parent))
    order = paid_order(docs, demo, seats=("main-G-2",), types=("adult",))
    issue(docs, order)

    pdf = _invoice_pdf(docs, order)
    reader = PdfReader(io.BytesIO(pdf))
    attachments = {name: b"".join(contents) for name, contents in reader.attachments.items()}
    assert attachments == {"own.txt": b"our own attachment"}
    assert SECRET.encode() not in pdf and SECRET not in pdf_text(pdf)
    assert "LEAKED-BY-CSS" not in pdf_text(pdf)
    assert len(reader.pages[0].images) == 1  # the tenant's logo, not the file from outside


def test_a_colour_that_is_not_a_colour_never_reaches_a_template(docs, demo, owner_engine, sink):
    evil = "red;background:url(file:///etc/passwd)"
    with owner_engine.begin() as conn:
        conn.execute(update(t.tenants).where(t.tenants.c.id == demo.tenant_id).values(
            brand={"display_name": "Причал Демо", "primary_color": evil,
                   "email_from": f"tickets@{demo.slug}.prichal.local"}))
    rewire(docs, document_renderer="html")
    tenant = docs.tenants.by_slug(demo.slug)
    assert "primary_color" not in tenant.brand and tenant.brand["display_name"] == "Причал Демо"

    order = paid_order(docs, demo, seats=("main-G-3",), types=("adult",))
    issue(docs, order)
    [mail] = sink.for_order(order.number)
    html = mail.get_body(("html",)).get_content()
    assert "background: #0b3d91" in html and "url(" not in html and "passwd" not in html
