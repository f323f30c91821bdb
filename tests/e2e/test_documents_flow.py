"""Pay through the local gateway, then the documents arrive: PDFs in S3, the email in the sink,
the receipt and the documents agree; a seller without requisites ends in the dead-letter queue."""

from __future__ import annotations

import hashlib
import json
import uuid
from base64 import b64encode
from decimal import Decimal
from email import message_from_bytes, policy
from pathlib import Path

import pika
import pytest
import requests
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.admin import main as admin
from prichal.domain.events import OrderPaid
from prichal_localrun.dead_letters import DeadLetters
from tests.conftest import RABBITMQ_URL, assigned_sailing
from tests.documents_support import pdf_text
from tests.e2e.gateway_harness import (
    INTERNAL,
    NO_BUYER_LIMITS,
    free_port,
    run_gateway,
    sandbox_env,
    tenant_host,
    wait_for,
)
from tests.e2e.test_checkout import _hold, _order, _order_body, _pay


@pytest.fixture(scope="module")
def mail_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mail")


@pytest.fixture(scope="module")
def gateway(test_env, mail_dir):
    port = free_port()
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS, "MAIL_SINK_DIR": str(mail_dir),
           "MAIL_SINK_PORT": str(free_port()), "SMTP_HOST": "", "CONNECTOR_RETRY_BASE_MS": "200"}
    with run_gateway(env=env, port=port, workers=2, threads=8) as url:
        yield url


def _buy(gateway, demo, seats):
    hold = _hold(gateway, demo, {"sailing_id": assigned_sailing(demo), "seat_ids": list(seats)})
    answer = _order(gateway, demo, _order_body(hold["token"], seats=seats, types=("adult", "child")[:len(seats)]),
                    key=str(uuid.uuid4()))
    assert answer.status_code == 201, answer.text
    created = answer.json()
    assert _pay(created["payment"]["confirmation_url"]).status_code == 303
    return created


