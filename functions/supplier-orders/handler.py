"""supplier-orders (RabbitMQ ``order.paid``, ``order.refunded``): our sales of the boat
operators' sailings registered, confirmed and returned at the operator.

The connector POSTs the event body; Knative sends a CloudEvent (binary or structured,
``prichal.entrypoints.cloudevents``). 2xx acks: done, nothing to do (not an operator's
sailing), or given up with the buyer refunded and the order flagged. 503: the operator did
not answer and attempts remain: the event comes again. The rules live in
``prichal.services.supplier_orders``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.entrypoints.cloudevents import event_from_request
from prichal.entrypoints.event_bodies import OrderEventData, event_body
from prichal.entrypoints.openapi import JSON, Media, describe

app = function_app("supplier-orders", "Supplier orders",
                   "On order.paid / order.refunded: the sale registered, confirmed or returned at the operator.",
                   internal=True)


OrderEvent = event_body("OrderEvent", ("order.paid", "order.refunded"), OrderEventData,
                        "``order.paid`` or ``order.refunded`` as the connector delivers it.")


class Pushed(BaseModel):
    model_config = ConfigDict(extra="allow")
    order_id: str | None
    outcome: str = Field(description="confirmed | rejected | failed | returned | not_supplier | ...")


@app.route("POST", "/", tenant=False, response=Pushed, errors=(404, 409, 422, 503))
@describe(body=Media(JSON, OrderEvent))
def consume(request: Request) -> dict:
    """Push one order event to its operator (idempotent: a redelivery changes nothing twice)."""
    return container().supplier_orders.on_event(event_from_request(request.body, request.headers))


handle = app.openfaas_handler
main = app.functions_framework_target
