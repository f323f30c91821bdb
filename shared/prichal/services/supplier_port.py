"""The one port every boat operator's adapter implements (adapters/suppliers/).

The sync, order-push and reconciliation services depend on this protocol only; tests of
those services may hand them any object with these methods.
"""

from __future__ import annotations

from datetime import date
from typing import Protocol

from prichal.domain.suppliers import (
    Registration,
    RemoteOrderStatus,
    ReturnResult,
    SeatStatus,
    Supplier,
    SupplierCatalog,
    SupplierDeparture,
    SupplierPier,
    SupplierProgram,
    SupplierSale,
    SupplierSeat,
    SupplierTariff,
)


class SupplierClient(Protocol):
    supplier: Supplier

    # --- catalog --------------------------------------------------------------------------
    def piers(self) -> list[SupplierPier]: ...

    def programs(self) -> list[SupplierProgram]: ...

    def catalog(self) -> SupplierCatalog: ...

    def departures(self, date_from: date, date_to: date) -> list[SupplierDeparture]:
        """Departures from ``date_from`` to ``date_to`` inclusive (local days of St. Petersburg)."""
        ...

    def availability(self, departure: SupplierDeparture) -> int:
        """Places the operator lets us sell on a departure now (a bucket's floor for Neva)."""
        ...

    def seats(self, departure: SupplierDeparture) -> dict[str, SeatStatus]: ...

    def seat_plan(self, departure: SupplierDeparture) -> list[SupplierSeat]:
        """A seated departure's seats (the operator's ids, rows, numbers, statuses); empty
        where the operator has no seats (Neva Travel)."""
        ...

    def tariffs(self, program: SupplierProgram, departure: SupplierDeparture | None = None) -> list[SupplierTariff]: ...

    # --- orders ---------------------------------------------------------------------------
    def register(self, sale: SupplierSale) -> Registration:
        """Register (book) a sale under our order id; registering the same id again returns
        the first registration, never a second one."""
        ...

    def confirm(self, sale: SupplierSale, registration: Registration) -> Registration:
        """Confirm after our payment: the operator's codes for every ticket."""
        ...

    def cancel(self, external_id: str, supplier_order_id: str) -> ReturnResult:
        """Return (or cancel) the sale at the operator; the fine it keeps, if any."""
        ...

    def status(self, external_id: str, supplier_order_id: str | None) -> RemoteOrderStatus: ...


class SaleReversal(Protocol):
    """What the supplier services need of the refund service (``container.refunds``), as
    the system: refund a whole order, cancel a sailing with its sales. Wired in bootstrap."""

    def refund_order(self, tenant_id: str, order_id: str, reason: str, idempotency_key: str) -> None: ...

    def cancel_sailing(self, tenant_id: str, sailing_id: str, reason: str) -> None: ...
