"""The dead-letter sink of the Knative triggers: parks an undeliverable event with its reason.

Knative (eventing-rabbitmq) retries a delivery as the trigger's ``delivery`` says, then sends
the event to ``deadLetterSink`` (``/<function>`` here) with the extension attributes
``knativeerrorcode`` (the function's last status), ``knativeerrordata`` (its answer, base64)
and ``knativeerrordest``. This sink publishes the event's body to the queue
``<exchange>.<function>.dead`` exactly as the local connector parks one (``x-death-reason``,
``x-routing-key``, ``x-attempts``), so one admin command lists and replays both.
A 2xx answer only after the broker confirmed it: otherwise Knative keeps the event.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable

import pika
import pika.exceptions

from prichal.config import Settings, get_settings
from prichal.domain.errors import InvalidInput, Unavailable

from .app import FunctionApp, Request
from .cloudevents import STRUCTURED, cloudevent_attributes

FUNCTION = re.compile(r"\A[a-z][-a-z0-9]{0,62}\Z")


def death_reason(attributes: dict[str, str]) -> str:
    """``HTTP 503: <the function's answer>`` from Knative's error attributes."""
    code = attributes.get("knativeerrorcode") or "?"
    try:
        answer = base64.b64decode(attributes.get("knativeerrordata") or "", validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        answer = attributes.get("knativeerrordata") or ""
    return f"HTTP {code}: {answer}"[:1000] if answer else f"HTTP {code}: delivery failed"


def park(amqp_url: str, queue: str, body: bytes, headers: dict[str, object], content_type: str | None) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(amqp_url))
    try:
        channel = connection.channel()
        channel.queue_declare(queue, durable=True)
        channel.confirm_delivery()
        channel.basic_publish("", queue, body, pika.BasicProperties(
            content_type=content_type or "application/json", delivery_mode=pika.DeliveryMode.Persistent,
            headers=headers, message_id=str(headers.get("ce-id") or "") or None), mandatory=True)
    finally:
        connection.close()


def build_app(settings: Callable[[], Settings] = get_settings) -> FunctionApp:
    app = FunctionApp("dead-letters", "Dead letters", "Parks what the Knative triggers could not deliver.")

    @app.route("POST", "/{function}", tenant=False, errors=(422, 503))
    def receive(request: Request, function: str) -> dict:
        if not FUNCTION.match(function):
            raise InvalidInput(f"{function!r} is not a function name")
        if (request.header("Content-Type") or "").split(";")[0].strip().lower() == STRUCTURED:
            raise InvalidInput("send dead letters in binary mode (Knative's default)")
        attributes = cloudevent_attributes(request.headers)
        if not attributes.get("specversion"):
            raise InvalidInput("not a CloudEvent: the ce-* headers are missing")
        config = settings()
        reason = death_reason(attributes)
        headers: dict[str, object] = {f"ce-{k}": v for k, v in attributes.items() if not k.startswith("knativeerror")}
        headers.update({"x-death-reason": reason, "x-routing-key": attributes.get("type", ""), "x-attempts": 0})
        queue = f"{config.events_exchange}.{function}.dead"
        try:
            park(config.rabbitmq_url, queue, request.body, headers, request.header("Content-Type"))
        except pika.exceptions.AMQPError as exc:
            raise Unavailable(f"could not park the event in {queue}: {exc or type(exc).__name__}") from exc
        return {"parked": queue, "reason": reason}

    return app


app = build_app()
main = app.functions_framework_target
