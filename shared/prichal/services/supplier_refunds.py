"""The supplier services' ``SaleReversal`` on the refund service (``container.refunds``).

The refund service owns refunds and sailing cancellations; this bridge calls it as the
system. Where it is missing (a branch without it), the call raises and the caller keeps
the order flagged for an agent, which is what happens on any refund failure.
"""

from __future__ import annotations

import importlib
from typing import Any

from prichal.domain.errors import NotFound, Unavailable


class RefundServiceMissing(Unavailable):
    code = "refund-service-missing"
    title = "The refund service is not available"


def system_actor(name: str) -> Any:
    """The refund service's ``SystemActor`` (where it lives is the refund branch's choice)."""
    for module in ("prichal.services.refunds", "prichal.domain.refunds", "prichal.domain.staff"):
        try:
            actor = getattr(importlib.import_module(module), "SystemActor", None)
        except ImportError:
            continue
        if actor is not None:
            try:
                return actor(name)
            except TypeError:
                return actor()
    raise RefundServiceMissing("no SystemActor: the refund service is not installed")


class RefundsBridge:
    def __init__(self, container: Any, actor_name: str = "supplier-sync") -> None:
        self._container = container
        self._actor = actor_name

    def _service_and_tenant(self, tenant_id: str) -> tuple[Any, Any]:
        service = getattr(self._container, "refunds", None)
        if service is None:
            raise RefundServiceMissing("container.refunds is not available")
        tenant = self._container.tenants.by_id(tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found")
        return service, tenant

    def refund_order(self, tenant_id: str, order_id: str, reason: str, idempotency_key: str) -> None:
        service, tenant = self._service_and_tenant(tenant_id)
        service.refund(tenant, order_id, None, idempotency_key, by=system_actor(self._actor), reason=reason)

    def cancel_sailing(self, tenant_id: str, sailing_id: str, reason: str) -> None:
        service, tenant = self._service_and_tenant(tenant_id)
        service.cancel_sailing(tenant, sailing_id, system_actor(self._actor), reason)
