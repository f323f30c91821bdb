"""The order card: everything an agent needs about one order, on one screen.

Items with seats and tariffs and VAT, payments and refunds with the provider's states,
documents with short-lived links, the e-mails sent, the order log as a timeline, notes and
attention flags. Read in one transaction under the tenant's row-level security: an id of
another tenant is simply not found.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Protocol

from prichal.domain.attention import reason_of_text
from prichal.domain.documents import DocumentKind, display_number
from prichal.domain.errors import NotFound
from prichal.domain.order_search import canonical_uuid


class CardUnit(Protocol):
    card: Any
    notes: Any
    attention: Any


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


class OrderCard:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[CardUnit]],
                 link: Callable[[str, int, str], str], link_seconds: int) -> None:
        """``link(s3_key, expires_in, filename)``: a presigned download URL (no network call)."""
        self._uow = uow
        self._link = link
        self._link_seconds = link_seconds

    def card(self, tenant_id: str, order_id: str) -> dict[str, Any]:
        canonical = canonical_uuid(order_id)
        if canonical is None:
            raise NotFound("order not found", order_id=order_id)
        with self._uow(tenant_id) as uow:
            order = uow.card.order(canonical)
            if order is None:
                raise NotFound("order not found", order_id=order_id)
            items = uow.card.items(canonical, order.seat_map_id)
            payments = uow.card.payments(canonical)
            refunds = uow.card.refunds(canonical)
            documents = uow.card.documents(canonical)
            email = uow.card.email(canonical)
            log = uow.card.log(canonical)
            notes = uow.notes.for_order(canonical)
            flags = uow.attention.open_for(canonical)
        return {
            "order": self._order(order),
            "sailing": {"id": order.sailing_id, "departs_at": order.departs_at, "status": order.sailing_status,
                        "program": order.program_name, "pier": order.pier_name},
            "items": [self._item(i) for i in items],
            "vat": self._vat(items),
            "payments": [self._payment(p) for p in payments],
            "refunds": [self._refund(r) for r in refunds],
            "documents": [self._document(order.number, d) for d in documents],
            "links_expire_in": self._link_seconds,
            "emails": self._emails(email, log),
            "timeline": [{"at": e.created_at, "action": e.action, "entity": e.entity, "entity_id": e.entity_id,
                          "actor": e.actor, "data": e.data} for e in log],
            "notes": notes,
            "flags": self._flags(order, flags),
        }

    @staticmethod
    def _order(o: Any) -> dict[str, Any]:
        mapping = o._mapping
        return {
            "id": o.id, "number": o.number, "status": o.status, "created_at": o.created_at,
            "expires_at": o.expires_at, "paid_at": o.paid_at, "closed_at": o.closed_at,
            "customer": {"name": o.customer_name, "email": o.customer_email, "phone": o.customer_phone},
            "total": _money(o.total), "vat_total": _money(o.vat_total), "currency": o.currency,
            "refunded_total": _money(mapping.get("refunded_total")),
            "needs_attention": o.needs_attention,
        }

    @staticmethod
    def _item(i: Any) -> dict[str, Any]:
        seat = None
        if i.seat_id:
            seat = {"id": i.seat_id, "section": i.section, "row": i.row_label, "number": i.seat_number}
        return {"position": i.position, "ticket_id": i.ticket_id, "ticket_status": i.ticket_status,
                "description": i.description, "ticket_type": i.ticket_type, "tariff_id": i.tariff_id,
                "tariff": i.tariff_name, "seat": seat, "price": _money(i.price), "vat_rate": i.vat_rate,
                "vat_amount": _money(i.vat_amount)}

    @staticmethod
    def _vat(items: list[Any]) -> list[dict[str, Any]]:
        by_rate: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal("0.00"), Decimal("0.00")])
        for i in items:
            by_rate[i.vat_rate][0] += i.price
            by_rate[i.vat_rate][1] += i.vat_amount
        return [{"rate": rate, "amount": _money(sums[0]), "vat": _money(sums[1])} for rate, sums in by_rate.items()]

    @staticmethod
    def _payment(p: Any) -> dict[str, Any]:
        return {"id": p.id, "provider": p.provider, "provider_payment_id": p.provider_payment_id,
                "status": p.status, "amount": _money(p.amount), "currency": p.currency,
                "cancellation_reason": p.cancellation_reason, "created_at": p.created_at, "updated_at": p.updated_at}

    @staticmethod
    def _refund(r: Any) -> dict[str, Any]:
        mapping = r._mapping
        return {"id": r.id, "status": r.status, "amount": _money(r.amount), "reason": r.reason,
                "provider_refund_id": r.provider_refund_id, "kind": mapping.get("kind"),
                "actor": mapping.get("actor"), "last_error": mapping.get("last_error"),
                "created_at": r.created_at, "updated_at": r.updated_at}

    def _document(self, order_number: int, d: Any) -> dict[str, Any]:
        kind = DocumentKind(d.kind)
        url = None
        if d.status == "stored":
            url = self._link(d.s3_key, self._link_seconds, f"{kind.value}-{order_number}-{d.position}.pdf")
        return {"id": d.id, "kind": kind.value, "position": d.position, "ticket_id": d.ticket_id,
                "number": display_number(kind, d.year, d.number), "issued_on": d.issued_on, "status": d.status,
                "url": url}

    @staticmethod
    def _emails(email: Any, log: list[Any]) -> dict[str, Any]:
        delivery = None
        if email is not None:
            delivery = {"recipient": email.recipient, "status": email.status, "attempts": email.attempts,
                        "last_error": email.last_error, "sent_at": email.sent_at}
        history = [{"at": e.created_at, "action": e.action, "data": e.data} for e in log
                   if e.action.startswith("email.")]
        return {"tickets": delivery, "history": history}

    @staticmethod
    def _flags(order: Any, flags: list[Any]) -> list[dict[str, Any]]:
        found = [{"reason": f.reason, "detail": f.detail, "since": f.since, "follow_up_on": f.follow_up_on,
                  "raised_by": f.raised_by} for f in flags]
        if order.needs_attention and not found:
            found.append({"reason": reason_of_text(order.needs_attention), "detail": order.needs_attention,
                          "since": None, "follow_up_on": None, "raised_by": "system"})
        return found
