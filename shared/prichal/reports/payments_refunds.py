"""Payments and refunds: one row per money movement, as finance reconciles it with the
provider's registry (YooKassa ids and states). ``net`` is what reached or left the seller:
a succeeded payment adds its amount, a succeeded refund takes its amount away."""

from __future__ import annotations

from typing import Any

from prichal.domain.reports import Column, ReportParameters
from prichal.domain.reports import ColumnType as T

from .base import Snapshot, SqlExporter, report, sailing_filters


@report
class PaymentsAndRefunds(SqlExporter):
    identifier = "payments_refunds"
    title = "Платежи и возвраты"
    description = "One row per payment or refund created in the period, with provider ids and states."
    columns = (
        Column("kind", "Операция", T.TEXT, 10),
        Column("created_at", "Создан", T.DATETIME),
        Column("updated_at", "Изменён", T.DATETIME),
        Column("order_number", "Заказ №", T.INT, 10),
        Column("provider", "Провайдер", T.TEXT, 12),
        Column("provider_id", "ID у провайдера", T.TEXT, 38),
        Column("payment_provider_id", "ID платежа", T.TEXT, 38),
        Column("status", "Статус", T.TEXT, 14),
        Column("amount", "Сумма", T.MONEY),
        Column("net", "Движение денег", T.MONEY, total=True),
        Column("reason", "Причина", T.TEXT, 30),
    )

    def query(self, db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
        filters, args = sailing_filters(params)
        return f"""
        SELECT kind, created_at, updated_at, order_number, provider, provider_id, payment_provider_id, status,
               amount, net, reason
        FROM (
          SELECT 'payment' AS kind, p.created_at AS at,
                 date_trunc('second', p.created_at AT TIME ZONE %(tz)s) AS created_at,
                 date_trunc('second', p.updated_at AT TIME ZONE %(tz)s) AS updated_at,
                 o.number AS order_number, p.provider, p.provider_payment_id AS provider_id,
                 p.provider_payment_id AS payment_provider_id, p.status, p.amount,
                 CASE WHEN p.status = 'succeeded' THEN p.amount ELSE 0.00 END AS net, p.cancellation_reason AS reason
          FROM payments p JOIN orders o ON o.id = p.order_id JOIN sailings s ON s.id = o.sailing_id
          WHERE p.created_at >= %(starts_at)s AND p.created_at < %(ends_at)s{filters}
          UNION ALL
          SELECT 'refund', r.created_at,
                 date_trunc('second', r.created_at AT TIME ZONE %(tz)s),
                 date_trunc('second', r.updated_at AT TIME ZONE %(tz)s),
                 o.number, p.provider, r.provider_refund_id, p.provider_payment_id, r.status, r.amount,
                 CASE WHEN r.status = 'succeeded' THEN -r.amount ELSE 0.00 END, r.reason
          FROM refunds r JOIN payments p ON p.id = r.payment_id JOIN orders o ON o.id = r.order_id
          JOIN sailings s ON s.id = o.sailing_id
          WHERE r.created_at >= %(starts_at)s AND r.created_at < %(ends_at)s{filters}
        ) AS movements ORDER BY at, order_number, kind""", {
            "tz": params.timezone, "starts_at": params.starts_at, "ends_at": params.ends_at, **args}
