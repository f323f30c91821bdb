"""Documents of orders, their gapless numbers and the buyer's email delivery record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.documents import DocumentKind, IssuedDocument

from .tables import document_numbers, documents, email_deliveries


def _document(row: Any) -> IssuedDocument:
    return IssuedDocument(id=row.id, order_id=row.order_id, kind=DocumentKind(row.kind), position=row.position,
                          ticket_id=row.ticket_id, number=row.number, year=row.year, issued_on=row.issued_on,
                          s3_key=row.s3_key, status=row.status, sha256=row.sha256, size=row.size)


@dataclass(frozen=True, slots=True)
class EmailDelivery:
    order_id: str
    recipient: str
    status: str  # pending | sending | sent | failed
    attempts: int
    last_error: str | None
    interrupted: bool
    claimed_at: datetime | None
    sent_at: datetime | None


class DocumentRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- documents -------------------------------------------------------------------------
    def for_order(self, order_id: str) -> list[IssuedDocument]:
        rows = self.conn.execute(select(documents).where(documents.c.order_id == order_id)
                                 .order_by(documents.c.kind.desc(), documents.c.position))
        return [_document(row) for row in rows]

    def next_number(self, kind: DocumentKind, year: int) -> int:
        """The next number of a kind in a year. The counter row stays locked until the
        transaction ends: numbers are consecutive, and a rollback gives its number back
        before anybody else could take the next one, so no gap and no reuse."""
        statement = insert(document_numbers).values(tenant_id=self.tenant_id, kind=kind.value, year=year,
                                                     last_number=1)
        statement = statement.on_conflict_do_update(
            index_elements=[document_numbers.c.tenant_id, document_numbers.c.kind, document_numbers.c.year],
            set_={"last_number": document_numbers.c.last_number + 1})
        return self.conn.execute(statement.returning(document_numbers.c.last_number)).scalar_one()

    def add(self, order_id: str, kind: DocumentKind, position: int, ticket_id: str | None, number: int,
            issued_on: date, s3_key: str) -> None:
        self.conn.execute(documents.insert().values(
            tenant_id=self.tenant_id, order_id=order_id, kind=kind.value, position=position, ticket_id=ticket_id,
            number=number, year=issued_on.year, issued_on=issued_on, s3_key=s3_key))

    def mark_stored(self, stored: list[tuple[str, str, int]], at: datetime) -> None:
        """``(document id, sha256, size)`` of each stored object, in one round trip."""
        self.conn.execute(
            update(documents).where(documents.c.id == bindparam("document_id"))
            .values(status="stored", sha256=bindparam("object_sha256"), size=bindparam("object_size"), stored_at=at),
            [{"document_id": i, "object_sha256": sha256, "object_size": size} for i, sha256, size in stored])

    # --- email -----------------------------------------------------------------------------
    def email(self, order_id: str, for_update: bool = False) -> EmailDelivery | None:
        query = select(email_deliveries).where(email_deliveries.c.order_id == order_id)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        if row is None:
            return None
        return EmailDelivery(order_id=row.order_id, recipient=row.recipient, status=row.status,
                             attempts=row.attempts, last_error=row.last_error, interrupted=row.interrupted,
                             claimed_at=row.claimed_at, sent_at=row.sent_at)

    def open_email(self, order_id: str, recipient: str) -> EmailDelivery:
        """The order's delivery row, created on first use and locked for this transaction."""
        self.conn.execute(insert(email_deliveries).values(order_id=order_id, tenant_id=self.tenant_id,
                                                          recipient=recipient).on_conflict_do_nothing())
        found = self.email(order_id, for_update=True)
        assert found is not None
        return found

    def email_claimed(self, order_id: str, at: datetime, interrupted: bool) -> None:
        self.conn.execute(update(email_deliveries).where(email_deliveries.c.order_id == order_id).values(
            status="sending", claimed_at=at, attempts=email_deliveries.c.attempts + 1,
            interrupted=email_deliveries.c.interrupted | interrupted))

    def email_done(self, order_id: str, status: str, at: datetime | None = None, error: str | None = None) -> None:
        values: dict[str, Any] = {"status": status, "last_error": error[:1000] if error else None}
        if status == "sent":
            values["sent_at"] = at
        self.conn.execute(update(email_deliveries).where(email_deliveries.c.order_id == order_id).values(**values))
