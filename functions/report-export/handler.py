"""report-export: finance reports (CSV / XLSX) as jobs that finance staff ask for and poll.

``POST /reports`` (finance staff) asks for a report and answers 202 with the job; the job
runs when its ``report.requested`` event reaches ``report-worker`` (functions/report-worker),
so a long report never holds a request. (Two functions, one service: a function with a
topic is internal and cluster-local, which the staff API must not be.)
``GET /reports/{job_id}`` tells status, progress, rows and, once done, a presigned link
under ``tenants/<slug>/reports/...`` that expires, with the file's size and sha256.
``GET /reports`` lists the reports, their parameters and columns. The rules live in
``prichal.services.reports``; the reports in ``prichal.reports``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from prichal.bootstrap import container, function_app
from prichal.domain.reports import ReportFormat
from prichal.domain.staff import Permission, StaffActor
from prichal.entrypoints.app import Request, Response
from prichal.entrypoints.openapi import describe
from prichal.entrypoints.staff import require_staff
from prichal.reports.base import REPORTS, exporter
from prichal.services.reports import JobView

app = function_app("report-export", "Finance reports",
                   "Sales register, payments and refunds, daily and VAT summaries, supplier settlement "
                   "as CSV or XLSX in object storage, prepared asynchronously.")


class ReportRequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    report: str = Field(description="sales_register, payments_refunds, daily_summary, vat_summary, "
                                    "supplier_settlement")
    format: ReportFormat = Field(description="xlsx; csv (RFC 4180); csv-excel (UTF-8 BOM, ';', decimal comma)")
    date_from: date = Field(alias="from", description="first day, in the seller's time zone")
    date_to: date = Field(alias="to", description="last day (included), in the seller's time zone")
    program_id: str | None = None
    pier_id: str | None = None
    sailing_id: str | None = None


class JobAnswer(BaseModel):
    job_id: str
    report: str
    format: str
    status: str = Field(description="queued, running, done or failed")
    progress: int = Field(description="percent")
    rows: int
    total_rows: int | None
    parameters: dict[str, Any]
    requested_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None = Field(description="why a failed job failed")
    url: str | None = Field(description="presigned download link while done")
    expires_in: int | None = Field(description="seconds the link stays valid")
    s3_key: str | None
    size: int | None
    sha256: str | None


class ReportKind(BaseModel):
    identifier: str
    title: str
    description: str
    columns: list[dict[str, Any]]


class ReportKinds(BaseModel):
    reports: list[ReportKind]
    formats: list[str]


def _staff(request: Request) -> StaffActor:
    """Finance staff of this seller (``reports.export``): 401 without a valid token, 403 without the role."""
    return require_staff(request, Permission.REPORTS_EXPORT)


def _answer(view: JobView) -> dict[str, Any]:
    job = view.job
    return {"job_id": job.id, "report": job.report, "format": job.format.value, "status": job.status.value,
            "progress": job.progress, "rows": job.rows, "total_rows": job.total_rows,
            "parameters": job.parameters.to_json(), "requested_by": job.requested_by, "created_at": job.created_at,
            "started_at": job.started_at, "finished_at": job.finished_at, "error": job.error, "url": view.url,
            "expires_in": view.expires_in, "s3_key": job.s3_key, "size": job.size, "sha256": job.sha256}


@app.route("POST", "/reports", body=ReportRequestBody, response=JobAnswer, status=202,
           errors=(401, 403, 422, 429))
@describe(security=("staffToken",))
def request_report(request: Request, body: ReportRequestBody) -> Response:
    """Ask for a report; it is prepared asynchronously (poll the job)."""
    actor = _staff(request)
    c = container()
    job = c.reports.request(request.tenant, report=body.report, fmt=body.format, date_from=body.date_from,
                            date_to=body.date_to, requested_by=f"staff:{actor.user_id}", actor=actor,
                            program_id=body.program_id, pier_id=body.pier_id, sailing_id=body.sailing_id)
    return Response(status=202, body=_answer(JobView(job, None, None)),
                    headers={"Location": f"/reports/{job.id}"})


@app.route("GET", "/reports/{job_id}", response=JobAnswer, errors=(401, 403, 404))
@describe(security=("staffToken",))
def report_job(request: Request, job_id: str) -> dict[str, Any]:
    """A report job: status, progress, rows; when done, the download link."""
    _staff(request)
    return _answer(container().reports.get(request.tenant, job_id))


@app.route("GET", "/reports", response=ReportKinds, errors=(401, 403))
@describe(security=("staffToken",))
def report_kinds(request: Request) -> dict[str, Any]:
    """The reports there are, with their columns."""
    _staff(request)
    exporter("sales_register")  # loads every report module
    return {"reports": [{"identifier": cls.identifier, "title": cls.title, "description": cls.description,
                         "columns": [{"key": c.key, "title": c.title, "type": c.type.value, "total": c.total}
                                     for c in cls.columns]} for cls in REPORTS.values()],
            "formats": [f.value for f in ReportFormat]}


handle = app.openfaas_handler
main = app.functions_framework_target
