"""Payments: start one at the provider, and act on what the provider says happened.

Notifications are trusted for nothing but "look again": the source address must be on the
provider's allowlist, the notification is recorded durably, then the payment is re-read
from the provider and only that state is applied. The payment state machine only moves
forward, so duplicates and reordered deliveries change nothing twice. A payment that
succeeds after its order expired revives the order when its seats are still free, and
is refunded automatically (and the order flagged for the CRM) when they are not.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.payments.base import (
    PaymentProvider,
    PaymentRejected,
    PaymentUnavailable,
    ProviderPayment,
)
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.domain.errors import Forbidden, InvalidInput, Unavailable
from prichal.domain.orders import Order, OrderStatus, Payment, PaymentStatus, TicketStatus
from prichal.domain.pricing import OrderLine, receipt
from prichal.domain.tenants import Tenant
from prichal.entrypoints.client_address import address_in, parse_networks
from prichal.observability.tracing import inject_context

from .outbox import OutboxRelay

log = logging.getLogger("prichal.payments")

PAYMENT_EVENTS = {"payment.succeeded", "payment.waiting_for_capture", "payment.canceled"}
REFUND_EVENTS = {"refund.succeeded"}


class PaymentProviderDown(Unavailable):
    code = "payment-provider-unavailable"
    title = "The payment provider did not answer"


class SeatChange(enum.StrEnum):
    PAID = "paid"  # the order's tickets are sold
    RELEASED = "released"  # the order lapsed or was cancelled: its seats are free again
    REVIVED = "revived"  # a lapsed order was paid after all and got its seats back


@dataclass
class Effects:
    """What to do once the transaction has committed (state first, then effects)."""

    seats: list[tuple[Order, SeatChange]] = field(default_factory=list)
    refunds: list[str] = field(default_factory=list)  # refund row ids to send
    capture: list[Payment] = field(default_factory=list)


def mirror_in_redis(store: RedisHoldStore, tenant_id: str, order: Order, change: SeatChange) -> None:
    """Bring Redis's advisory copy in line with an order's committed seat change. Seat
    orders live in the "taken" set; free-seating orders keep their places claim until paid
    or released (the database counts sold places)."""
    seats = [item.seat_id for item in order.items if item.seat_id]
    if seats:
        if change is SeatChange.PAID:  # still taken; only the seat map changes (held -> sold)
            store.invalidate_seatmap(tenant_id, order.sailing_id)
        else:
            store.mark_taken(tenant_id, order.sailing_id, seats, taken=change is SeatChange.REVIVED)
    elif change is not SeatChange.REVIVED:
        store.release(tenant_id, order.sailing_id, order.hold_token, [])


class PaymentService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], providers: Callable[[Tenant, str], PaymentProvider],
                 store: RedisHoldStore, relay: OutboxRelay, allowlists: Callable[[str], str], default_return_url: str,
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._providers = providers
        self._store = store
        self._relay = relay
        self._allowlists = allowlists
        self._return_url = default_return_url
        self._now = clock

    # --- start -----------------------------------------------------------------------------
    def start(self, tenant: Tenant, order: Order, payment: Payment) -> Payment:
        """Ask the provider for the payment, with the idempotence key stored at order time,
        so a retry (of this call or of the whole request) can never create a second one."""
        lines = [OrderLine(item.description, item.price, item.vat_rate, item.ticket_type, item.tariff_id,
                           item.seat_id) for item in order.items]
        try:
            created = self._providers(tenant, payment.provider).create_payment(
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
        client = self._providers(tenant, provider)
        try:
            if event in REFUND_EVENTS:
                outcome = self._apply_refund(tenant, client, object_id)
            else:
                outcome = self.apply(tenant, provider, client.get_payment(object_id), actor=provider)
        except PaymentUnavailable as exc:
            raise PaymentProviderDown("could not re-read the object from the provider; deliver again later") from exc
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
            if new is PaymentStatus.SUCCEEDED and current.amount != payment.amount:
                uow.orders.flag(order.id, f"paid {current.amount} instead of {payment.amount}")
            if new is PaymentStatus.SUCCEEDED:
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
        seats = [item.seat_id for item in order.items if item.seat_id]
        if order.status is OrderStatus.AWAITING_PAYMENT:
            uow.orders.set_ticket_status(order.id, TicketStatus.SOLD)
            if not seats:
                uow.holds.sell_places(order.sailing_id, len(order.items))
            self._mark_paid(uow, order, now, late=False)
            effects.seats.append((order, SeatChange.PAID))
            return "order-paid"
        if order.status in (OrderStatus.EXPIRED, OrderStatus.CANCELLED):
            if self._revive(uow, order, seats):
                self._mark_paid(uow, order, now, late=True)
                effects.seats.append((order, SeatChange.REVIVED))
                return "order-paid-late"
            refund_id = str(uuid.uuid4())
            uow.payments.add_refund(refund_id, order.id, payment.id, payment.amount,
                                    "paid after the order expired and its seats were sold again",
                                    idempotence_key=str(uuid.uuid4()))
            uow.orders.flag(order.id, "paid after expiry; seats resold; refund requested")
            uow.log.record("refund.requested", "refund", refund_id, "system", order.id, amount=str(payment.amount),
                           reason="late-payment")
            effects.refunds.append(refund_id)
            return "late-payment-refunded"
        uow.orders.flag(order.id, f"a second payment succeeded for an order that is {order.status.value}")
        return "flagged"

    @staticmethod
    def _revive(uow: UnitOfWork, order: Order, seats: list[str]) -> bool:
        """Sell a lapsed order's seats again if nobody took them (inside a savepoint)."""
        savepoint = uow.conn.begin_nested()
        try:
            if seats:
                uow.orders.set_ticket_status(order.id, TicketStatus.SOLD)  # the unique index decides
            elif not uow.holds.sell_places_again(order.sailing_id, len(order.items)):
                savepoint.rollback()
                return False
            savepoint.commit()
            return True
        except IntegrityError:  # the unique index refused: a seat was sold to someone else
            savepoint.rollback()
            return False

    @staticmethod
    def _mark_paid(uow: UnitOfWork, order: Order, now: datetime, late: bool) -> None:
        uow.orders.set_status(order.id, order.status.moved_to(OrderStatus.PAID), now)
        uow.log.record("order.paid", "order", order.id, "system", order.id, late=late, total=str(order.total))
        uow.outbox.add("order.paid", {"order_id": order.id, "number": order.number, "total": str(order.total),
                                      "currency": order.currency, "sailing_id": order.sailing_id},
                       headers=dict(inject_context({})))

    def _canceled(self, uow: UnitOfWork, order: Order, now: datetime, effects: Effects, reason: str | None) -> str:
        if order.status is not OrderStatus.AWAITING_PAYMENT:
            return "no-change"
        release_order(uow, order, OrderStatus.CANCELLED, now, actor="system", reason=reason)
        effects.seats.append((order, SeatChange.RELEASED))
        return "order-cancelled"

    def _apply_refund(self, tenant: Tenant, client: PaymentProvider, refund_id: str) -> str:
        refund = client.get_refund(refund_id)
        with self._uow(tenant.id) as uow:
            known = uow.payments.update_refund_status(refund.id, refund.status)
            uow.commit()
        return f"refund-{refund.status}" if known else "unknown-refund"

    # --- effects -----------------------------------------------------------------------------
    def _run(self, tenant: Tenant, effects: Effects) -> None:
        for order, change in effects.seats:
            mirror_in_redis(self._store, tenant.id, order, change)
        for refund_id in effects.refunds:
            self.send_refund(tenant, refund_id)
        for payment in effects.capture:
            self._capture(tenant, payment)
        self._relay.publish_pending(tenant.id)

    def send_refund(self, tenant: Tenant, refund_id: str) -> None:
        """Send a requested refund (again); its idempotence key makes a repeat harmless."""
        with self._uow(tenant.id) as uow:
            row = next((r for r in uow.payments.unsent_refunds() if r.id == refund_id), None)
        if row is None:
            return
        try:
            sent = self._providers(tenant, row.provider).create_refund(
                payment_id=row.provider_payment_id, amount=row.amount, idempotence_key=row.idempotence_key,
                description=row.reason[:128])
        except (PaymentUnavailable, PaymentRejected) as exc:
            log.warning("refund not sent; it stays requested", extra={"refund_id": refund_id, "error": str(exc)})
            return
        with self._uow(tenant.id) as uow:
            uow.payments.refund_sent(refund_id, sent.id, sent.status)
            uow.log.record("refund.sent", "refund", refund_id, "system", row.order_id, provider_refund_id=sent.id,
                           status=sent.status)
            uow.commit()

    def _capture(self, tenant: Tenant, payment: Payment) -> None:
        """A two-stage payment waits for us: capture it (our payments are one-stage, so this
        only happens when a shop is configured otherwise)."""
        if not payment.provider_payment_id:
            return
        client = self._providers(tenant, payment.provider)
        try:
            captured = client.capture_payment(payment.provider_payment_id, f"capture-{payment.id}")
        except (PaymentUnavailable, PaymentRejected) as exc:
            log.warning("capture failed", extra={"payment_id": payment.id, "error": str(exc)})
            return
        self.apply(tenant, payment.provider, captured, actor="system")


def release_order(uow: UnitOfWork, order: Order, status: OrderStatus, now: datetime, actor: str,
                  reason: str | None = None) -> None:
    """An unpaid order gives its seats back: tickets cancelled, free places returned,
    the order closed, logged and announced (``order.expired`` / ``order.cancelled``)."""
    uow.orders.set_ticket_status(order.id, TicketStatus.CANCELLED)
    if not any(item.seat_id for item in order.items):
        uow.holds.return_places(order.sailing_id, len(order.items))
    uow.orders.set_status(order.id, order.status.moved_to(status), now)
    uow.log.record(f"order.{status.value}", "order", order.id, actor, order.id, reason=reason)
    uow.outbox.add(f"order.{status.value}", {"order_id": order.id, "number": order.number, "reason": reason},
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

