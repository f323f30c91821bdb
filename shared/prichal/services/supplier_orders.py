"""Sales of operators' sailings pushed to the operator (the ``supplier-orders`` consumer).

``order.paid`` for a sailing of an operator: register the sale there under our order id
(their external id, so a repeated call finds the first registration instead of making a
second) and confirm it; their barcodes / ticket numbers go onto our tickets, and the
e-tickets wait for them where the operator checks its own code at boarding. The record
(``supplier_orders``) is written before the first call and after each step, so a
redelivery continues where the last one stopped.

A rejection, or a failure that outlives ``max_attempts`` deliveries, refunds the buyer
through the refund service (as the system) and flags the order for an agent: a sale the
operator does not know is never silently kept. While attempts remain, an operator that
does not answer is a 503: the connector delivers the event again later.

``order.refunded``: the sale is returned at the operator; the fine it keeps is recorded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from prichal.domain import events
from prichal.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from prichal.domain.ids import canonical_uuid
from prichal.domain.suppliers import (
    IssuedCode,
    OrderLine,
    Registration,
    Supplier,
    SupplierAccount,
    SupplierNotConfigured,
    SupplierOrderExpired,
    SupplierOrderStatus,
    SupplierRejected,
    SupplierSale,
    SupplierUnavailable,
)
from prichal.observability.metrics import SUPPLIER_ORDERS

from .supplier_port import SaleReversal, SupplierClient

log = logging.getLogger("prichal.supplier_orders")
FINAL = {SupplierOrderStatus.CONFIRMED, SupplierOrderStatus.REJECTED, SupplierOrderStatus.FAILED,
         SupplierOrderStatus.RETURNED}


class SupplierCodesPending(Unavailable):
    """The e-tickets wait: the operator has not confirmed the sale (and its codes) yet."""

    code = "supplier-codes-pending"
    title = "Waiting for the boat operator's confirmation"


class SupplierSaleRefused(Conflict):
    code = "supplier-sale-refused"
    title = "The boat operator refused this sale; it is refunded"


def check_codes_ready(uow: Any, order_id: str, sailing_id: str) -> dict[str, tuple[str, str | None]]:
    """For the documents: the operator's codes of an order's tickets (empty for our own
    sailings); raises while the operator has not confirmed a sale whose code is needed."""
    sailing = uow.suppliers.supplier_sailing(sailing_id)
    if sailing is None:
        return {}
    row = uow.suppliers.order(order_id)
    status = SupplierOrderStatus(row.status) if row else SupplierOrderStatus.PENDING
    if status in (SupplierOrderStatus.REJECTED, SupplierOrderStatus.FAILED):
        raise SupplierSaleRefused(f"the operator did not take order {order_id}", order_id=order_id)
    if sailing.barcode_required and status is not SupplierOrderStatus.CONFIRMED and \
            status is not SupplierOrderStatus.RETURNED:
        raise SupplierCodesPending(f"order {order_id} waits for {sailing.supplier}", order_id=order_id)
    return uow.suppliers.codes(order_id)


class SupplierOrders:
    consumer = "supplier-orders"

    def __init__(self, uow_factory: Callable[..., Any], clients: Callable[[SupplierAccount], SupplierClient],
                 reversal: SaleReversal, clock: Callable[[], datetime], max_attempts: int = 5) -> None:
        self._uow = uow_factory
        self._clients = clients
        self._reversal = reversal
        self._now = clock
        self._max_attempts = max_attempts

    # --- events ------------------------------------------------------------------------------
    def on_event(self, message: Any) -> dict[str, Any]:
        if not isinstance(message, dict) or not isinstance(message.get("tenant"), str):
            raise InvalidInput("not an event message", errors=[{"loc": ["body", "tenant"], "type": "missing",
                                                                "msg": "the tenant is required"}])
        tenant_id = canonical_uuid(message["tenant"])
        if tenant_id is None:
            raise InvalidInput("the tenant is not a UUID", errors=[{"loc": ["body", "tenant"], "type": "uuid_parsing",
                                                                    "msg": "the tenant's id is a UUID"}])
        if message.get("type") == "order.refunded" and ("order.refunded", 1) not in events.REGISTRY:
            data = message.get("data") or {}  # until the refunds branch registers OrderRefunded
            if not isinstance(data.get("order_id"), str):
                raise InvalidInput("order.refunded without order_id")
            return self.give_back(tenant_id, data["order_id"], bool(data.get("fully_refunded", True)))
        event = events.parse(message)
        if isinstance(event, events.OrderPaid):
            return self.push(tenant_id, event.order_id)
        if event.type == "order.refunded":
            return self.give_back(tenant_id, event.order_id, bool(getattr(event, "fully_refunded", True)))
        return {"order_id": getattr(event, "order_id", None), "outcome": "ignored"}

    # --- order.paid ----------------------------------------------------------------------------
    def push(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        order_id = _order_id(order_id)
        with self._uow(tenant_id) as uow:
            order = uow.orders.get(order_id)
            if order is None:
                raise NotFound(f"order {order_id} not found", order_id=order_id)
            sailing = uow.suppliers.supplier_sailing(order.sailing_id)
            if sailing is None:
                return {"order_id": order_id, "outcome": "not_supplier"}
            supplier = Supplier(sailing.supplier)
            row = uow.suppliers.open_order(order_id, supplier.value, order.sailing_id)
            status = SupplierOrderStatus(row.status)
            if status in FINAL:
                uow.commit()
                return {"order_id": order_id, "outcome": status.value}
            if order.paid_at is None or order.status.value != "paid":
                uow.commit()
                return {"order_id": order_id, "outcome": "not_paid"}
            attempts = row.attempts + 1
            uow.suppliers.update_order(order_id, attempts=attempts)
            account = uow.suppliers.account(supplier)
            sale = self._sale(uow, order, sailing)
            uow.commit()
        try:
            if account is None:
                raise SupplierNotConfigured(f"the tenant has no {supplier.value} account")
            client = self._clients(account)
            registration = self._register(tenant_id, client, sale, row)
            try:
                confirmed = client.confirm(sale, registration)
            except SupplierOrderExpired:
                log.info("order %s lapsed at %s before confirmation; registering again", order_id, supplier.value)
                registration = self._register(tenant_id, client, sale, None)
                confirmed = client.confirm(sale, registration)
        except (SupplierRejected, SupplierNotConfigured, SupplierOrderExpired) as exc:
            return self._give_up(tenant_id, order_id, supplier, SupplierOrderStatus.REJECTED, str(exc))
        except SupplierUnavailable as exc:
            if attempts >= self._max_attempts:
                return self._give_up(tenant_id, order_id, supplier, SupplierOrderStatus.FAILED,
                                     f"no answer after {attempts} attempts: {exc}")
            with self._uow(tenant_id) as uow:
                uow.suppliers.update_order(order_id, last_error=str(exc)[:1000])
                uow.commit()
            SUPPLIER_ORDERS.labels(supplier.value, "retry").inc()
            raise
        with self._uow(tenant_id) as uow:
            uow.suppliers.update_order(order_id, status=SupplierOrderStatus.CONFIRMED.value,
                                       supplier_order_id=confirmed.supplier_order_id, confirmed_at=self._now(),
                                       last_error=None)
            uow.suppliers.add_codes(order_id, confirmed.codes)
            uow.log.record("supplier.confirmed", "order", order_id, "system", order_id, supplier=supplier.value,
                           supplier_order_id=confirmed.supplier_order_id, codes=len(confirmed.codes))
            uow.commit()
        SUPPLIER_ORDERS.labels(supplier.value, "confirmed").inc()
        return {"order_id": order_id, "outcome": "confirmed", "supplier_order_id": confirmed.supplier_order_id,
                "codes": len(confirmed.codes)}

    def _sale(self, uow: Any, order: Any, sailing: Any) -> SupplierSale:
        bookings = uow.suppliers.tariff_bookings([item.tariff_id for item in order.items])
        seat_refs = (sailing.booking or {}).get("seats") or {}  # our seat id -> the operator's (seated sailings)
        lines = tuple(OrderLine(ticket_id=item.ticket_id, ticket_type=item.ticket_type, price=item.price,
                                booking=bookings.get(item.tariff_id, {}),
                                seat_ref=seat_refs.get(item.seat_id) if item.seat_id else None)
                      for item in order.items)
        return SupplierSale(external_id=order.id, departure_ref=sailing.supplier_ref, departure_booking=sailing.booking,
                            lines=lines, customer_name=order.customer.name, customer_email=order.customer.email,
                            customer_phone=order.customer.phone)

    def _register(self, tenant_id: str, client: SupplierClient, sale: SupplierSale, row: Any) -> Registration:
        """Register, unless a former delivery did (their id is on record); a repeated
        registration under the same external id returns the first one at the operator."""
        if row is not None and row.status == SupplierOrderStatus.REGISTERED.value and row.supplier_order_id:
            with self._uow(tenant_id) as uow:
                codes = uow.suppliers.codes(sale.external_id)
            return Registration(row.supplier_order_id,
                                tuple(IssuedCode(t, b, n) for t, (b, n) in codes.items()))
        registration = client.register(sale)
        with self._uow(tenant_id) as uow:
            uow.suppliers.update_order(sale.external_id, status=SupplierOrderStatus.REGISTERED.value,
                                       supplier_order_id=registration.supplier_order_id, registered_at=self._now())
            uow.suppliers.add_codes(sale.external_id, registration.codes)
            uow.log.record("supplier.registered", "order", sale.external_id, "system", sale.external_id,
                           supplier=client.supplier.value, supplier_order_id=registration.supplier_order_id)
            uow.commit()
        return registration

    def _give_up(self, tenant_id: str, order_id: str, supplier: Supplier, status: SupplierOrderStatus,
                 reason: str) -> dict[str, Any]:
        """State first (the record, the flag), then the refund through the refund service."""
        code = "supplier_rejected" if status is SupplierOrderStatus.REJECTED else "supplier_failed"
        with self._uow(tenant_id) as uow:
            uow.suppliers.update_order(order_id, status=status.value, last_error=reason[:1000])
            uow.attention.flag(order_id, code, f"{supplier.value}: {reason[:300]}; the buyer is refunded",
                           supplier=supplier.value)
            uow.commit()
        SUPPLIER_ORDERS.labels(supplier.value, status.value).inc()
        refunded = True
        try:
            self._reversal.refund_order(tenant_id, order_id, f"{code}: {reason[:200]}", f"supplier-{order_id}")
        except Exception as exc:  # the flag is on the order: an agent refunds by hand
            log.exception("automatic refund of order %s failed", order_id)
            refunded = False
            with self._uow(tenant_id) as uow:
                uow.attention.flag(order_id, "refund_failed", f"automatic refund failed: {str(exc)[:300]}")
                uow.commit()
        return {"order_id": order_id, "outcome": status.value, "refunded": refunded, "reason": reason}

    # --- order.refunded ------------------------------------------------------------------------
    def give_back(self, tenant_id: str, order_id: str, fully_refunded: bool = True) -> dict[str, Any]:
        order_id = _order_id(order_id)
        with self._uow(tenant_id) as uow:
            row = uow.suppliers.order(order_id, for_update=True)
            if row is None:
                return {"order_id": order_id, "outcome": "not_supplier"}
            status = SupplierOrderStatus(row.status)
            if status is SupplierOrderStatus.RETURNED:
                return {"order_id": order_id, "outcome": "returned", "fine": str(row.fine_amount or Decimal(0))}
            returnable = status in (SupplierOrderStatus.REGISTERED, SupplierOrderStatus.CONFIRMED)
            if not returnable or not row.supplier_order_id:
                return {"order_id": order_id, "outcome": "nothing_to_return"}
            if not fully_refunded:
                uow.attention.flag(order_id, "supplier_partial_return",
                               "part of the order was refunded: return those tickets at the operator by hand")
                uow.commit()
                return {"order_id": order_id, "outcome": "flagged"}
            account = uow.suppliers.account(Supplier(row.supplier))
        if account is None:
            raise SupplierNotConfigured(f"the tenant has no {row.supplier} account")
        try:
            result = self._clients(account).cancel(row.external_id, row.supplier_order_id)
        except SupplierRejected as exc:
            with self._uow(tenant_id) as uow:
                uow.attention.flag(order_id, "supplier_return_refused", str(exc)[:300])
                uow.commit()
            return {"order_id": order_id, "outcome": "return_refused"}
        with self._uow(tenant_id) as uow:
            uow.suppliers.update_order(order_id, status=SupplierOrderStatus.RETURNED.value, fine_amount=result.fine,
                                       returned_at=self._now())
            uow.log.record("supplier.returned", "order", order_id, "system", order_id, supplier=row.supplier,
                           fine=str(result.fine))
            uow.commit()
        SUPPLIER_ORDERS.labels(row.supplier, "returned").inc()
        return {"order_id": order_id, "outcome": "returned", "fine": str(result.fine)}


def _order_id(value: str) -> str:
    found = canonical_uuid(value)
    if found is None:
        raise InvalidInput("the order id is not a UUID", errors=[{"loc": ["body", "data", "order_id"],
                                                                 "type": "uuid_parsing", "msg": "a UUID"}])
    return found
