"""Supplier settlement: per supplier and sailing, the tickets sold and what is owed.

Only sailings that came from a supplier (``sailings.supplier``) appear, so the report is
empty until the supplier sync brings some. Owed is the gross of the tickets less their
refunds; a supplier's commission terms, once the supplier module records them, go here.
"""

from __future__ import annotations

from typing import Any

from prichal.domain.reports import Column, ReportParameters
from prichal.domain.reports import ColumnType as T

from .base import Snapshot, SqlExporter, report
from .lines import ticket_lines


@report
class SupplierSettlement(SqlExporter):
    identifier = "supplier_settlement"
    title = "Расчёты с поставщиками"
    description = "Per supplier and sailing: tickets, gross, refunds, owed."
    columns = (
        Column("supplier", "Поставщик", T.TEXT, 16),
        Column("departs_at", "Рейс", T.DATETIME),
        Column("program", "Программа", T.TEXT, 28),
        Column("sailing_id", "Рейс (ID)", T.TEXT, 38),
        Column("tickets", "Билетов", T.INT, total=True),
        Column("gross", "Продано", T.MONEY, total=True),
        Column("refunds", "Возвраты", T.MONEY, total=True),
        Column("owed", "К перечислению", T.MONEY, total=True),
    )

    def query(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        lines, args = ticket_lines(db, params)
        return f"""
        SELECT supplier, departs_at, program, sailing_id, count(*)::int AS tickets, sum(price) AS gross,
               coalesce(sum(refund_amount), 0.00) AS refunds,
               sum(price) - coalesce(sum(refund_amount), 0.00) AS owed
        FROM ({lines}) AS l WHERE supplier IS NOT NULL
        GROUP BY supplier, departs_at, program, sailing_id
        ORDER BY supplier, departs_at, sailing_id""", args
