"""Refunds: the one owner of a refund's lifecycle (``container.refunds``).

- ``quote``: which tickets of an order, how much each and why (the tenant's refund policy,
  ``domain/refund_policy.py``), for the buyer (order access token) or an agent;
- ``refund``: all or some tickets, by the buyer (the policy's amounts), an agent (the
  policy's amounts, or an override up to what is left, with a reason) or the system (a
  canceled sailing: in full). Every refund has an Idempotency-Key;
- ``cancel_sailing``: the seller cancels a sailing; every paid order is refunded in full,
  in bounded batches that resume after a crash without refunding anyone twice.

Exactly one refund, whatever races: the order row is locked first, then its tickets (a
boarding scan takes the same ticket lock); a ticket has at most one refund item (unique
index), an Idempotency-Key at most one refund (unique per tenant), a canceled sailing at
most one refund per order (partial unique index), and ``orders.refunded_total`` can never
pass the paid total (CHECK). State first, then effects: the refund row (with the provider
idempotence key and the 54-FZ receipt), the tickets' new state, the order's status, the
order log and the ``order.refunded`` event commit together; then Redis is brought in line,
the provider is asked (``PaymentService.send_refund``, retried by the cron with the same key)
and the buyer is emailed.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.payments.deadline import FAIR_SHARE_FLOOR_SECONDS, fair_turns, provider_deadline
from prichal.domain.catalog import Sailing, SailingStatus
from prichal.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from prichal.domain.events import OrderRefunded, RefundedTicket, SailingCanceled
from prichal.domain.holds import Hold
from prichal.domain.ids import canonical_uuid
from prichal.domain.inventory import SeatChange, TicketRow
from prichal.domain.orders import Order, OrderItem, OrderStatus, PaymentStatus, TicketStatus
from prichal.domain.pricing import OrderLine, receipt
from prichal.domain.refund_policy import KOPECK, Basis, TicketDecision, decide, policy_for
from prichal.domain.staff import Permission, StaffActor
from prichal.domain.tenants import Tenant
from prichal.observability.metrics import REFUND_AMOUNT, REFUNDS
from prichal.observability.tracing import inject_context

from .catalog_reader import CatalogReader
from .inventory import Inventory
from .outbox import OutboxRelay
from .payments import PaymentService

log = logging.getLogger("prichal.refunds")

ORDERS_REFUND = Permission.ORDERS_REFUND
ORDERS_REFUND_OVERRIDE = Permission.ORDERS_REFUND_OVERRIDE
SAILINGS_CANCEL = Permission.SAILINGS_CANCEL


# --- who asks -------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Buyer:
    """The buyer, proven by the order's access token (returned when the order was placed)."""

    access_token: str


@dataclass(frozen=True, slots=True)
class SystemActor:
    """The platform itself (a canceled sailing, the CLI, a cron)."""

    name: str = "system"


Actor = Buyer | SystemActor | StaffActor


def actor_label(by: Actor) -> str:
    if isinstance(by, Buyer):
        return "buyer"
    if isinstance(by, SystemActor):
        return by.name
    return f"agent:{by.principal.user_id}"


# --- errors -----------------------------------------------------------------------------------

class RefundNotAllowed(Conflict):
    code = "refund-not-allowed"
    title = "The refund policy does not allow this refund"


class OrderNotRefundable(Conflict):
    code = "order-not-refundable"
    title = "This order cannot be refunded"


class TicketsAlreadyRefunded(Conflict):
    code = "tickets-already-refunded"
    title = "Some tickets were already refunded"


class RefundExceedsPaid(InvalidInput):
    code = "refund-exceeds-paid"
    title = "A refund cannot give back more than was paid"


class NothingToRefund(Conflict):
    code = "nothing-to-refund"
    title = "Nothing is left to refund"


class RefundIdempotencyMismatch(InvalidInput):
    code = "idempotency-key-reused"
    title = "Idempotency-Key already used for another request"


# --- answers -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class QuoteLine:
    ticket_id: str
    position: int
    seat_id: str | None
    description: str
    decision: TicketDecision


@dataclass(frozen=True, slots=True)
class RefundQuote:
    order_id: str
    number: int
    currency: str
    lines: tuple[QuoteLine, ...]
    amount: Decimal  # what the refundable lines give back
    left: Decimal  # what is still refundable on the order (paid total - refunded)

    @property
    def refundable(self) -> bool:
        return bool(self.lines) and all(line.decision.refundable for line in self.lines) and self.amount > 0


