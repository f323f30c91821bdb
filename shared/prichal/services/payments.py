"""Payments: start one at the provider, and act on what the provider says happened.

Notifications are trusted for nothing but "look again": the source address must be on the
provider's allowlist, the notification is recorded durably, then the payment is re-read
from the provider and only that state is applied. The payment state machine only moves
forward, so duplicates and reordered deliveries change nothing twice. A payment that
succeeds after its order expired revives the order when its seats are still free, and
is refunded automatically (and the order flagged for the CRM) when they are not.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.payments.base import (
    PaymentError,
    PaymentProvider,
    PaymentRejected,
    PaymentUnavailable,
    ProviderPayment,
    ProviderRefund,
)
from prichal.adapters.payments.deadline import Deadline, provider_deadline
from prichal.adapters.payments.registry import PaymentNotConfigured
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.domain.errors import Forbidden, InvalidInput, Unavailable
from prichal.domain.events import OrderCancelled, OrderExpired, OrderPaid
from prichal.domain.inventory import SeatChange
from prichal.domain.orders import Order, OrderStatus, Payment, PaymentAccount, PaymentStatus
from prichal.domain.pricing import OrderLine, receipt
from prichal.domain.tenants import Tenant
from prichal.entrypoints.client_address import address_in, parse_networks
from prichal.observability.tracing import inject_context

from .inventory import Inventory
from .outbox import OutboxRelay

log = logging.getLogger("prichal.payments")

PAYMENT_EVENTS = {"payment.succeeded", "payment.waiting_for_capture", "payment.canceled"}
REFUND_EVENTS = {"refund.succeeded"}


class PaymentProviderDown(Unavailable):
    code = "payment-provider-unavailable"
    title = "The payment provider did not answer"


@dataclass
class Effects:
    """What to do once the transaction has committed (state first, then effects)."""

    seats: list[tuple[Order, SeatChange]] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)  # refund row ids to send
    capture: list[Payment] = field(default_factory=list)
    cancel: list[Payment] = field(default_factory=list)  # authorised, but not for this order


def mirror_in_redis(store: RedisHoldStore, tenant_id: str, order: Order, change: SeatChange) -> None:
    """Bring Redis's advisory copy in line with an order's committed seat change (the
    inventory's mirror; kept for callers that hold only a store)."""
    Inventory(store).mirror(tenant_id, order, change)


Clients = Callable[[PaymentAccount], PaymentProvider]


class PaymentService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], accounts: Callable[[Tenant], PaymentAccount],
                 clients: Clients, store: RedisHoldStore, relay: OutboxRelay, allowlists: Callable[[str], str],
                 default_return_url: str, clock: Callable[[], datetime], call_budget: float = 10.0) -> None:
        self._uow = uow_factory
        self._call_budget = call_budget
        self._accounts = accounts
        self._clients = clients
        self._store = store
        self._inventory = Inventory(store)
        self._relay = relay
        self._allowlists = allowlists
        self._return_url = default_return_url
        self._now = clock

    def deadline(self) -> AbstractContextManager[Deadline]:
        """The one time budget every provider call of a request or a cron run shares."""
        return provider_deadline(self._call_budget)

    # --- start -----------------------------------------------------------------------------
    def account_for_new_payment(self, tenant: Tenant) -> PaymentAccount:
        """The tenant's current account, checked usable (a client can be built: shop id and
        secret present) before anything is written for a new order."""
        account = self._accounts(tenant)
        self._clients(account)
        return account

    def start(self, tenant: Tenant, order: Order, payment: Payment) -> Payment:
        """Ask the provider for the payment, with the idempotence key stored at order time,
        so a retry (of this call or of the whole request) can never create a second one."""
        lines = [OrderLine(item.description, item.price, item.vat_rate, item.ticket_type, item.tariff_id,
                           item.seat_id) for item in order.items]
        try:
            with self.deadline():
                created = self._clients(payment.account).create_payment(
                    amount=order.total, description=f"Заказ №{order.number}",
                    return_url=order.return_url or self._return_url,
                    metadata={"order_id": order.id, "order_number": str(order.number), "tenant": tenant.slug},
                    receipt=receipt(lines, email=order.customer.email, phone=order.customer.phone,
                                    full_name=order.customer.name, tax_system_code=tenant.tax_system_code),
                    idempotence_key=payment.idempotence_key)
        except (PaymentUnavailable, PaymentRejected) as exc:
            log.warning("payment not started", extra={"order_id": order.id, "error": str(exc)})
            raise PaymentProviderDown("the payment could not be started; retry with the same Idempotency-Key",
                                      order_id=order.id) from exc
        with self._uow(tenant.id) as uow:
            uow.payments.started(payment.id, created.id, PaymentStatus(created.status), created.confirmation_url)
            uow.log.record("payment.started", "payment", payment.id, "system", order.id,
                           provider_payment_id=created.id, status=created.status)
            uow.commit()
        return replace(payment, provider_payment_id=created.id, status=PaymentStatus(created.status),
                       confirmation_url=created.confirmation_url)

    # --- notifications -----------------------------------------------------------------------
    def check_source(self, provider: str, address: str | None) -> None:
        if not address_in(address, parse_networks(self._allowlists(provider))):
            raise Forbidden("notifications are accepted only from the provider's addresses",
                            source_address=address)

    def handle_notification(self, tenant: Tenant, provider: str, body: dict[str, Any],
                            source_address: str | None) -> str:
        """Record, re-read, apply; returns what happened (for the log and the caller)."""
        self.check_source(provider, source_address)
        event, object_id = _parse_notification(body)
        with self._uow(tenant.id) as uow:
            notification_id = uow.payments.record_notification(provider, event, object_id, source_address, body)
            uow.commit()
        with self._uow(tenant.id) as uow:  # the account the payment was made with answers for it
            payment = (uow.payments.for_refund(object_id) if event in REFUND_EVENTS
                       else uow.payments.by_provider_id(provider, object_id))
        if payment is None or payment.provider != provider:
            outcome = "unknown-refund" if event in REFUND_EVENTS else "unknown-payment"
        else:
            client = self._clients(payment.account)
            try:
                with self.deadline():  # the re-read and what it sets off (refund, capture) together
                    if event in REFUND_EVENTS:
                        outcome = self._apply_refund(tenant, client, object_id)
                    else:
                        outcome = self.apply(tenant, provider, client.get_payment(object_id), actor=provider)
            except PaymentUnavailable as exc:
                raise PaymentProviderDown("could not re-read the object from the provider; "
                                          "deliver again later") from exc
            except PaymentRejected:
                outcome = "unknown-object"
        with self._uow(tenant.id) as uow:
            uow.payments.notification_done(notification_id, outcome, self._now())
            uow.commit()
        return outcome

    def apply(self, tenant: Tenant, provider: str, current: ProviderPayment, actor: str) -> str:
        """Bring our payment (and its order) to the provider's current state."""
        now = self._now()
        effects = Effects()
        with self._uow(tenant.id) as uow:
            payment = uow.payments.by_provider_id(provider, current.id, for_update=True)
            if payment is None:
                return "unknown-payment"
            new = PaymentStatus(current.status)
            if new is payment.status:
                return "no-change"
            if not new.is_ahead_of(payment.status):
                return "stale"
            order = uow.orders.get(payment.order_id, for_update=True)
            assert order is not None
            uow.payments.set_status(payment.id, new, current.cancellation_reason)
            uow.log.record(f"payment.{new.value}", "payment", payment.id, actor, order.id,
                           provider_payment_id=current.id, amount=str(current.amount))
            wrong = mismatches(current, order, tenant) if new is not PaymentStatus.CANCELED else []
            if wrong:
                outcome = self._wrong_payment(uow, order, payment, current, wrong, effects)
            elif new is PaymentStatus.SUCCEEDED:
                outcome = self._paid(uow, order, payment, now, effects)
            elif new is PaymentStatus.CANCELED:
                outcome = self._canceled(uow, order, now, effects, current.cancellation_reason)
            else:
                effects.capture.append(payment)
                outcome = "awaiting-capture"
            uow.commit()
        self._run(tenant, effects)
        return outcome

    def _paid(self, uow: UnitOfWork, order: Order, payment: Payment, now: datetime, effects: Effects) -> str:
        if order.status is OrderStatus.AWAITING_PAYMENT:
            self._inventory.sell(uow, order)
            self._mark_paid(uow, order, now, late=False)
            effects.seats.append((order, SeatChange.PAID))
            return "order-paid"
        if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
            if self._inventory.revive(uow, order):
                self._mark_paid(uow, order, now, late=True)
                effects.seats.append((order, SeatChange.REVIVED))
                return "order-paid-late"
            _request_refund(uow, order, payment, payment.amount, "late-payment",
                            "paid after the order expired and its seats were sold again", effects)
            uow.orders.flag(order.id, "paid after expiry; seats resold; refund requested")
            return "late-payment-refunded"
        uow.orders.flag(order.id, f"a second payment succeeded for an order that is {order.status.value}")
        return "flagged"

    @staticmethod
    def _wrong_payment(uow: UnitOfWork, order: Order, payment: Payment, current: ProviderPayment,
                       wrong: list[str], effects: Effects) -> str:
        """A payment that is not exactly this order's never pays it: the order is flagged, the
        mismatch logged, and the money given back (an authorised two-stage payment is canceled
        instead of captured)."""
        reason = "; ".join(wrong)
        uow.orders.flag(order.id, f"payment {current.id} does not match the order ({reason}); not accepted")
        uow.log.record("payment.mismatch", "payment", payment.id, "system", order.id, provider_payment_id=current.id,
                       reasons=wrong, amount=str(current.amount), currency=current.currency)
        if current.status == PaymentStatus.WAITING_FOR_CAPTURE.value:
            effects.cancel.append(payment)
            return "payment-mismatch-canceled"
        _request_refund(uow, order, payment, current.amount, "payment-mismatch",
                        f"the payment does not match order {order.number}: {reason}", effects)
        return "payment-mismatch-refunded"

    @staticmethod
    def _mark_paid(uow: UnitOfWork, order: Order, now: datetime, late: bool) -> None:
        uow.orders.set_status(order.id, order.status.moved_to(OrderStatus.PAID), now)
        uow.log.record("order.paid", "order", order.id, "system", order.id, late=late, total=str(order.total))
        uow.outbox.add_event(OrderPaid(order_id=order.id, number=order.number, total=order.total,
                                       currency=order.currency, sailing_id=order.sailing_id),
                             headers=dict(inject_context({})))

    def _canceled(self, uow: UnitOfWork, order: Order, now: datetime, effects: Effects, reason: str | None) -> str:
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return "no-change"
        release_order(uow, order, OrderStatus.CANCELLED, now, actor="system", reason=reason)
        effects.seats.append((order, SeatChange.RELEASED))
        return "order-cancelled"

    def _apply_refund(self, tenant: Tenant, client: PaymentProvider, refund_id: str) -> str:
        """Re-read a refund the provider told us about and move ours forward (never back)."""
        return self._settle_refund(tenant, client.get_refund(refund_id), actor="provider")

    def _settle_refund(self, tenant: Tenant, refund: ProviderRefund, actor: str) -> str:
        with self._uow(tenant.id) as uow:
            known = uow.refunds.by_provider_id(refund.id)
            if known is None:
                return "unknown-refund"
            if refund.status not in ("pending", "succeeded", "canceled"):
                return "unknown-status"
            moved = uow.refunds.settle(refund.id, refund.status, refund.cancellation_reason)
            if moved is None:
                return "no-change"
            uow.log.record(f"refund.{refund.status}", "refund", moved.id, actor, moved.order_id,
                           provider_refund_id=refund.id, amount=str(refund.amount))
            if refund.status == "canceled":
                _refund_failed(uow, moved.id, moved.order_id, f"canceled by the provider: "
                                                               f"{refund.cancellation_reason or 'no reason given'}")
            uow.commit()
        return f"refund-{refund.status}"

    def reread_refund(self, tenant: Tenant, refund_id: str) -> str:
        """Ask the provider what became of a sent refund (there is no refund.canceled notification)."""
        with self._uow(tenant.id) as uow:
            row = uow.refunds.to_send(refund_id)
        if row is None or not row.provider_refund_id:
            return "unknown-refund"
        try:
            current = self._clients(_account_of(row)).get_refund(row.provider_refund_id)
        except (PaymentUnavailable, PaymentRejected, PaymentNotConfigured) as exc:
            log.warning("refund not re-read", extra={"refund_id": refund_id, "error": str(exc)})
            return "deferred"
        return self._settle_refund(tenant, current, actor="system")

    # --- effects -----------------------------------------------------------------------------
    def _run(self, tenant: Tenant, effects: Effects) -> None:
        for order, change in effects.seats:
            self._inventory.mirror(tenant.id, order, change)
        for refund_id in effects.refunds:
            self.send_refund(tenant, refund_id)
        for payment in effects.capture:
            self.capture(tenant, payment)
        for payment in effects.cancel:
            try:
                self.cancel(payment)
            except (PaymentError, PaymentNotConfigured) as exc:
                log.warning("a payment that does not match its order was not canceled",
                            extra={"payment_id": payment.id, "error": str(exc)})
        self._relay.publish_pending(tenant.id)

    def send_refund(self, tenant: Tenant, refund_id: str) -> None:
        """Send a requested refund (again) with its stored idempotence key and receipt: a
        repeat is harmless. No definite answer (5xx, timeout): it stays requested and the cron
        sends it again with the same key. A definite refusal (4xx): the refund is ``failed``
        and the order shows it to an agent."""
        with self._uow(tenant.id) as uow:
            row = uow.refunds.to_send(refund_id)
        if row is None or row.status != "requested":
            return
        try:
            sent = self._clients(_account_of(row)).create_refund(
                payment_id=row.provider_payment_id, amount=row.amount, idempotence_key=row.idempotence_key,
                receipt=row.receipt, description=row.reason[:250])
        except PaymentRejected as exc:
            log.warning("the provider refused the refund", extra={"refund_id": refund_id, "error": str(exc)})
            with self._uow(tenant.id) as uow:
                uow.refunds.failed(refund_id, str(exc)[:500])
                _refund_failed(uow, refund_id, row.order_id, f"refused by the provider: {exc}")
                uow.commit()
            return
        except (PaymentUnavailable, PaymentNotConfigured) as exc:
            log.warning("refund not sent; it stays requested", extra={"refund_id": refund_id, "error": str(exc)})
            with self._uow(tenant.id) as uow:
                uow.refunds.attempted(refund_id, str(exc)[:500])
                uow.commit()
            return
        with self._uow(tenant.id) as uow:
            uow.refunds.sent(refund_id, sent.id, "pending", self._now())  # final states: settled below
            uow.log.record("refund.sent", "refund", refund_id, "system", row.order_id, provider_refund_id=sent.id,
                           status=sent.status)
            uow.commit()
        if sent.status in ("succeeded", "canceled"):
            self._settle_refund(tenant, sent, actor="system")

    def capture(self, tenant: Tenant, payment: Payment) -> None:
        """A two-stage payment waits for us: capture it (our payments are one-stage, so this
        only happens when a shop is configured otherwise)."""
        if not payment.provider_payment_id:
            return
        try:
            captured = self._clients(payment.account).capture_payment(payment.provider_payment_id,
                                                                      f"capture-{payment.id}")
        except (PaymentUnavailable, PaymentRejected, PaymentNotConfigured) as exc:
            log.warning("capture failed", extra={"payment_id": payment.id, "error": str(exc)})
            return
        self.apply(tenant, payment.provider, captured, actor="system")

    # --- calls for a payment, with the account it was made with -----------------------------
    def reread(self, payment: Payment) -> ProviderPayment:
        """The provider's current view of the payment (raises ``PaymentError`` without one)."""
        return self._clients(payment.account).get_payment(payment.provider_payment_id or "")

    def cancel(self, payment: Payment) -> ProviderPayment:
        """Cancel at the provider (YooKassa cancels only two-stage payments waiting for capture;
        anything else is a ``PaymentRejected``)."""
        return self._clients(payment.account).cancel_payment(payment.provider_payment_id or "",
                                                             f"cancel-{payment.id}")

    def flag(self, tenant: Tenant, order_id: str, reason: str) -> None:
        with self._uow(tenant.id) as uow:
            uow.orders.flag(order_id, reason)
            uow.commit()


