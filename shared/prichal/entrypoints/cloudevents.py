"""The event an event-triggered function was sent, whichever runtime delivered it.

Three deliveries of one event reach the same handler:

- the OpenFaaS RabbitMQ connector (and the local runtime's): the body is the event's JSON
  ``{id, type, version, tenant, occurred_at, data}``, with ``X-Rabbitmq-Routing-Key`` etc.;
- a Knative CloudEvent in binary mode: ``ce-id``, ``ce-type``, ``ce-source``,
  ``ce-specversion`` headers, the body is the event's data;
- a CloudEvent in structured mode: ``Content-Type: application/cloudevents+json``, the
  body is the CloudEvent as JSON with the data in ``data`` (or ``data_base64``).

The outbox publishes the whole event as the data of its CloudEvent (k3s/base/eventing), so
the data is usually the event itself; a producer that sends only the payload names the
tenant in the ``tenant`` extension attribute (``ce-tenant``). A CloudEvent whose type
disagrees with the event it carries is refused: a 4xx that dead-letters it at once.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from prichal.domain.errors import InvalidInput

STRUCTURED = "application/cloudevents+json"
_REQUIRED = ("id", "type", "source", "specversion")


def _json(raw: bytes | str, what: str) -> Any:
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"the {what} is not JSON: {exc}") from exc


def _invalid(detail: str, field: str) -> InvalidInput:
    return InvalidInput(detail, errors=[{"loc": ["body", field], "type": "value_error", "msg": detail}])


def cloudevent_attributes(headers: Any) -> dict[str, str]:
    """The ``ce-*`` headers of a binary-mode CloudEvent, by attribute name (empty: not one)."""
    return {key.lower()[3:]: value for key, value in headers.items() if key.lower().startswith("ce-")}


def event_from_request(body: bytes, headers: Any) -> Any:
    """The event as the connector would have sent it, from any of the three deliveries."""
    content_type = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type == STRUCTURED:
        envelope = _json(body, "structured CloudEvent")
        if not isinstance(envelope, dict):
            raise _invalid("a structured CloudEvent is a JSON object", "specversion")
        attributes = {k: v for k, v in envelope.items() if k not in ("data", "data_base64")}
        if "data_base64" in envelope:
            try:
                data = _json(base64.b64decode(envelope["data_base64"], validate=True), "CloudEvent's data")
            except (binascii.Error, TypeError) as exc:
                raise _invalid(f"data_base64 is not base64: {exc}", "data_base64") from exc
        else:
            data = envelope.get("data")
        return _as_event(attributes, data)
    attributes = cloudevent_attributes(headers)
    if attributes.get("specversion"):
        return _as_event(attributes, _json(body, "CloudEvent's data"))
    return _json(body, "body")


def _as_event(attributes: dict[str, Any], data: Any) -> dict[str, Any]:
    missing = [name for name in _REQUIRED if not attributes.get(name)]
    if missing:
        raise _invalid(f"the CloudEvent lacks {', '.join(missing)}", missing[0])
    if isinstance(data, dict) and "type" in data and isinstance(data.get("data"), dict):
        if data["type"] != attributes["type"]:
            raise _invalid(f"the CloudEvent is a {attributes['type']} but carries a {data['type']}", "type")
        return data
    return {"id": attributes["id"], "type": attributes["type"], "version": 1,
            "tenant": attributes.get("tenant"), "occurred_at": attributes.get("time"), "data": data}
