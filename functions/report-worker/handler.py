"""report-worker (RabbitMQ ``report.requested``): prepares the report a job asks for.

The connector POSTs the event body here; Knative sends it as a CloudEvent (binary or
structured mode, ``prichal.entrypoints.cloudevents``). The job row is the idempotency key:
a redelivered event finds its job taken or done and makes no second file. 2xx acks (the
job is done, or failed with its reason recorded); 503 (object storage down) is retried
until the job's attempts are spent; another 4xx (an unknown job or tenant) is
dead-lettered at once. The rules live in ``prichal.services.reports``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request
from prichal.entrypoints.cloudevents import event_from_request
from prichal.entrypoints.event_bodies import event_body
from prichal.entrypoints.openapi import JSON, Media, describe

app = function_app("report-worker", "Report worker",
                   "On report.requested: the report's rows from one snapshot, streamed as CSV or XLSX to S3.",
                   internal=True)


class RequestedData(BaseModel):
    model_config = ConfigDict(extra="allow")
    job_id: str = Field(description="a UUID")
    report: str
    format: str


ReportRequestedEvent = event_body("ReportRequestedEvent", ("report.requested",), RequestedData,
                                  "The ``report.requested`` event as the connector delivers it (other members "
                                  "are ignored).")


class Consumed(BaseModel):
    job_id: str
    status: str = Field(description="done or failed (this run), or the job's state when it had been taken before")
    ran: bool = Field(description="false when the job had been taken before (a redelivery)")
    rows: int | None = None
    size: int | None = None


@app.route("POST", "/", tenant=False, response=Consumed, errors=(404, 422, 503))
@describe(body=Media(JSON, ReportRequestedEvent))
def consume(request: Request) -> dict[str, Any]:
    """Run the job a ``report.requested`` event names (idempotent)."""
    return container().reports.run_for_event(event_from_request(request.body, request.headers))


handle = app.openfaas_handler
main = app.functions_framework_target
