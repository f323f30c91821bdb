"""Orders written straight into the database for CRM tests (search, card, actions).

The checkout path has its own tests; these need many orders with chosen names, phones,
statuses and times, fast. Written as the owner with the tenant scope set, as the seed does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select, text
from sqlalchemy.dialects.postgresql import insert

from prichal.adapters.db import tables as t


@dataclass
class PlacedOrder:
    id: str
    number: int
    ticket_ids: list[str] = field(default_factory=list)
    payment_id: str | None = None
    provider_payment_id: str | None = None


def free_sailing_of(demo) -> str:
    return next(s["id"] for s in demo.sailings if s["seating"] == "free")


def place_order(engine: Engine, demo, *, name: str = "Иванова Мария", email: str | None = "maria@example.test",
                phone: str | None = "+79215551234", status: str = "paid", tickets: int = 1,
                created_at: datetime | None = None, sailing_id: str | None = None,
                needs_attention: str | None = None, price: Decimal = Decimal("1500.00")) -> PlacedOrder:
    sailing = sailing_id or free_sailing_of(demo)
    now = created_at or datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": demo.tenant_id})
        tariff = conn.execute(select(t.tariffs.c.id, t.tariffs.c.ticket_type).where(
            t.tariffs.c.program_id == select(t.sailings.c.program_id).where(t.sailings.c.id == sailing)
            .scalar_subquery()).limit(1)).first()
        number = conn.execute(insert(t.order_numbers).values(tenant_id=demo.tenant_id, last_number=1)
                              .on_conflict_do_update(index_elements=[t.order_numbers.c.tenant_id],
                                                     set_={"last_number": t.order_numbers.c.last_number + 1})
                              .returning(t.order_numbers.c.last_number)).scalar_one()
        token = f"crm-test-{uuid.uuid4().hex}"
        conn.execute(t.seat_holds.insert().values(token=token, tenant_id=demo.tenant_id, sailing_id=sailing,
                                                  client_id="crm-test", quantity=tickets, status="ordered",
                                                  expires_at=now + timedelta(minutes=15)))
        order_id = str(uuid.uuid4())
        total = price * tickets
        vat = (total * Decimal(22) / Decimal(122)).quantize(Decimal("0.01"))
        conn.execute(t.orders.insert().values(
            id=order_id, tenant_id=demo.tenant_id, number=number, status=status, sailing_id=sailing,
            hold_token=token, client_id="crm-test", customer_name=name, customer_email=email,
            customer_phone=phone, total=total, vat_total=vat, access_token_hash="x", created_at=now,
            expires_at=now + timedelta(minutes=15), paid_at=now if status in ("paid", "refunded") else None,
            needs_attention=needs_attention))
        placed = PlacedOrder(order_id, number)
        live = {"paid": "sold", "awaiting_payment": "reserved", "refunded": "refunded"}.get(status, "cancelled")
        for position in range(1, tickets + 1):
            ticket_id = conn.execute(t.tickets.insert().values(
                tenant_id=demo.tenant_id, sailing_id=sailing, order_id=order_id, tariff_id=tariff.id,
                hold_token=token, status=live).returning(t.tickets.c.id)).scalar_one()
            placed.ticket_ids.append(ticket_id)
            conn.execute(t.order_items.insert().values(
                tenant_id=demo.tenant_id, order_id=order_id, ticket_id=ticket_id, position=position,
                tariff_id=tariff.id, ticket_type=tariff.ticket_type, description="Прогулка", price=price,
                vat_rate="22", vat_amount=(price * Decimal(22) / Decimal(122)).quantize(Decimal("0.01"))))
        placed.provider_payment_id = f"pay-{uuid.uuid4().hex[:12]}"
        placed.payment_id = conn.execute(t.payments.insert().values(
            tenant_id=demo.tenant_id, order_id=order_id, provider="mock",
            provider_payment_id=placed.provider_payment_id,
            status="succeeded" if status in ("paid", "refunded") else "pending", amount=total,
            idempotence_key=uuid.uuid4().hex).returning(t.payments.c.id)).scalar_one()
        conn.execute(t.order_log.insert().values(tenant_id=demo.tenant_id, order_id=order_id, entity="order",
                                                 entity_id=order_id, action="order.created", actor="buyer", data={}))
    return placed