def count_stuck_refunds(tenant_ids: list[str], uow_factory: Callable[..., UnitOfWork], now: datetime,
                        after: timedelta) -> int:
    """Refunds still ``requested`` (the provider never accepted them) for longer than ``after``,
    in every tenant: the buyers' money we still hold. Nothing re-sends them yet, so this
    number is an alert for a person (the ``prichal_refunds_stuck`` gauge)."""
    total = 0
    for tenant_id in tenant_ids:
        with uow_factory(tenant_id) as uow:
            total += uow.payments.count_unsent_refunds(now - after)
    return total


def mismatches(current: ProviderPayment, order: Order, tenant: Tenant) -> list[str]:
    """Why a provider's payment is not exactly this order's (empty when it is): the amount to
    the kopeck, the currency, ``paid``, and the metadata naming this order and tenant."""
    wrong = []
    if current.amount != order.total:
        wrong.append(f"amount {current.amount} instead of {order.total}")
    if current.currency != order.currency:
        wrong.append(f"currency {current.currency} instead of {order.currency}")
    if not current.paid:
        wrong.append(f"{current.status} but not paid")
    if current.metadata.get("order_id") != order.id:
        wrong.append("metadata names another order")
    if current.metadata.get("tenant") != tenant.slug:
        wrong.append("metadata names another seller")
    return wrong


