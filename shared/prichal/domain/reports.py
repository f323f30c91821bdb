"""Finance reports, the pure part: typed columns, parameters, periods, job states, file names.

A report is a table: typed columns and rows of plain values (``str``, ``int``, ``Decimal``
money, ``date``, naive ``datetime`` in the tenant's time zone, ``Decimal`` percent). The
writers (CSV, XLSX) turn each type into its cell the same way for every report.

A period is two calendar days of the tenant (``from`` and ``to``, both included); it ends
at midnight after ``to`` in the tenant's time zone, whatever UTC says.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .errors import InvalidInput, NotFound


class ColumnType(enum.StrEnum):
    TEXT = "text"
    INT = "int"
    MONEY = "money"  # Decimal rubles with kopecks
    PERCENT = "percent"  # Decimal percent (22 = 22 %); None = no VAT
    DATE = "date"
    DATETIME = "datetime"  # naive, in the tenant's time zone


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    title: str  # what finance reads in the header (Russian)
    type: ColumnType = ColumnType.TEXT
    width: int | None = None  # characters; None: by type
    total: bool = False  # summed in the totals row (money and int columns)


DEFAULT_WIDTHS = {ColumnType.TEXT: 24, ColumnType.INT: 10, ColumnType.MONEY: 14, ColumnType.PERCENT: 9,
                  ColumnType.DATE: 12, ColumnType.DATETIME: 18}


class ReportFormat(enum.StrEnum):
    XLSX = "xlsx"
    CSV = "csv"  # RFC 4180: comma, dot decimals, ISO dates, no BOM
    CSV_EXCEL = "csv-excel"  # "Excel (RU)": UTF-8 with BOM, semicolon, comma decimals, dd.mm.yyyy

    @property
    def extension(self) -> str:
        return "xlsx" if self is ReportFormat.XLSX else "csv"

    @property
    def content_type(self) -> str:
        if self is ReportFormat.XLSX:
            return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return "text/csv; charset=utf-8"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ReportParameters:
    """What a report is asked for: a period of the tenant's days and optional filters."""

    date_from: date
    date_to: date  # included
    timezone: str
    program_id: str | None = None
    pier_id: str | None = None
    sailing_id: str | None = None

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (aware, UTC)."""
        return datetime.combine(self.date_from, time(), ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def ends_at(self) -> datetime:
        """The instant after the period: midnight after ``date_to`` in the tenant's zone (UTC)."""
        return datetime.combine(self.date_to + timedelta(days=1), time(), ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    def label(self) -> str:
        if self.date_from == self.date_to:
            return self.date_from.isoformat()
        return f"{self.date_from.isoformat()}_{self.date_to.isoformat()}"

    def to_json(self) -> dict[str, Any]:
        return {"from": self.date_from.isoformat(), "to": self.date_to.isoformat(), "timezone": self.timezone,
                **{k: v for k, v in (("program_id", self.program_id), ("pier_id", self.pier_id),
                                     ("sailing_id", self.sailing_id)) if v}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ReportParameters:
        return cls(date_from=date.fromisoformat(data["from"]), date_to=date.fromisoformat(data["to"]),
                   timezone=data["timezone"], program_id=data.get("program_id"), pier_id=data.get("pier_id"),
                   sailing_id=data.get("sailing_id"))


def parameters(date_from: date, date_to: date, timezone: str, max_days: int, **filters: str | None,
               ) -> ReportParameters:
    """Checked parameters; ``InvalidInput`` (422, field errors) for a reversed or too long period."""
    if date_to < date_from:
        raise InvalidInput("the period ends before it starts", errors=[
            {"loc": ["body", "to"], "type": "value_error", "msg": "must not be before 'from'"}])
    if (date_to - date_from).days + 1 > max_days:
        raise InvalidInput(f"the period is longer than {max_days} days", errors=[
            {"loc": ["body", "to"], "type": "value_error", "msg": f"at most {max_days} days from 'from'"}])
    return ReportParameters(date_from, date_to, timezone, **filters)


class UnknownReport(InvalidInput):
    code = "unknown-report"
    title = "No such report"


class JobNotFound(NotFound):
    code = "report-job-not-found"
    title = "No such report job"


# --- values as spreadsheets want them -----------------------------------------------------

_EXCEL_EPOCH_ORDINAL = date(1899, 12, 30).toordinal()


def excel_serial(value: date | datetime) -> float | int:
    """Days since 1899-12-30 (Excel's 1900 date system; the fraction is the time of day)."""
    days = value.toordinal() - _EXCEL_EPOCH_ORDINAL
    if isinstance(value, datetime):
        seconds = value.hour * 3600 + value.minute * 60 + value.second
        return days + seconds / 86400 if seconds else days
    return days


_SLUG_SAFE = re.compile(r"[^a-z0-9_.-]+")


def object_key(tenant_slug: str, job_id: str, report: str, params: ReportParameters, fmt: ReportFormat,
               requested_on: date) -> str:
    """Where a job's file lives: ``tenants/<slug>/reports/<yyyy>/<mm>/<report>_<period>_<job>.<ext>``.

    Deterministic per job, so a job run twice overwrites its one file instead of adding one."""
    name = _SLUG_SAFE.sub("-", f"{report}_{params.label()}_{job_id[:8]}".lower())
    return f"tenants/{tenant_slug}/reports/{requested_on:%Y/%m}/{name}.{fmt.extension}"


@dataclass(frozen=True, slots=True)
class ReportJob:
    id: str
    tenant_id: str
    report: str
    format: ReportFormat
    parameters: ReportParameters
    status: JobStatus
    progress: int
    rows: int
    requested_by: str
    created_at: datetime
    total_rows: int | None = None
    s3_key: str | None = None
    size: int | None = None
    sha256: str | None = None
    error: str | None = None
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    schedule_key: str | None = None
    email_to: str | None = None
    emailed_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def scheduled_reports(local_now: datetime, hour: int) -> list[tuple[str, str, date, date]]:
    """What the schedule asks for at a tenant's local time: ``(schedule_key, report, from, to)``.

    At ``hour`` o'clock every night: yesterday's daily summary; on the 1st of a month also
    the previous month's sales register."""
    if local_now.hour != hour:
        return []
    yesterday = local_now.date() - timedelta(days=1)
    due = [(f"daily:{yesterday.isoformat()}", "daily_summary", yesterday, yesterday)]
    if local_now.day == 1:
        first = yesterday.replace(day=1)
        due.append((f"monthly:{first:%Y-%m}", "sales_register", first, yesterday))
    return due
