"""What the CRM reads and writes about orders: attention flags, notes, action keys, the card."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, and_, func, literal, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.attention import AttentionEntry, checked_reason, reason_of_log_action, reason_of_text

from .tables import (
    crm_action_keys,
    documents,
    email_deliveries,
    order_attention,
    order_items,
    order_log,
    order_notes,
    orders,
    payments,
    piers,
    programs,
    refunds,
    sailings,
    seats,
    tariffs,
    tickets,
)

_LISTS = text("""
SELECT
  (SELECT coalesce(json_agg(json_build_object(
      'id', p.id, 'provider', p.provider, 'provider_payment_id', p.provider_payment_id, 'status', p.status,
      'amount', p.amount::text, 'currency', p.currency, 'cancellation_reason', p.cancellation_reason,
      'created_at', p.created_at, 'updated_at', p.updated_at) ORDER BY p.created_at), '[]')
   FROM payments p WHERE p.order_id = :o) AS payments,
  (SELECT coalesce(json_agg(json_build_object(
      'id', r.id, 'status', r.status, 'amount', r.amount::text, 'reason', r.reason,
      'provider_refund_id', r.provider_refund_id, 'kind', r.kind, 'actor', r.actor, 'last_error', r.last_error,
      'created_at', r.created_at, 'updated_at', r.updated_at) ORDER BY r.created_at), '[]')
   FROM refunds r WHERE r.order_id = :o) AS refunds,
  (SELECT coalesce(json_agg(json_build_object(
      'id', d.id, 'kind', d.kind, 'position', d.position, 'ticket_id', d.ticket_id, 'number', d.number,
      'year', d.year, 'issued_on', d.issued_on, 'status', d.status, 's3_key', d.s3_key)
      ORDER BY d.kind DESC, d.position), '[]')
   FROM documents d WHERE d.order_id = :o) AS documents,
  (SELECT json_build_object('recipient', e.recipient, 'status', e.status, 'attempts', e.attempts,
                            'last_error', e.last_error, 'sent_at', e.sent_at)
   FROM email_deliveries e WHERE e.order_id = :o) AS email,
  (SELECT coalesce(json_agg(json_build_object(
      'at', l.created_at, 'action', l.action, 'entity', l.entity, 'entity_id', l.entity_id, 'actor', l.actor,
      'data', l.data) ORDER BY l.id), '[]')
   FROM order_log l WHERE l.order_id = :o) AS log,
  (SELECT coalesce(json_agg(json_build_object(
      'id', n.id, 'author', n.author, 'author_name', n.author_name, 'text', n.text, 'created_at', n.created_at)
      ORDER BY n.created_at, n.id), '[]')
   FROM order_notes n WHERE n.order_id = :o) AS notes,
  (SELECT coalesce(json_agg(json_build_object(
      'reason', a.reason, 'detail', a.detail, 'since', a.created_at, 'follow_up_on', a.follow_up_on,
      'raised_by', a.raised_by) ORDER BY a.created_at), '[]')
   FROM order_attention a WHERE a.order_id = :o AND a.cleared_at IS NULL) AS flags
