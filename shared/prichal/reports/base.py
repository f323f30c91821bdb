"""The exporter base every report is a plug-in of (as pretix's ``ListExporter``).

A report names itself (``identifier``, ``title``), declares typed ``columns`` and yields
rows (tuples in column order) from a ``Snapshot``: one REPEATABLE READ, read-only
transaction of the tenant, so every row of a file comes from one moment of the database.
Rows are never held in memory: the writers stream them (``prichal.reports.writers``).

Adding a report is one new module in this package with a class registered by ``@report``.
Reports built on SQL (``SqlExporter``) also give the CSV writer its fast road: the
snapshot formats their rows itself with ``COPY ... TO STDOUT``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar, Protocol

from prichal.domain.reports import Column, ReportParameters, UnknownReport


class Snapshot(Protocol):
    """A read-only REPEATABLE READ transaction of one tenant (adapters/db/report_snapshot.py)."""

    def rows(self, sql: str, params: dict[str, Any]) -> Iterator[tuple[Any, ...]]: ...

    def scalar(self, sql: str, params: dict[str, Any]) -> Any: ...

    def has_table(self, name: str) -> bool: ...

    def copy_out(self, sql: str, params: dict[str, Any]) -> Iterator[bytes]: ...


class Exporter:
    identifier: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    columns: ClassVar[tuple[Column, ...]]

    def rows(self, db: Snapshot, params: ReportParameters) -> Iterator[tuple[Any, ...]]:
        raise NotImplementedError

    def count(self, db: Snapshot, params: ReportParameters) -> int | None:
        """How many rows ``rows`` will yield (for progress); ``None`` when not known cheaply."""
        return None


class SqlExporter(Exporter):
    """A report that is one SELECT whose output columns are named by the columns' keys."""

    def query(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        raise NotImplementedError

    def rows(self, db: Snapshot, params: ReportParameters) -> Iterator[tuple[Any, ...]]:
        sql, args = self.query(db, params)
        return db.rows(sql, args)

    def count(self, db: Snapshot, params: ReportParameters) -> int | None:
        sql, args = self.query(db, params)
        return int(db.scalar(f"SELECT count(*) FROM ({sql}) AS counted", args))


REPORTS: dict[str, type[Exporter]] = {}


def report(cls: type[Exporter]) -> type[Exporter]:
    """Register a report class under its identifier."""
    if cls.identifier in REPORTS:
        raise RuntimeError(f"report {cls.identifier!r} is registered twice")
    REPORTS[cls.identifier] = cls
    return cls


def exporter(identifier: str) -> Exporter:
    from prichal import reports as _  # noqa: F401 - registers every report module

    cls = REPORTS.get(identifier)
    if cls is None:
        raise UnknownReport(f"there is no report {identifier!r}; known: {', '.join(sorted(REPORTS))}",
                            errors=[{"loc": ["body", "report"], "type": "enum", "msg": "unknown report"}],
                            known=sorted(REPORTS))
    return cls()


def sailing_filters(params: ReportParameters, sailing: str = "s") -> tuple[str, dict[str, Any]]:
    """``AND ...`` for the optional program, pier and sailing of the parameters."""
    where, args = [], {}
    for name, column in (("program_id", "program_id"), ("pier_id", "pier_id"), ("sailing_id", "id")):
        value = getattr(params, name)
        if value:
            where.append(f"{sailing}.{column} = %({name})s")
            args[name] = value
    return "".join(f" AND {w}" for w in where), args
