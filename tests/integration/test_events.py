"""Payment-webhook bad input, the outbox relay and the consumer-side idempotency helper."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.adapters.rabbitmq import EventPublisher
from prichal.domain.webhook_tokens import webhook_token
from prichal.services.outbox import OutboxRelay
from tests.conftest import bound_queue
from tests.support import call, internal

LOCAL = {"X-Forwarded-For": "127.0.0.1"}  # an address on the sandbox provider's allowlist


def _notifications(engine, tenant_id):
    with engine.connect() as conn:
        return conn.execute(select(t.payment_notifications.c.id)
                            .where(t.payment_notifications.c.tenant_id == tenant_id)).all()


@pytest.mark.parametrize(("path", "raw", "headers", "status", "code"), [
    ("/mock/{slug}/{token}", b"{", LOCAL, 422, "invalid-input"),
    ("/mock/{slug}/{token}", b"[]", LOCAL, 422, "invalid-input"),
    ("/mock/{slug}/{token}", json.dumps({"type": "x", "event": "payment.succeeded", "object": {"id": "1"}}).encode(),
     LOCAL, 422, "invalid-input"),
    ("/mock/{slug}/{token}",
     json.dumps({"type": "notification", "event": "payment.exploded", "object": {"id": "1"}}).encode(),
     LOCAL, 422, "invalid-input"),
    ("/mock/{slug}/{token}", json.dumps({"type": "notification", "event": "payment.succeeded", "object": {}}).encode(),
     LOCAL, 422, "invalid-input"),
    ("/paypal/{slug}/{token}", b"{}", LOCAL, 404, "not-found"),
    ("/mock/no-such-tenant/{token}", b"{}", LOCAL, 404, "tenant-unknown"),
    ("/mock/{slug}/{token}", b"{}", {}, 403, "forbidden"),  # no address at all
    ("/yookassa/{slug}/{token}", b"{}", LOCAL, 403, "forbidden"),  # loopback is not YooKassa
    ("/mock/{slug}/{token}", b"{}", {"X-Forwarded-For": "198.51.100.4"}, 403, "forbidden"),
    # the spoof: the client's own X-Forwarded-For is left of the edge's entry, never believed
    ("/yookassa/{slug}/{token}", b"{}", {"X-Forwarded-For": "185.71.76.1, 127.0.0.1"}, 403, "forbidden"),
    ("/mock/{slug}/{token}", b"{}", {"X-Forwarded-For": "127.0.0.1:5678, garbage"}, 403, "forbidden"),
    # the URL's secret: missing, wrong, or another provider's -> as if the tenant did not exist
    ("/mock/{slug}", b"{}", LOCAL, 404, "no-route"),
    ("/mock/{slug}/wrong-token", b"{}", LOCAL, 404, "tenant-unknown"),
    ("/mock/{slug}/{yookassa_token}", b"{}", LOCAL, 404, "tenant-unknown"),
    ("/mock/{slug}/{token}x", b"{}", LOCAL, 404, "tenant-unknown"),
])
def test_webhook_bad_input_is_4xx_and_records_nothing(container, demo, owner_engine, path, raw, headers, status,
                                                      code):
    slug = demo.slug if "{slug}" in path else "no-such-tenant"
    key = container.settings.webhook_url_key
    url = path.format(slug=slug, token=webhook_token(key, path.split("/")[1], slug),
                      yookassa_token=webhook_token(key, "yookassa", slug))
    answer = call("payment-webhook", "POST", url, raw=raw, headers=headers)
    assert answer.status == status, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json" and answer.json["code"] == code
    assert _notifications(owner_engine, demo.tenant_id) == []


@pytest.fixture
def queue(test_env):
    with bound_queue(test_env.events_exchange, "test.#") as bound:
        yield bound


def test_relay_publishes_once_with_confirms_and_trace_headers(container, demo, queue):
    channel, name = queue
    with container.uow(demo.tenant_id) as uow:
        event_id = uow.outbox.add("test.happened", {"order_id": "o-1"},
                                  headers={"traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"})
        uow.commit()
    assert container.relay.relay([demo.tenant_id]) == 1
    assert container.relay.relay([demo.tenant_id]) == 0  # nothing twice
    _, properties, body = channel.basic_get(name, auto_ack=True)
    message = json.loads(body)
    assert message == {**message, "id": str(event_id), "type": "test.happened", "version": 1,
                       "tenant": demo.tenant_id, "data": {"order_id": "o-1"}}
    assert properties.message_id == str(event_id) and properties.delivery_mode == 2
    assert properties.headers["traceparent"].startswith("00-4bf92f3577b34da6a3ce929d0e0e4736")
    assert channel.basic_get(name, auto_ack=True)[0] is None


def test_relay_keeps_events_while_the_broker_is_unreachable(container, demo, queue):
    channel, name = queue
    with container.uow(demo.tenant_id) as uow:
        uow.outbox.add("test.kept", {"n": 1})
        uow.commit()
    dead = OutboxRelay(container.uow, lambda: EventPublisher("amqp://guest:guest@127.0.0.1:1/%2F", "x"),
                       container.now)
    with pytest.raises(Exception):  # noqa: B017 - any connection error will do
        dead.relay([demo.tenant_id])
    dead.publish_pending(demo.tenant_id)  # inline publishing never raises
    with container.uow(demo.tenant_id) as uow:
        row = uow.conn.execute(select(t.outbox).where(t.outbox.c.type == "test.kept")).one()
    assert row.published_at is None and row.attempts >= 1 and row.last_error
    assert container.relay.relay([demo.tenant_id]) == 1
    assert json.loads(channel.basic_get(name, auto_ack=True)[2])["type"] == "test.kept"


def test_outbox_relay_function_answers_cron(container, demo):
    with container.uow(demo.tenant_id) as uow:
        uow.outbox.add("test.cron", {})
        uow.commit()
    answer = call("outbox-relay", "POST", "/", headers={"X-Connector": "cron-connector", **internal()})
    assert answer.status == 200 and answer.json["published"] >= 1


def test_inbox_claims_a_message_once_and_a_rollback_releases_it(container, demo):
    message_id = str(uuid.uuid4())
    with container.uow(demo.tenant_id) as uow:
        assert uow.inbox.first_time("issue-documents", message_id) is True
        # no commit: the work failed, so the message must be processed again
    with container.uow(demo.tenant_id) as uow:
        assert uow.inbox.first_time("issue-documents", message_id) is True
        uow.commit()
    with container.uow(demo.tenant_id) as uow:
        assert uow.inbox.first_time("issue-documents", message_id) is False
        assert uow.inbox.first_time("another-consumer", message_id) is True
