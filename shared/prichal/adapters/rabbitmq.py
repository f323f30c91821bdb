"""Publishing events to the RabbitMQ topic exchange with publisher confirms.

One connection per process, guarded by a lock (pika's blocking connection is not
thread-safe); reconnects once on a broken connection. A ``publish`` that returns has
been confirmed by the broker; anything else raises, and the outbox keeps the event.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

log = logging.getLogger("prichal.rabbitmq")


def cloudevent_headers(routing_key: str, message: dict[str, Any], message_id: str) -> dict[str, str]:
    """CloudEvents binary-mode headers of the RabbitMQ binding, read by Knative's RabbitmqSource.

    The body stays the event's JSON, so the connectors and Knative deliver the same bytes
    (k3s/base/eventing/bridge.yaml; ``prichal.entrypoints.cloudevents`` reads either).
    """
    headers = {"ce-specversion": "1.0", "ce-id": message_id, "ce-type": routing_key, "ce-source": "/prichal/outbox"}
    if message.get("tenant"):
        headers["ce-tenant"] = str(message["tenant"])
    if message.get("occurred_at"):
        headers["ce-time"] = str(message["occurred_at"])
    return headers


class EventPublisher:
    def __init__(self, url: str, exchange: str) -> None:
        self._params = pika.URLParameters(url)
        self._params.connection_attempts = 2
        self._params.socket_timeout = 5
        self._exchange = exchange
        self._lock = threading.Lock()
        self._connection: pika.BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _ensure_channel(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            self._connection = pika.BlockingConnection(self._params)
            channel = self._connection.channel()
            channel.exchange_declare(self._exchange, exchange_type="topic", durable=True)
            channel.confirm_delivery()
            self._channel = channel
        return self._channel

    def publish(self, routing_key: str, message: dict[str, Any], message_id: str,
                headers: dict[str, str] | None = None) -> None:
        body = json.dumps(message, separators=(",", ":"), ensure_ascii=False, default=str).encode()
        properties = pika.BasicProperties(content_type="application/json", delivery_mode=2, message_id=message_id,
                                          type=routing_key,
                                          headers={**cloudevent_headers(routing_key, message, message_id),
                                                   **(headers or {})})
        with self._lock:
            for attempt in (1, 2):
                try:
                    self._ensure_channel().basic_publish(self._exchange, routing_key, body, properties,
                                                         mandatory=False)
                    return
                except (pika.exceptions.AMQPConnectionError, pika.exceptions.ChannelClosed,
                        pika.exceptions.StreamLostError):
                    self.close_unlocked()
                    if attempt == 2:
                        raise

    def close_unlocked(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except Exception:  # closing a broken connection may fail again
            log.debug("closing a broken RabbitMQ connection failed", exc_info=True)
        self._connection = None
        self._channel = None

    def close(self) -> None:
        with self._lock:
            self.close_unlocked()
