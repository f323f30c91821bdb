"""Report jobs: requested, claimed by the consumer, advanced, finished or failed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.reports import JobStatus, ReportFormat, ReportJob, ReportParameters

from .tables import report_jobs, tenants

ACTIVE = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


def _job(row: Any) -> ReportJob:
    return ReportJob(
        id=row.id, tenant_id=row.tenant_id, report=row.report, format=ReportFormat(row.format),
        parameters=ReportParameters.from_json(row.parameters), status=JobStatus(row.status), progress=row.progress,
        rows=row.rows, requested_by=row.requested_by, created_at=row.created_at, total_rows=row.total_rows,
        s3_key=row.s3_key, size=row.size, sha256=row.sha256, error=row.error, attempts=row.attempts,
        started_at=row.started_at, finished_at=row.finished_at, schedule_key=row.schedule_key,
        email_to=row.email_to, emailed_at=row.emailed_at)


class ReportJobRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def lock_tenant(self) -> None:
        """Serialise job requests of this tenant (the concurrency cap is counted under it)."""
        self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('report-jobs:' || :t))"), {"t": self.tenant_id})

    def active_count(self, since: datetime) -> int:
        return self.conn.execute(select(func.count()).select_from(report_jobs).where(
            report_jobs.c.status.in_(ACTIVE), report_jobs.c.created_at >= since)).scalar_one()

    def add(self, report: str, fmt: ReportFormat, params: ReportParameters, requested_by: str, now: datetime,
            schedule_key: str | None = None, email_to: str | None = None) -> str | None:
        """The new job's id; ``None`` when a job with this schedule key exists already."""
        statement = insert(report_jobs).values(
            tenant_id=self.tenant_id, report=report, format=fmt.value, parameters=params.to_json(),
            requested_by=requested_by, created_at=now, schedule_key=schedule_key, email_to=email_to)
        if schedule_key is not None:
            statement = statement.on_conflict_do_nothing(constraint="uq_report_jobs_schedule_key")
        return self.conn.execute(statement.returning(report_jobs.c.id)).scalar()

    def get(self, job_id: str) -> ReportJob | None:
        row = self.conn.execute(select(report_jobs).where(report_jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def claim(self, job_id: str, now: datetime, stale_before: datetime) -> ReportJob | None:
        """Take a queued job (or one whose runner went silent before ``stale_before``)."""
        row = self.conn.execute(update(report_jobs).where(
            report_jobs.c.id == job_id,
            or_(report_jobs.c.status == JobStatus.QUEUED.value,
                (report_jobs.c.status == JobStatus.RUNNING.value) & (report_jobs.c.started_at < stale_before)),
        ).values(status=JobStatus.RUNNING.value, started_at=now, attempts=report_jobs.c.attempts + 1, error=None,
                 progress=0, rows=0).returning(*report_jobs.c)).first()
        return None if row is None else _job(row)

    def advance(self, job_id: str, rows: int, total: int | None, now: datetime) -> None:
        progress = min(99, rows * 100 // total) if total else 0
        self.conn.execute(update(report_jobs).where(report_jobs.c.id == job_id, report_jobs.c.status == "running")
                          .values(rows=rows, total_rows=total, progress=progress))

    def finish(self, job_id: str, rows: int, key: str, size: int, sha256: str, now: datetime) -> None:
        self.conn.execute(update(report_jobs).where(report_jobs.c.id == job_id).values(
            status=JobStatus.DONE.value, progress=100, rows=rows, s3_key=key, size=size, sha256=sha256,
            finished_at=now, error=None))

    def fail(self, job_id: str, error: str, now: datetime) -> None:
        self.conn.execute(update(report_jobs).where(report_jobs.c.id == job_id).values(
            status=JobStatus.FAILED.value, error=error[:2000], finished_at=now))

    def requeue(self, job_id: str, error: str) -> None:
        self.conn.execute(update(report_jobs).where(report_jobs.c.id == job_id).values(
            status=JobStatus.QUEUED.value, error=error[:2000]))

    def emailed(self, job_id: str, now: datetime) -> None:
        self.conn.execute(update(report_jobs).where(report_jobs.c.id == job_id).values(emailed_at=now))

    def finance_email(self) -> str | None:
        return self.conn.execute(select(tenants.c.finance_email).where(tenants.c.id == self.tenant_id)).scalar()
