"""The order log (who did what, when) and the transactional outbox with its consumer side."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.events import Event

from .tables import order_log, outbox, processed_messages


class OrderLog:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def record(self, action: str, entity: str, entity_id: str, actor: str, order_id: str | None = None,
               **data: Any) -> None:
        self.conn.execute(order_log.insert().values(
            tenant_id=self.tenant_id, order_id=order_id, entity=entity, entity_id=str(entity_id), action=action,
            actor=actor, data=data))

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(select(order_log).where(order_log.c.order_id == order_id).order_by(order_log.c.id))
        return [dict(row._mapping) for row in rows]


class Outbox:
    """Events written in the same transaction as the state they announce."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def add(self, event_type: str, data: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        return self.conn.execute(outbox.insert().values(
            tenant_id=self.tenant_id, type=event_type, data=data, headers=headers or {},
        ).returning(outbox.c.id)).scalar_one()

    def add_event(self, event: Event, headers: dict[str, str] | None = None) -> str:
        """The one way producers announce a state change (domain/events.py)."""
        return self.add(event.type, event.to_data(), headers)

    def take_unpublished(self, limit: int) -> list[Any]:
        return list(self.conn.execute(
            select(outbox).where(outbox.c.published_at.is_(None)).order_by(outbox.c.occurred_at)
            .limit(limit).with_for_update(skip_locked=True)))

    def published(self, event_id: str, at: datetime) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == event_id).values(
            published_at=at, attempts=outbox.c.attempts + 1))

    def failed(self, event_id: str, error: str) -> None:
        self.conn.execute(update(outbox).where(outbox.c.id == event_id).values(
            attempts=outbox.c.attempts + 1, last_error=error[:1000]))


class Inbox:
    """Consumer-side idempotency: delivery is at least once, effects happen once."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def first_time(self, consumer: str, message_id: str) -> bool:
        """Claim a message for a consumer inside the consumer's transaction: ``False``
        when it was processed before (the claim commits or rolls back with the work)."""
        claimed = self.conn.execute(
            insert(processed_messages).values(consumer=consumer, message_id=message_id, tenant_id=self.tenant_id)
            .on_conflict_do_nothing().returning(processed_messages.c.message_id)).first()
        return claimed is not None