def _documents(gateway, demo, created):
    answer = requests.get(f"{gateway}/function/documents/orders/{created['id']}/documents", timeout=10,
                          headers={**tenant_host(demo.slug), "Authorization": f"Bearer {created['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def _mails(mail_dir: Path, order_id: str):
    found = [message_from_bytes(p.read_bytes(), policy=policy.default) for p in sorted(mail_dir.glob("*.eml"))]
    return [m for m in found if f"<order-{order_id}@" in m["Message-ID"]]


def test_a_paid_order_gets_its_documents_and_email(gateway, demo, mail_dir):
    created = _buy(gateway, demo, ("main-H-5", "main-H-6"))
    listed = wait_for(lambda: (d := _documents(gateway, demo, created))["documents"] and
                      all(x["status"] == "stored" for x in d["documents"]) and d["email"]
                      and d["email"]["status"] == "sent" and d, timeout=120, message="documents and email")
    kinds = [d["kind"] for d in listed["documents"]]
    assert kinds == ["ticket", "ticket", "invoice", "act"]
    invoice = next(d for d in listed["documents"] if d["kind"] == "invoice")
    pdf = requests.get(invoice["url"], timeout=10).content
    assert hashlib.sha256(pdf).hexdigest() == invoice["sha256"]
    text = pdf_text(pdf)
    assert f"Счёт на оплату № {invoice['number']}" in text and "Две тысячи четыреста рублей 00 копеек" in text

    [mail] = wait_for(lambda: _mails(mail_dir, created["id"]), message="the email in the sink")
    assert sorted(a.get_filename() for a in mail.iter_attachments()) == [
        f"ticket-{created['number']}-1.pdf", f"ticket-{created['number']}-2.pdf"]

    # The receipt the sandbox was sent and the invoice show the same items, rates and totals.
    auth = b64encode(f"{demo.slug}:sandbox-secret".encode()).decode()
    provider_id = created["payment"]["confirmation_url"].rstrip("/").rsplit("/", 1)[1]  # .../pay/<its id>
    payment = requests.get(f"{gateway}/function/mock-payments/sandbox/payments/{provider_id}",
                           headers={"Authorization": f"Basic {auth}"}, timeout=10)
    assert payment.status_code == 200, payment.text
    items = payment.json()["sandbox_receipt"]["items"]
    for item in items:
        assert item["description"].split(", место")[0] in text.replace("\n", " ")
        assert item["amount"]["value"].replace(".", ",").replace("1500", "1 500") in text
    assert sum(float(i["quantity"]) for i in items) == 2
    assert "В т.ч. НДС (22%): 432,79" in text and "Итого: 2 400,00" in text


def test_redelivered_order_paid_makes_nothing_new(gateway, demo, mail_dir, test_env):
    created = _buy(gateway, demo, ("main-J-1",))
    before = wait_for(lambda: (d := _documents(gateway, demo, created))["email"] and
                      d["email"]["status"] == "sent" and d, timeout=120, message="documents and email")
    event = {"id": str(uuid.uuid4()), "type": "order.paid", "version": 1, "tenant": demo.tenant_id,
             "occurred_at": "2026-01-01T00:00:00+00:00",
             "data": OrderPaid(order_id=created["id"], number=created["number"], total=Decimal(created["total"]),
                               currency="RUB", sailing_id=assigned_sailing(demo)).to_data()}
    _publish(test_env.events_exchange, event)
    again = requests.post(f"{gateway}/function/issue-documents", json=event, headers=INTERNAL, timeout=60)
    assert again.status_code == 200 and again.json()["created"] is False and again.json()["rendered"] == 0
    after = _documents(gateway, demo, created)
    assert [(d["number"], d["sha256"]) for d in after["documents"]] == \
        [(d["number"], d["sha256"]) for d in before["documents"]]
    assert len(_mails(mail_dir, created["id"])) == 1


def test_missing_requisites_park_the_event_until_an_operator_fixes_them_and_replays_it(
        gateway, demo, owner_engine, mail_dir, tmp_path, capsys):
    with owner_engine.begin() as conn:
        legal = conn.execute(select(t.tenants.c.legal).where(t.tenants.c.id == demo.tenant_id)).scalar()
        conn.execute(t.tenants.update().where(t.tenants.c.id == demo.tenant_id).values(legal={}))
    created = _buy(gateway, demo, ("main-J-2",))

    def parked():
        return next((letter for letter in DeadLetters("issue-documents").peek()
                     if json.loads(letter.body)["data"]["order_id"] == created["id"]), None)

    letter = wait_for(parked, timeout=120, message="the dead letter")
    assert letter.reason.startswith("HTTP 422 requisites-missing") and "inn" in letter.reason
    assert letter.attempts == 1 and letter.routing_key == "order.paid"
    assert _documents(gateway, demo, created)["documents"] == []  # nothing recorded, no number taken

    # the operator completes the requisites (an incomplete set is refused), then replays
    (tmp_path / "partial.json").write_text(json.dumps({"name": legal["name"]}))
    assert admin(["requisites", demo.slug, "--file", str(tmp_path / "partial.json")]) == 2
    (tmp_path / "legal.json").write_text(json.dumps(legal, ensure_ascii=False))
    assert admin(["requisites", demo.slug, "--file", str(tmp_path / "legal.json")]) == 0
    capsys.readouterr()
    assert admin(["dead-letters", "issue-documents", "--replay"]) == 0
    assert created["id"] in capsys.readouterr().out
    listed = wait_for(lambda: (d := _documents(gateway, demo, created))["documents"] and
                      all(x["status"] == "stored" for x in d["documents"]) and d["email"]
                      and d["email"]["status"] == "sent" and d, timeout=120, message="documents after the replay")
    assert [d["kind"] for d in listed["documents"]] == ["ticket", "invoice", "act"]
    assert parked() is None and len(_mails(mail_dir, created["id"])) == 1


def _publish(exchange: str, event: dict) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish(exchange, "order.paid", json.dumps(event).encode(),
                              pika.BasicProperties(message_id=event["id"], content_type="application/json",
                                                   delivery_mode=2), mandatory=False)
    finally:
        connection.close()