def _account_of(row: Any) -> PaymentAccount:
    return PaymentAccount(provider=row.provider, shop_id=row.shop_id, secret_name=row.secret_name,
                          api_url=row.api_url)


def _refund_failed(uow: UnitOfWork, refund_id: str, order_id: str, detail: str) -> None:
    """A refund the provider would not make stays visible for an agent: the attention flag
    ``refund_failed`` (the crm queue's, or the order's column and ``attention.refund_failed``)."""
    uow.attention.flag(order_id, "refund_failed", f"refund {refund_id} failed: {detail}"[:500],
                   refund_id=refund_id)


def _request_refund(uow: UnitOfWork, order: Order, payment: Payment, amount: Decimal, kind: str, reason: str,
                    effects: Effects) -> None:
    """Record a refund of ``payment`` (sent after commit, see ``PaymentService.send_refund``)."""
    refund_id = str(uuid.uuid4())
    uow.payments.add_refund(refund_id, order.id, payment.id, amount, reason, idempotence_key=str(uuid.uuid4()),
                            kind=kind)
    uow.log.record("refund.requested", "refund", refund_id, "system", order.id, amount=str(amount), reason=kind)
    effects.refunds.append(refund_id)


def release_order(uow: UnitOfWork, order: Order, status: OrderStatus, now: datetime, actor: str,
                  reason: str | None = None) -> None:
    """An unpaid order gives its seats back: tickets cancelled, free places returned,
    the order closed, logged and announced (``order.expired`` / ``order.cancelled``)."""
    Inventory.release(uow, order)
    uow.orders.set_status(order.id, order.status.moved_to(status), now)
    uow.log.record(f"order.{status.value}", "order", order.id, actor, order.id, reason=reason)
    announced = OrderExpired if status is OrderStatus.EXPIRED else OrderCancelled
    uow.outbox.add_event(announced(order_id=order.id, number=order.number, reason=reason),
                         headers=dict(inject_context({})))


def _parse_notification(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict) or body.get("type") != "notification":
        raise InvalidInput("not a provider notification", errors=[
            {"loc": ["type"], "type": "value_error", "msg": "must be 'notification'"}])
    event = body.get("event")
    obj = body.get("object")
    if not isinstance(event, str) or event not in PAYMENT_EVENTS | REFUND_EVENTS:  # {} is unhashable
        raise InvalidInput("unsupported notification event", errors=[
            {"loc": ["event"], "type": "value_error", "msg": f"one of {sorted(PAYMENT_EVENTS | REFUND_EVENTS)}"}])
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str) or not obj["id"]:
        raise InvalidInput("the notification carries no object id", errors=[
            {"loc": ["object", "id"], "type": "missing", "msg": "required"}])
    return event, obj["id"]

