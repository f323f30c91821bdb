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
            lists = uow.card.lists(canonical)  # the rest in one round trip
        return {
            "order": self._order(order),
            "sailing": {"id": order.sailing_id, "departs_at": order.departs_at, "status": order.sailing_status,
                        "program": order.program_name, "pier": order.pier_name},
            "items": [self._item(i) for i in items],
            "vat": self._vat(items),
            "payments": lists["payments"],
            "refunds": lists["refunds"],
            "documents": [self._document(order.number, d) for d in lists["documents"]],
            "links_expire_in": self._link_seconds,
            "emails": {"tickets": lists["email"],
                       "history": [e for e in lists["log"] if e["action"].startswith("email.")]},
            "timeline": lists["log"],
            "notes": lists["notes"],
            "flags": self._flags(order, lists["flags"]),
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
                "boarded_at": i.boarded_at,
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

    def _document(self, order_number: int, d: dict[str, Any]) -> dict[str, Any]:
        kind = DocumentKind(d["kind"])
        url = None
        if d["status"] == "stored":
            url = self._link(d["s3_key"], self._link_seconds, f"{kind.value}-{order_number}-{d['position']}.pdf")
        return {"id": d["id"], "kind": kind.value, "position": d["position"], "ticket_id": d["ticket_id"],
                "number": display_number(kind, d["year"], d["number"]), "issued_on": d["issued_on"],
                "status": d["status"], "url": url}

    @staticmethod
    def _flags(order: Any, flags: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if order.needs_attention and not flags:
            return [{"reason": reason_of_text(order.needs_attention), "detail": order.needs_attention,
                     "since": None, "follow_up_on": None, "raised_by": "system"}]
        return flags
