"""The events a function gave up on: see what is parked and why, and send it back once fixed.

The connector parks a message in ``<queue>.dead`` with ``x-death-reason`` and
``x-attempts`` (see ``connector``): nothing is lost, but nothing happens to it either until
someone fixes the cause (a seller's requisites, say) and replays it. Replaying publishes the
message to the function's own queue as a first attempt, with its original routing key, and
only then removes it from the dead queue (publisher confirms): a crash in between leaves a
duplicate, which the consumers' idempotence absorbs, never a loss.

    python -m prichal.admin dead-letters issue-documents             # what is parked and why
    python -m prichal.admin dead-letters issue-documents --replay    # back to the function
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import BasicProperties

from .connector import ConnectorConfig, Queues, header_text, message_headers, original_routing_key, republished

PARKING_HEADERS = ("x-death-reason", "x-attempts", "x-attempt")


class NoSuchQueue(LookupError):
    """The function has no dead-letter queue on this broker (wrong name, or never consumed)."""


@dataclass(frozen=True)
class DeadLetter:
    routing_key: str
    reason: str
    attempts: int
    message_id: str | None
    body: bytes

    def summary(self) -> dict[str, Any]:
        return {"routing_key": self.routing_key, "reason": self.reason, "attempts": self.attempts,
                "message_id": self.message_id, "body": self.body.decode("utf-8", "replace")[:300]}


def _letter(properties: BasicProperties, routing_key: str, body: bytes) -> DeadLetter:
    headers = properties.headers or {}
    return DeadLetter(routing_key=original_routing_key(headers, routing_key),
                      reason=header_text(headers.get("x-death-reason", "")), attempts=int(headers.get("x-attempts", 0)),
                      message_id=properties.message_id, body=body)


class DeadLetters:
    """One function's dead-letter queue on the broker of ``config``."""

    def __init__(self, function: str, config: ConnectorConfig | None = None) -> None:
        self.config = config or ConnectorConfig.from_env()
        self.queues = Queues.for_function(self.config.exchange, function)

    def _channel(self, connection: pika.BlockingConnection) -> BlockingChannel:
        channel = connection.channel()
        try:
            channel.queue_declare(self.queues.dead, passive=True)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise NoSuchQueue(f"no queue {self.queues.dead} on the broker") from exc
        return channel

    def peek(self, limit: int = 100) -> list[DeadLetter]:
        """Up to ``limit`` parked messages, left where they are (unacknowledged, then returned)."""
        connection = pika.BlockingConnection(pika.URLParameters(self.config.amqp_url))
        try:
            channel = self._channel(connection)
            letters = []
            while len(letters) < limit:
                method, properties, body = channel.basic_get(self.queues.dead, auto_ack=False)
                if method is None:
                    break
                letters.append(_letter(properties, method.routing_key, body))
            return letters
        finally:
            connection.close()  # the unacknowledged messages go back to the queue, in order

    def replay(self, limit: int = 100) -> list[DeadLetter]:
        """Move up to ``limit`` parked messages back to the function's queue, as first attempts."""
        connection = pika.BlockingConnection(pika.URLParameters(self.config.amqp_url))
        replayed = []
        try:
            channel = self._channel(connection)
            channel.queue_declare(self.queues.main, passive=True)
            channel.confirm_delivery()
            while len(replayed) < limit:
                method, properties, body = channel.basic_get(self.queues.dead, auto_ack=False)
                if method is None:
                    break
                letter = _letter(properties, method.routing_key, body)
                headers = message_headers(properties.headers or {}, drop=PARKING_HEADERS)
                headers["x-routing-key"] = letter.routing_key
                channel.basic_publish("", self.queues.main, body, republished(properties, headers), mandatory=True)
                channel.basic_ack(method.delivery_tag)
                replayed.append(letter)
            return replayed
        finally:
            connection.close()
