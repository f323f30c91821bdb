"""Place an order from a hold (the ``create-order`` use case) and read it back.

The hold's seats become the order's reserved tickets inside the database guarantee (the
unique index on live seat tickets; the capacity check on free seating), so a seat is
never sold twice even when Redis lost the hold. State first, then effects: the order and
its pending payment (with the idempotence key every provider call will reuse) commit
before the provider is asked for a payment.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from base64 import urlsafe_b64encode
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore
from prichal.domain.catalog import Sailing, Tariff
from prichal.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, SeatsUnavailable
from prichal.domain.holds import Hold, HoldPolicy, HoldStatus
from prichal.domain.ids import canonical_uuid
from prichal.domain.orders import Customer, Order, OrderItem, OrderStatus, Payment, PaymentStatus
from prichal.domain.pricing import OrderLine, totals
from prichal.domain.return_urls import checked_return_url
from prichal.domain.seating import Seating, SeatMap
from prichal.domain.tenants import Tenant

from .catalog_reader import CatalogReader
from .holds import HoldService
from .inventory import Inventory
from .payments import PaymentService


class IdempotencyMismatch(InvalidInput):
    code = "idempotency-key-reused"
    title = "Idempotency-Key already used for another request"


class FreeOrderRefused(InvalidInput):
    code = "order-total-zero"
    title = "An order must cost something"


class HoldNotUsable(Conflict):
    code = "hold-not-usable"
    title = "The hold cannot become an order"


@dataclass(frozen=True, slots=True)
class ItemRequest:
    seat_id: str | None = None
    ticket_type: str | None = None
    tariff_id: str | None = None
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class OrderRequest:
    hold_token: str
    customer: Customer
    items: list[ItemRequest]
    client_id: str
    return_url: str | None = None
    idempotency_key: str | None = None

    def fingerprint(self) -> str:
        """What makes two requests "the same" for an Idempotency-Key (the caller's identity
        and the key itself excluded)."""
        body = {"hold_token": self.hold_token, "customer": asdict(self.customer),
                "items": [asdict(item) for item in self.items], "return_url": self.return_url}
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    order: Order
    payment: Payment
    access_token: str
    replayed: bool = False


class CheckoutService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], catalog: CatalogReader, holds: HoldService,
                 store: RedisHoldStore, policy: HoldPolicy, payments: PaymentService, token_secret: str,
                 clock: Callable[[], datetime], *, local_return_urls: bool = False) -> None:
        """``local_return_urls`` admits http return URLs on localhost (development)."""
        self._local_return_urls = local_return_urls
        self._uow = uow_factory
        self._catalog = catalog
        self._holds = holds
        self._store = store
        self._inventory = Inventory(store)
        self._policy = policy
        self._payments = payments
        self._secret = token_secret.encode()
        self._now = clock

    # --- access tokens -------------------------------------------------------------------
    def access_token(self, order_id: str) -> str:
        """Derived, not stored: an idempotent replay can hand the same token out again."""
        digest = hmac.new(self._secret, f"order:{order_id}".encode(), hashlib.sha256).digest()
        return urlsafe_b64encode(digest).decode().rstrip("=")

    @staticmethod
    def _token_hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    # --- place -------------------------------------------------------------------------
    def place(self, tenant: Tenant, request: OrderRequest) -> PlacedOrder:
        request = self._checked(tenant, request)
        now = self._now()
        fingerprint = request.fingerprint()
        try:
            order, payment, replayed = self._write(tenant, request, fingerprint, now)
        except (IntegrityError, HoldNotUsable) as exc:
            if not self._same_key_won(tenant, request):
                if isinstance(exc, HoldNotUsable):
                    raise
                raise self._seats_taken(tenant, request) from exc
            # a concurrent request with the same Idempotency-Key committed first: answer as it
            order, payment, replayed = self._write(tenant, request, fingerprint, now)
        if not replayed:
            self._inventory.mirror_ordered(tenant.id, order, now, self._holds.key_ttl_ms)
        if payment.provider_payment_id is None:
            payment = self._payments.start(tenant, order, payment)
        return PlacedOrder(order, payment, self.access_token(order.id), replayed)

    def _checked(self, tenant: Tenant, request: OrderRequest) -> OrderRequest:
        """Before anything is written: the return URL is on the seller's own hosts (whether the
        seller can take the payment is asked in ``_write``, before its first write)."""
        if not request.return_url:
            return request
        return replace(request, return_url=checked_return_url(request.return_url, tenant.hosts,
                                                              self._local_return_urls))

    def _write(self, tenant: Tenant, request: OrderRequest, fingerprint: str,
               now: datetime) -> tuple[Order, Payment, bool]:
        with self._uow(tenant.id) as uow:
            if request.idempotency_key:
                existing = uow.orders.by_idempotency_key(request.idempotency_key)
                if existing is not None:
                    if existing.request_hash != fingerprint:
                        raise IdempotencyMismatch("this Idempotency-Key was used with a different request",
                                                  order_id=existing.id)
                    payment = uow.payments.for_order(existing.id)
                    assert payment is not None  # written with the order
                    return existing, payment, True
            account = self._payments.account_for_new_payment(tenant)  # refused before anything is written
            hold = self._holds.find(tenant.id, request.hold_token, uow, for_update=True)
            self._check_hold(hold, request, now)
            sailing = self._catalog.sailing(tenant.id, hold.sailing_id)
            sailing.ensure_on_sale(now)
            tenant.ensure_selling()
            tariffs = uow.catalog.tariffs([sailing.program_id], on=sailing.departure_day(tenant.timezone))
            lines = self._lines(tenant, sailing, hold, request.items, tariffs, now)
            sums = totals(lines)
            _check_payable(sums.total)
            order = Order(
                id=str(uuid.uuid4()), tenant_id=tenant.id, number=uow.orders.next_number(),
                status=OrderStatus.AWAITING_PAYMENT, sailing_id=sailing.id, hold_token=hold.token,
                client_id=request.client_id, customer=request.customer, total=sums.total, vat_total=sums.vat_total,
                currency="RUB", created_at=now,
                expires_at=max(self._policy.extended_expiry(hold.created_at, now), hold.expires_at),
                return_url=request.return_url, idempotency_key=request.idempotency_key, request_hash=fingerprint)
            self._mark_ordered(uow, hold, order, now)  # first: the order references its hold
            uow.orders.add(order, self._token_hash(self.access_token(order.id)))
            if sailing.seating is Seating.ASSIGNED:
                taken = uow.catalog.sold_seats(sailing.id, among=list(hold.seat_ids))
                if taken:
                    raise SeatsUnavailable("some seats were sold meanwhile", seat_ids=sorted(taken))
            items = []
            for position, line in enumerate(lines, start=1):
                ticket_id = Inventory.reserve(uow, order.id, sailing.id, line.seat_id, line.tariff_id, hold.token)
                item = OrderItem(id=str(uuid.uuid4()), ticket_id=ticket_id, position=position, seat_id=line.seat_id,
                                 tariff_id=line.tariff_id, ticket_type=line.ticket_type, description=line.description,
                                 price=line.price, vat_rate=line.vat_rate, vat_amount=line.vat)
                uow.orders.add_item(order.id, item)
                items.append(item)
            payment = Payment(id=str(uuid.uuid4()), order_id=order.id, account=account,
                              provider_payment_id=None, status=PaymentStatus.PENDING, amount=order.total,
                              currency="RUB", idempotence_key=str(uuid.uuid4()))
            uow.payments.add(payment)
            uow.log.record("order.created", "order", order.id, "buyer", order.id, number=order.number,
                           total=str(order.total), vat_total=str(order.vat_total), client=request.client_id)
            uow.log.record("hold.ordered", "hold", hold.token, "buyer", order.id)
            uow.log.record("seat.reserved", "order", order.id, "buyer", order.id,
                           seats=[line.seat_id for line in lines if line.seat_id], places=len(lines))
            uow.log.record("payment.created", "payment", payment.id, "system", order.id,
                           provider=payment.provider, amount=str(payment.amount))
            uow.commit()
        return replace(order, items=tuple(items)), payment, False

    @staticmethod
    def _mark_ordered(uow: UnitOfWork, hold: Hold, order: Order, now: datetime) -> None:
        """The hold becomes the order's. A seat hold lived only in Redis: writing its row
        now is also the guard against two orders from one hold (the token is the key)."""
        if hold.seat_ids:
            savepoint = uow.conn.begin_nested()
            try:
                uow.holds.add(replace(hold, status=HoldStatus.ORDERED, expires_at=order.expires_at))
                savepoint.commit()
            except IntegrityError as exc:
                savepoint.rollback()
                raise HoldNotUsable("this hold already became an order", reason="ordered") from exc
        else:
            uow.holds.close(hold.token, HoldStatus.ORDERED, now)
            uow.holds.set_expiry(hold.token, order.expires_at)

    @staticmethod
    def _check_hold(hold: Hold, request: OrderRequest, now: datetime) -> None:
        if hold.status is HoldStatus.ORDERED:
            raise HoldNotUsable("this hold already became an order", reason="ordered")
        status = hold.effective_status(now)
        if status is not HoldStatus.ACTIVE:
            raise HoldNotUsable(f"the hold is {status.value}", reason=status.value)
        if hold.client_id != request.client_id:
            raise HoldNotUsable("the hold belongs to another client", reason="other-client")

    def _same_key_won(self, tenant: Tenant, request: OrderRequest) -> bool:
        if not request.idempotency_key:
            return False
        with self._uow(tenant.id) as uow:
            return uow.orders.by_idempotency_key(request.idempotency_key) is not None

    def _seats_taken(self, tenant: Tenant, request: OrderRequest) -> SeatsUnavailable:
        """The unique index refused a ticket: name the seats that are gone."""
        hold = self._holds.find(tenant.id, request.hold_token)
        with self._uow(tenant.id) as uow:
            taken = uow.catalog.sold_seats(hold.sailing_id, among=list(hold.seat_ids))
        return SeatsUnavailable("some seats were sold meanwhile", seat_ids=sorted(taken))

    # --- lines -----------------------------------------------------------------------------
    def _lines(self, tenant: Tenant, sailing: Sailing, hold: Hold, items: list[ItemRequest],
               tariffs: list[Tariff], now: datetime) -> list[OrderLine]:
        zone = ZoneInfo(tenant.timezone)
        day = now.astimezone(zone).date()
        title = f"Билет: {sailing.program_name}, {sailing.departs_at.astimezone(zone):%d.%m.%Y %H:%M}"
        if sailing.seating is Seating.ASSIGNED:
            seat_map = self._catalog.seat_map(tenant.id, sailing.seat_map_id or "")
            return self._seat_lines(tenant, seat_map, hold, items, tariffs, day, title)
        return self._place_lines(tenant, hold, items, tariffs, day, title)

    def _seat_lines(self, tenant: Tenant, seat_map: SeatMap, hold: Hold, items: list[ItemRequest],
                    tariffs: list[Tariff], day: date, title: str) -> list[OrderLine]:
        errors = []
        asked = [item.seat_id for item in items]
        if sorted(str(s) for s in asked) != sorted(hold.seat_ids):
            errors.append({"loc": ["items"], "type": "seats_mismatch",
                           "msg": f"give exactly one item for each held seat: {', '.join(hold.seat_ids)}"})
            raise InvalidInput("the items do not match the held seats", errors=errors)
        lines = []
        for index, item in enumerate(items):
            seat = seat_map.seats[str(item.seat_id)]
            tariff = _pick_tariff(tariffs, item, seat.category, index)
            lines.append(OrderLine(
                description=f"{title}, {tariff.name}, {seat_map.label(seat.id)}",
                price=tariff.price, vat_rate=tenant.vat_rate_on(day, tariff.vat_rate),
                ticket_type=tariff.ticket_type, tariff_id=tariff.id, seat_id=seat.id))
        return lines

    def _place_lines(self, tenant: Tenant, hold: Hold, items: list[ItemRequest], tariffs: list[Tariff],
                     day: date, title: str) -> list[OrderLine]:
        if any(item.seat_id for item in items):
            raise InvalidInput("free seating has no seats", errors=[
                {"loc": ["items"], "type": "not_allowed", "msg": "omit seat_id on free seating"}])
        if sum(item.quantity for item in items) != hold.quantity:
            raise InvalidInput("the quantities do not match the hold", errors=[
                {"loc": ["items"], "type": "quantity_mismatch",
                 "msg": f"the quantities must add up to the {hold.quantity} held places"}])
        lines = []
        for index, item in enumerate(items):
            tariff = _pick_tariff(tariffs, item, None, index)
            lines.extend(OrderLine(description=f"{title}, {tariff.name}", price=tariff.price,
                                   vat_rate=tenant.vat_rate_on(day, tariff.vat_rate),
                                   ticket_type=tariff.ticket_type, tariff_id=tariff.id)
                         for _ in range(item.quantity))
        return lines

    # --- read ------------------------------------------------------------------------------
    def read(self, tenant: Tenant, order_id: str, access_token: str | None) -> tuple[Order, Payment | None]:
        """The order for its buyer: the access token returned at creation is the key."""
        with self._uow(tenant.id) as uow:
            order_id = canonical_uuid(order_id) or ""
            expected = uow.orders.access_token_hash(order_id) if order_id else None
            if expected is None:
                raise NotFound("order not found")
            if not access_token or not hmac.compare_digest(expected, self._token_hash(access_token)):
                raise Forbidden("a valid order access token is required")
            order = uow.orders.get(order_id)
            payment = uow.payments.for_order(order_id)
        assert order is not None
        return order, payment


def _check_payable(total: Decimal) -> None:
    """Free tickets (a 0.00 tariff, e.g. infants) go with paid ones; an order of free tickets
    only is refused here, before anything is written: every order is confirmed by its
    payment, and there is no payment of 0.00 (the provider client refuses one)."""
    if total <= 0:
        raise FreeOrderRefused("an order of free tickets only cannot be paid; add a paid ticket", errors=[
            {"loc": ["items"], "type": "order_total_zero", "msg": "the order's total is 0.00"}])


def _pick_tariff(tariffs: list[Tariff], item: ItemRequest, category: str | None, index: int) -> Tariff:
    """The tariff for one item: by id, or by ticket type — the seat category's own tariff
    before a tariff for any seat."""
    loc = ["items", index]
    if item.tariff_id:
        found = next((t for t in tariffs if t.id == item.tariff_id), None)
        if found is None or not found.applies_to(category):
            raise InvalidInput("unknown tariff for this seat", errors=[
                {"loc": [*loc, "tariff_id"], "type": "unknown_tariff", "msg": "no such tariff for this seat"}])
        return found
    matching = [t for t in tariffs if t.ticket_type == item.ticket_type and t.applies_to(category)]
    matching.sort(key=lambda t: t.seat_category is None)
    if not matching:
        raise InvalidInput("unknown ticket type for this seat", errors=[
            {"loc": [*loc, "ticket_type"], "type": "unknown_ticket_type",
             "msg": f"no {item.ticket_type!r} tariff for this seat"}])
    return matching[0]

