"""Orders and payments as explicit state machines.

Every change goes through ``OrderStatus.moved_to`` / ``PaymentStatus.moved_to``; an
illegal move raises ``IllegalTransition`` instead of silently rewriting history. The
payment machine only moves forward, which is what makes duplicate and out-of-order
provider notifications harmless: a stale state is recognised and ignored.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .errors import Conflict
from .vat import VatRate


class IllegalTransition(Conflict):
    code = "illegal-transition"
    title = "That change is not possible in the current state"


class OrderStatus(enum.StrEnum):
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    EXPIRED = "expired"  # not paid in time; its seats went back on sale
    CANCELLED = "cancelled"  # the payment was declined or canceled
    PARTIALLY_REFUNDED = "partially_refunded"  # some tickets refunded, some still live
    REFUNDED = "refunded"  # every ticket refunded

    def can_move_to(self, target: OrderStatus) -> bool:
        return target in _ORDER_MOVES[self]

    def moved_to(self, target: OrderStatus) -> OrderStatus:
        if not self.can_move_to(target):
            raise IllegalTransition(f"an order that is {self.value} cannot become {target.value}",
                                    from_status=self.value, to_status=target.value)
        return target


# A payment may still succeed after its order expired or was cancelled (the buyer paid at
# the last second): such an order becomes paid again when its seats are still free.
_ORDER_MOVES = {
    OrderStatus.AWAITING_PAYMENT: {OrderStatus.PAID, OrderStatus.EXPIRED, OrderStatus.CANCELLED},
    OrderStatus.EXPIRED: {OrderStatus.PAID},
    OrderStatus.CANCELLED: {OrderStatus.PAID},
    OrderStatus.PAID: {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED},
    OrderStatus.PARTIALLY_REFUNDED: {OrderStatus.PARTIALLY_REFUNDED, OrderStatus.REFUNDED},
    OrderStatus.REFUNDED: set(),
}


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    WAITING_FOR_CAPTURE = "waiting_for_capture"
    SUCCEEDED = "succeeded"
    CANCELED = "canceled"

    @property
    def final(self) -> bool:
        return self in (PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED)

    def is_ahead_of(self, other: PaymentStatus) -> bool:
        """Whether moving from ``other`` to this state is progress (not a replay)."""
        return self in _PAYMENT_MOVES[other]


_PAYMENT_MOVES = {
    PaymentStatus.PENDING: {PaymentStatus.WAITING_FOR_CAPTURE, PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED},
    PaymentStatus.WAITING_FOR_CAPTURE: {PaymentStatus.SUCCEEDED, PaymentStatus.CANCELED},
    PaymentStatus.SUCCEEDED: set(),
    PaymentStatus.CANCELED: set(),
}


class TicketStatus(enum.StrEnum):
    RESERVED = "reserved"  # part of an order awaiting payment
    SOLD = "sold"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


LIVE_TICKET_STATUSES = (TicketStatus.RESERVED.value, TicketStatus.SOLD.value)


@dataclass(frozen=True, slots=True)
class Customer:
    name: str
    email: str | None
    phone: str | None


@dataclass(frozen=True, slots=True)
class OrderItem:
    id: str
    ticket_id: str
    position: int
    seat_id: str | None
    tariff_id: str
    ticket_type: str
    description: str
    price: Decimal
    vat_rate: VatRate
    vat_amount: Decimal


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    tenant_id: str
    number: int
    status: OrderStatus
    sailing_id: str
    hold_token: str
    client_id: str
    customer: Customer
    total: Decimal
    vat_total: Decimal
    currency: str
    created_at: datetime
    expires_at: datetime
    paid_at: datetime | None = None
    needs_attention: str | None = None
    return_url: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None
    items: tuple[OrderItem, ...] = ()
    refunded_total: Decimal = Decimal("0.00")


@dataclass(frozen=True, slots=True)
class PaymentAccount:
    """The provider account a payment is made with, by reference: the provider's name, the
    shop id, the *name* of the secret that holds the shop's key (never the key) and the API
    URL (``None``: the provider's default). A payment keeps the account it was created with
    until it is final, whatever its tenant switches to later."""

    provider: str
    shop_id: str | None = None
    secret_name: str | None = None
    api_url: str | None = None


@dataclass(frozen=True, slots=True)
class Payment:
    id: str
    order_id: str
    account: PaymentAccount
    provider_payment_id: str | None
    status: PaymentStatus
    amount: Decimal
    currency: str
    idempotence_key: str
    confirmation_url: str | None = None
    cancellation_reason: str | None = None

    @property
    def provider(self) -> str:
        return self.account.provider
