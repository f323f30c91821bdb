"""VAT summary: base and VAT per rate and per 54-FZ ``vat_code`` for a period.

The VAT of each line is the order item's own (computed once by ``domain/pricing.py`` and
printed on the receipt, the invoice and the act), so the sums agree with them to the
kopeck. ``vat_code`` is the code the prepayment receipt carries (22 % -> 22/122 -> 12).
Refunded VAT is each refunded line's ``vat_included`` of its refund, rounded half up.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prichal.domain.reports import Column, ReportParameters
from prichal.domain.reports import ColumnType as T
from prichal.domain.vat import VatRate

from .base import Exporter, Snapshot, report
from .lines import ticket_lines


@report
class VatSummary(Exporter):
    identifier = "vat_summary"
    title = "Сводка по НДС"
    description = "Per VAT rate and receipt vat_code: tickets, gross, VAT, base; refunds and their VAT."
    columns = (
        Column("rate", "Ставка", T.TEXT, 14),
        Column("rate_percent", "Ставка, %", T.PERCENT),
        Column("vat_code", "vat_code (54-ФЗ)", T.INT, 12),
        Column("tickets", "Билетов", T.INT, total=True),
        Column("gross", "Сумма с НДС", T.MONEY, total=True),
        Column("vat", "НДС", T.MONEY, total=True),
        Column("base", "База (без НДС)", T.MONEY, total=True),
        Column("refunded", "Возвраты с НДС", T.MONEY, total=True),
        Column("refunded_vat", "НДС возвратов", T.MONEY, total=True),
        Column("vat_after_refunds", "НДС за вычетом возвратов", T.MONEY, 16, total=True),
    )

    def _sql(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        lines, args = ticket_lines(db, params)
        return f"""
        SELECT vat_rate_value, count(*)::int, sum(price), sum(vat_amount), sum(net_amount),
               coalesce(sum(refund_amount), 0.00), coalesce(sum(refund_vat), 0.00)
        FROM ({lines}) AS l GROUP BY vat_rate_value ORDER BY vat_rate_value""", args

    def rows(self, db: Snapshot, params: ReportParameters) -> Iterator[tuple[Any, ...]]:
        for rate_value, tickets, gross, vat, base, refunded, refunded_vat in db.rows(*self._sql(db, params)):
            rate = VatRate(rate_value)
            yield (rate.label, rate.percent, rate.calculated.yookassa_vat_code, tickets, gross, vat, base,
                   refunded, refunded_vat, vat - refunded_vat)

    def count(self, db: Snapshot, params: ReportParameters) -> int | None:
        sql, args = self._sql(db, params)
        return int(db.scalar(f"SELECT count(*) FROM ({sql}) AS counted", args))
