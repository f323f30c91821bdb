"""The ticket lines every sales report is built from: one row per ticket of a paid order.

Sold, refunded or voided, each line carries its price, VAT, the payment and the refund of
that ticket. Refunds per ticket come from ``refund_items`` (the refunds module, migration
0009) when that table exists; before it, an order's succeeded refunds are spread over its
refunded tickets in order (each up to its price), so the sums still match the refunds.

Times are the tenant's wall-clock times (``AT TIME ZONE``), to the second; the period is
by the moment of payment.
"""

from __future__ import annotations

from typing import Any

from prichal.domain.reports import ReportParameters

from .base import Snapshot, sailing_filters

PERCENT = "CASE WHEN i.vat_rate = 'none' THEN NULL ELSE split_part(i.vat_rate, '/', 1)::numeric END"

_REFUNDS_BY_ITEMS = """
    SELECT ri.ticket_id, sum(ri.amount) AS amount, max(rf.updated_at) AS at
    FROM refund_items ri JOIN refunds rf ON rf.id = ri.refund_id
    WHERE rf.status = 'succeeded' GROUP BY ri.ticket_id"""

_REFUNDS_SPREAD = """
    SELECT i2.ticket_id, ro.at,
           least(i2.price, greatest(ro.amount - coalesce(sum(i2.price) OVER (
               PARTITION BY i2.order_id ORDER BY i2.position ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING),
               0), 0)) AS amount
    FROM (SELECT order_id, sum(amount) AS amount, max(updated_at) AS at FROM refunds
          WHERE status = 'succeeded' GROUP BY order_id) ro
    JOIN order_items i2 ON i2.order_id = ro.order_id
    JOIN tickets t2 ON t2.id = i2.ticket_id AND t2.status = 'refunded'"""


def ticket_lines(db: Snapshot, params: ReportParameters) -> tuple[str, dict[str, Any]]:
    """The SELECT of the ticket lines, columns named as the sales register's keys."""
    refunds = _REFUNDS_BY_ITEMS if db.has_table("refund_items") else _REFUNDS_SPREAD
    filters, args = sailing_filters(params)
    sql = f"""
    SELECT o.number AS order_number,
           date_trunc('second', o.paid_at AT TIME ZONE %(tz)s) AS sold_at,
           date_trunc('second', s.departs_at AT TIME ZONE %(tz)s) AS departs_at,
           s.id::text AS sailing_id,
           pr.name AS program,
           pi.name AS pier,
           i.seat_id AS seat,
           coalesce(tf.name, i.ticket_type) AS tariff,
           i.price AS price,
           {PERCENT} AS vat_rate,
           i.vat_amount AS vat_amount,
           i.price - i.vat_amount AS net_amount,
           pay.provider_payment_id AS payment_id,
           pay.provider AS payment_method,
           NULL::numeric(12, 2) AS provider_fee,
           r.amount AS refund_amount,
           CASE WHEN r.amount IS NULL OR {PERCENT} IS NULL THEN r.amount * 0
                ELSE round(r.amount * {PERCENT} / (100 + {PERCENT}), 2) END AS refund_vat,
           date_trunc('second', r.at AT TIME ZONE %(tz)s) AS refunded_at,
           'storefront' AS channel,
           s.supplier AS supplier,
           t.status AS ticket_status,
           i.vat_rate AS vat_rate_value,
           o.paid_at AS paid_at_utc,
           i.position AS item_position
    FROM orders o
    JOIN order_items i ON i.order_id = o.id
    JOIN tickets t ON t.id = i.ticket_id
    JOIN sailings s ON s.id = o.sailing_id
    JOIN programs pr ON pr.id = s.program_id
    JOIN piers pi ON pi.id = s.pier_id
    LEFT JOIN tariffs tf ON tf.id = i.tariff_id
    LEFT JOIN (SELECT DISTINCT ON (order_id) order_id, provider_payment_id, provider FROM payments
               WHERE status = 'succeeded' ORDER BY order_id, updated_at DESC) pay ON pay.order_id = o.id
    LEFT JOIN ({refunds}) r ON r.ticket_id = i.ticket_id
    WHERE o.paid_at >= %(starts_at)s AND o.paid_at < %(ends_at)s{filters}"""
    return sql, {"tz": params.timezone, "starts_at": params.starts_at, "ends_at": params.ends_at, **args}
