"""Fixtures of the supplier tests: both operators' stub servers over HTTP on loopback, a
tenant with accounts at both, a paid order of an operator's sailing, a recording refund
service."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select, update

from prichal.adapters.db import tables as t
from prichal.adapters.suppliers.mapping import OPERATOR_ZONE
from prichal.domain.holds import Hold, HoldStatus
from prichal.domain.orders import Customer, Order, OrderItem, OrderStatus, TicketStatus
from prichal.domain.suppliers import Supplier
from prichal.domain.vat import PriceWithVat


class RecordingReversal:
    """Stands for the refund service: records what it was asked (and can fail)."""

    def __init__(self) -> None:
        self.refunds: list[tuple[str, str, str, str]] = []
        self.cancellations: list[tuple[str, str, str]] = []
        self.fail = False

    def refund_order(self, tenant_id: str, order_id: str, reason: str, idempotency_key: str) -> None:
        if self.fail:
            raise RuntimeError("refund service down")
        self.refunds.append((tenant_id, order_id, reason, idempotency_key))

    def cancel_sailing(self, tenant_id: str, sailing_id: str, reason: str) -> None:
        self.cancellations.append((tenant_id, sailing_id, reason))


def tomorrow(container) -> date:
    return container.now().astimezone(OPERATOR_ZONE).date() + timedelta(days=1)


def sync(container, tenant, supplier: Supplier, days: int = 1, start: date | None = None):
    first = start or tomorrow(container)
    with container.uow(tenant.id) as uow:
        account = uow.suppliers.account(supplier)
    return container.supplier_sync.sync(tenant.id, account, first, first + timedelta(days=days - 1))


def supplier_sailings(container, tenant, supplier: Supplier) -> list[Any]:
    with container.uow(tenant.id) as uow:
        return list(uow.conn.execute(
            select(t.sailings).where(t.sailings.c.supplier == supplier.value).order_by(t.sailings.c.departs_at)))


def paid_order(container, tenant, sailing_id: str, types=("adult", "child"), email="anna@example.test") -> Order:
    """A paid order of free-seating places on an operator's sailing, priced from its tariffs."""
    now = container.now()
    with container.uow(tenant.id) as uow:
        sailing = uow.catalog.sailing(sailing_id)
        tariffs = uow.catalog.tariffs([sailing.program_id])
        token = f"test-{uuid.uuid4().hex}"
        uow.holds.add(Hold(token=token, tenant_id=tenant.id, sailing_id=sailing_id, client_id="buyer", seat_ids=(),
                           quantity=len(types), status=HoldStatus.ORDERED, created_at=now,
                           expires_at=now + timedelta(minutes=15)))
        priced = []
        for ticket_type in types:
            tariff = next(x for x in tariffs if x.ticket_type == ticket_type)
            rate = tenant.vat_rate_on(now.date(), tariff.vat_rate)
            priced.append((tariff, rate, PriceWithVat.of(tariff.price, rate)))
        order_id = str(uuid.uuid4())
        order = Order(id=order_id, tenant_id=tenant.id, number=uow.orders.next_number(), status=OrderStatus.PAID,
                      sailing_id=sailing_id, hold_token=token, client_id="buyer",
                      customer=Customer("Анна Петрова", email, "+79990000000"),
                      total=sum(p.gross for _, _, p in priced), vat_total=sum(p.vat for _, _, p in priced),
                      currency="RUB", created_at=now, expires_at=now + timedelta(minutes=15), paid_at=now)
        uow.orders.add(order, hashlib.sha256(b"x").hexdigest())
        uow.orders.set_status(order_id, OrderStatus.PAID, now)
        for position, (tariff, rate, price) in enumerate(priced, start=1):
            ticket_id = uow.orders.add_ticket(order_id, sailing_id, None, tariff.id, token, TicketStatus.SOLD)
            uow.orders.add_item(order_id, OrderItem(
                id=str(uuid.uuid4()), ticket_id=ticket_id, position=position, seat_id=None, tariff_id=tariff.id,
                ticket_type=tariff.ticket_type, description=f"{sailing.program_name}, {tariff.name}",
                price=tariff.price, vat_rate=rate, vat_amount=price.vat))
        uow.conn.execute(update(t.sailings).where(t.sailings.c.id == sailing_id)
                         .values(places_sold=t.sailings.c.places_sold + len(types)))
        uow.commit()
    with container.uow(tenant.id) as uow:
        return uow.orders.get(order_id)


