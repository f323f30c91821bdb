"""Sales register: one row per ticket sold, refunded or voided, in the order of payment."""

from __future__ import annotations

from typing import Any

from prichal.domain.reports import Column, ReportParameters
from prichal.domain.reports import ColumnType as T

from .base import Snapshot, SqlExporter, report, sailing_filters
from .lines import ticket_lines


@report
class SalesRegister(SqlExporter):
    identifier = "sales_register"
    title = "Реестр продаж"
    description = "One row per ticket of the orders paid in the period: price, VAT, payment, refund."
    columns = (
        Column("order_number", "Заказ №", T.INT, 10),
        Column("sold_at", "Дата и время продажи", T.DATETIME),
        Column("departs_at", "Дата и время рейса", T.DATETIME),
        Column("sailing_id", "Рейс (ID)", T.TEXT, 38),
        Column("program", "Программа", T.TEXT, 28),
        Column("pier", "Причал", T.TEXT, 30),
        Column("seat", "Место", T.TEXT, 12),
        Column("tariff", "Тариф", T.TEXT, 20),
        Column("price", "Цена", T.MONEY, total=True),
        Column("vat_rate", "Ставка НДС", T.PERCENT),
        Column("vat_amount", "Сумма НДС", T.MONEY, total=True),
        Column("net_amount", "Сумма без НДС", T.MONEY, total=True),
        Column("payment_id", "Платёж (ID провайдера)", T.TEXT, 38),
        Column("payment_method", "Способ оплаты", T.TEXT, 14),
        Column("provider_fee", "Комиссия провайдера", T.MONEY, total=True),
        Column("refund_amount", "Возврат", T.MONEY, total=True),
        Column("refund_vat", "НДС возврата", T.MONEY, total=True),
        Column("refunded_at", "Дата возврата", T.DATETIME),
        Column("channel", "Канал продаж", T.TEXT, 14),
        Column("supplier", "Поставщик", T.TEXT, 16),
        Column("ticket_status", "Статус билета", T.TEXT, 12),
    )

    def count(self, db: Snapshot, params: ReportParameters) -> int | None:
        """The lines without their joins (progress needs the number, not the rows)."""
        filters, args = sailing_filters(params)
        return int(db.scalar(f"""
            SELECT count(*) FROM orders o JOIN order_items i ON i.order_id = o.id JOIN sailings s ON s.id = o.sailing_id
            WHERE o.paid_at >= %(starts_at)s AND o.paid_at < %(ends_at)s{filters}""",
            {"starts_at": params.starts_at, "ends_at": params.ends_at, **args}))

    def query(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        lines, args = ticket_lines(db, params)
        keys = ", ".join(column.key for column in self.columns)
        return f"SELECT {keys} FROM ({lines}) AS l ORDER BY paid_at_utc, order_number, item_position", args
