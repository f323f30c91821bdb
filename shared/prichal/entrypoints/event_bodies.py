"""How an event-triggered function describes its body in its OpenAPI: the event as the
connector delivers it (``prichal.entrypoints.cloudevents`` reads every delivery)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, create_model


class OrderEventData(BaseModel):
    """The data of every ``order.*`` event names the order (other members are ignored)."""

    model_config = ConfigDict(extra="allow")
    order_id: str = Field(description="a UUID")


def event_body(name: str, types: tuple[str, ...], data: type[BaseModel], doc: str) -> type[BaseModel]:
    """A model ``name``: ``type`` one of ``types``, the tenant's id and ``data``; other members ignored."""
    return create_model(name, __doc__=doc, __config__=ConfigDict(extra="allow"),
                        type=(Literal[types], ...),  # type: ignore[valid-type]
                        tenant=(str, Field(description="the tenant's id (a UUID)")), data=(data, ...))
