"""The local RabbitMQ connector: delivery, bounded retries with backoff, dead letters, shutdown.

The runtime runs with CONNECTOR_MAX_ATTEMPTS=3 and a 50 ms backoff base; the fixture
function "consumer" answers 500 to the first ``fail_times`` deliveries of a message id.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import uuid
from collections.abc import Iterator
from typing import Any

import pika
import pytest
import redis

from prichal_localrun.connector import Queues, declare_topology
from prichal_localrun.stack import load_stack
from tests.e2e.gateway_harness import (
    FIXTURE_STACK,
    INTERNAL_TOKEN,
    RABBITMQ_URL,
    REDIS_URL,
    FixtureRuntime,
    RunnerProcess,
    cleanup_fixture,
    fixture_isolation,
    fixture_runtime,
    wait_for,
)

MAX_ATTEMPTS = 3
CONSUMER = next(f for f in load_stack(FIXTURE_STACK) if f.name == "consumer")


@pytest.fixture(scope="module")
def runtime() -> Iterator[FixtureRuntime]:
    env = {"CONNECTOR_MAX_ATTEMPTS": str(MAX_ATTEMPTS), "CONNECTOR_RETRY_BASE_MS": "50"}
    with fixture_runtime(env) as running:
        yield running


def publish(exchange: str, routing_key: str, message: dict[str, Any], **properties: Any) -> None:
    """Publish with confirms, after declaring the topology so nothing races the consumer's start."""
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()
        declare_topology(channel, exchange, Queues.for_function(exchange, CONSUMER.name), CONSUMER.topics)
        channel.confirm_delivery()
        channel.basic_publish(exchange, routing_key, json.dumps(message).encode(),
                              pika.BasicProperties(delivery_mode=2, **properties), mandatory=True)
    finally:
        connection.close()


def deliveries(prefix: str, message_id: str) -> list[dict[str, Any]]:
    raw = redis.Redis.from_url(REDIS_URL).lrange(f"{prefix}:events", 0, -1)
    return [record for record in map(json.loads, raw) if record["id"] == message_id]


def test_a_published_event_is_delivered_with_the_connector_headers(runtime: FixtureRuntime) -> None:
    trace = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
    publish(runtime.exchange, "test.ok", {"id": "ok-1"}, message_id="msg-ok-1", content_type="application/json",
            headers={"traceparent": trace, "tracestate": "prichal=1"})
    [delivery] = wait_for(lambda: deliveries(runtime.record_prefix, "ok-1"), message="the delivery")
    headers = delivery["headers"]
    assert delivery["failed"] is False
    assert delivery["path"] == "/"
    assert headers["X-Topic"] == "test.ok"
    assert headers["X-Rabbitmq-Routing-Key"] == "test.ok"
    assert headers["X-Rabbitmq-Msg-Id"] == "msg-ok-1"
    assert headers["X-Connector"] == "rabbitmq-connector"
    assert headers["Content-Type"] == "application/json"
    assert headers["Traceparent"] == trace
    assert headers["Tracestate"] == "prichal=1"
    assert headers["Authorization"] == f"Bearer {INTERNAL_TOKEN}"  # internal functions require it


def test_a_failing_function_is_retried_until_it_succeeds(runtime: FixtureRuntime) -> None:
    publish(runtime.exchange, "test.flaky", {"id": "flaky-1", "fail_times": 2}, message_id="msg-flaky-1")
    records = wait_for(lambda: [r for r in deliveries(runtime.record_prefix, "flaky-1") if not r["failed"]] and
                       deliveries(runtime.record_prefix, "flaky-1"), message="a successful retry")
    assert [(r["attempt"], r["failed"]) for r in records] == [(1, True), (2, True), (3, False)]
    for record in records:  # the original routing key survives the trips through the retry queue
        assert record["headers"]["X-Rabbitmq-Routing-Key"] == "test.flaky"
        assert record["headers"]["X-Rabbitmq-Msg-Id"] == "msg-flaky-1"


def test_a_function_that_always_fails_ends_in_the_dead_letter_queue(runtime: FixtureRuntime) -> None:
    publish(runtime.exchange, "test.doomed", {"id": "doomed-1", "fail_times": 99}, message_id="msg-doomed-1")
    properties, body = _dead_letter(runtime, "msg-doomed-1")
    assert json.loads(body) == {"id": "doomed-1", "fail_times": 99}
    assert properties.message_id == "msg-doomed-1"
    assert properties.headers["x-attempts"] == MAX_ATTEMPTS
    assert properties.headers["x-routing-key"] == "test.doomed"
    reason = properties.headers["x-death-reason"]
    assert "500" in reason
    assert "planned failure 3" in reason
    assert [r["attempt"] for r in deliveries(runtime.record_prefix, "doomed-1")] == [1, 2, 3]


