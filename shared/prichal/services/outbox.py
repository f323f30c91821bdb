"""The outbox relay: events committed with their state are published to RabbitMQ.

At least once: an event is marked published only after the broker confirmed it, so a
crash in between publishes it again and consumers deduplicate by message id (see
``Inbox``). Messages are versioned JSON: ``{id, type, version, tenant, occurred_at, data}``
with the producer's trace context in the AMQP headers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.rabbitmq import EventPublisher

log = logging.getLogger("prichal.outbox")
MESSAGE_VERSION = 1


def message(row: Any) -> dict[str, Any]:
    return {"id": str(row.id), "type": row.type, "version": MESSAGE_VERSION, "tenant": str(row.tenant_id),
            "occurred_at": row.occurred_at.isoformat(), "data": row.data}


class OutboxRelay:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], publisher: Callable[[], EventPublisher],
                 clock: Callable[[], datetime], inline: bool = True, batch: int = 100) -> None:
        self._uow = uow_factory
        self._publisher = publisher
        self._now = clock
        self._inline = inline
        self._batch = batch

    def relay(self, tenant_ids: list[str]) -> int:
        """Publish every pending event of these tenants; returns how many went out."""
        return sum(self._relay_tenant(tenant_id) for tenant_id in tenant_ids)

    def publish_pending(self, tenant_id: str) -> None:
        """Right after a commit: try now, leave the rest to the relay's schedule."""
        if not self._inline:
            return
        try:
            self._relay_tenant(tenant_id)
        except Exception:  # the broker being down must not fail the request that committed
            log.warning("inline publish failed; the relay will retry", exc_info=True)

    def _relay_tenant(self, tenant_id: str) -> int:
        published = 0
        while True:
            with self._uow(tenant_id) as uow:
                rows = uow.outbox.take_unpublished(self._batch)
                for row in rows:
                    try:
                        self._publisher().publish(row.type, message(row), str(row.id), headers=dict(row.headers))
                    except Exception as exc:  # keep the event; record why, stop this round
                        uow.outbox.failed(row.id, repr(exc))
                        uow.commit()
                        raise
                    uow.outbox.published(row.id, self._now())
                    published += 1
                uow.commit()
            if len(rows) < self._batch:
                return published
