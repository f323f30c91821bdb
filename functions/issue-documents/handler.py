"""issue-documents (RabbitMQ ``order.paid``): e-tickets, invoice and act as PDFs in S3, then the email.

The connector POSTs the event body here. 2xx acks it; a 4xx other than 408/429 means the
event can never succeed as it is (e.g. the seller has no requisites) and is dead-lettered at
once with this answer as the reason; 5xx (storage or SMTP down) is retried with backoff.
The rules live in ``prichal.services.documents``.
"""

from __future__ import annotations

import json

from prichal.bootstrap import container, function_app
from prichal.domain.errors import InvalidInput
from prichal.entrypoints.app import Request

app = function_app("issue-documents", "Issue documents",
                   "On order.paid: e-tickets with signed QR codes, invoice and act in S3; the buyer's email.",
                   internal=True)


@app.route("POST", "/", tenant=False, errors=(404, 409, 422, 503))
def issue(request: Request) -> dict:
    """Issue the documents of the paid order an ``order.paid`` event names (idempotent)."""
    try:
        event = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"the body is not a JSON event: {exc}") from exc
    return container().documents.issue_for_event(event)


handle = app.openfaas_handler
main = app.functions_framework_target