def paid_seat_order(container, tenant, sailing_id: str, seat_ids: list[str], ticket_type: str = "adult") -> Order:
    """A paid order of seats of an assigned-seating operator's sailing (tickets sold)."""
    now = container.now()
    with container.uow(tenant.id) as uow:
        sailing = uow.catalog.sailing(sailing_id)
        tariff = next(x for x in uow.catalog.tariffs([sailing.program_id]) if x.ticket_type == ticket_type)
        rate = tenant.vat_rate_on(now.date(), tariff.vat_rate)
        price = PriceWithVat.of(tariff.price, rate)
        token = f"test-{uuid.uuid4().hex}"
        uow.holds.add(Hold(token=token, tenant_id=tenant.id, sailing_id=sailing_id, client_id="buyer",
                           seat_ids=tuple(seat_ids), quantity=len(seat_ids), status=HoldStatus.ORDERED,
                           created_at=now, expires_at=now + timedelta(minutes=15)))
        order_id = str(uuid.uuid4())
        order = Order(id=order_id, tenant_id=tenant.id, number=uow.orders.next_number(), status=OrderStatus.PAID,
                      sailing_id=sailing_id, hold_token=token, client_id="buyer",
                      customer=Customer("Анна Петрова", "anna@example.test", "+79990000000"),
                      total=price.gross * len(seat_ids), vat_total=price.vat * len(seat_ids), currency="RUB",
                      created_at=now, expires_at=now + timedelta(minutes=15), paid_at=now)
        uow.orders.add(order, hashlib.sha256(b"x").hexdigest())
        uow.orders.set_status(order_id, OrderStatus.PAID, now)
        for position, seat_id in enumerate(seat_ids, start=1):
            ticket_id = uow.orders.add_ticket(order_id, sailing_id, seat_id, tariff.id, token, TicketStatus.SOLD)
            uow.orders.add_item(order_id, OrderItem(
                id=str(uuid.uuid4()), ticket_id=ticket_id, position=position, seat_id=seat_id, tariff_id=tariff.id,
                ticket_type=tariff.ticket_type, description=f"{sailing.program_name}, {tariff.name}",
                price=tariff.price, vat_rate=rate, vat_amount=price.vat))
        uow.commit()
    with container.uow(tenant.id) as uow:
        return uow.orders.get(order_id)


def paid_event(order: Order) -> dict:
    return {"id": str(uuid.uuid4()), "type": "order.paid", "version": 1, "tenant": order.tenant_id,
            "occurred_at": order.paid_at.isoformat(),
            "data": {"order_id": order.id, "number": order.number, "total": str(order.total), "currency": "RUB",
                     "sailing_id": order.sailing_id}}


def refunded_event(order: Order, fully: bool = True) -> dict:
    return {"id": str(uuid.uuid4()), "type": "order.refunded", "version": 1, "tenant": order.tenant_id,
            "occurred_at": order.paid_at.isoformat(),
            "data": {"order_id": order.id, "number": order.number, "refund_id": str(uuid.uuid4()),
                     "sailing_id": order.sailing_id, "amount": str(order.total),
                     "tickets": [{"ticket_id": i.ticket_id, "amount": str(i.price)} for i in order.items],
                     "reason": "buyer", "fully_refunded": fully}}


def supplier_order(container, tenant, order_id: str) -> Any:
    with container.uow(tenant.id) as uow:
        return uow.suppliers.order(order_id)


def order_log(container, tenant, order_id: str) -> list[str]:
    with container.uow(tenant.id) as uow:
        return [row["action"] for row in uow.log.for_order(order_id)]
