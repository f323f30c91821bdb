"""Unpaid orders expire with their hold: seats back on sale, the payment canceled."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.payments.base import PaymentError, PaymentProvider
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.domain.holds import HoldStatus
from prichal.domain.orders import Order, OrderStatus, Payment, PaymentStatus
from prichal.domain.tenants import Tenant

from .outbox import OutboxRelay
from .payments import SeatChange, mirror_in_redis, release_order

log = logging.getLogger("prichal.order_expiry")


def expire_unpaid_orders(tenants: list[Tenant], uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore,
                         providers: Callable[[Tenant, str], PaymentProvider], relay: OutboxRelay, now: datetime,
                         batch: int = 200) -> int:
    """Expire every unpaid order past its time, in every tenant; returns how many."""
    total = 0
    for tenant in tenants:
        while True:
            to_cancel: list[Payment] = []
            released: list[Order] = []
            with uow_factory(tenant.id) as uow:
                due = uow.orders.due_for_expiry(now, batch)
                for order_id in due:
                    order = uow.orders.get(order_id)
                    assert order is not None
                    release_order(uow, order, OrderStatus.EXPIRED, now, actor="system", reason="not paid in time")
                    uow.holds.close(order.hold_token, HoldStatus.EXPIRED, now)
                    payment = uow.payments.for_order(order.id)
                    if payment is not None and payment.provider_payment_id and not payment.status.final:
                        to_cancel.append(payment)
                    released.append(order)
                uow.commit()
            for order in released:
                mirror_in_redis(store, tenant.id, order, SeatChange.RELEASED)
            for payment in to_cancel:
                _cancel(tenant, providers, payment)
            relay.publish_pending(tenant.id)
            total += len(due)
            if len(due) < batch:
                break
    return total


def _cancel(tenant: Tenant, providers: Callable[[Tenant, str], PaymentProvider], payment: Payment) -> None:
    """Best effort: YooKassa cancels only two-stage payments; a pending one lapses by itself,
    and if the buyer still pays, the late-payment path revives or refunds the order."""
    if payment.status not in (PaymentStatus.PENDING, PaymentStatus.WAITING_FOR_CAPTURE):
        return
    try:
        providers(tenant, payment.provider).cancel_payment(payment.provider_payment_id or "", f"cancel-{payment.id}")
    except PaymentError as exc:
        log.info("payment not canceled at the provider", extra={"payment_id": payment.id, "error": str(exc)})
