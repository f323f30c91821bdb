"""Finance reports as jobs (the ``report-export`` use case): request, run, read, schedule.

1. **Request** (staff, or the schedule): the parameters are checked, the tenant's jobs are
   counted under a per-tenant lock (at most ``max_concurrent`` queued or running), the job
   row and its ``report.requested`` event are written in one transaction (the outbox).
2. **Run** (the event, delivered at least once): the job row is the idempotency key. A
   delivery claims a queued job (or one whose runner went silent past the lease); any other
   delivery changes nothing, so a redelivered event never makes a second file. The rows
   are read in one REPEATABLE READ snapshot and streamed through the writer into a
   multipart upload under a key fixed by the job, with progress written on the way.
   Storage down: the job goes back to the queue and the event is retried (503) up to
   ``max_attempts``; any other failure marks the job failed with the reason.
3. **Read**: status, progress, rows and, when done, a presigned link that expires.
4. **Schedule** (cron, hourly): at 03:00 of each tenant's time the nightly daily summary
   and on the 1st the previous month's sales register, once per key; the finished file's
   link is mailed to the tenant's finance address.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from prichal.adapters.db.tenant_directory import TenantDirectory
from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.object_storage import ObjectStorage
from prichal.domain import events
from prichal.domain.errors import DomainError, InvalidInput, NotFound, RateLimited, Unavailable
from prichal.domain.reports import (
    JobNotFound,
    ReportFormat,
    ReportJob,
    ReportParameters,
    object_key,
    parameters,
    scheduled_reports,
)
from prichal.domain.tenants import Tenant
from prichal.observability.tracing import inject_context
from prichal.reports.base import Snapshot, exporter
from prichal.reports.writers import write_report

from .outbox import OutboxRelay

log = logging.getLogger("prichal.reports")
CONSUMER = "report-export"
PROGRESS_SECONDS = 1.0
XLSX_MAX_ROWS = 1_048_576 - 2  # a sheet's rows, less the header and the totals row


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class TooManyJobs(RateLimited):
    code = "too-many-report-jobs"
    title = "Too many reports are being prepared"


@dataclass(frozen=True, slots=True)
class ReportSettings:
    max_concurrent: int
    max_period_days: int
    link_expiry: timedelta
    email_link_expiry: timedelta
    lease: timedelta
    max_attempts: int
    schedule_hour: int
    mail_from: str


@dataclass(frozen=True, slots=True)
class JobView:
    job: ReportJob
    url: str | None  # presigned while done
    expires_in: int | None


class ReportService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], tenants: TenantDirectory,
                 snapshot: Callable[[str], AbstractContextManager[Snapshot]], storage: ObjectStorage,
                 relay: OutboxRelay, mailer: Callable[[], Mailer], settings: ReportSettings,
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._tenants = tenants
        self._snapshot = snapshot
        self._storage = storage
        self._relay = relay
        self._mailer = mailer
        self._settings = settings
        self._now = clock

    # --- request ---------------------------------------------------------------------------
    def request(self, tenant: Tenant, *, report: str, fmt: ReportFormat, date_from: date, date_to: date,
                requested_by: str, actor: Any = None, program_id: str | None = None, pier_id: str | None = None,
                sailing_id: str | None = None) -> ReportJob:
        exporter(report)  # UnknownReport (422) before anything is written
        params = parameters(date_from, date_to, tenant.timezone, self._settings.max_period_days,
                            program_id=program_id, pier_id=pier_id, sailing_id=sailing_id)
        now = self._now()
        with self._uow(tenant.id) as uow:
            _check_filters(uow, params)
            uow.reports.lock_tenant()
            if uow.reports.active_count(now - self._settings.lease) >= self._settings.max_concurrent:
                raise TooManyJobs(f"at most {self._settings.max_concurrent} reports are prepared at once; "
                                  "wait for one to finish", retry_after=30)
            job_id = uow.reports.add(report, fmt, params, requested_by, now)
            assert job_id is not None
            uow.outbox.add_event(events.ReportRequested(job_id=job_id, report=report, format=fmt.value),
                                 headers=dict(inject_context({})))
            if actor is not None:  # the staff module's audit log, in the same transaction
                uow.audit.record(actor, "report.requested", "report_job", job_id, report=report, format=fmt.value,
                                 **params.to_json())
            uow.commit()
        self._relay.publish_pending(tenant.id)
        return self._job(tenant, job_id)

    def _job(self, tenant: Tenant, job_id: str) -> ReportJob:
        with self._uow(tenant.id) as uow:
            job = uow.reports.get(job_id)
        if job is None:
            raise JobNotFound(f"report job {job_id} not found", job_id=job_id)
        return job

    # --- read ------------------------------------------------------------------------------
    def get(self, tenant: Tenant, job_id: str) -> JobView:
        job = self._job(tenant, job_id)
        if job.status.value != "done" or job.s3_key is None:
            return JobView(job, None, None)
        seconds = int(self._settings.link_expiry.total_seconds())
        return JobView(job, self._storage.presigned_get(job.s3_key, seconds, job.s3_key.rsplit("/", 1)[-1]), seconds)

    # --- run -------------------------------------------------------------------------------
    def run_for_event(self, message: Any) -> dict[str, Any]:
        """Handle one ``report.requested`` message (already parsed JSON)."""
        requested = events.parse(message)
        if not isinstance(requested, events.ReportRequested):
            raise InvalidInput(f"report-export consumes report.requested, not {requested.type}")
        tenant = self._tenants.by_id(str(message.get("tenant") or ""))
        if tenant is None:
            raise NotFound(f"tenant {message.get('tenant')} not found (or inactive)")
        return self.run(tenant, requested.job_id)

    def run(self, tenant: Tenant, job_id: str) -> dict[str, Any]:
        now = self._now()
        with self._uow(tenant.id) as uow:
            if uow.reports.get(job_id) is None:
                raise JobNotFound(f"report job {job_id} not found", job_id=job_id)
            job = uow.reports.claim(job_id, now, now - self._settings.lease)
            uow.commit()
        if job is None:  # done, failed, or running elsewhere: a redelivery changes nothing
            current = self._job(tenant, job_id)
            return {"job_id": job_id, "status": current.status.value, "ran": False}
        key = object_key(tenant.slug, job.id, job.report, job.parameters, job.format, job.created_at.date())
        try:
            rows, stored = self._export(tenant, job, key)
        except Unavailable as exc:
            if job.attempts < self._settings.max_attempts:
                self._requeue(tenant, job.id, exc.detail)
                raise
            return self._fail(tenant, job.id, exc.detail)
        except DomainError as exc:
            return self._fail(tenant, job.id, exc.detail)
        except Exception as exc:
            log.exception("report job %s failed", job.id)
            return self._fail(tenant, job.id, f"internal error ({type(exc).__name__}); it has been logged")
        self._record(tenant, lambda uow: uow.reports.finish(job.id, rows, stored.key, stored.size, stored.sha256,
                                                             self._now()))
        if job.email_to:
            self._email(tenant, job, stored.key)
        return {"job_id": job.id, "status": "done", "ran": True, "rows": rows, "size": stored.size}

    def _export(self, tenant: Tenant, job: ReportJob, key: str) -> tuple[int, Any]:
        report = exporter(job.report)
        with self._snapshot(tenant.id) as db:
            total = report.count(db, job.parameters)
            if job.format is ReportFormat.XLSX and total is not None and total > XLSX_MAX_ROWS:
                raise InvalidInput(f"{total} rows do not fit one XLSX sheet (at most {XLSX_MAX_ROWS}): "
                                   "ask for CSV or a shorter period")
            last = [time.monotonic()]

            def progress(rows: int) -> None:
                if time.monotonic() - last[0] >= PROGRESS_SECONDS:
                    last[0] = time.monotonic()
                    self._record(tenant, lambda uow: uow.reports.advance(job.id, rows, total, self._now()))

            self._record(tenant, lambda uow: uow.reports.advance(job.id, 0, total, self._now()))
            with self._storage.upload_stream(key, job.format.content_type,
                                             {"report": job.report, "job": job.id}) as stream:
                written = write_report(report, db, job.parameters, job.format, stream, progress)
                stored = stream.close()
        return written.rows, stored

    def _fail(self, tenant: Tenant, job_id: str, reason: str) -> dict[str, Any]:
        self._record(tenant, lambda uow: uow.reports.fail(job_id, reason, self._now()))
        return {"job_id": job_id, "status": "failed", "ran": True}

    def _requeue(self, tenant: Tenant, job_id: str, reason: str) -> None:
        self._record(tenant, lambda uow: uow.reports.requeue(job_id, reason))

    def _record(self, tenant: Tenant, change: Callable[[UnitOfWork], None]) -> None:
        with self._uow(tenant.id) as uow:
            change(uow)
            uow.commit()

    # --- schedule --------------------------------------------------------------------------
    def schedule(self, now: datetime | None = None) -> int:
        """Request what is due at this hour in each tenant's time zone; returns how many."""
        now = now or self._now()
        requested = 0
        for tenant in self._tenants.active():
            local = now.astimezone(ZoneInfo(tenant.timezone))
            for schedule_key, report, first, last in scheduled_reports(local, self._settings.schedule_hour):
                params = ReportParameters(first, last, tenant.timezone)
                with self._uow(tenant.id) as uow:
                    job_id = uow.reports.add(report, ReportFormat.XLSX, params, "schedule", now,
                                             schedule_key=schedule_key, email_to=uow.reports.finance_email())
                    if job_id is None:
                        continue  # this schedule fired before
                    uow.outbox.add_event(events.ReportRequested(job_id=job_id, report=report, format="xlsx"),
                                         headers=dict(inject_context({})))
                    uow.commit()
                requested += 1
                self._relay.publish_pending(tenant.id)
        return requested

    def _email(self, tenant: Tenant, job: ReportJob, key: str) -> None:
        seconds = int(self._settings.email_link_expiry.total_seconds())
        url = self._storage.presigned_get(key, seconds, key.rsplit("/", 1)[-1])
        title = exporter(job.report).title
        period = (job.parameters.date_from.strftime("%d.%m.%Y") if job.parameters.days == 1 else
                  f"{job.parameters.date_from:%d.%m.%Y} — {job.parameters.date_to:%d.%m.%Y}")
        message = EmailMessage()
        message["From"] = self._settings.mail_from
        message["To"] = job.email_to
        message["Subject"] = f"{tenant.name}: {title}, {period}"
        message.set_content(f"{title} за {period} готов.\n\nСкачать ({job.format.extension.upper()}): {url}\n\n"
                            f"Ссылка действует {seconds // 86400} дн.\n")
        try:
            self._mailer().send(message)
        except Exception:  # the file is stored and listed; the mail is a convenience
            log.warning("report %s: the e-mail to %s failed", job.id, job.email_to, exc_info=True)
            return
        self._record(tenant, lambda uow: uow.reports.emailed(job.id, self._now()))


def _check_filters(uow: UnitOfWork, params: ReportParameters) -> None:
    """Each filter names a row of this tenant (row-level security hides the others')."""
    from sqlalchemy import select

    from prichal.adapters.db.tables import piers, programs, sailings
    from prichal.domain.ids import canonical_uuid

    for name, table in (("program_id", programs), ("pier_id", piers), ("sailing_id", sailings)):
        value = getattr(params, name)
        if value is None:
            continue
        canonical = canonical_uuid(value)
        found = canonical and uow.conn.execute(select(table.c.id).where(table.c.id == canonical)).scalar()
        if not found:
            raise InvalidInput(f"{name} {value!r} is not one of this seller's",
                               errors=[{"loc": ["body", name], "type": "value_error", "msg": "unknown"}])
