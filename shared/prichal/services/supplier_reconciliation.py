"""Daily reconciliation of our sales with the operators' order statuses.

For every order on an operator's sailing, what we believe (paid / refunded, and our
record of the sale there) is compared with the status the operator reports now. Every
disagreement becomes a ``supplier_mismatches`` row (finance reads them as a report) and an
attention flag on the order. Paid orders of an operator's sailing that never reached the
operator count too: a sale there must never be missing silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from prichal.domain.errors import DomainError
from prichal.domain.suppliers import RemoteOrderStatus, SupplierAccount, SupplierUnavailable
from prichal.observability.metrics import SUPPLIER_MISMATCHES

from .supplier_port import SupplierClient

log = logging.getLogger("prichal.supplier_reconciliation")

# What the operator should say for what we recorded: (our order status, our record) -> theirs
EXPECTED = {
    ("paid", "confirmed"): {RemoteOrderStatus.SUCCESS},
    ("refunded", "returned"): {RemoteOrderStatus.RETURNED},
    ("refunded", "rejected"): {RemoteOrderStatus.REJECT, RemoteOrderStatus.EXPIRED, RemoteOrderStatus.RETURNED,
                               RemoteOrderStatus.UNKNOWN},
    ("refunded", "failed"): {RemoteOrderStatus.REJECT, RemoteOrderStatus.EXPIRED, RemoteOrderStatus.RETURNED,
                             RemoteOrderStatus.UNKNOWN},
}


class SupplierReconciliation:
    def __init__(self, uow_factory: Callable[..., Any], clients: Callable[[SupplierAccount], SupplierClient],
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._clients = clients
        self._now = clock

    def run(self, tenant_ids: Iterable[str]) -> list[dict[str, Any]]:
        results = []
        for tenant_id in tenant_ids:
            with self._uow(tenant_id) as uow:
                accounts = uow.suppliers.accounts()
            results += [self.reconcile(tenant_id, account) for account in accounts]
        return results

    def run_due(self, tenant_ids: Iterable[str], interval: timedelta) -> list[dict[str, Any]]:
        """The daily run: every account whose last reconciliation is older than ``interval``."""
        results = []
        for tenant_id in tenant_ids:
            with self._uow(tenant_id) as uow:
                due = [a for a in uow.suppliers.accounts()
                       if (last := uow.suppliers.last_run(a.supplier.value, "reconcile")) is None
                       or self._now() - last.started_at >= interval]
            results += [self.reconcile(tenant_id, account) for account in due]
        return results

    def reconcile(self, tenant_id: str, account: SupplierAccount) -> dict[str, Any]:
        supplier = account.supplier.value
        with self._uow(tenant_id) as uow:
            run_id = uow.suppliers.start_run(supplier, "reconcile", None, None, self._now())
            rows = uow.suppliers.orders_of(supplier)
            unpushed = uow.suppliers.unpushed_paid_orders(supplier)
            uow.commit()
        try:
            client = self._clients(account)
        except DomainError as exc:
            with self._uow(tenant_id) as uow:
                uow.suppliers.finish_run(run_id, "failed", self._now(), 0, 0, 0, [str(exc)])
                uow.commit()
            return {"tenant": tenant_id, "supplier": supplier, "run_id": run_id, "checked": 0, "mismatches": 0,
                    "errors": [str(exc)], "sailings": []}
        found: list[tuple[Any, str, str, str]] = []  # (row, ours, theirs, kind)
        errors: list[str] = []
        per_sailing: dict[str, dict[str, int]] = {}
        for row in rows:
            ours = f"{row.order_status}/{row.status}"
            if row.status in ("pending", "registered") and row.order_status == "paid":
                continue  # still being pushed; the consumer finishes or refunds it
            try:
                theirs = self._clients_status(client, row)
            except SupplierUnavailable as exc:
                errors.append(f"order {row.order_id}: {exc}")
                continue
            except DomainError:  # the operator refuses to tell: it does not know the order
                theirs = RemoteOrderStatus.UNKNOWN
            counts = per_sailing.setdefault(row.sailing_id, {"ours": 0, "theirs": 0})
            counts["ours"] += row.order_status == "paid"
            counts["theirs"] += theirs is RemoteOrderStatus.SUCCESS
            expected = EXPECTED.get((row.order_status, row.status))
            if expected is not None and theirs not in expected:
                kind = "sold_there_not_here" if theirs is RemoteOrderStatus.SUCCESS else "sold_here_not_there"
                found.append((row, ours, theirs.value, kind))
        with self._uow(tenant_id) as uow:
            for row, ours, theirs, kind in found:
                uow.suppliers.add_mismatch(run_id, supplier, row.order_id, row.sailing_id, ours, theirs, kind)
                uow.attention.flag(row.order_id, "supplier_mismatch",
                               f"{supplier} says {theirs}, we have {ours}", kind=kind)
            for order_id, sailing_id in unpushed:
                uow.suppliers.add_mismatch(run_id, supplier, order_id, sailing_id, "paid/none", "none", "not_pushed")
                uow.attention.flag(order_id, "supplier_mismatch", f"paid here, never registered at {supplier}",
                               kind="not_pushed")
            total = len(found) + len(unpushed)
            uow.suppliers.finish_run(run_id, "partial" if errors else "succeeded", self._now(), 0, 0, 0, errors)
            uow.commit()
        SUPPLIER_MISMATCHES.labels(supplier).set(total)
        if total:
            log.warning("reconciliation of %s for tenant %s: %d mismatches", supplier, tenant_id, total)
        return {"tenant": tenant_id, "supplier": supplier, "run_id": run_id, "checked": len(rows),
                "mismatches": total, "errors": errors,
                "sailings": [{"sailing_id": k, **v} for k, v in sorted(per_sailing.items())]}

    @staticmethod
    def _clients_status(client: SupplierClient, row: Any) -> RemoteOrderStatus:
        return client.status(row.external_id, row.supplier_order_id)
