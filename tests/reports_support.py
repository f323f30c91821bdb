"""Sales written straight to the database for the report tests: orders with lines at chosen
moments and VAT rates, their payments, and refunds of chosen tickets."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, text

from prichal.adapters.db import tables as t
from prichal.domain.pricing import OrderLine
from prichal.domain.vat import VatRate


@dataclass
class Sale:
    order_id: str
    number: int
    lines: list[OrderLine]
    ticket_ids: list[str]
    payment_id: str
    provider_payment_id: str
    refunds: dict[int, Decimal] = field(default_factory=dict)  # position -> amount


def _scope(conn, tenant_id: str) -> None:
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def sell(owner_engine, demo, paid_at: datetime, lines: list[tuple[str, VatRate]], *, sailing_id: str | None = None,
         refunds: dict[int, str] | None = None, refunded_at: datetime | None = None) -> Sale:
    """A paid order on the demo's free sailing (or ``sailing_id``): ``lines`` of (price, rate);
    ``refunds`` maps a line's position (1-based) to the amount refunded for it."""
    sailing_id = sailing_id or next(s["id"] for s in demo.sailings if s["seating"] == "free")
    with owner_engine.begin() as conn:
        _scope(conn, demo.tenant_id)
        tariff_id = conn.execute(select(t.tariffs.c.id).where(t.tariffs.c.tenant_id == demo.tenant_id,
                                                              t.tariffs.c.program_id == demo.free_program_id)
                                 .limit(1)).scalar_one()
        number = (conn.execute(select(func.max(t.orders.c.number)).where(t.orders.c.tenant_id == demo.tenant_id))
                  .scalar() or 0) + 1
        token = f"report-{uuid.uuid4().hex}"
        conn.execute(t.seat_holds.insert().values(token=token, tenant_id=demo.tenant_id, sailing_id=sailing_id,
                                                  client_id="buyer", quantity=len(lines), status="ordered",
                                                  expires_at=paid_at + timedelta(minutes=15)))
        order_lines = [OrderLine(description=f"Билет {i}", price=Decimal(price), vat_rate=rate, ticket_type="adult",
                                 tariff_id=tariff_id) for i, (price, rate) in enumerate(lines, start=1)]
        refunds = {p: Decimal(a) for p, a in (refunds or {}).items()}
        order_id = conn.execute(t.orders.insert().values(
            tenant_id=demo.tenant_id, number=number, status="paid", sailing_id=sailing_id, hold_token=token,
            client_id="buyer", customer_name="Анна", customer_email="anna@example.test",
            total=sum(line.price for line in order_lines), vat_total=sum(line.vat for line in order_lines),
            access_token_hash=hashlib.sha256(token.encode()).hexdigest(), created_at=paid_at - timedelta(minutes=5),
            expires_at=paid_at + timedelta(minutes=10), paid_at=paid_at).returning(t.orders.c.id)).scalar_one()
        tickets = []
        for position, line in enumerate(order_lines, start=1):
            ticket_id = conn.execute(t.tickets.insert().values(
                tenant_id=demo.tenant_id, sailing_id=sailing_id, order_id=order_id, tariff_id=tariff_id,
                hold_token=token, status="refunded" if position in refunds else "sold").returning(t.tickets.c.id)
            ).scalar_one()
            tickets.append(ticket_id)
            conn.execute(t.order_items.insert().values(
                tenant_id=demo.tenant_id, order_id=order_id, ticket_id=ticket_id, position=position,
                tariff_id=tariff_id, ticket_type="adult", description=line.description, price=line.price,
                vat_rate=line.vat_rate.value, vat_amount=line.vat))
        provider_id = f"pay-{uuid.uuid4().hex[:12]}"
        payment_id = conn.execute(t.payments.insert().values(
            tenant_id=demo.tenant_id, order_id=order_id, provider="yookassa", provider_payment_id=provider_id,
            status="succeeded", amount=sum(line.price for line in order_lines), idempotence_key=uuid.uuid4().hex,
            created_at=paid_at - timedelta(minutes=1), updated_at=paid_at).returning(t.payments.c.id)).scalar_one()
        if refunds:
            at = refunded_at or paid_at + timedelta(hours=1)
            refund_id = conn.execute(t.refunds.insert().values(
                tenant_id=demo.tenant_id, order_id=order_id, payment_id=payment_id, status="succeeded",
                amount=sum(refunds.values()), reason="buyer", idempotence_key=uuid.uuid4().hex,
                provider_refund_id=f"ref-{uuid.uuid4().hex[:12]}", created_at=at, updated_at=at,
            ).returning(t.refunds.c.id)).scalar_one()
            if conn.execute(text("SELECT to_regclass('refund_items') IS NOT NULL")).scalar():  # the refunds module
                for position, amount in refunds.items():
                    line = order_lines[position - 1]
                    conn.execute(text(
                        "INSERT INTO refund_items (tenant_id, refund_id, order_id, ticket_id, price, fee, amount) "
                        "VALUES (:t, :r, :o, :ti, :p, :f, :a)"),
                        {"t": demo.tenant_id, "r": refund_id, "o": order_id, "ti": tickets[position - 1],
                         "p": line.price, "f": line.price - amount, "a": amount})
    return Sale(order_id, number, order_lines, tickets, payment_id, provider_id, refunds)


def set_vat_free(owner_engine, tenant_id: str) -> None:
    """A seller on the simplified tax system: no VAT from the start."""
    with owner_engine.begin() as conn:
        conn.execute(t.tenants.update().where(t.tenants.c.id == tenant_id).values(tax_system_code=2))
