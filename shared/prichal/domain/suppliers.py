"""Boat operators (Astra Marine, Neva Travel) as our catalog sees them: what a supplier's
catalog maps to, their order states, and the rules of turning their availability into
what we may sell.

Adapters translate each operator's payloads into these values (rubles and kopecks, ticket
categories, zero-padded ids, misspelled keys are the adapters' business); the sync and
order-push services only ever see these.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from .errors import Conflict, Unavailable
from .vat import VatRate


class Supplier(enum.StrEnum):
    ASTRA_MARINE = "astra_marine"
    NEVA_TRAVEL = "neva_travel"


class SupplierMode(enum.StrEnum):
    STUB = "stub"  # the sandbox's stub server (tests, demos)
    REAL = "real"  # the operator's API with the tenant's credentials


class AvailabilityBucket(enum.StrEnum):
    """Neva Travel tells only a bucket, never a count."""

    MANY = "many"
    LESS_THAN_10 = "less_than_10"
    LESS_THAN_3 = "less_than_3"
    NONE = "none"


# What we may sell of a bucket: the lowest count the bucket promises (never more than the
# operator actually has), "many" capped at a number we can safely sell between two syncs.
BUCKET_PLACES = {
    AvailabilityBucket.MANY: 20,
    AvailabilityBucket.LESS_THAN_10: 3,
    AvailabilityBucket.LESS_THAN_3: 1,
    AvailabilityBucket.NONE: 0,
}


def places_for_sale(available: int | None, bucket: AvailabilityBucket | None) -> int:
    """Places the operator lets us sell now: an exact count wins over a bucket."""
    if available is not None:
        return max(0, available)
    if bucket is not None:
        return BUCKET_PLACES[bucket]
    return 0


class SeatStatus(enum.StrEnum):
    """Astra Marine's per-seat statuses (for drawing the map, not for counting)."""

    FREE = "free"  # Свободно
    SOLD = "sold"  # Продано
    RESERVED = "reserved"  # Бронь
    SELECTED = "selected"  # Выбрано (someone else's basket)

    @property
    def taken(self) -> bool:
        return self is not SeatStatus.FREE


@dataclass(frozen=True, slots=True)
class SupplierSeat:
    """One seat of an operator's seated departure: the operator's own id (what its order
    lines name), where it sits, and its status there now."""

    ref: str  # the operator's seat id, exactly as it sends it (Astra: zero-padded)
    row: str
    number: int
    status: SeatStatus


class SupplierOrderStatus(enum.StrEnum):
    """Our record of the sale at the operator, one per order (``supplier_orders``)."""

    PENDING = "pending"  # paid here, not registered there yet
    REGISTERED = "registered"  # registered, not confirmed
    CONFIRMED = "confirmed"  # the operator sold it; their codes are on our tickets
    REJECTED = "rejected"  # refused by the operator: refunded here
    FAILED = "failed"  # never got through within the attempts: refunded here
    RETURNED = "returned"  # returned at the operator after our refund


class RemoteOrderStatus(enum.StrEnum):
    """An order's status as the operator reports it."""

    PENDING = "pending"
    SUCCESS = "success"
    REJECT = "reject"
    EXPIRED = "expired"
    RETURNED = "returned"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class SupplierAccount:
    """A tenant's account with an operator (the credential is a secret it names)."""

    supplier: Supplier
    mode: SupplierMode
    base_url: str | None = None
    secret_name: str | None = None
    email: str | None = None  # Astra Marine: selects agent prices
    active: bool = True


# --- catalog values ------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SupplierPier:
    ref: str
    name: str
    address: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    wheelchair: bool | None = None


@dataclass(frozen=True, slots=True)
class SupplierVessel:
    ref: str
    name: str


@dataclass(frozen=True, slots=True)
class SupplierTariff:
    """One price of a program: our ticket type plus what the operator needs to book it."""

    ticket_type: str  # adult | child | concession | infant | attendant
    name: str
    price: Decimal  # rubles with kopecks, VAT included
    vat_rate: VatRate | None  # None: the tenant's rate
    seat_category: str | None = None
    booking: dict[str, Any] = field(default_factory=dict)  # operator ids: price type, category...


@dataclass(frozen=True, slots=True)
class SupplierProgram:
    ref: str
    name: str
    description: str = ""
    duration_minutes: int = 60
    seating: str = "free"  # free | assigned
    barcode_required: bool = True  # the operator checks its own code at boarding
    tariffs: tuple[SupplierTariff, ...] = ()


@dataclass(frozen=True, slots=True)
class SupplierDeparture:
    ref: str
    program_ref: str
    pier_ref: str
    vessel_ref: str | None
    departs_at: datetime
    duration_minutes: int
    available: int | None  # exact count when the operator tells it
    bucket: AvailabilityBucket | None = None
    canceled: bool = False
    tariffs: tuple[SupplierTariff, ...] = ()  # departure-level prices, when the operator has them
    booking: dict[str, Any] = field(default_factory=dict)

    @property
    def places(self) -> int:
        return 0 if self.canceled else places_for_sale(self.available, self.bucket)


@dataclass(frozen=True, slots=True)
class SupplierCatalog:
    piers: tuple[SupplierPier, ...]
    vessels: tuple[SupplierVessel, ...]
    programs: tuple[SupplierProgram, ...]


# --- orders --------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class OrderLine:
    ticket_id: str  # ours
    ticket_type: str
    price: Decimal
    booking: dict[str, Any]  # the tariff's operator ids
    seat_ref: str | None = None


@dataclass(frozen=True, slots=True)
class SupplierSale:
    """What to register: our order id is the operator's external id."""

    external_id: str
    departure_ref: str
    departure_booking: dict[str, Any]
    lines: tuple[OrderLine, ...]
    customer_name: str
    customer_email: str | None
    customer_phone: str | None


@dataclass(frozen=True, slots=True)
class IssuedCode:
    """The operator's code for one of our tickets (printed on the e-ticket)."""

    ticket_id: str
    barcode: str
    ticket_number: str | None = None


@dataclass(frozen=True, slots=True)
class Registration:
    supplier_order_id: str
    codes: tuple[IssuedCode, ...]
    status: RemoteOrderStatus = RemoteOrderStatus.PENDING


@dataclass(frozen=True, slots=True)
class ReturnResult:
    fine: Decimal  # what the operator keeps (rubles)


# --- failures ------------------------------------------------------------------------------

class SupplierUnavailable(Unavailable):
    """Timeouts, 5xx, an open circuit: worth trying again later."""

    code = "supplier-unavailable"
    title = "The boat operator does not answer"


class SupplierRejected(Conflict):
    """The operator refused the sale (sold out, departure closed, price changed): final."""

    code = "supplier-rejected"
    title = "The boat operator refused the sale"


class SupplierOrderExpired(Conflict):
    """The operator let an unconfirmed registration lapse; register again."""

    code = "supplier-order-expired"
    title = "The boat operator's registration expired"


class SupplierNotConfigured(Conflict):
    code = "supplier-not-configured"
    title = "The tenant has no account with this boat operator"
