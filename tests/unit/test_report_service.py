"""The report-export use case on fakes (cosmicpython style): a job runs once however often its
event comes, storage trouble is retried then reported, any other failure says why."""

from __future__ import annotations

import hashlib
import io
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from prichal.adapters.object_storage import StorageUnavailable, StoredObject
from prichal.domain.reports import Column, ColumnType, JobStatus, ReportFormat, ReportJob, ReportParameters
from prichal.domain.tenants import Tenant
from prichal.reports.base import REPORTS, Exporter, report
from prichal.services.reports import ReportService, ReportSettings

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TENANT = Tenant(id="t1", slug="demo", name="Демо")


class Tickets(Exporter):
    """A report of plain rows (no SQL): the Python road of the writers."""

    identifier = "unit_tickets"
    title = "Билеты"
    columns = (Column("n", "№", ColumnType.INT), Column("price", "Цена", ColumnType.MONEY, total=True))
    fail_with: Exception | None = None

    def rows(self, db, params):
        if Tickets.fail_with is not None:
            raise Tickets.fail_with
        yield from ((n, Decimal("100.00")) for n in range(1, 6))

    def count(self, db, params):
        return 5


if Tickets.identifier not in REPORTS:
    report(Tickets)


class FakeJobs:
    def __init__(self) -> None:
        self.jobs: dict[str, ReportJob] = {}

    def get(self, job_id):
        return self.jobs.get(job_id)

    def claim(self, job_id, now, stale_before):
        job = self.jobs.get(job_id)
        if job is None or not (job.status is JobStatus.QUEUED or (
                job.status is JobStatus.RUNNING and job.started_at < stale_before)):
            return None
        job = self.jobs[job_id] = replace(job, status=JobStatus.RUNNING, started_at=now, attempts=job.attempts + 1)
        return job

    def advance(self, job_id, rows, total, now):
        self.jobs[job_id] = replace(self.jobs[job_id], rows=rows, total_rows=total)

    def finish(self, job_id, rows, key, size, sha256, now):
        self.jobs[job_id] = replace(self.jobs[job_id], status=JobStatus.DONE, rows=rows, s3_key=key, size=size,
                                    sha256=sha256, progress=100, finished_at=now)

    def fail(self, job_id, error, now):
        self.jobs[job_id] = replace(self.jobs[job_id], status=JobStatus.FAILED, error=error, finished_at=now)

    def requeue(self, job_id, error):
        self.jobs[job_id] = replace(self.jobs[job_id], status=JobStatus.QUEUED, error=error)

    def emailed(self, job_id, now):
        pass


class FakeUow:
    def __init__(self, jobs: FakeJobs) -> None:
        self.reports = jobs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def commit(self):
        pass


class Upload(io.BytesIO):
    def __init__(self, storage, key):
        super().__init__()
        self.storage, self.key = storage, key

    def close(self):
        data = self.getvalue()
        self.storage.objects[self.key] = data
        return StoredObject(self.key, hashlib.sha256(data).hexdigest(), len(data))

    def __exit__(self, *exc):
        return None


class FakeStorage:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.down = False

    def upload_stream(self, key, content_type, metadata=None):
        if self.down:
            raise StorageUnavailable("could not start uploading (the test took it down)")
        return Upload(self, key)

    def presigned_get(self, key, expires_in, filename=None):
        return f"https://s3.test/{key}?expires={expires_in}"


class FakeTenants:
    def by_id(self, tenant_id):
        return TENANT if tenant_id == TENANT.id else None


@pytest.fixture
def world():
    jobs, storage = FakeJobs(), FakeStorage()

    @contextmanager
    def snapshot(tenant_id):
        yield object()

    settings = ReportSettings(max_concurrent=2, max_period_days=31, link_expiry=timedelta(minutes=15),
                              email_link_expiry=timedelta(days=7), lease=timedelta(minutes=15), max_attempts=2,
                              schedule_hour=3, mail_from="reports@test")
    service = ReportService(lambda tenant_id, durable=True: FakeUow(jobs), FakeTenants(), snapshot, storage,
                            relay=None, mailer=lambda: None, settings=settings, clock=lambda: NOW)
    Tickets.fail_with = None
    yield service, jobs, storage
    Tickets.fail_with = None


def queued(jobs: FakeJobs, fmt=ReportFormat.CSV) -> str:
    job = ReportJob(id="job-1", tenant_id="t1", report="unit_tickets", format=fmt,
                    parameters=ReportParameters(date(2026, 12, 1), date(2026, 12, 1), "Europe/Moscow"),
                    status=JobStatus.QUEUED, progress=0, rows=0, requested_by="staff:u1", created_at=NOW)
    jobs.jobs[job.id] = job
    return job.id


def event(job_id: str) -> dict:
    return {"id": "m1", "type": "report.requested", "version": 1, "tenant": "t1",
            "data": {"job_id": job_id, "report": "unit_tickets", "format": "csv"}}


def test_a_job_runs_once_however_often_its_event_comes(world):
    service, jobs, storage = world
    job_id = queued(jobs)
    first = service.run_for_event(event(job_id))
    assert first["status"] == "done" and first["rows"] == 5 and first["ran"]
    assert service.run_for_event(event(job_id)) == {"job_id": job_id, "status": "done", "ran": False}
    assert list(storage.objects) == ["tenants/demo/reports/2026/12/unit_tickets_2026-12-01_job-1.csv"]
    view = service.get(TENANT, job_id)
    assert view.url.startswith("https://s3.test/tenants/demo/reports/") and view.expires_in == 900
    assert view.job.sha256 == hashlib.sha256(next(iter(storage.objects.values()))).hexdigest()


def test_storage_down_is_retried_then_the_job_fails_with_the_reason(world):
    service, jobs, storage = world
    job_id = queued(jobs)
    storage.down = True
    with pytest.raises(StorageUnavailable):
        service.run_for_event(event(job_id))
    assert jobs.get(job_id).status is JobStatus.QUEUED
    assert service.run_for_event(event(job_id))["status"] == "failed"  # attempts spent
    assert "could not start uploading" in jobs.get(job_id).error and storage.objects == {}


def test_any_other_failure_is_the_jobs_reason(world):
    service, jobs, _ = world
    job_id = queued(jobs, ReportFormat.XLSX)
    Tickets.fail_with = ZeroDivisionError("boom")
    assert service.run_for_event(event(job_id))["status"] == "failed"
    assert "ZeroDivisionError" in jobs.get(job_id).error


def test_a_job_whose_runner_went_silent_is_taken_over(world):
    service, jobs, _ = world
    job_id = queued(jobs)
    jobs.jobs[job_id] = replace(jobs.jobs[job_id], status=JobStatus.RUNNING, started_at=NOW - timedelta(hours=1))
    assert service.run_for_event(event(job_id))["ran"]


def test_an_event_of_an_unknown_tenant_or_job(world):
    from prichal.domain.errors import NotFound

    service, _, _ = world
    with pytest.raises(NotFound):
        service.run_for_event({**event("job-x"), "tenant": "nobody"})
    with pytest.raises(NotFound):
        service.run_for_event(event("job-x"))


def test_more_rows_than_a_sheet_holds_is_a_reason_not_a_broken_file(world, monkeypatch):
    from prichal.services import reports as service_module

    service, jobs, storage = world
    monkeypatch.setattr(service_module, "XLSX_MAX_ROWS", 3)
    job_id = queued(jobs, ReportFormat.XLSX)
    assert service.run_for_event(event(job_id))["status"] == "failed"
    assert "do not fit one XLSX sheet" in jobs.get(job_id).error and storage.objects == {}