""")


class AttentionRepository:
    """``flag(order_id, reason_code, detail)``: the one way to say an order needs a person."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def flag(self, order_id: str, reason_code: str, detail: str = "", *, raised_by: str = "system",
             follow_up_on: date | None = None, **data: Any) -> None:
        """Raise (or update) the open flag of this reason; logged as ``attention.<reason>``."""
        reason = checked_reason(reason_code)
        statement = insert(order_attention).values(
            tenant_id=self.tenant_id, order_id=order_id, reason=reason, detail=detail, raised_by=raised_by,
            follow_up_on=follow_up_on)
        self.conn.execute(statement.on_conflict_do_update(
            index_elements=[order_attention.c.order_id, order_attention.c.reason],
            index_where=order_attention.c.cleared_at.is_(None),
            set_={"detail": statement.excluded.detail, "follow_up_on": statement.excluded.follow_up_on}))
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(
            needs_attention=func.coalesce(orders.c.needs_attention, detail or reason)))
        self.conn.execute(order_log.insert().values(
            tenant_id=self.tenant_id, order_id=order_id, entity="order", entity_id=order_id,
            action=f"attention.{reason}", actor=raised_by,
            data={**data, "detail": detail, "follow_up_on": follow_up_on.isoformat() if follow_up_on else None}))

    def clear(self, order_id: str, cleared_by: str, at: datetime, reason_code: str | None = None) -> int:
        """Clear one reason or all; when none is left the order no longer needs attention."""
        where = [order_attention.c.order_id == order_id, order_attention.c.cleared_at.is_(None)]
        if reason_code is not None:
            where.append(order_attention.c.reason == checked_reason(reason_code))
        cleared = self.conn.execute(update(order_attention).where(*where).values(
            cleared_at=at, cleared_by=cleared_by)).rowcount
        left = self.conn.execute(select(func.count()).select_from(order_attention).where(
            order_attention.c.order_id == order_id, order_attention.c.cleared_at.is_(None))).scalar_one()
        if not left:
            self.conn.execute(update(orders).where(orders.c.id == order_id).values(needs_attention=None))
            self.conn.execute(order_log.insert().values(
                tenant_id=self.tenant_id, order_id=order_id, entity="order", entity_id=order_id,
                action="attention.cleared", actor=cleared_by, data={"reason": reason_code}))
        return cleared

    def open_for(self, order_id: str) -> list[AttentionEntry]:
        rows = self.conn.execute(select(order_attention).where(
            order_attention.c.order_id == order_id, order_attention.c.cleared_at.is_(None))
            .order_by(order_attention.c.created_at))
        return [AttentionEntry(r.order_id, r.reason, r.detail, r.created_at, "flag", r.follow_up_on, r.raised_by)
                for r in rows]

    def queue_entries(self, refund_pending_before: datetime, limit: int) -> list[AttentionEntry]:
        """Every open reason of the tenant, from the four sources (``domain/attention.py``)."""
        entries: list[AttentionEntry] = []
        for r in self.conn.execute(select(order_attention).where(order_attention.c.cleared_at.is_(None))
                                   .order_by(order_attention.c.created_at).limit(limit)):
            entries.append(AttentionEntry(r.order_id, r.reason, r.detail, r.created_at, "flag", r.follow_up_on,
                                          r.raised_by))
        flagged = {e.order_id for e in entries}
        for r in self.conn.execute(select(orders.c.id, orders.c.needs_attention, orders.c.created_at)
                                   .where(orders.c.needs_attention.is_not(None)).order_by(orders.c.number).limit(limit)):
            if r.id not in flagged:
                entries.append(AttentionEntry(r.id, reason_of_text(r.needs_attention), r.needs_attention,
                                              r.created_at, "order"))
        log = order_log.alias("l")
        last_clear = (select(func.max(order_log.c.created_at)).where(
            order_log.c.order_id == log.c.order_id, order_log.c.action == "attention.cleared")
            .scalar_subquery())
        for r in self.conn.execute(select(log.c.order_id, log.c.action, log.c.data, log.c.created_at, log.c.actor)
                                   .where(log.c.action >= "attention.", log.c.action < "attention/",
                                          log.c.action != "attention.cleared",
                                          or_(last_clear.is_(None), log.c.created_at > last_clear))
                                   .order_by(log.c.created_at).limit(limit)):
            reason = reason_of_log_action(r.action)
            if reason and r.order_id:
                detail = str((r.data or {}).get("detail") or (r.data or {}).get("reason") or "")
                entries.append(AttentionEntry(r.order_id, reason, detail, r.created_at, "log", raised_by=r.actor))
        refund_clear = (select(func.max(order_log.c.created_at)).where(
            order_log.c.order_id == refunds.c.order_id, order_log.c.action == "attention.cleared").scalar_subquery())
        stuck = or_(refunds.c.status.in_(("failed", "canceled")),
                    and_(refunds.c.status.in_(("requested", "pending")), refunds.c.created_at < refund_pending_before))
        for r in self.conn.execute(select(refunds).where(
                stuck, or_(refund_clear.is_(None), refunds.c.updated_at > refund_clear))
                .order_by(refunds.c.created_at).limit(limit)):
            failed = r.status in ("failed", "canceled")
            reason = "refund_failed" if failed else "refund_pending_too_long"
            detail = f"refund {r.id} of {r.amount} is {r.status}"
            entries.append(AttentionEntry(r.order_id, reason, detail, r.updated_at if failed else r.created_at,
                                          "refund"))
        return entries

    def orders_of(self, order_ids: list[str]) -> dict[str, tuple[int, str, str]]:
        if not order_ids:
            return {}
        rows = self.conn.execute(select(orders.c.id, orders.c.number, orders.c.status, orders.c.customer_name)
                                 .where(orders.c.id.in_(order_ids)))
        return {r.id: (r.number, r.status, r.customer_name) for r in rows}


class NoteRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def add(self, order_id: str, author: str, author_name: str, body: str) -> dict[str, Any]:
        row = self.conn.execute(order_notes.insert().values(
            tenant_id=self.tenant_id, order_id=order_id, author=author, author_name=author_name, text=body)
            .returning(order_notes)).one()
        return _note(row)

    def for_order(self, order_id: str) -> list[dict[str, Any]]:
        return [_note(r) for r in self.conn.execute(select(order_notes).where(order_notes.c.order_id == order_id)
                                                    .order_by(order_notes.c.created_at, order_notes.c.id))]


