"""The attention queue: orders that need a person, with every reason, oldest first."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

from prichal.domain.attention import QueueItem, build_queue


class AttentionQueue:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[Any]], clock: Callable[[], datetime],
                 refund_pending_alert: timedelta, limit: int = 500) -> None:
        self._uow = uow
        self._now = clock
        self._refund_pending_alert = refund_pending_alert
        self._limit = limit

    def queue(self, tenant_id: str) -> list[QueueItem]:
        with self._uow(tenant_id) as uow:
            entries = uow.attention.queue_entries(self._now() - self._refund_pending_alert, self._limit)
            orders = uow.attention.orders_of(sorted({e.order_id for e in entries}))
        return build_queue(entries, orders)

    def size(self, tenant: Any) -> int:
        """For ``/sla`` (``services/crm_sla.py``): how many orders wait for a person; ``tenant``
        is a ``Tenant`` or its id."""
        return len(self.queue(getattr(tenant, "id", tenant)))
