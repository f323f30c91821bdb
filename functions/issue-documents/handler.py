"""issue-documents (RabbitMQ ``order.paid``, ``order.tickets-resend``): e-tickets, invoice and act as PDFs in S3,
then the email (again, after an agent's resend).

The connector POSTs the event body here; Knative sends it as a CloudEvent (binary or
structured mode, ``prichal.entrypoints.cloudevents``). 2xx acks it; a 4xx other than 408/429 means the
event can never succeed as it is (e.g. the seller has no requisites) and is dead-lettered at
once with this answer as the reason; 5xx (storage or SMTP down) is retried with backoff.
The rules live in ``prichal.services.documents``.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.entrypoints.cloudevents import event_from_request
from prichal.entrypoints.event_bodies import OrderEventData, event_body
from prichal.entrypoints.openapi import JSON, Media, describe

app = function_app("issue-documents", "Issue documents",
                   "On order.paid: e-tickets with signed QR codes, invoice and act in S3; the buyer's email.",
                   internal=True)


OrderPaidEvent = event_body("OrderPaidEvent", ("order.paid", "order.tickets-resend"), OrderEventData,
                            "The ``order.paid`` event as the connector delivers it (other members are ignored).")


class Issued(BaseModel):
    order_id: str
    number: int
    created: bool = Field(description="false when the documents had been recorded before (a redelivery)")
    rendered: int = Field(description="documents drawn and stored by this call")
    documents: int
    email: str = Field(description="the email's outcome: sent, failed, ...")


@app.route("POST", "/", tenant=False, response=Issued, errors=(404, 409, 422, 503))
@describe(body=Media(JSON, OrderPaidEvent))
def issue(request: Request) -> dict:
    """Issue the documents of the paid order an ``order.paid`` event names (idempotent)."""
    return container().documents.issue_for_event(event_from_request(request.body, request.headers))


handle = app.openfaas_handler
main = app.functions_framework_target
