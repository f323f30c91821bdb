"""One tenant's database as of one moment, for a report: REPEATABLE READ, read only.

Rows come through a server-side cursor (``DECLARE ... CURSOR``) in batches, so a report of
a million lines never sits in memory; ``copy_out`` streams ``COPY (query) TO STDOUT``.
Row-level security applies: the session is the application role with ``app.tenant_id``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, text

BATCH = 5000
_names = itertools.count(1)


class ReportSnapshot:
    def __init__(self, raw: Any) -> None:
        self._raw = raw  # the psycopg connection inside the transaction

    def rows(self, sql: str, params: dict[str, Any]) -> Iterator[tuple[Any, ...]]:
        with self._raw.cursor(name=f"report_rows_{next(_names)}", binary=True) as cursor:
            cursor.itersize = BATCH
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(BATCH):
                yield from batch

    def scalar(self, sql: str, params: dict[str, Any]) -> Any:
        with self._raw.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            return None if row is None else row[0]

    def has_table(self, name: str) -> bool:
        return bool(self.scalar("SELECT to_regclass(%(name)s) IS NOT NULL", {"name": name}))

    def copy_out(self, sql: str, params: dict[str, Any]) -> Iterator[bytes]:
        with self._raw.cursor() as cursor, cursor.copy(sql, params) as copy:
            for chunk in copy:
                yield bytes(chunk)


@contextmanager
def report_snapshot(engine: Engine, tenant_id: str, work_mem: str = "512MB") -> Iterator[ReportSnapshot]:
    """``work_mem``: the database server's memory per sort of this transaction (not this
    process's): a million-line register sorts in memory instead of on disk."""
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true), set_config('work_mem', :m, true), "
                              "set_config('DateStyle', 'ISO, YMD', true)"), {"t": tenant_id, "m": work_mem})
            yield ReportSnapshot(conn.connection.driver_connection)
