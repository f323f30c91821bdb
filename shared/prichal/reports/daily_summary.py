"""Daily summary: per day of sale x program x sailing: tickets, gross, VAT by rate, refunds, net.

Built from the same ticket lines as the sales register, so its money columns add up to the
register's to the kopeck (refunds count on the day of the sale they undo).
"""

from __future__ import annotations

from typing import Any

from prichal.domain.reports import Column, ReportParameters
from prichal.domain.reports import ColumnType as T

from .base import Snapshot, SqlExporter, report
from .lines import ticket_lines

RATES = ("22", "10", "7", "5")


@report
class DailySummary(SqlExporter):
    identifier = "daily_summary"
    title = "Сводка по дням"
    description = "Per day, program and sailing: tickets, gross, VAT by rate, refunds, net of refunds."
    columns = (
        Column("day", "День продажи", T.DATE),
        Column("program", "Программа", T.TEXT, 28),
        Column("departs_at", "Рейс", T.DATETIME),
        Column("sailing_id", "Рейс (ID)", T.TEXT, 38),
        Column("tickets", "Билетов", T.INT, total=True),
        Column("gross", "Выручка", T.MONEY, total=True),
        *(Column(f"vat_{rate}", f"НДС {rate}%", T.MONEY, total=True) for rate in RATES),
        Column("vat_total", "НДС всего", T.MONEY, total=True),
        Column("refunds", "Возвраты", T.MONEY, total=True),
        Column("net", "Выручка за вычетом возвратов", T.MONEY, 16, total=True),
    )

    def query(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        lines, args = ticket_lines(db, params)
        by_rate = ", ".join(f"coalesce(sum(vat_amount) FILTER (WHERE vat_rate = {rate}), 0.00) AS vat_{rate}"
                            for rate in RATES)
        return f"""
        SELECT sold_at::date AS day, program, departs_at, sailing_id, count(*)::int AS tickets,
               sum(price) AS gross, {by_rate}, sum(vat_amount) AS vat_total,
               coalesce(sum(refund_amount), 0.00) AS refunds, sum(price) - coalesce(sum(refund_amount), 0.00) AS net
        FROM ({lines}) AS l
        GROUP BY sold_at::date, program, departs_at, sailing_id
        ORDER BY day, departs_at, program, sailing_id""", args
