"""Orders, their items and tickets, and the per-tenant order number."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.boarding import BoardingTicket
from prichal.domain.catalog import SailingStatus
from prichal.domain.inventory import TicketRow
from prichal.domain.orders import Customer, Order, OrderItem, OrderStatus, TicketStatus
from prichal.domain.vat import VatRate

from .tables import order_items, order_numbers, orders, sailings, tickets


def _order(row: Any, items: tuple[OrderItem, ...] = ()) -> Order:
    return Order(
        id=row.id, tenant_id=row.tenant_id, number=row.number, status=OrderStatus(row.status),
        sailing_id=row.sailing_id, hold_token=row.hold_token, client_id=row.client_id,
        customer=Customer(row.customer_name, row.customer_email, row.customer_phone),
        total=row.total, vat_total=row.vat_total, currency=row.currency, created_at=row.created_at,
        expires_at=row.expires_at, paid_at=row.paid_at, needs_attention=row.needs_attention,
        return_url=row.return_url, idempotency_key=row.idempotency_key, request_hash=row.request_hash, items=items,
        refunded_total=row.refunded_total,
    )


class OrderRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def next_number(self) -> int:
        """The next order number of this tenant. The counter row stays locked until the
        transaction ends, so numbers are consecutive and a rolled-back order frees its own."""
        statement = insert(order_numbers).values(tenant_id=self.tenant_id, last_number=1)
        statement = statement.on_conflict_do_update(
            index_elements=[order_numbers.c.tenant_id], set_={"last_number": order_numbers.c.last_number + 1})
        return self.conn.execute(statement.returning(order_numbers.c.last_number)).scalar_one()

    def add(self, order: Order, access_token_hash: str) -> None:
        self.conn.execute(orders.insert().values(
            id=order.id, tenant_id=self.tenant_id, number=order.number, status=order.status.value,
            sailing_id=order.sailing_id, hold_token=order.hold_token, client_id=order.client_id,
            customer_name=order.customer.name, customer_email=order.customer.email,
            customer_phone=order.customer.phone, total=order.total, vat_total=order.vat_total,
            currency=order.currency, access_token_hash=access_token_hash, idempotency_key=order.idempotency_key,
            request_hash=order.request_hash, return_url=order.return_url, created_at=order.created_at,
            expires_at=order.expires_at))

    def add_ticket(self, order_id: str, sailing_id: str, seat_id: str | None, tariff_id: str, hold_token: str,
                   status: TicketStatus) -> str:
        """One ticket; the unique index on live seat tickets refuses a seat sold twice."""
        return self.conn.execute(tickets.insert().values(
            tenant_id=self.tenant_id, sailing_id=sailing_id, seat_id=seat_id, tariff_id=tariff_id,
            hold_token=hold_token, order_id=order_id, status=status.value).returning(tickets.c.id)).scalar_one()

    def add_item(self, order_id: str, item: OrderItem) -> None:
        self.conn.execute(order_items.insert().values(
            id=item.id, tenant_id=self.tenant_id, order_id=order_id, ticket_id=item.ticket_id,
            position=item.position, seat_id=item.seat_id, tariff_id=item.tariff_id, ticket_type=item.ticket_type,
            description=item.description, price=item.price, vat_rate=item.vat_rate.value,
            vat_amount=item.vat_amount))

    def get(self, order_id: str, for_update: bool = False) -> Order | None:
        query = select(orders).where(orders.c.id == order_id)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _order(row, self.items(order_id)) if row else None

    def access_token_hash(self, order_id: str) -> str | None:
        return self.conn.execute(select(orders.c.access_token_hash).where(orders.c.id == order_id)).scalar()

    def by_idempotency_key(self, key: str) -> Order | None:
        row = self.conn.execute(select(orders).where(orders.c.idempotency_key == key).with_for_update()).first()
        return _order(row, self.items(row.id)) if row else None

    def items(self, order_id: str) -> tuple[OrderItem, ...]:
        rows = self.conn.execute(select(order_items).where(order_items.c.order_id == order_id)
                                 .order_by(order_items.c.position))
        return tuple(
            OrderItem(id=r.id, ticket_id=r.ticket_id, position=r.position, seat_id=r.seat_id, tariff_id=r.tariff_id,
                      ticket_type=r.ticket_type, description=r.description, price=r.price,
                      vat_rate=VatRate(r.vat_rate), vat_amount=r.vat_amount)
            for r in rows)

    def set_status(self, order_id: str, status: OrderStatus, at: datetime,
                   needs_attention: str | None = None) -> None:
        values: dict[str, Any] = {"status": status.value}
        if status is OrderStatus.PAID:
            values["paid_at"] = at
        else:
            values["closed_at"] = at
        if needs_attention is not None:
            values["needs_attention"] = needs_attention
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(**values))

    def add_refunded(self, order_id: str, amount: Decimal) -> bool:
        """Count a refund against the order; ``False`` if it would pass the paid total (the
        CHECK ``refunded_total <= total`` is the guarantee; this asks first)."""
        done = self.conn.execute(update(orders).where(
            orders.c.id == order_id, orders.c.refunded_total + amount <= orders.c.total)
            .values(refunded_total=orders.c.refunded_total + amount).returning(orders.c.id)).first()
        return done is not None

    def flag(self, order_id: str, reason: str) -> None:
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(needs_attention=reason))

    def extend(self, order_id: str, expires_at: datetime) -> None:
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(expires_at=expires_at))

    def set_ticket_status(self, order_id: str, status: TicketStatus) -> None:
        self.conn.execute(update(tickets).where(tickets.c.order_id == order_id).values(status=status.value))

    def tickets(self, order_id: str, for_update: bool = False) -> list[TicketRow]:
        """The order's tickets, locked in id order when asked."""
        query = select(tickets.c.id, tickets.c.order_id, tickets.c.seat_id, tickets.c.status,
                       tickets.c.boarded_at).where(tickets.c.order_id == order_id).order_by(tickets.c.id)
        if for_update:
            query = query.with_for_update()
        return [TicketRow(r.id, r.order_id, r.seat_id, TicketStatus(r.status), r.boarded_at)
                for r in self.conn.execute(query)]

    def set_tickets_status(self, ticket_ids: list[str], status: TicketStatus) -> None:
        self.conn.execute(update(tickets).where(tickets.c.id.in_(ticket_ids)).values(status=status.value))

    def board_ticket(self, ticket_id: str, at: datetime) -> bool:
        """Mark a sold ticket used; ``False`` when it is not (any more) sold or already used."""
        done = self.conn.execute(update(tickets).where(
            tickets.c.id == ticket_id, tickets.c.status == TicketStatus.SOLD.value, tickets.c.boarded_at.is_(None))
            .values(boarded_at=at).returning(tickets.c.id)).first()
        return done is not None

    def boarding_ticket(self, ticket_id: str, for_update: bool = False) -> BoardingTicket | None:
        """A ticket of an order with what the gangway shows (``for_update``: the ticket row locked)."""
        query = (select(tickets.c.id, tickets.c.order_id, orders.c.number, tickets.c.sailing_id, sailings.c.departs_at,
                        sailings.c.status.label("sailing_status"), tickets.c.seat_id, order_items.c.ticket_type,
                        order_items.c.description,
                        orders.c.customer_name, tickets.c.status, tickets.c.boarded_at)
                 .select_from(tickets.join(orders, orders.c.id == tickets.c.order_id)
                              .join(order_items, (order_items.c.order_id == tickets.c.order_id)
                                    & (order_items.c.ticket_id == tickets.c.id))
                              .join(sailings, sailings.c.id == tickets.c.sailing_id))
                 .where(tickets.c.id == ticket_id))
        row = self.conn.execute(query.with_for_update(of=tickets) if for_update else query).first()
        if row is None:
            return None
        return BoardingTicket(row.id, row.order_id, row.number, row.sailing_id, row.departs_at,
                              SailingStatus(row.sailing_status), row.seat_id,
                              row.ticket_type, row.description, row.customer_name, TicketStatus(row.status),
                              row.boarded_at)

    def boarding_counts(self, sailing_id: str) -> dict[str, int]:
        """A sailing's sold tickets, and how many of them boarded."""
        row = self.conn.execute(select(
            func.count().label("sold"), func.count().filter(tickets.c.boarded_at.is_not(None)).label("boarded"))
            .where(tickets.c.sailing_id == sailing_id, tickets.c.status == TicketStatus.SOLD.value)).one()
        return {"sold": row.sold, "boarded": row.boarded}

    def due_for_expiry(self, now: datetime, limit: int) -> list[str]:
        """Unpaid orders past their expiry, locked; rows another worker holds are skipped."""
        return list(self.conn.execute(
            select(orders.c.id).where(orders.c.status == OrderStatus.AWAITING_PAYMENT.value,
                                      orders.c.expires_at <= now)
            .order_by(orders.c.expires_at).limit(limit).with_for_update(skip_locked=True)).scalars())
