"""The Knative triggers' dead-letter sink parks an event as the local connector does."""

from __future__ import annotations

import base64
import json
import uuid

import pika
import pytest

from prichal.config import Settings
from prichal.entrypoints.app import CaseInsensitiveDict, Request
from prichal.entrypoints.dead_letter_sink import build_app, death_reason
from tests.conftest import RABBITMQ_URL


@pytest.fixture
def sink(test_env):
    exchange = f"{test_env.events_exchange}.dl-{uuid.uuid4().hex[:6]}"
    app = build_app(lambda: Settings(rabbitmq_url=RABBITMQ_URL, events_exchange=exchange))
    queue = f"{exchange}.issue-documents.dead"
    yield app, queue
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    connection.channel().queue_delete(queue)
    connection.close()


def post(app, path: str, body: bytes, headers: dict[str, str]):
    return app.dispatch(Request(method="POST", path=path, headers=CaseInsensitiveDict(headers), query={}, body=body))


def test_an_event_knative_gave_up_on_is_parked_with_its_reason(sink):
    app, queue = sink
    event = {"id": str(uuid.uuid4()), "type": "order.paid", "tenant": str(uuid.uuid4()), "data": {"order_id": "x"}}
    problem = json.dumps({"status": 422, "code": "requirements-missing", "detail": "the seller has no INN"})
    headers = {"ce-specversion": "1.0", "ce-id": event["id"], "ce-type": "order.paid", "ce-source": "/prichal/outbox",
               "ce-knativeerrorcode": "422", "ce-knativeerrordest": "http://issue-documents.prichal.svc.cluster.local",
               "ce-knativeerrordata": base64.b64encode(problem.encode()).decode(), "Content-Type": "application/json"}
    answer = post(app, "/issue-documents", json.dumps(event).encode(), headers)
    assert answer.status == 200, answer.body
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        method, properties, body = connection.channel().basic_get(queue, auto_ack=True)
    finally:
        connection.close()
    assert method is not None, "nothing was parked"
    assert json.loads(body) == event
    assert properties.headers["x-routing-key"] == "order.paid"
    reason = properties.headers["x-death-reason"]
    assert reason.startswith("HTTP 422: ") and "no INN" in reason
    assert properties.headers["ce-id"] == event["id"] and "ce-knativeerrordata" not in properties.headers


@pytest.mark.parametrize("path,headers", [
    ("/issue-documents", {"Content-Type": "application/json"}),
    ("/Issue_Documents", {"ce-specversion": "1.0", "ce-id": "1", "ce-type": "order.paid", "ce-source": "/x"}),
])
def test_what_is_not_a_dead_letter_is_refused(sink, path, headers):
    app, _ = sink
    assert post(app, path, b"{}", headers).status == 422


def test_the_reason_reads_the_functions_answer():
    data = base64.b64encode(b"storage down").decode()
    assert death_reason({"knativeerrorcode": "503", "knativeerrordata": data}) == "HTTP 503: storage down"
    assert death_reason({}) == "HTTP ?: delivery failed"
