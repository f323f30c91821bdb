"""Refunds, their items (one per refunded ticket) and sailing cancellations."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from prichal.domain.orders import OrderStatus

from .tables import orders, payments, refund_items, refunds, sailing_cancellations, sailings

REFUNDABLE_ORDER = (OrderStatus.PAID.value, OrderStatus.PARTIALLY_REFUNDED.value)


class RefundRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- refunds -------------------------------------------------------------------------
    def add(self, *, refund_id: str, order_id: str, payment_id: str, amount: Decimal, reason: str, kind: str,
            actor: str, idempotence_key: str, idempotency_key: str | None, request_hash: str | None,
            decision: dict[str, Any], receipt: dict[str, Any] | None) -> None:
        self.conn.execute(refunds.insert().values(
            id=refund_id, tenant_id=self.tenant_id, order_id=order_id, payment_id=payment_id, status="requested",
            amount=amount, reason=reason, kind=kind, actor=actor, idempotence_key=idempotence_key,
            idempotency_key=idempotency_key, request_hash=request_hash, decision=decision, receipt=receipt))

    def add_item(self, refund_id: str, order_id: str, ticket_id: str, price: Decimal, fee: Decimal,
                 amount: Decimal, basis: dict[str, Any]) -> None:
        self.conn.execute(refund_items.insert().values(
            tenant_id=self.tenant_id, refund_id=refund_id, order_id=order_id, ticket_id=ticket_id, price=price,
            fee=fee, amount=amount, basis=basis))

    def get(self, refund_id: str) -> Any | None:
        return self.conn.execute(select(refunds).where(refunds.c.id == refund_id)).first()

    def by_idempotency_key(self, key: str) -> Any | None:
        return self.conn.execute(select(refunds).where(refunds.c.idempotency_key == key)).first()

    def for_order(self, order_id: str) -> list[Any]:
        return list(self.conn.execute(select(refunds).where(refunds.c.order_id == order_id)
                                      .order_by(refunds.c.created_at, refunds.c.id)))

    def items(self, refund_id: str) -> list[Any]:
        return list(self.conn.execute(select(refund_items).where(refund_items.c.refund_id == refund_id)
                                      .order_by(refund_items.c.ticket_id)))

    def refunded_tickets(self, order_id: str) -> dict[str, Any]:
        rows = self.conn.execute(select(refund_items).where(refund_items.c.order_id == order_id))
        return {row.ticket_id: row for row in rows}

    def to_send(self, refund_id: str, for_update: bool = False) -> Any | None:
        """A requested refund with what the provider call needs (its payment's account)."""
        query = (select(refunds, payments.c.provider_payment_id, payments.c.provider, payments.c.shop_id,
                        payments.c.secret_name, payments.c.api_url)
                 .join(payments, payments.c.id == refunds.c.payment_id).where(refunds.c.id == refund_id))
        if for_update:
            query = query.with_for_update(of=refunds)
        return self.conn.execute(query).first()

    def attempted(self, refund_id: str, error: str | None) -> None:
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id).values(
            attempts=refunds.c.attempts + 1, last_error=error, updated_at=func.now()))

    def sent(self, refund_id: str, provider_refund_id: str, status: str, at: datetime) -> None:
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id, refunds.c.status == "requested").values(
            provider_refund_id=provider_refund_id, status=status, sent_at=at, attempts=refunds.c.attempts + 1,
            last_error=None, updated_at=func.now()))

    def failed(self, refund_id: str, error: str) -> None:
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id, refunds.c.status == "requested").values(
            status="failed", last_error=error, attempts=refunds.c.attempts + 1, updated_at=func.now()))

    def settle(self, provider_refund_id: str, status: str, error: str | None = None) -> Any | None:
        """Move a sent refund forward (pending -> succeeded | canceled); a repeat or a stale
        state changes nothing. Returns the row when it moved."""
        values: dict[str, Any] = {"status": status, "updated_at": func.now()}
        if error:
            values["last_error"] = error
        allowed = ["requested", "pending"] if status in ("succeeded", "canceled") else ["requested"]
        return self.conn.execute(update(refunds).where(
            refunds.c.provider_refund_id == provider_refund_id, refunds.c.status.in_(allowed))
            .values(**values).returning(*refunds.c)).first()

    def by_provider_id(self, provider_refund_id: str) -> Any | None:
        return self.conn.execute(select(refunds).where(refunds.c.provider_refund_id == provider_refund_id)).first()

    def unsettled(self, before: datetime, limit: int) -> list[Any]:
        """Refunds never accepted by the provider (requested) or not final yet (pending)."""
        return list(self.conn.execute(
            select(refunds.c.id, refunds.c.status, refunds.c.provider_refund_id, refunds.c.order_id)
            .where(refunds.c.status.in_(("requested", "pending")), refunds.c.updated_at <= before)
            .order_by(refunds.c.created_at).limit(limit)))

    def email_due(self, limit: int) -> list[str]:
        return list(self.conn.execute(
            select(refunds.c.id).where(refunds.c.email_sent_at.is_(None),
                                       refunds.c.kind.in_(("buyer", "agent", "sailing_canceled")))
            .order_by(refunds.c.created_at).limit(limit)).scalars())

    def email_sent(self, refund_id: str, at: datetime) -> None:
        self.conn.execute(update(refunds).where(refunds.c.id == refund_id).values(email_sent_at=at))

    # --- sailing cancellations -------------------------------------------------------------
    def cancellation(self, sailing_id: str, for_update: bool = False) -> Any | None:
        query = select(sailing_cancellations).where(sailing_cancellations.c.sailing_id == sailing_id)
        if for_update:
            query = query.with_for_update()
        return self.conn.execute(query).first()

    def running_cancellations(self) -> list[str]:
        return list(self.conn.execute(select(sailing_cancellations.c.sailing_id)
                                      .where(sailing_cancellations.c.status == "running")).scalars())

    def start_cancellation(self, sailing_id: str, reason: str, canceled_by: str) -> None:
        self.conn.execute(sailing_cancellations.insert().values(
            tenant_id=self.tenant_id, sailing_id=sailing_id, reason=reason, canceled_by=canceled_by))
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(status="cancelled"))

    def record_progress(self, sailing_id: str, total: int, refunded: int, done: bool, at: datetime) -> None:
        values: dict[str, Any] = {"total": total, "refunded": refunded, "updated_at": func.now()}
        if done:
            values.update(status="done", finished_at=at)
        self.conn.execute(update(sailing_cancellations).where(sailing_cancellations.c.sailing_id == sailing_id)
                          .values(**values))

    def orders_to_cancel(self, sailing_id: str, limit: int) -> list[str]:
        """Paid orders of the sailing still holding live tickets, locked; rows another worker
        holds are skipped (two runs never refund the same order at once)."""
        return list(self.conn.execute(
            select(orders.c.id).where(orders.c.sailing_id == sailing_id, orders.c.status.in_(REFUNDABLE_ORDER))
            .order_by(orders.c.number).limit(limit).with_for_update(skip_locked=True)).scalars())

    def cancellation_counts(self, sailing_id: str) -> tuple[int, int, int]:
        """(refunded by the cancellation, still to refund, unpaid orders still open)."""
        done = self.conn.execute(
            select(func.count()).select_from(refunds).join(orders, orders.c.id == refunds.c.order_id)
            .where(orders.c.sailing_id == sailing_id, refunds.c.kind == "sailing_canceled")).scalar_one()
        left = self.conn.execute(select(func.count()).select_from(orders).where(
            orders.c.sailing_id == sailing_id, orders.c.status.in_(REFUNDABLE_ORDER))).scalar_one()
        unpaid = self.conn.execute(select(func.count()).select_from(orders).where(
            orders.c.sailing_id == sailing_id, orders.c.status == OrderStatus.AWAITING_PAYMENT.value)).scalar_one()
        return done, left, unpaid

    def unsent_of_sailing(self, sailing_id: str) -> list[str]:
        return list(self.conn.execute(
            select(refunds.c.id).join(orders, orders.c.id == refunds.c.order_id)
            .where(orders.c.sailing_id == sailing_id, refunds.c.status == "requested")).scalars())

    # --- revocations ---------------------------------------------------------------------------
    def revoked_tickets(self, sailing_id: str | None, since: datetime | None, limit: int) -> list[Any]:
        query = (select(refund_items.c.ticket_id, refund_items.c.created_at, orders.c.sailing_id)
                 .join(orders, orders.c.id == refund_items.c.order_id)
                 .order_by(refund_items.c.created_at, refund_items.c.ticket_id).limit(limit))
        if sailing_id:
            query = query.where(orders.c.sailing_id == sailing_id)
        if since:
            query = query.where(refund_items.c.created_at > since)
        return list(self.conn.execute(query))
