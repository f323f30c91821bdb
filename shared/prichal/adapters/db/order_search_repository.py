"""Order search: ``prichal_search_orders`` for the fragments, the RLS tables for exact ids.

The search function (migration 0016) answers names, e-mails and phones from the
``order_search`` projection with its trigram indexes; tickets and payments are resolved to
orders here by equality on the RLS tables (equality is leakproof, so those use their indexes).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, select, text

from prichal.domain.order_search import OrderSummary

from .tables import documents, order_items, orders, payments, sailings, tickets

_SEARCH = text("SELECT order_id::text AS order_id, number FROM prichal_search_orders("
               "CAST(:criteria AS jsonb), :before, :limit) ORDER BY number DESC")


class OrderSearchRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def search(self, criteria: dict[str, Any], before: int | None, limit: int) -> list[tuple[str, int]]:
        """(id, number) of matching orders of the current tenant, newest (highest number) first."""
        rows = self.conn.execute(_SEARCH, {"criteria": json.dumps(criteria), "before": before, "limit": limit})
        return [(row.order_id, row.number) for row in rows]

    def order_ids_by_number(self, number: int) -> list[str]:
        return list(self.conn.execute(select(orders.c.id).where(orders.c.number == number)).scalars())

    def order_ids_by_id(self, order_id: str) -> list[str]:
        return list(self.conn.execute(select(orders.c.id).where(orders.c.id == order_id)).scalars())

    def order_ids_by_ticket(self, ticket_id: str) -> list[str]:
        return [i for i in self.conn.execute(select(tickets.c.order_id).where(tickets.c.id == ticket_id)).scalars()
                if i is not None]

    def order_ids_by_ticket_number(self, year: int, number: int) -> list[str]:
        return list(self.conn.execute(select(documents.c.order_id).where(
            documents.c.kind == "ticket", documents.c.year == year, documents.c.number == number)).scalars())

    def order_ids_by_payment(self, payment_id: str, ours: bool) -> list[str]:
        column = payments.c.id if ours else payments.c.provider_payment_id
        return list(self.conn.execute(select(payments.c.order_id).where(column == payment_id)).scalars())

    def summaries(self, order_ids: Sequence[str]) -> list[OrderSummary]:
        """The rows of a result page, in the order of ``order_ids``."""
        if not order_ids:
            return []
        count = (select(func.count()).where(order_items.c.order_id == orders.c.id)
                 .correlate(orders).scalar_subquery())
        rows = self.conn.execute(
            select(orders.c.id, orders.c.number, orders.c.status, orders.c.created_at, orders.c.customer_name,
                   orders.c.customer_email, orders.c.customer_phone, orders.c.total, orders.c.currency,
                   orders.c.sailing_id, sailings.c.departs_at, count.label("tickets"), orders.c.needs_attention)
            .select_from(orders.outerjoin(sailings, sailings.c.id == orders.c.sailing_id))
            .where(orders.c.id.in_(list(order_ids))))
        found = {row.id: OrderSummary(**row._mapping) for row in rows}
        return [found[i] for i in order_ids if i in found]
