"""Typed events: every message on the events exchange is one of these dataclasses.

Producers build an event and hand it to ``uow.outbox.add_event``; consumers call
``parse(message)`` and get the dataclass back (or ``InvalidInput`` for anything that is not
a known event of a known version). The envelope (``{id, type, version, tenant,
occurred_at, data}``) is the outbox relay's (services/outbox.py); ``data`` is the event's
fields as JSON: money as decimal strings, ids as strings, times as ISO 8601.

Adding an event: one dataclass here with ``type`` and ``version``, registered with
``@event``; ``json_schema(cls)`` gives its schema (``schemas/events/`` is written from it).
Changing the fields of a published event means a new version, never an edit in place.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, TypeVar, get_type_hints

from prichal.domain.errors import InvalidInput

E = TypeVar("E", bound="Event")
REGISTRY: dict[tuple[str, int], type[Event]] = {}


class Event:
    """Base of every event: ``type`` (routing key) and ``version`` are class attributes."""

    type: ClassVar[str]
    version: ClassVar[int] = 1

    def to_data(self) -> dict[str, Any]:
        return {field.name: _dump(getattr(self, field.name)) for field in dataclasses.fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_data(cls: type[E], data: dict[str, Any]) -> E:
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):  # type: ignore[arg-type]
            if field.name not in data:
                if field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING:
                    continue
                raise _invalid(f"data.{field.name}", "missing", "required")
            values[field.name] = _load(hints[field.name], data[field.name], f"data.{field.name}")
        return cls(**values)


def event(cls: type[E]) -> type[E]:
    """Register an event class (a frozen dataclass with ``type`` and ``version``)."""
    key = (cls.type, cls.version)
    if key in REGISTRY:
        raise RuntimeError(f"event {key} is registered twice")
    REGISTRY[key] = cls
    return cls


def parse(message: Any) -> Event:
    """The event a relayed message carries; ``InvalidInput`` if it is not a known one."""
    if not isinstance(message, dict) or not isinstance(message.get("data"), dict):
        raise _invalid("body", "value_error", "not an event message")
    kind, version = message.get("type"), message.get("version", 1)
    cls = REGISTRY.get((kind, version)) if isinstance(kind, str) and type(version) is int else None
    if cls is None:
        raise _invalid("body.type", "value_error", f"unknown event {kind!r} version {version!r}")
    return cls.from_data(message["data"])


def json_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON schema of an event's ``data``."""
    hints = get_type_hints(cls)
    properties = {field.name: _schema(hints[field.name]) for field in dataclasses.fields(cls)}  # type: ignore[arg-type]
    required = [field.name for field in dataclasses.fields(cls)  # type: ignore[arg-type]
                if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"{cls.type} v{cls.version}",
            "type": "object", "properties": properties, "required": required, "additionalProperties": True}


# --- the events -------------------------------------------------------------------------

@event
@dataclass(frozen=True)
class OrderPaid(Event):
    type: ClassVar[str] = "order.paid"
    order_id: str
    number: int
    total: Decimal
    currency: str
    sailing_id: str


@event
@dataclass(frozen=True)
class OrderExpired(Event):
    type: ClassVar[str] = "order.expired"
    order_id: str
    number: int
    reason: str | None = None


@event
@dataclass(frozen=True)
class OrderCancelled(Event):
    type: ClassVar[str] = "order.cancelled"
    order_id: str
    number: int
    reason: str | None = None


@dataclass(frozen=True)
class RefundedTicket:
    """One ticket of an ``order.refunded`` event (a plain nested dataclass, not an event)."""

    ticket_id: str
    amount: Decimal


@event
@dataclass(frozen=True)
class OrderRefunded(Event):
    """Tickets of a paid order were refunded (the money goes back through the provider)."""

    type: ClassVar[str] = "order.refunded"
    order_id: str
    number: int
    refund_id: str
    sailing_id: str
    amount: Decimal
    tickets: list[RefundedTicket]
    reason: str
    fully_refunded: bool


@event
@dataclass(frozen=True)
class SailingCanceled(Event):
    """The seller canceled a sailing: sales stop and every paid order is refunded in full."""

    type: ClassVar[str] = "sailing.canceled"
    sailing_id: str
    reason: str
    canceled_by: str


@event
@dataclass(frozen=True)
class ReportRequested(Event):
    type: ClassVar[str] = "report.requested"
    job_id: str
    report: str
    format: str


@event
@dataclass(frozen=True)
class TicketsResendRequested(Event):
    """An agent asked to email an order's tickets again (issue-documents sends them)."""

    type: ClassVar[str] = "order.tickets-resend"
    order_id: str
    number: int
    recipient: str
    requested_by: str


# --- (de)serialisation ------------------------------------------------------------------

def _dump(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_dump(item) for item in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _dump(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _load(hint: Any, value: Any, loc: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in typing.get_args(hint):
            return None
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
        origin = typing.get_origin(hint)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise _invalid(loc, "list_type", "a list is required")
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        items = [_load(item_hint, item, f"{loc}.{index}") for index, item in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if hint is Decimal:
        if not isinstance(value, str):
            raise _invalid(loc, "decimal_type", "money travels as a decimal string")
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise _invalid(loc, "decimal_parsing", "not a decimal") from None
        if not amount.is_finite():
            raise _invalid(loc, "decimal_parsing", "not a finite decimal")
        return amount
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, dict):
            raise _invalid(loc, "dict_type", "an object is required")
        nested = get_type_hints(hint)
        return hint(**{f.name: _load(nested[f.name], value.get(f.name), f"{loc}.{f.name}")
                       for f in dataclasses.fields(hint) if f.name in value})
    if (hint in (str, int, bool) and not isinstance(value, hint)) or (hint is int and isinstance(value, bool)):
        raise _invalid(loc, f"{hint.__name__}_type", f"a {hint.__name__} is required")
    return value


def _schema(hint: Any) -> dict[str, Any]:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return {"anyOf": [_schema(arg) for arg in typing.get_args(hint)]}
    if origin in (list, tuple):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        return {"type": "array", "items": _schema(item_hint)}
    if hint is type(None):
        return {"type": "null"}
    if hint is Decimal:
        return {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
    if dataclasses.is_dataclass(hint):
        nested = get_type_hints(hint)
        return {"type": "object", "properties": {f.name: _schema(nested[f.name]) for f in dataclasses.fields(hint)}}
    return {str: {"type": "string"}, int: {"type": "integer"}, bool: {"type": "boolean"}}.get(hint, {})


def _invalid(loc: str, kind: str, msg: str) -> InvalidInput:
    return InvalidInput("not a valid event", errors=[{"loc": loc.split("."), "type": kind, "msg": msg}])
