"""report-schedule (cron, hourly): the nightly and monthly finance reports of every tenant.

At 03:00 of each tenant's own time it asks for yesterday's daily summary and, on the 1st,
for the previous month's sales register (XLSX), once per tenant and day or month however
often the schedule fires; report-export prepares them and mails the link to the tenant's
finance address. The rules live in ``prichal.services.reports``.
"""

from __future__ import annotations

from pydantic import BaseModel

from prichal.bootstrap import container, function_app
from prichal.entrypoints.app import Request

app = function_app("report-schedule", "Scheduled reports",
                   "Requests each tenant's nightly daily summary and monthly sales register.", internal=True)


class Scheduled(BaseModel):
    requested: int


@app.route("POST", "/", tenant=False, response=Scheduled, errors=(503,))
def run(request: Request) -> dict:
    """Request the reports due at this hour (called by the cron connector with an empty body)."""
    return {"requested": container().reports.schedule()}


handle = app.openfaas_handler
main = app.functions_framework_target