def _note(row: Any) -> dict[str, Any]:
    return {"id": row.id, "author": row.author, "author_name": row.author_name, "text": row.text,
            "created_at": row.created_at}


class ActionKeys:
    """The first answer to an ``Idempotency-Key`` is the answer to its retries."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def lock(self, key: str) -> None:
        """Serialise requests with the same key (until the transaction ends)."""
        self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 11))"),
                          {"k": f"{self.tenant_id}:{key}"})

    def get(self, key: str) -> Any:
        return self.conn.execute(select(crm_action_keys).where(crm_action_keys.c.key == key)).first()

    def put(self, key: str, action: str, order_id: str, request_hash: str, result: dict[str, Any]) -> None:
        self.conn.execute(crm_action_keys.insert().values(tenant_id=self.tenant_id, key=key, action=action,
                                                          order_id=order_id, request_hash=request_hash,
                                                          result=result))


class CardReader:
    """Everything of one order an agent sees, in a handful of indexed queries."""

    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def order(self, order_id: str, for_update: bool = False) -> Any:
        query = (select(orders, sailings.c.departs_at, sailings.c.status.label("sailing_status"),
                        sailings.c.seat_map_id, programs.c.name.label("program_name"), piers.c.name.label("pier_name"))
                 .select_from(orders.join(sailings, sailings.c.id == orders.c.sailing_id)
                              .join(programs, programs.c.id == sailings.c.program_id)
                              .join(piers, piers.c.id == sailings.c.pier_id))
                 .where(orders.c.id == order_id))
        if for_update:
            query = query.with_for_update(of=orders)
        return self.conn.execute(query).first()

    def items(self, order_id: str, seat_map_id: str | None) -> list[Any]:
        seat = seats.alias("seat")
        columns = [order_items, tariffs.c.name.label("tariff_name"), tickets.c.status.label("ticket_status"),
                   tickets.c.boarded_at,
                   *((seat.c.section, seat.c.row_label, seat.c.number.label("seat_number")) if seat_map_id else
                     (literal(None).label("section"), literal(None).label("row_label"),
                      literal(None).label("seat_number")))]
        joined = (order_items.outerjoin(tariffs, tariffs.c.id == order_items.c.tariff_id)
                  .outerjoin(tickets, tickets.c.id == order_items.c.ticket_id))
        if seat_map_id:
            joined = joined.outerjoin(seat, and_(seat.c.seat_map_id == seat_map_id,
                                                 seat.c.code == order_items.c.seat_id))
        return list(self.conn.execute(select(*columns).select_from(joined)
                                      .where(order_items.c.order_id == order_id).order_by(order_items.c.position)))

    def lists(self, order_id: str) -> dict[str, Any]:
        """Payments, refunds, documents, the e-mail row, the log, notes and open flags of the
        order in one round trip (each list a JSON array; money as text, never a float)."""
        return dict(self.conn.execute(_LISTS, {"o": order_id}).one()._mapping)

    def payments(self, order_id: str) -> list[Any]:
        return list(self.conn.execute(select(payments).where(payments.c.order_id == order_id)
                                      .order_by(payments.c.created_at)))

    def refunds(self, order_id: str) -> list[Any]:
        return list(self.conn.execute(select(refunds).where(refunds.c.order_id == order_id)
                                      .order_by(refunds.c.created_at)))

    def documents(self, order_id: str) -> list[Any]:
        return list(self.conn.execute(select(documents).where(documents.c.order_id == order_id)
                                      .order_by(documents.c.kind.desc(), documents.c.position)))

    def email(self, order_id: str) -> Any:
        return self.conn.execute(select(email_deliveries).where(email_deliveries.c.order_id == order_id)).first()

    def log(self, order_id: str) -> list[Any]:
        return list(self.conn.execute(select(order_log).where(order_log.c.order_id == order_id)
                                      .order_by(order_log.c.id)))

    def update_contact(self, order_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(orders).where(orders.c.id == order_id).values(**values))

    def reset_email(self, order_id: str, recipient: str) -> None:
        """The tickets email back to ``pending`` so that issue-documents sends it once more."""
        statement = insert(email_deliveries).values(order_id=order_id, tenant_id=self.tenant_id, recipient=recipient)
        self.conn.execute(statement.on_conflict_do_update(
            index_elements=[email_deliveries.c.order_id],
            set_={"recipient": recipient, "status": "pending", "last_error": None, "claimed_at": None,
                  "interrupted": False}))
