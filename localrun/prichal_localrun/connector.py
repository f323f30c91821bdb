"""The local RabbitMQ connector: delivers events to the functions named by ``topic`` annotations.

Per function with topics there is a durable queue ``<exchange>.<function>`` bound to the
events exchange with each routing key. Each message is POSTed to ``/function/<name>`` with
the headers of the OpenFaaS connectors (``X-Topic``, ``X-Rabbitmq-Routing-Key``,
``X-Rabbitmq-Msg-Id``, ``X-Connector``) plus the W3C trace headers and the internal
credential (``Authorization: Bearer <INTERNAL_TOKEN>``). 2xx acks it.

Unlike the community connector (nack + requeue, which spins on a poison message), a failure
is retried a bounded number of times with exponential backoff and then parked. A 4xx answer
other than 408 and 429 is the function saying "this message can never succeed" (bad input,
missing configuration of a tenant): it is parked at once, with the status and the problem's
detail as the reason. 5xx, 408, 429 and timeouts are retried:

- attempt n failed, n < max: republish to ``<queue>.retry`` with ``expiration`` =
  base * 2**(n-1) ms and header ``x-attempt`` = n+1; that queue dead-letters expired
  messages back to the main queue through the default exchange;
- attempt max failed, or a permanent failure: republish to ``<queue>.dead`` with
  ``x-death-reason`` and ``x-attempts``.

Republishes use publisher confirms and happen before the ack, so a crash in between gives a
duplicate (consumers are idempotent), never a loss. The original routing key travels in
``x-routing-key`` because dead-lettering replaces it. Caveat: RabbitMQ expires per-message
TTLs only at the head of a queue, so a long backoff can delay shorter ones behind it.

Settings (environment): ``RABBITMQ_URL``, ``EVENTS_EXCHANGE`` (default ``prichal.events``),
``CONNECTOR_MAX_ATTEMPTS`` (5), ``CONNECTOR_RETRY_BASE_MS`` (1000), ``CONNECTOR_PREFETCH`` (1),
``CONNECTOR_TIMEOUT_SECONDS`` (60, per HTTP call), ``INTERNAL_TOKEN``.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
import requests
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties

from prichal_localrun.stack import FunctionSpec

log = logging.getLogger(__name__)

DEFAULT_RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:5672/%2F"
TRACE_HEADERS = ("traceparent", "tracestate")
# 4xx statuses that still mean "try again later".
RETRYABLE_CLIENT_ERRORS = frozenset({408, 429})
# Headers RabbitMQ writes when dead-lettering; they describe one trip, not the message.
BROKER_HEADERS = ("x-death", "x-first-death-", "x-last-death-")


@dataclass(frozen=True)
class ConnectorConfig:
    amqp_url: str = DEFAULT_RABBITMQ_URL
    exchange: str = "prichal.events"
    max_attempts: int = 5
    retry_base_ms: int = 1000
    prefetch: int = 1
    timeout: float = 60.0
    internal_token: str | None = None

    @classmethod
    def from_env(cls) -> ConnectorConfig:
        env = os.environ
        return cls(
            amqp_url=env.get("RABBITMQ_URL") or DEFAULT_RABBITMQ_URL,
            exchange=env.get("EVENTS_EXCHANGE") or "prichal.events",
            max_attempts=max(1, int(env.get("CONNECTOR_MAX_ATTEMPTS", "5"))),
            retry_base_ms=max(1, int(env.get("CONNECTOR_RETRY_BASE_MS", "1000"))),
            prefetch=max(1, int(env.get("CONNECTOR_PREFETCH", "1"))),
            timeout=float(env.get("CONNECTOR_TIMEOUT_SECONDS", "60")),
            internal_token=env.get("INTERNAL_TOKEN") or None,
        )


@dataclass(frozen=True)
class Queues:
    """The three queues of one function: where events arrive, wait for a retry, and end up dead."""

    main: str
    retry: str
    dead: str

    @classmethod
    def for_function(cls, exchange: str, function: str) -> Queues:
        main = f"{exchange}.{function}"
        return cls(main=main, retry=f"{main}.retry", dead=f"{main}.dead")


def declare_topology(channel: BlockingChannel, exchange: str, queues: Queues, routing_keys: list[str]) -> None:
    """Declare (idempotently) the exchange, the function's queues and its bindings."""
    channel.exchange_declare(exchange, exchange_type="topic", durable=True)
    channel.queue_declare(queues.main, durable=True)
    for key in routing_keys:
        channel.queue_bind(queues.main, exchange, routing_key=key)
    channel.queue_declare(queues.retry, durable=True,
                          arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": queues.main})
    channel.queue_declare(queues.dead, durable=True)


def _attempt(value: Any) -> int:
    """The ``x-attempt`` header we wrote; anything else (absent, foreign, garbled) is a first attempt."""
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def is_permanent(status: int) -> bool:
    """A 4xx other than 408/429: the same message would fail the same way every time."""
    return 400 <= status < 500 and status not in RETRYABLE_CLIENT_ERRORS


def failure_reason(response: requests.Response) -> str:
    """``HTTP 422 requirements-missing: <detail>`` from a problem+json answer, else the raw text."""
    try:
        problem = json.loads(response.text)
    except ValueError:
        problem = None
    if isinstance(problem, dict) and (problem.get("detail") or problem.get("title")):
        code = f" {problem['code']}" if problem.get("code") else ""
        return f"HTTP {response.status_code}{code}: {problem.get('detail') or problem.get('title')}"[:1000]
    return f"HTTP {response.status_code}: {response.text[:500]}"


def header_text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def original_routing_key(headers: dict[str, Any], delivered_with: str) -> str:
    """The event's own routing key: dead-lettering replaces it, so republishes carry it along."""
    return header_text(headers.get("x-routing-key") or delivered_with)


def message_headers(headers: dict[str, Any], drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """The message's own headers: without the broker's trip records, nor ``drop``."""
    return {key: value for key, value in headers.items() if not key.startswith(BROKER_HEADERS) and key not in drop}


def republished(properties: BasicProperties, headers: dict[str, Any], expiration: str | None = None) -> BasicProperties:
    """The properties of a message published again: the same message, persistent, new headers."""
    return BasicProperties(
        content_type=properties.content_type, content_encoding=properties.content_encoding,
        headers=headers, delivery_mode=pika.DeliveryMode.Persistent, correlation_id=properties.correlation_id,
        message_id=properties.message_id, timestamp=properties.timestamp, type=properties.type,
        app_id=properties.app_id, expiration=expiration,
    )


class FunctionConsumer(threading.Thread):
    """Consumes one function's queue on its own blocking connection, reconnecting with backoff.

    One thread per function keeps a slow function from holding up the others, as separate
    connector deployments would in production.
    """

    def __init__(self, function: FunctionSpec, gateway_url: str, config: ConnectorConfig,
                 stop: threading.Event) -> None:
        super().__init__(name=f"rabbitmq-{function.name}", daemon=True)
        self.function = function
        self.url = f"{gateway_url.rstrip('/')}/function/{function.name}"
        self.config = config
        self.stop_event = stop
        self.queues = Queues.for_function(config.exchange, function.name)
        self._http = requests.Session()
        self._delay = 1.0

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._consume()
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.warning("rabbitmq %s: connection lost (%s); retrying in %.0f s",
                            self.function.name, exc or type(exc).__name__, self._delay)
            except Exception:
                log.exception("rabbitmq %s: consumer failed; restarting in %.0f s", self.function.name, self._delay)
            else:
                return
            self.stop_event.wait(self._delay)
            self._delay = min(self._delay * 2, 30.0)

    def _consume(self) -> None:
        parameters = pika.URLParameters(self.config.amqp_url)
        parameters.client_properties = {"connection_name": f"prichal-localrun {self.queues.main}"}
        connection = pika.BlockingConnection(parameters)
        try:
            channel = connection.channel()
            declare_topology(channel, self.config.exchange, self.queues, self.function.topics)
            channel.confirm_delivery()
            channel.basic_qos(prefetch_count=self.config.prefetch)
            channel.basic_consume(self.queues.main, on_message_callback=self._on_message)
            self._delay = 1.0
            log.info("rabbitmq %s: consuming %s (%s)", self.function.name, self.queues.main,
                     ", ".join(self.function.topics))
            while not self.stop_event.is_set():
                connection.process_data_events(time_limit=0.5)
        finally:
            if connection.is_open:
                try:
                    connection.close()
                except pika.exceptions.AMQPError:
                    pass

    def _on_message(self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties,
                    body: bytes) -> None:
        headers = dict(properties.headers or {})
        attempt = _attempt(headers.get("x-attempt"))
        routing_key = original_routing_key(headers, method.routing_key)
        request_headers = {"X-Topic": routing_key, "X-Rabbitmq-Routing-Key": routing_key,
                           "X-Connector": "rabbitmq-connector"}
        if properties.message_id:
            request_headers["X-Rabbitmq-Msg-Id"] = properties.message_id
        if properties.content_type:
            request_headers["Content-Type"] = properties.content_type
        if self.config.internal_token:
            request_headers["Authorization"] = f"Bearer {self.config.internal_token}"
        for name in TRACE_HEADERS:
            if name in headers:
                request_headers[name] = header_text(headers[name])
        permanent = False
        try:
            response = self._http.post(self.url, data=body, headers=request_headers, timeout=self.config.timeout)
        except requests.RequestException as exc:
            reason = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= response.status_code < 300:
                channel.basic_ack(method.delivery_tag)
                log.debug("rabbitmq %s: %s delivered", self.function.name, routing_key)
                return
            reason = failure_reason(response)
            permanent = is_permanent(response.status_code)
        self._retry_or_park(channel, method, properties, body, headers, attempt, routing_key, reason, permanent)

    def _retry_or_park(self, channel: BlockingChannel, method: Basic.Deliver, properties: BasicProperties,
                       body: bytes, headers: dict[str, Any], attempt: int, routing_key: str, reason: str,
                       permanent: bool) -> None:
        kept = message_headers(headers)
        kept["x-routing-key"] = routing_key
        if permanent or attempt >= self.config.max_attempts:
            kept.update({"x-death-reason": reason, "x-attempts": attempt})
            target, expiration = self.queues.dead, None
            log.error("rabbitmq %s: %s failed %s, parked in %s: %s", self.function.name, routing_key,
                      "permanently" if permanent else f"{attempt} times", target, reason)
        else:
            kept["x-attempt"] = attempt + 1
            backoff = self.config.retry_base_ms * 2 ** (attempt - 1)
            target, expiration = self.queues.retry, str(backoff)
            log.warning("rabbitmq %s: %s attempt %d failed (%s); retry in %d ms",
                        self.function.name, routing_key, attempt, reason[:200], backoff)
        try:
            channel.basic_publish("", target, body, republished(properties, kept, expiration), mandatory=True)
        except (pika.exceptions.UnroutableError, pika.exceptions.NackError) as exc:
            log.error("rabbitmq %s: could not republish to %s (%s); requeueing", self.function.name, target, exc)
            channel.basic_nack(method.delivery_tag, requeue=True)
            channel.connection.sleep(1.0)
            return
        channel.basic_ack(method.delivery_tag)


def start_consumers(functions: list[FunctionSpec], gateway_url: str, stop: threading.Event,
                    config: ConnectorConfig | None = None) -> list[FunctionConsumer]:
    """Start one consumer thread per function that has topics."""
    config = config or ConnectorConfig.from_env()
    consumers = [FunctionConsumer(f, gateway_url, config, stop) for f in functions if f.topics]
    for consumer in consumers:
        consumer.start()
    return consumers
