"""Sailing cancellation: 200 paid orders of one sailing, the run interrupted midway (a crash
after a refund committed and before it was sent) and resumed — every order is refunded
exactly once, in full, with one provider refund each; sales stop; progress is readable."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update

from prichal.adapters.db import tables as t
from prichal.domain.errors import InvalidInput, SalesClosed
from prichal.domain.holds import Hold, HoldStatus
from prichal.domain.orders import (
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    Payment,
    PaymentAccount,
    PaymentStatus,
    TicketStatus,
)
from prichal.domain.vat import VatRate
from prichal.services.holds import HoldRequest
from prichal.services.refunds import SystemActor
from tests.integration import test_payment_settlement as settlement
from tests.integration.test_payment_settlement import _control
from tests.support import call

fake_yookassa = settlement.fake_yookassa
shop = settlement.shop
ORDERS = 200


def _free_sailing(demo) -> str:
    return next(s["id"] for s in demo.sailings if s["seating"] == "free")


def _paid_orders(container, demo, client, fake_yookassa, owner_engine, count: int) -> list[str]:
    """``count`` one-ticket orders of the free-seating sailing, each paid at the fake YooKassa
    (written to the database as checkout and the payment path would leave them)."""
    tenant = container.tenants.by_slug(demo.slug)
    sailing_id = _free_sailing(demo)
    with owner_engine.begin() as conn:
        conn.execute(update(t.sailings).where(t.sailings.c.id == sailing_id).values(capacity=count + 10))
    account = PaymentAccount("yookassa", demo.slug, settlement.SECRET_NAME, f"{fake_yookassa.url}/v3")
    now = container.now()
    ids = []
    with container.uow(tenant.id) as uow:
        sailing = uow.catalog.sailing(sailing_id)
        tariff = next(x for x in uow.catalog.tariffs([sailing.program_id]) if x.ticket_type == "adult")
        for _ in range(count):
            order_id = str(uuid.uuid4())
            provider = client.create_payment(amount=tariff.price, description="x", return_url="https://x.test/",
                                             metadata={"order_id": order_id, "tenant": demo.slug}, receipt=None,
                                             idempotence_key=str(uuid.uuid4()), capture=True)
            _control(fake_yookassa, demo, "POST", f"/sandbox/payments/{provider.id}/status", {"status": "succeeded"})
            token = f"cancel-{uuid.uuid4().hex}"
            uow.holds.add(Hold(token=token, tenant_id=tenant.id, sailing_id=sailing_id, client_id="c",
                               seat_ids=(), quantity=1, status=HoldStatus.ORDERED, created_at=now,
                               expires_at=now + timedelta(minutes=15)))
            order = Order(id=order_id, tenant_id=tenant.id, number=uow.orders.next_number(),
                          status=OrderStatus.PAID, sailing_id=sailing_id, hold_token=token, client_id="c",
                          customer=Customer("Пётр", "petr@example.test", None), total=tariff.price,
                          vat_total=Decimal("0.00"), currency="RUB", created_at=now,
                          expires_at=now + timedelta(minutes=15), paid_at=now)
            uow.orders.add(order, hashlib.sha256(b"x").hexdigest())
            uow.orders.set_status(order_id, OrderStatus.PAID, now)
            ticket = uow.orders.add_ticket(order_id, sailing_id, None, tariff.id, token,
                                           TicketStatus.SOLD)
            uow.orders.add_item(order_id, OrderItem(str(uuid.uuid4()), ticket, 1, None, tariff.id, "adult",
                                                    "Билет", tariff.price, VatRate.NONE, Decimal("0.00")))
            payment = Payment(str(uuid.uuid4()), order_id, account, provider.id, PaymentStatus.SUCCEEDED,
                              tariff.price, "RUB", str(uuid.uuid4()))
            uow.payments.add(payment)
            uow.payments.started(payment.id, provider.id, PaymentStatus.SUCCEEDED, None)
            ids.append(order_id)
        uow.holds.sell_places_again(sailing_id, count)
        uow.commit()
    return ids


def _refund_counts(owner_engine, sailing_id):
    with owner_engine.connect() as conn:
        per_order = dict(conn.execute(
            select(t.refunds.c.order_id, func.count()).join(t.orders, t.orders.c.id == t.refunds.c.order_id)
            .where(t.orders.c.sailing_id == sailing_id).group_by(t.refunds.c.order_id)).all())
        statuses = dict(conn.execute(select(t.orders.c.status, func.count()).where(
            t.orders.c.sailing_id == sailing_id).group_by(t.orders.c.status)).all())
    return per_order, statuses


class Crash(BaseException):
    """Not an Exception: nothing on the way up may swallow it (a killed process)."""


def test_200_orders_interrupted_midway_and_resumed_are_each_refunded_once(container, demo, shop, fake_yookassa,
                                                                          owner_engine, monkeypatch):
    container.settings.refund_batch_size = 40
    container.__dict__.pop("refunds", None)
    order_ids = _paid_orders(container, demo, shop, fake_yookassa, owner_engine, ORDERS)
    tenant = container.tenants.by_slug(demo.slug)
    sailing_id = _free_sailing(demo)

    first = container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "шторм", max_batches=1)
    assert (first.status, first.refunded, first.total) == ("running", 40, ORDERS)
    progress = call("refund", "GET", f"/agent/sailings/{sailing_id}/cancellation", tenant=demo.slug)
    assert progress.status == 401  # readable by staff (and the CLI)

    # the second run dies after its 30th refund committed, before that refund reached the provider
    sent = {"n": 0}
    real_send = container.payments.send_refund

    def crashing_send(tenant_, refund_id):
        sent["n"] += 1
        if sent["n"] == 30:
            raise Crash()
        return real_send(tenant_, refund_id)

    monkeypatch.setattr(container.payments, "send_refund", crashing_send)
    with pytest.raises(Crash):
        container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "шторм")
    monkeypatch.setattr(container.payments, "send_refund", real_send)
    middle = container.refunds.progress(tenant, sailing_id)
    assert middle.refunded == 70 and middle.left == ORDERS - 70 and middle.status == "running"

    done = container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "again")  # resumes
    assert (done.status, done.refunded, done.total, done.left) == ("done", ORDERS, ORDERS, 0)

    per_order, statuses = _refund_counts(owner_engine, sailing_id)
    assert set(per_order) == set(order_ids) and set(per_order.values()) == {1}
    assert statuses == {"refunded": ORDERS}
    with owner_engine.connect() as conn:
        unsent = conn.execute(select(func.count()).select_from(t.refunds).where(
            t.refunds.c.order_id.in_(order_ids), t.refunds.c.status != "succeeded")).scalar_one()
        events = conn.execute(select(func.count()).select_from(t.outbox).where(
            t.outbox.c.type == "sailing.canceled", t.outbox.c.tenant_id == tenant.id)).scalar_one()
        sailing = conn.execute(select(t.sailings).where(t.sailings.c.id == sailing_id)).one()
    assert unsent == 0 and events == 1
    assert sailing.status == "cancelled" and sailing.places_sold == 0
    # one refund each at the provider, for the full price
    calls = _control(fake_yookassa, demo, "GET", "/sandbox/requests")["items"]
    keys = [c["idempotence_key"] for c in calls if c["operation"] == "create_refund" and c["status"] == 200]
    assert len(set(keys)) == ORDERS


def test_a_canceled_sailing_sells_nothing_more(container, demo, shop, fake_yookassa, owner_engine, clock):
    tenant = container.tenants.by_slug(demo.slug)
    sailing_id = _free_sailing(demo)
    progress = container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "мост не развели")
    assert progress.status == "done" and progress.total == 0
    clock.advance(seconds=container.settings.catalog_cache_seconds + 1)
    with pytest.raises(SalesClosed):
        container.holds.create(tenant.id, HoldRequest(sailing_id=sailing_id, seat_ids=None, quantity=1,
                                                      client_id="late-buyer"))
    with pytest.raises(InvalidInput):
        container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "  ")


def test_a_cancellation_releases_the_live_holds(container, demo, shop, fake_yookassa, owner_engine):
    """Holds of a canceled sailing stop at once: free-seating places go back, seat claims are
    dropped, and both holds read as released (a storefront polling them learns it)."""
    from tests.conftest import assigned_sailing

    tenant = container.tenants.by_slug(demo.slug)
    free, seated = _free_sailing(demo), assigned_sailing(demo)
    places = container.holds.create(tenant.id, HoldRequest(sailing_id=free, seat_ids=None, quantity=3,
                                                           client_id="buyer-a"))
    seats = container.holds.create(tenant.id, HoldRequest(sailing_id=seated, seat_ids=["main-C-3", "main-C-4"],
                                                          quantity=None, client_id="buyer-b"))
    for sailing_id in (free, seated):
        container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "шторм")
    assert container.holds.get(tenant.id, places.token).status is HoldStatus.RELEASED
    assert container.holds.get(tenant.id, seats.token).status is HoldStatus.RELEASED
    with owner_engine.connect() as conn:
        held = conn.execute(select(t.sailings.c.places_held).where(t.sailings.c.id == free)).scalar_one()
    assert held == 0
    now_ms = int(container.now().timestamp() * 1000)
    assert container.hold_store.seat_claims(tenant.id, seated, now_ms) == {}
    assert container.hold_store.live_holds(tenant.id, [free], now_ms)[free].places == 0


def test_the_cli_cancels_and_reports_progress(container, demo, shop, fake_yookassa, owner_engine, capsys):
    import json

    from prichal.admin import main as admin

    _paid_orders(container, demo, shop, fake_yookassa, owner_engine, 3)
    sailing_id = _free_sailing(demo)
    assert admin(["cancel-sailing", demo.slug, sailing_id, "--reason", "шторм"]) == 0
    assert admin(["cancellation", demo.slug, sailing_id]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert lines[-1]["refunded"] == 3 and lines[-1]["status"] == "done"


def test_an_order_paid_after_the_cancellation_finished_is_refunded_by_the_cron(container, demo, shop, fake_yookassa,
                                                                               owner_engine, clock):
    tenant = container.tenants.by_slug(demo.slug)
    sailing_id = _free_sailing(demo)
    assert container.refunds.cancel_sailing(tenant, sailing_id, SystemActor("cli:test"), "шторм").status == "done"
    [late] = _paid_orders(container, demo, shop, fake_yookassa, owner_engine, 1)  # a late payment revived it
    counts = container.refunds.reconcile(tenant, clock())
    assert counts["cancellations"] == 1
    per_order, statuses = _refund_counts(owner_engine, sailing_id)
    assert per_order == {late: 1} and statuses == {"refunded": 1}
