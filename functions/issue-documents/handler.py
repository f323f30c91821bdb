"""issue-documents (RabbitMQ ``order.paid``): e-tickets, invoice and act as PDFs in S3, then the email.

The connector POSTs the event body here; Knative sends it as a CloudEvent (binary or
structured mode, ``prichal.entrypoints.cloudevents``). 2xx acks it; a 4xx other than 408/429 means the
event can never succeed as it is (e.g. the seller has no requisites) and is dead-lettered at
once with this answer as the reason; 5xx (storage or SMTP down) is retried with backoff.
The rules live in ``prichal.services.documents``.
"""

from __future__ import annotations

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.entrypoints.cloudevents import event_from_request

app = function_app("issue-documents", "Issue documents",
                   "On order.paid: e-tickets with signed QR codes, invoice and act in S3; the buyer's email.",
                   internal=True)


@app.route("POST", "/", tenant=False, errors=(404, 409, 422, 503))
def issue(request: Request) -> dict:
    """Issue the documents of the paid order an ``order.paid`` event names (idempotent)."""
    return container().documents.issue_for_event(event_from_request(request.body, request.headers))


handle = app.openfaas_handler
main = app.functions_framework_target