@dataclass(frozen=True, slots=True)
class RefundedLine:
    ticket_id: str
    price: Decimal
    fee: Decimal
    amount: Decimal
    basis: dict[str, Any]


@dataclass(frozen=True, slots=True)
class RefundView:
    id: str
    order_id: str
    status: str  # requested | pending | succeeded | canceled | failed
    amount: Decimal
    kind: str
    reason: str
    actor: str
    order_status: str
    tickets: tuple[RefundedLine, ...]
    created_at: datetime
    replayed: bool = False
    last_error: str | None = None


@dataclass(frozen=True, slots=True)
class CancellationProgress:
    sailing_id: str
    status: str  # running | done
    reason: str
    canceled_by: str
    total: int  # paid orders of the sailing to refund (refunded + left)
    refunded: int
    left: int
    unpaid: int = 0  # orders still awaiting payment (refunded by a later run should they pay)


@dataclass
class _Done:
    """What one refund transaction committed (its effects run after the commit)."""

    view: RefundView
    order: Order
    seat_ids: list[str] = field(default_factory=list)
    send: bool = True


class RefundService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], catalog: CatalogReader, inventory: Inventory,
                 payments: PaymentService, relay: OutboxRelay, notify: Callable[[Tenant, str], None],
                 clock: Callable[[], datetime], batch: int = 50,
                 catalog_changed: Callable[[str], None] = lambda tenant_id: None) -> None:
        """``notify(tenant, refund_id)`` emails the buyer (best effort; the cron retries);
        ``catalog_changed(tenant_id)`` makes every process read the tenant's sailings afresh."""
        self._uow = uow_factory
        self._catalog = catalog
        self._inventory = inventory
        self._payments = payments
        self._relay = relay
        self._notify = notify
        self._now = clock
        self._batch = batch
        self._catalog_changed = catalog_changed

    # --- quote ------------------------------------------------------------------------------
    def quote(self, tenant: Tenant, order_id: str, ticket_ids: list[str] | None,
              by: Actor | str) -> RefundQuote:
        """What a refund of these tickets (``None``: every live ticket) would give back, and
        why. ``by``: the buyer's access token (a ``str`` or ``Buyer``) or a staff actor."""
        by = Buyer(by) if isinstance(by, str) else by
        order_id = self._order_id(order_id)
        with self._uow(tenant.id) as uow:
            order = self._authorised_order(uow, order_id, by)
            tickets = uow.orders.tickets(order.id)
            chosen = self._chosen(order, tickets, ticket_ids)
            lines = self._decisions(tenant, uow, order, chosen, sailing_canceled=False)
        return RefundQuote(order.id, order.number, order.currency, tuple(lines),
                           sum((line.decision.amount for line in lines if line.decision.refundable), Decimal("0.00")),
                           order.total - order.refunded_total)

    # --- refund -----------------------------------------------------------------------------
    def refund(self, tenant: Tenant, order_id: str, ticket_ids: list[str] | None, idempotency_key: str,
               by: Actor, amount_override: Decimal | None = None, reason: str = "") -> RefundView:
        """Refund tickets of an order (``None``: every live ticket); see the module's doc."""
        order_id = self._order_id(order_id)
        key = _checked_key(idempotency_key)
        override = _checked_override(amount_override, by)
        reason = (reason or "").strip()
        if not isinstance(by, (Buyer, SystemActor)):
            if not by.principal.can(ORDERS_REFUND):
                raise Forbidden("this staff role may not refund")
            if not reason:
                raise InvalidInput("an agent's refund needs a reason", errors=[
                    {"loc": ["body", "reason"], "type": "missing", "msg": "say why the money goes back"}])
        fingerprint = _fingerprint(order_id, ticket_ids, override, reason, actor_label(by))
        kind = "buyer" if isinstance(by, Buyer) else "system" if isinstance(by, SystemActor) else "agent"
        try:
            done = self._write(tenant, order_id, ticket_ids, key, fingerprint, by, kind, override,
                               reason or "refund requested by the buyer", sailing_canceled=False)
        except IntegrityError:  # a concurrent request with the same key (or tickets) committed first
            done = self._write(tenant, order_id, ticket_ids, key, fingerprint, by, kind, override,
                               reason or "refund requested by the buyer", sailing_canceled=False)
        self._effects(tenant, done)
        return self.view(tenant, done.view.id, replayed=done.view.replayed)

    def _write(self, tenant: Tenant, order_id: str, ticket_ids: list[str] | None, key: str, fingerprint: str,
               by: Actor, kind: str, override: Decimal | None, reason: str, *, sailing_canceled: bool) -> _Done:
        now = self._now()
        with self._uow(tenant.id) as uow:
            replay = self._replay(uow, key, fingerprint)
            if replay is not None:
                return replay
            order = self._authorised_order(uow, order_id, by, for_update=True)
            replay = self._replay(uow, key, fingerprint)  # the same key may have won while we waited
            if replay is not None:
                return replay
            if order.status not in (OrderStatus.PAID, OrderStatus.PARTIALLY_REFUNDED):
                raise OrderNotRefundable(f"the order is {order.status.value}", order_status=order.status.value)
            payment = uow.payments.for_order(order.id)
            if payment is None or payment.status is not PaymentStatus.SUCCEEDED:
                raise OrderNotRefundable("the order's payment has not succeeded")
            tickets = self._inventory.locked_tickets(uow, order.id)
            chosen = self._chosen(order, tickets, ticket_ids)
            lines = self._decisions(tenant, uow, order, chosen, sailing_canceled=sailing_canceled)
            refunded = self._amounts(lines, order, by, override)
            amount = sum((line.amount for line in refunded), Decimal("0.00"))
            if amount <= 0:
                raise NothingToRefund("the policy keeps the whole price of these tickets",
                                      lines=[line.basis for line in refunded])
            if not uow.orders.add_refunded(order.id, amount):
                raise RefundExceedsPaid(f"{amount} is more than the {order.total - order.refunded_total} left",
                                        errors=[{"loc": ["body", "amount"], "type": "too_much",
                                                 "msg": f"at most {order.total - order.refunded_total}"}])
            refund_id = str(uuid.uuid4())
            items = {item.ticket_id: item for item in order.items}
            refund_receipt = _refund_receipt(tenant, order, [(items[line.ticket_id], line.amount)
                                                             for line in refunded])
            uow.refunds.add(refund_id=refund_id, order_id=order.id, payment_id=payment.id, amount=amount,
                            reason=reason, kind=kind, actor=actor_label(by), idempotence_key=str(uuid.uuid4()),
                            idempotency_key=key, request_hash=fingerprint,
                            decision={"lines": [line.basis for line in refunded], "override": _str(override)},
                            receipt=refund_receipt)
            for line in refunded:
                uow.refunds.add_item(refund_id, order.id, line.ticket_id, line.price, line.fee, line.amount,
                                     line.basis)
            moved = self._inventory.refund(uow, order, [t for t in tickets if t.id in {c.id for c in chosen}])
            left_live = [t for t in tickets if t.status is TicketStatus.SOLD and t.id not in {m.id for m in moved}]
            status = order.status.moved_to(OrderStatus.PARTIALLY_REFUNDED if left_live else OrderStatus.REFUNDED)
            uow.orders.set_status(order.id, status, now)
            actor = actor_label(by)
            uow.log.record("refund.requested", "refund", refund_id, actor, order.id, amount=str(amount),
                           kind=kind, reason=reason, tickets=[t.id for t in moved], override=_str(override))
            seat_ids = [t.seat_id for t in moved if t.seat_id]
            uow.log.record("seat.refunded", "order", order.id, actor, order.id, seats=seat_ids,
                           places=sum(1 for t in moved if t.seat_id is None))
            uow.log.record(f"order.{status.value}", "order", order.id, actor, order.id,
                           refunded_total=str(order.refunded_total + amount))
            uow.outbox.add_event(OrderRefunded(
                order_id=order.id, number=order.number, refund_id=refund_id, sailing_id=order.sailing_id,
                amount=amount, tickets=[RefundedTicket(line.ticket_id, line.amount) for line in refunded],
                reason=reason, fully_refunded=status is OrderStatus.REFUNDED), headers=dict(inject_context({})))
            if isinstance(by, StaffActor):  # every staff action is audited in its transaction
                uow.audit.record(by, "order.refund", "order", order.id, refund_id=refund_id, amount=str(amount),
                                 override=_str(override), reason=reason)
            uow.commit()
        view = RefundView(refund_id, order.id, "requested", amount, kind, reason, actor, status.value,
                          tuple(refunded), now)
        return _Done(view, order, seat_ids)

    def _replay(self, uow: UnitOfWork, key: str, fingerprint: str) -> _Done | None:
        row = uow.refunds.by_idempotency_key(key)
        if row is None:
            return None
        if row.request_hash != fingerprint:
            raise RefundIdempotencyMismatch("this Idempotency-Key was used with a different request",
                                            refund_id=row.id)
        order = uow.orders.get(row.order_id)
        assert order is not None
        return _Done(_view(row, order, uow.refunds.items(row.id), replayed=True), order, send=False)

    def _effects(self, tenant: Tenant, done: _Done) -> None:
        """After commit: Redis, the provider, the outbox, the buyer's email (each retried by
        the cron should it fail now)."""
        if done.send:
            self._inventory.mirror(tenant.id, done.order, SeatChange.REFUNDED, done.seat_ids)
            REFUNDS.labels(done.view.kind).inc()
            REFUND_AMOUNT.labels(done.view.kind).inc(float(done.view.amount))  # a metric, not money
        with self._payments.deadline():
            self._payments.send_refund(tenant, done.view.id)
        self._relay.publish_pending(tenant.id)
        if done.send:
            self._notify(tenant, done.view.id)

    # --- reads ------------------------------------------------------------------------------
    def view(self, tenant: Tenant, refund_id: str, replayed: bool = False) -> RefundView:
        with self._uow(tenant.id) as uow:
            row = uow.refunds.get(refund_id)
            if row is None:
                raise NotFound("refund not found")
            order = uow.orders.get(row.order_id)
            assert order is not None
            return _view(row, order, uow.refunds.items(row.id), replayed)

    def refunds_of(self, tenant: Tenant, order_id: str, by: Actor | str) -> list[RefundView]:
        by = Buyer(by) if isinstance(by, str) else by
        order_id = self._order_id(order_id)
        with self._uow(tenant.id) as uow:
            order = self._authorised_order(uow, order_id, by)
            return [_view(row, order, uow.refunds.items(row.id)) for row in uow.refunds.for_order(order.id)]

    def refunded_ticket_ids(self, tenant: Tenant, order_id: str) -> set[str]:
        """The order's refunded tickets (their documents show it; callers have checked access)."""
        order_id = canonical_uuid(order_id) or ""
        if not order_id:
            return set()
        with self._uow(tenant.id) as uow:
            return set(uow.refunds.refunded_tickets(order_id))

    def revocations(self, tenant: Tenant, sailing_id: str | None, since: datetime | None,
                    limit: int = 5000) -> list[dict[str, Any]]:
        """Ticket ids whose codes are void (refunded), for the scanners of a sailing."""
        if sailing_id is not None and canonical_uuid(sailing_id) is None:
            raise NotFound("sailing not found")
        with self._uow(tenant.id) as uow:
            rows = uow.refunds.revoked_tickets(canonical_uuid(sailing_id) if sailing_id else None, since, limit)
        return [{"ticket_id": r.ticket_id, "sailing_id": r.sailing_id, "revoked_at": r.created_at.isoformat()}
                for r in rows]

    # --- sailing cancellation -------------------------------------------------------------
    def cancel_sailing(self, tenant: Tenant, sailing_id: str, actor: Actor, reason: str,
                       max_batches: int | None = None) -> CancellationProgress:
        """Cancel a sailing (once) and refund its paid orders in full, ``batch`` orders per
        transaction; calling it again resumes where a crash left it (``max_batches`` bounds
        one call: the cron resumes the rest)."""
        reason = (reason or "").strip()
        if not reason:
            raise InvalidInput("a cancellation needs a reason", errors=[
                {"loc": ["reason"], "type": "missing", "msg": "say why the sailing is canceled"}])
        if not isinstance(actor, (Buyer, SystemActor)) and not actor.principal.can(SAILINGS_CANCEL):
            raise Forbidden("this staff role may not cancel sailings")
        if isinstance(actor, Buyer):
            raise Forbidden("a buyer cannot cancel a sailing")
        sailing = self._sailing(tenant, sailing_id)
        released: list[Hold] = []
        with self._uow(tenant.id) as uow:
            if uow.refunds.cancellation(sailing.id, for_update=True) is None:
                uow.refunds.start_cancellation(sailing.id, reason, actor_label(actor))
                released = self._inventory.release_sailing_holds(uow, sailing.id, self._now())
                uow.log.record("sailing.canceled", "sailing", sailing.id, actor_label(actor), None, reason=reason)
                uow.outbox.add_event(SailingCanceled(sailing_id=sailing.id, reason=reason,
                                                     canceled_by=actor_label(actor)),
                                     headers=dict(inject_context({})))
                if isinstance(actor, StaffActor):
                    uow.audit.record(actor, "sailing.cancel", "sailing", sailing.id, reason=reason)
                uow.commit()
        self._catalog_changed(tenant.id)  # every process sees the sailing canceled at once
        self._inventory.stop_sales(tenant.id, sailing.id, released, self._now())  # also on a resumed call
        self._relay.publish_pending(tenant.id)
        return self.resume_cancellation(tenant, sailing.id, max_batches)

    def resume_cancellation(self, tenant: Tenant, sailing_id: str,
                            max_batches: int | None = None) -> CancellationProgress:
        with self._uow(tenant.id) as uow:
            row = uow.refunds.cancellation(sailing_id)
            unsent = uow.refunds.unsent_of_sailing(sailing_id)
        if row is None:
            raise NotFound("this sailing was not canceled")
        for refund_id in unsent:  # committed before a crash, never sent
            with self._payments.deadline():
                self._payments.send_refund(tenant, refund_id)
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with self._uow(tenant.id) as uow:
                order_ids = uow.refunds.orders_to_cancel(sailing_id, self._batch)
            for order_id in order_ids:
                self._refund_for_cancellation(tenant, order_id, row.reason)
            self._relay.publish_pending(tenant.id)
            if len(order_ids) < self._batch:
                break
        return self.progress(tenant, sailing_id, record=True)

    def _refund_for_cancellation(self, tenant: Tenant, order_id: str, reason: str) -> None:
        key = f"sailing-canceled:{order_id}"  # one per order, whatever crashed before
        system = SystemActor("system")
        try:
            done = self._write(tenant, order_id, None, key, _fingerprint(order_id, None, None, reason, "system"),
                               system, "sailing_canceled", None, f"sailing canceled: {reason}",
                               sailing_canceled=True)
        except (IntegrityError, NothingToRefund, OrderNotRefundable) as exc:  # another run took it
            log.info("order skipped by the cancellation", extra={"order_id": order_id, "error": str(exc)})
            return
        self._effects(tenant, done)

    def progress(self, tenant: Tenant, sailing_id: str, record: bool = False) -> CancellationProgress:
        """Refunded / total of a cancellation, read while it runs."""
        sailing_id = canonical_uuid(sailing_id) or ""
        with self._uow(tenant.id) as uow:
            row = uow.refunds.cancellation(sailing_id) if sailing_id else None
            if row is None:
                raise NotFound("this sailing was not canceled")
            refunded, left, unpaid = uow.refunds.cancellation_counts(sailing_id)
            done = left == 0 and unpaid == 0
            if record:
                uow.refunds.record_progress(sailing_id, refunded + left, refunded, done, self._now())
                uow.commit()
            status = "done" if done and record else row.status
        return CancellationProgress(sailing_id, status, row.reason, row.canceled_by, refunded + left, refunded,
                                    left, unpaid)

    def running_cancellations(self, tenant: Tenant) -> list[str]:
        with self._uow(tenant.id) as uow:
            return uow.refunds.running_cancellations()

    # --- reconciliation (cron) ----------------------------------------------------------------
    def reconcile_all(self, tenants: list[Tenant], before: datetime) -> dict[str, int]:
        """``reconcile`` every tenant in one run whose provider time is shared fairly (see
        ``fair_turns``): one tenant's dead provider spends its share, not the others' time."""
        total = {"sent": 0, "reread": 0, "emailed": 0, "cancellations": 0}
        with self._payments.deadline() as budget:
            for tenant, share in fair_turns(tenants, budget, turn=int(self._now().timestamp() // 60),
                                            floor=FAIR_SHARE_FLOOR_SECONDS):
                with provider_deadline(share, budget.clock):  # reconcile's own deadlines nest inside
                    for name, count in self.reconcile(tenant, before).items():
                        total[name] += count
        return total

    def reconcile(self, tenant: Tenant, before: datetime, limit: int = 200) -> dict[str, int]:
        """Send refunds never accepted by the provider (also late-payment ones), re-read
        pending ones, email buyers not emailed yet, resume running cancellations."""
        counts = {"sent": 0, "reread": 0, "emailed": 0, "cancellations": 0}
        with self._uow(tenant.id) as uow:
            due = uow.refunds.unsettled(before, limit)
            emails = uow.refunds.email_due(limit)
            running = uow.refunds.running_cancellations()
        with self._payments.deadline():
            for row in due:
                if row.status == "requested":
                    self._payments.send_refund(tenant, row.id)
                    counts["sent"] += 1
                elif row.provider_refund_id:
                    self._payments.reread_refund(tenant, row.id)
                    counts["reread"] += 1
        for refund_id in emails:
            self._notify(tenant, refund_id)
            counts["emailed"] += 1
        for sailing_id in running:
            self.resume_cancellation(tenant, sailing_id, max_batches=4)
            counts["cancellations"] += 1
        return counts

    # --- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _order_id(order_id: str) -> str:
        canonical = canonical_uuid(order_id)
        if canonical is None:
            raise NotFound("order not found")
        return canonical

    def _sailing(self, tenant: Tenant, sailing_id: str) -> Sailing:
        return self._catalog.sailing(tenant.id, sailing_id)

    @staticmethod
    def _authorised_order(uow: UnitOfWork, order_id: str, by: Actor, for_update: bool = False) -> Order:
        expected = uow.orders.access_token_hash(order_id)
        if expected is None:
            raise NotFound("order not found")
        if isinstance(by, Buyer):
            given = hashlib.sha256((by.access_token or "").encode()).hexdigest()
            if not by.access_token or not hmac.compare_digest(expected, given):
                raise Forbidden("a valid order access token is required")
        order = uow.orders.get(order_id, for_update=for_update)
        assert order is not None
        return order

    @staticmethod
    def _chosen(order: Order, tickets: list[TicketRow], ticket_ids: list[str] | None) -> list[TicketRow]:
        if ticket_ids is None:
            live = [t for t in tickets if t.status is TicketStatus.SOLD]
            if not live:
                raise NothingToRefund("the order has no live ticket left")
            return live
        if not ticket_ids:
            raise InvalidInput("name at least one ticket", errors=[
                {"loc": ["body", "ticket_ids"], "type": "too_short", "msg": "at least one ticket id"}])
        by_id = {t.id: t for t in tickets}
        errors, chosen = [], []
        for index, raw in enumerate(ticket_ids):
            ticket = by_id.get(canonical_uuid(raw) or "")
            if ticket is None:
                errors.append({"loc": ["body", "ticket_ids", index], "type": "unknown_ticket",
                               "msg": "not a ticket of this order"})
            elif ticket not in chosen:
                chosen.append(ticket)
        if errors:
            raise InvalidInput("some tickets are not tickets of this order", errors=errors)
        gone = [t.id for t in chosen if t.status is TicketStatus.REFUNDED]
        if gone:
            raise TicketsAlreadyRefunded("these tickets were already refunded", ticket_ids=gone)
        dead = [t.id for t in chosen if t.status is not TicketStatus.SOLD]
        if dead:
            raise OrderNotRefundable("these tickets were never paid", ticket_ids=dead)
        return chosen

    def _decisions(self, tenant: Tenant, uow: UnitOfWork, order: Order, chosen: list[TicketRow], *,
                   sailing_canceled: bool) -> list[QuoteLine]:
        departs = uow.catalog.sailing(order.sailing_id)
        assert departs is not None
        zone = ZoneInfo(tenant.timezone)
        sold_on = (order.paid_at or order.created_at).astimezone(zone).date()
        policy = policy_for(tenant.refund_policy, program_id=departs.program_id, sold_on=sold_on)
        canceled = sailing_canceled or departs.status is SailingStatus.CANCELLED
        now = self._now()
        items = {item.ticket_id: item for item in order.items}
        return [QuoteLine(t.id, items[t.id].position, t.seat_id, items[t.id].description,
                          decide(policy, items[t.id].price, departs.departs_at, now, zone, sailing_canceled=canceled,
                                 boarded=t.boarded_at is not None))
                for t in chosen]

    @staticmethod
    def _amounts(lines: list[QuoteLine], order: Order, by: Actor, override: Decimal | None) -> list[RefundedLine]:
        """The amount per ticket: the policy's, or the agent's override spread over the
        tickets in order (each at most its price)."""
        if override is None:
            refused = [line for line in lines if not line.decision.refundable]
            if refused:
                raise RefundNotAllowed("the refund policy does not allow refunding these tickets",
                                       tickets=[{"ticket_id": line.ticket_id, **line.decision.as_json()}
                                                for line in refused])
            return [RefundedLine(line.ticket_id, line.decision.price, line.decision.fee, line.decision.amount,
                                 {"ticket_id": line.ticket_id, **line.decision.as_json()}) for line in lines]
        prices = sum((line.decision.price for line in lines), Decimal("0.00"))
        left = order.total - order.refunded_total
        if override > prices or override > left:
            raise RefundExceedsPaid(f"{override} is more than these tickets' {min(prices, left)} left", errors=[
                {"loc": ["body", "amount"], "type": "too_much", "msg": f"at most {min(prices, left)}"}])
        remaining, result = override, []
        for line in lines:
            amount = min(line.decision.price, remaining)
            remaining -= amount
            result.append(RefundedLine(line.ticket_id, line.decision.price, line.decision.price - amount, amount, {
                "ticket_id": line.ticket_id, "basis": Basis.OVERRIDE.value, "amount": str(amount),
                "price": str(line.decision.price), "policy": line.decision.as_json(),
                "detail": f"amount set by {actor_label(by)}"}))
        return result


def _view(row: Any, order: Order, items: list[Any], replayed: bool = False) -> RefundView:
    return RefundView(row.id, row.order_id, row.status, row.amount, row.kind, row.reason, row.actor,
                      order.status.value,
                      tuple(RefundedLine(i.ticket_id, i.price, i.fee, i.amount, dict(i.basis)) for i in items),
                      row.created_at, replayed, row.last_error)


def _refund_receipt(tenant: Tenant, order: Order, lines: list[tuple[OrderItem, Decimal]]) -> dict[str, Any] | None:
    """The 54-FZ refund receipt: one item per refunded ticket with what goes back."""
    paid = [OrderLine(item.description, amount, item.vat_rate, item.ticket_type, item.tariff_id, item.seat_id)
            for item, amount in lines if amount > 0]
    if not paid:
        return None
    return receipt(paid, email=order.customer.email, phone=order.customer.phone, full_name=order.customer.name,
                   tax_system_code=tenant.tax_system_code)


def _checked_key(key: str | None) -> str:
    key = (key or "").strip()
    if not key:
        raise InvalidInput("a refund needs an Idempotency-Key", errors=[
            {"loc": ["header", "Idempotency-Key"], "type": "missing", "msg": "send a unique key per refund"}])
    if len(key) > 64 or any(ord(c) < 32 or ord(c) == 127 for c in key):
        raise InvalidInput("Idempotency-Key is not usable", errors=[
            {"loc": ["header", "Idempotency-Key"], "type": "value_error",
             "msg": "at most 64 characters, no control characters"}])
    return key


def _checked_override(amount: Any, by: Actor) -> Decimal | None:
    if amount is None:
        return None
    if isinstance(by, Buyer):
        raise Forbidden("only an agent may set the amount of a refund")
    if not isinstance(by, SystemActor) and not by.principal.can(ORDERS_REFUND_OVERRIDE):
        raise Forbidden("this staff role may not override the refund policy")
    if isinstance(amount, (bool, float)) or not isinstance(amount, (Decimal, str, int)):
        raise _bad_amount("a decimal string is required (money is never a float)")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise _bad_amount("not a decimal") from None
    if not value.is_finite() or value <= 0:
        raise _bad_amount("more than 0")
    if value != value.quantize(KOPECK):
        raise _bad_amount("at most two decimal places")
    return value.quantize(KOPECK)


def _bad_amount(msg: str) -> InvalidInput:
    return InvalidInput("the amount is not valid", errors=[{"loc": ["body", "amount"], "type": "value_error",
                                                             "msg": msg}])


def _fingerprint(order_id: str, ticket_ids: list[str] | None, override: Decimal | None, reason: str,
                 actor: str) -> str:
    body = {"order": order_id, "tickets": sorted(canonical_uuid(t) or t for t in ticket_ids) if ticket_ids else None,
            "amount": _str(override), "reason": reason, "actor": actor}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)
