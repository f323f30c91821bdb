"""order.paid reaches issue-documents as the connector sends it and as Knative does.

Through the real handler (documents in S3, the email in an SMTP sink, rows in PostgreSQL):
the OpenFaaS connector's request, a binary-mode CloudEvent under functions-framework (as
Knative serves it) and a structured-mode CloudEvent under the OpenFaaS template. Malformed
CloudEvents are 4xx (dead-lettered at once), and nothing is issued for them.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from functions_framework import create_app

from prichal.entrypoints.cloudevents import event_from_request
from tests.documents_support import SmtpSink, moto_s3, order_paid_event, paid_order
from tests.support import ROOT, call


@pytest.fixture(scope="module")
def s3():
    with moto_s3() as server:
        yield server


@pytest.fixture
def docs(container, s3):
    sink = SmtpSink().start()
    container.settings.s3_endpoint_url = s3.endpoint_url
    container.settings.smtp_host, container.settings.smtp_port = "127.0.0.1", sink.port
    # as the Knative manifests run internal functions: Knative's deliveries carry no Bearer
    # credential, the cluster-local Service and its NetworkPolicy guard it (scripts/gen_k3s.py)
    container.settings.internal_network_guarded = True
    yield container, sink
    sink.stop()


@pytest.fixture(scope="module")
def knative():
    """issue-documents as its Knative Service runs it: functions-framework, target main."""
    app = create_app("main", str(ROOT / "functions" / "issue-documents" / "handler.py"), "http")
    return app.test_client()


def binary_headers(event: dict, **extra: str) -> dict[str, str]:
    return {"ce-specversion": "1.0", "ce-id": event["id"], "ce-type": event["type"],
            "ce-source": "/apis/v1/namespaces/prichal/rabbitmqsources/prichal-events",
            "Content-Type": "application/json", **extra}


def issued(container, order) -> int:
    with container.uow(order.tenant_id) as uow:
        return len(uow.documents.for_order(order.id))


def test_the_connectors_request_issues_the_documents(docs, demo):
    container, sink = docs
    order = paid_order(container, demo)
    answer = call("issue-documents", "POST", "/", body=order_paid_event(order),
                  headers={"X-Rabbitmq-Routing-Key": "order.paid", "X-Connector": "rabbitmq-connector"})
    assert answer.status == 200, answer.json
    assert answer.json["created"] is True and issued(container, order) == 4
    assert len(sink.for_order(order.number)) == 1


def test_a_binary_cloudevent_issues_the_documents_once(docs, demo, knative):
    container, sink = docs
    order = paid_order(container, demo)
    event = order_paid_event(order)
    answer = knative.post("/", data=json.dumps(event), headers=binary_headers(event))
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["order_id"] == order.id and answer.get_json()["created"] is True
    again = knative.post("/", data=json.dumps(event), headers=binary_headers(event))
    assert again.status_code == 200 and again.get_json()["created"] is False
    assert issued(container, order) == 4 and len(sink.for_order(order.number)) == 1


def test_a_binary_cloudevent_with_only_the_payload_names_its_tenant_in_an_extension(docs, demo, knative):
    container, _ = docs
    order = paid_order(container, demo)
    event = order_paid_event(order)
    headers = binary_headers(event, **{"ce-tenant": order.tenant_id})
    answer = knative.post("/", data=json.dumps(event["data"]), headers=headers)
    assert answer.status_code == 200, answer.get_json()
    assert issued(container, order) == 4


def test_a_structured_cloudevent_issues_the_documents(docs, demo):
    container, sink = docs
    order = paid_order(container, demo)
    event = order_paid_event(order)
    cloudevent = {"specversion": "1.0", "id": event["id"], "type": "order.paid", "source": "/prichal/outbox",
                  "datacontenttype": "application/json", "data": event}
    answer = call("issue-documents", "POST", "/", body=cloudevent,
                  headers={"Content-Type": "application/cloudevents+json; charset=utf-8"})
    assert answer.status == 200, answer.json
    assert issued(container, order) == 4 and len(sink.for_order(order.number)) == 1


def test_a_structured_cloudevent_with_base64_data_is_read_too(docs, demo, knative):
    container, _ = docs
    order = paid_order(container, demo)
    event = order_paid_event(order)
    cloudevent = {"specversion": "1.0", "id": event["id"], "type": "order.paid", "source": "/prichal/outbox",
                  "data_base64": base64.b64encode(json.dumps(event).encode()).decode()}
    answer = knative.post("/", data=json.dumps(cloudevent), headers={"Content-Type": "application/cloudevents+json"})
    assert answer.status_code == 200, answer.get_json()
    assert issued(container, order) == 4


@pytest.mark.parametrize("case", ["type-mismatch", "no-source", "not-json", "structured-not-object"])
def test_a_malformed_cloudevent_is_a_permanent_failure_and_issues_nothing(docs, demo, knative, case):
    container, _ = docs
    order = paid_order(container, demo)
    event = order_paid_event(order)
    headers = binary_headers(event)
    body = json.dumps(event)
    if case == "type-mismatch":
        headers["ce-type"] = "order.refunded"
    elif case == "no-source":
        del headers["ce-source"]
    elif case == "not-json":
        body = "{oops"
    else:
        headers = {"Content-Type": "application/cloudevents+json"}
        body = json.dumps(["order.paid"])
    answer = knative.post("/", data=body, headers=headers)
    assert answer.status_code == 422, answer.get_json()
    assert answer.headers["Content-Type"].startswith("application/problem+json")
    assert issued(container, order) == 0


def test_the_three_deliveries_read_as_the_same_event():
    event = {"id": str(uuid.uuid4()), "type": "order.paid", "version": 1, "tenant": str(uuid.uuid4()),
             "occurred_at": "2026-12-01T10:00:00+00:00", "data": {"order_id": str(uuid.uuid4())}}
    body = json.dumps(event).encode()
    connector = event_from_request(body, {"Content-Type": "application/json", "X-Rabbitmq-Routing-Key": "order.paid"})
    binary = event_from_request(body, binary_headers(event))
    structured = event_from_request(json.dumps({"specversion": "1.0", "id": event["id"], "type": "order.paid",
                                                "source": "/x", "data": event}).encode(),
                                    {"Content-Type": "application/cloudevents+json"})
    assert connector == binary == structured == event


def test_published_events_carry_the_cloudevents_headers_knatives_source_reads(test_env):
    """What the RabbitmqSource turns into a binary CloudEvent: ce-* headers, the event as body."""
    from prichal.adapters.rabbitmq import EventPublisher
    from tests.conftest import RABBITMQ_URL, bound_queue

    event = {"id": str(uuid.uuid4()), "type": "order.paid", "version": 1, "tenant": str(uuid.uuid4()),
             "occurred_at": "2026-12-01T10:00:00+00:00", "data": {"order_id": str(uuid.uuid4())}}
    with bound_queue(test_env.events_exchange, "order.paid") as (channel, queue):
        publisher = EventPublisher(RABBITMQ_URL, test_env.events_exchange)
        try:
            trace = {"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"}
            publisher.publish("order.paid", event, event["id"], headers=trace)
        finally:
            publisher.close()
        method, properties, body = next(channel.consume(queue, inactivity_timeout=5))
        channel.basic_ack(method.delivery_tag)
    headers = properties.headers
    assert {k: headers[k] for k in ("ce-specversion", "ce-id", "ce-type", "ce-tenant")} == {
        "ce-specversion": "1.0", "ce-id": event["id"], "ce-type": "order.paid", "ce-tenant": event["tenant"]}
    assert headers["ce-source"] and headers["traceparent"].startswith("00-")
    as_http = {**{k: str(v) for k, v in headers.items()}, "Content-Type": properties.content_type}
    assert event_from_request(body, as_http) == event