def _dead_letter(runtime: FixtureRuntime, message_id: str) -> tuple[Any, bytes]:
    dead_queue = Queues.for_function(runtime.exchange, CONSUMER.name).dead
    connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
    try:
        channel = connection.channel()

        def mine() -> tuple[Any, Any, bytes] | None:
            found = _get(channel, dead_queue)
            if found is None:
                return None
            channel.basic_ack(found[0].delivery_tag)
            return found if found[1].message_id == message_id else None

        _, properties, body = wait_for(lambda: mine(), message=f"the dead letter {message_id}")
    finally:
        connection.close()
    return properties, body


def test_a_permanent_failure_is_dead_lettered_at_once_with_the_problem_detail(runtime: FixtureRuntime) -> None:
    publish(runtime.exchange, "test.doomed", {"id": "bad-1", "fail_times": 99, "status": 422},
            message_id="msg-bad-1")
    properties, body = _dead_letter(runtime, "msg-bad-1")
    assert json.loads(body)["id"] == "bad-1"
    assert properties.headers["x-attempts"] == 1
    assert properties.headers["x-death-reason"] == "HTTP 422 planned: planned failure 1"
    assert [r["attempt"] for r in deliveries(runtime.record_prefix, "bad-1")] == [1]


@pytest.mark.parametrize("status", [408, 429, 503])
def test_busy_and_timeout_answers_are_retried(runtime: FixtureRuntime, status: int) -> None:
    name = f"busy-{status}"
    publish(runtime.exchange, "test.flaky", {"id": name, "fail_times": 1, "status": status}, message_id=name)
    records = wait_for(lambda: [r for r in deliveries(runtime.record_prefix, name) if not r["failed"]] and
                       deliveries(runtime.record_prefix, name), message="a successful retry")
    assert [(r["attempt"], r["failed"]) for r in records] == [(1, True), (2, False)]


def _get(channel: Any, queue: str) -> tuple[Any, Any, bytes] | None:
    method, properties, body = channel.basic_get(queue)
    return (method, properties, body) if method else None


def test_sigint_stops_everything_cleanly_after_acking_deliveries() -> None:
    isolation = fixture_isolation()
    runner = RunnerProcess(FIXTURE_STACK, env=isolation)
    try:
        runner.start()
        publish(isolation["EVENTS_EXCHANGE"], "test.ok", {"id": "before-stop"})
        wait_for(lambda: deliveries(isolation["RECORD_PREFIX"], "before-stop"), message="the delivery")
        assert runner.stop(signal.SIGINT) == 0, runner.log_tail()
        assert "stopped" in runner.log_text()
        # An unacked delivery would be back in the queue once the connector's connection closed.
        connection = pika.BlockingConnection(pika.URLParameters(RABBITMQ_URL))
        try:
            queue = Queues.for_function(isolation["EVENTS_EXCHANGE"], CONSUMER.name).main
            assert connection.channel().queue_declare(queue, passive=True).method.message_count == 0
        finally:
            connection.close()
        runner.close()
    finally:
        if runner.process is not None and runner.process.poll() is None:
            runner.stop(signal.SIGKILL)
        cleanup_fixture(isolation)


def _rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60,
                          check=True).stdout


@pytest.mark.skipif(shutil.which("rabbitmqctl") is None, reason="needs rabbitmqctl to close a connection")
def test_the_connector_reconnects_when_the_broker_drops_it(runtime: FixtureRuntime) -> None:
    name = f"prichal-localrun {Queues.for_function(runtime.exchange, CONSUMER.name).main}"

    def our_connections() -> list[str]:
        rows = _rabbitmqctl("list_connections", "pid", "client_properties").splitlines()
        return [row.split()[0] for row in rows if f'"{name}"' in row]

    try:
        [before] = wait_for(our_connections, message="the consumer's connection")
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"rabbitmqctl cannot list connections here: {exc.stderr.strip()[:200]}")
    _rabbitmqctl("close_connection", before, "test: broker going away")
    wait_for(lambda: [pid for pid in our_connections() if pid != before], message="a new connection")
    publish(runtime.exchange, "test.ok", {"id": "after-reconnect"})
    wait_for(lambda: deliveries(runtime.record_prefix, "after-reconnect"), message="delivery after reconnecting")
