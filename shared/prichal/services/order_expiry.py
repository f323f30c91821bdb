"""Unpaid orders expire with their hold: seats back on sale, the payment canceled.

An order is never expired on our clock alone: its payment may have succeeded a second
ago, with the notification still on its way. So before an order with a started payment
expires, the payment is re-read from the provider (with the account it was made with):

- succeeded / waiting for capture / canceled: the payment path takes the order (paid, or
  cancelled), exactly as a notification would have;
- pending: it is canceled at the provider; the order expires once the provider answered
  definitely (canceled, or "a pending one-stage payment cannot be canceled": it lapses by
  itself, and should the buyer still pay, the late-payment path revives or refunds it);
- no definite answer (provider down, timeout, account unusable): the order is skipped this
  run and retried by the next, never expired blindly. Other orders on an account that did
  not answer are skipped too, so one dead provider does not eat the run's time.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.payments.base import PaymentRejected, PaymentUnavailable, ProviderPayment
from prichal.adapters.payments.deadline import FAIR_SHARE_FLOOR_SECONDS, fair_turns, provider_deadline
from prichal.adapters.payments.registry import PaymentNotConfigured
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.domain.holds import HoldStatus
from prichal.domain.orders import Order, OrderStatus, Payment, PaymentAccount, PaymentStatus
from prichal.domain.tenants import Tenant

from .inventory import Inventory, SeatChange
from .outbox import OutboxRelay
from .payments import PaymentService, release_order

log = logging.getLogger("prichal.order_expiry")


class Verdict(enum.StrEnum):
    EXPIRE = "expire"  # nothing can pay this order any more (or a late payment is handled later)
    SETTLED = "settled"  # the provider said what happened; the payment path took the order
    DEFERRED = "deferred"  # no definite answer from the provider: next run


@dataclass
class ExpiryRun:
    expired: int = 0
    settled: int = 0
    deferred: int = 0


def expire_unpaid_orders(tenants: list[Tenant], uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore,
                         payments: PaymentService, relay: OutboxRelay, now: datetime, batch: int = 200) -> ExpiryRun:
    """Expire every unpaid order past its time, in every tenant, after asking the provider.

    The run's provider time is shared fairly: each tenant's calls get an equal part of what
    is left (at least ``FAIR_SHARE_FLOOR_SECONDS``), and another tenant leads each minute, so
    one tenant's dead or slow provider (or its backlog) cannot keep the others' unpaid orders
    holding seats run after run."""
    run = ExpiryRun()
    down: set[PaymentAccount] = set()  # accounts that gave no definite answer in this run
    with payments.deadline() as budget:  # once the run's provider time is spent, the rest waits for the next run
        for tenant, share in fair_turns(tenants, budget, turn=int(now.timestamp() // 60),
                                        floor=FAIR_SHARE_FLOOR_SECONDS):
            with provider_deadline(share, budget.clock):  # never more than the run has left
                _expire_tenant(tenant, uow_factory, store, payments, relay, now, batch, down, run)
    return run


def _expire_tenant(tenant: Tenant, uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore,
                   payments: PaymentService, relay: OutboxRelay, now: datetime, batch: int,
                   down: set[PaymentAccount], run: ExpiryRun) -> None:
    skipped: set[str] = set()  # seen in this run: never asked twice
    while True:
        with uow_factory(tenant.id) as uow:
            found = uow.orders.due_for_expiry(now, batch + len(skipped))
            due = [(i, uow.payments.for_order(i)) for i in found if i not in skipped]
        to_expire: list[tuple[str, Payment | None]] = []
        for order_id, payment in due:
            skipped.add(order_id)
            verdict = _settle(tenant, payments, payment, down)
            if verdict is Verdict.EXPIRE:
                to_expire.append((order_id, payment))
            else:
                run.settled += verdict is Verdict.SETTLED
                run.deferred += verdict is Verdict.DEFERRED
        run.expired += _expire(tenant, uow_factory, store, to_expire, now)
        relay.publish_pending(tenant.id)
        if len(due) < batch:
            break


def _settle(tenant: Tenant, payments: PaymentService, payment: Payment | None, down: set[PaymentAccount]) -> Verdict:
    """Ask the provider what became of the order's payment before the order may expire."""
    if payment is None or payment.provider_payment_id is None or payment.status.final:
        return Verdict.EXPIRE  # never started (the buyer had no page to pay on), or already settled
    if payment.account in down:
        return Verdict.DEFERRED
    try:
        current = payments.reread(payment)
        if PaymentStatus(current.status) is PaymentStatus.PENDING:
            return _cancel_pending(tenant, payments, payment)
    except (PaymentUnavailable, PaymentNotConfigured) as exc:
        down.add(payment.account)
        log.warning("no definite answer about the payment; its order waits for the next run",
                    extra={"payment_id": payment.id, "order_id": payment.order_id, "error": str(exc)})
        if isinstance(exc, PaymentNotConfigured):
            payments.flag(tenant, payment.order_id, f"expiry waits: the payment's account is unusable ({exc})")
        return Verdict.DEFERRED
    except PaymentRejected as exc:  # e.g. the provider does not know the payment: a person must look
        log.warning("the provider refused to show the payment; its order waits",
                    extra={"payment_id": payment.id, "order_id": payment.order_id, "error": str(exc)})
        payments.flag(tenant, payment.order_id, f"expiry waits: the provider refused to show the payment ({exc})")
        return Verdict.DEFERRED
    return _take_payment_path(tenant, payments, payment, current)


def _cancel_pending(tenant: Tenant, payments: PaymentService, payment: Payment) -> Verdict:
    try:
        answer = payments.cancel(payment)
    except PaymentRejected:  # a pending one-stage payment cannot be canceled: it lapses by itself
        return Verdict.EXPIRE
    if PaymentStatus(answer.status) is PaymentStatus.CANCELED:
        return Verdict.EXPIRE
    return _take_payment_path(tenant, payments, payment, answer)  # paid meanwhile


def _take_payment_path(tenant: Tenant, payments: PaymentService, payment: Payment,
                       current: ProviderPayment) -> Verdict:
    if PaymentStatus(current.status) is payment.status is PaymentStatus.WAITING_FOR_CAPTURE:
        payments.capture(tenant, payment)  # authorised in time; an earlier capture did not get through
    else:
        outcome = payments.apply(tenant, payment.provider, current, actor="expire-holds")
        log.info("payment settled before expiry", extra={"payment_id": payment.id, "outcome": outcome})
    return Verdict.SETTLED


def _expire(tenant: Tenant, uow_factory: Callable[..., UnitOfWork], store: RedisHoldStore,
            due: list[tuple[str, Payment | None]], now: datetime) -> int:
    """Expire the orders the provider cleared, unless something moved them meanwhile (a
    notification applied since the re-read wins; locks in the webhook's order: payment, order)."""
    released: list[Order] = []
    with uow_factory(tenant.id) as uow:
        for order_id, seen in due:
            payment = uow.payments.for_order(order_id, for_update=True)
            order = uow.orders.get(order_id, for_update=True)
            assert order is not None
            if order.status is not OrderStatus.AWAITING_PAYMENT or order.expires_at > now:
                continue
            if payment is not None and seen is not None and payment.status is not seen.status:
                continue  # the payment moved since we asked the provider: the next run looks again
            release_order(uow, order, OrderStatus.EXPIRED, now, actor="system", reason="not paid in time")
            uow.holds.close(order.hold_token, HoldStatus.EXPIRED, now)
            released.append(order)
        uow.commit()
    for order in released:
        Inventory(store).mirror(tenant.id, order, SeatChange.RELEASED)
    return len(released)
