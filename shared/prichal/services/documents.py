"""Issue the documents of a paid order (the ``issue-documents`` use case) and read them back.

Triggered by ``order.paid``, which arrives at least once. The order's own rows make it
idempotent, not the message id: whatever message (or person) asks again, an order gets one
set of documents with one set of numbers and at most one email.

1. **Record** (one transaction, order row locked): the document rows with their numbers
   and deterministic object keys. Numbers are taken in this transaction, so they are
   gapless and never reused; a second delivery finds the rows and takes none.
2. **Store**: render and upload what is not stored yet, then mark it stored with its
   sha256 and size. A crash in between re-renders the same documents under the same
   numbers and keys: the objects are overwritten, never duplicated. A redelivery also
   restores a stored document whose object has gone missing (a bucket lost or restored
   from an older backup), under the same number and key.
3. **Email** the buyer once (see ``_email``).

A failure that cannot succeed by retrying — a seller without requisites, an unknown order
or tenant — is a ``DomainError`` with a 4xx status: the connector parks the message in the
dead-letter queue with that reason at once. Storage or SMTP trouble answers 503 and is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache, partial
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from prichal.adapters.db.document_repository import EmailDelivery
from prichal.adapters.db.tenant_directory import TenantDirectory
from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.object_storage import ObjectStorage
from prichal.adapters.smtp_mailer import MailPermanentFailure, MailTemporaryFailure
from prichal.adapters.templates import Templates
from prichal.domain import documents as docs
from prichal.domain import events
from prichal.domain.catalog import Sailing
from prichal.domain.contacts import BadAddress, recipient, without_control_characters
from prichal.domain.documents import DocumentKind, IssuedDocument, Requisites
from prichal.domain.errors import Conflict, InvalidInput, NotFound, Unavailable
from prichal.domain.ids import canonical_uuid
from prichal.domain.orders import Order
from prichal.domain.seating import SeatMap
from prichal.domain.tenants import Tenant
from prichal.domain.ticket_codes import TicketClaims, TicketSigner
from prichal.domain.vat import VatRate
from prichal.observability.metrics import DOCUMENT_EMAILS

from .catalog_reader import CatalogReader
from .supplier_orders import check_codes_ready

if TYPE_CHECKING:
    from prichal.adapters.pdf_renderer import PdfRenderer

log = logging.getLogger("prichal.documents")



def _supplier_code(context: dict[str, Any], document: IssuedDocument) -> dict[str, Any]:
    """The boat operator's own code for the ticket, printed beside ours where it has one."""
    found = context.get("supplier_codes", {}).get(str(document.ticket_id))
    return {"supplier_code": found[0], "supplier_ticket_number": found[1]} if found else {}


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class OrderNotPaid(Conflict):
    code = "order-not-paid"
    title = "Documents are issued for paid orders only"


class EmailDeferred(Unavailable):
    code = "email-deferred"
    title = "The email could not be sent yet"


@dataclass(frozen=True, slots=True)
class DocumentSettings:
    sender: str  # From: when the tenant's brand names none
    link_expiry: timedelta  # presigned links in API answers
    email_link_expiry: timedelta  # presigned links in the email (SigV4 allows 7 days at most)
    email_lease: timedelta  # a "sending" email older than this was interrupted


@dataclass(frozen=True, slots=True)
class DocumentLink:
    document: IssuedDocument
    url: str | None  # None while the document is not stored yet


class DocumentService:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], tenants: TenantDirectory, catalog: CatalogReader,
                 renderer: Callable[[], PdfRenderer], templates: Templates, storage: ObjectStorage,
                 signer: TicketSigner, mailer: Callable[[], Mailer], settings: DocumentSettings,
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._tenants = tenants
        self._catalog = catalog
        self._renderer = renderer
        self._templates = templates
        self._storage = storage
        self._signer = signer
        self._mailer = mailer
        self._settings = settings
        self._now = clock

    # --- issue ---------------------------------------------------------------------------
    def issue_for_event(self, event: Any) -> dict[str, Any]:
        """Handle one ``order.paid`` message (already parsed JSON)."""
        tenant_id, order_id = _parse_event(event)
        tenant = self._tenants.by_id(tenant_id)
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} not found (or inactive)", tenant=tenant_id)
        return self.issue(tenant, order_id)

    def issue(self, tenant: Tenant, order_id: str) -> dict[str, Any]:
        seller = docs.requisites(tenant.legal)  # MissingRequisites: permanent, nothing recorded
        order, recorded, created = self._record(tenant, order_id)
        context = cache(partial(self._context, tenant, seller, order))  # built once, and only when needed
        rendered = self._store(tenant, order, recorded, context)
        email = self._email(tenant, order, seller, recorded, rendered, context)
        return {"order_id": order.id, "number": order.number, "created": created,
                "rendered": len(rendered), "documents": len(recorded), "email": email}

    def _record(self, tenant: Tenant, order_id: str) -> tuple[Order, list[IssuedDocument], bool]:
        with self._uow(tenant.id) as uow:
            order = uow.orders.get(order_id, for_update=True)  # serialises concurrent deliveries
            if order is None:
                raise NotFound(f"order {order_id} not found", order_id=order_id)
            if order.paid_at is None:
                raise OrderNotPaid(f"order {order.number} is {order.status.value}", order_id=order.id)
            existing = uow.documents.for_order(order.id)
            if existing:
                return order, existing, False
            # an operator's sailing: the e-tickets wait for its confirmation (and its codes)
            check_codes_ready(uow, order.id, order.sailing_id)
            issued_on = docs.issue_date(order.paid_at, tenant.timezone)
            for planned in docs.plan(order):
                number = uow.documents.next_number(planned.kind, issued_on.year)
                uow.documents.add(order.id, planned.kind, planned.position, planned.ticket_id, number, issued_on,
                                  docs.object_key(tenant.slug, order.number, planned.kind, planned.position))
            uow.log.record("documents.recorded", "order", order.id, "system", order.id)
            recorded = uow.documents.for_order(order.id)
            uow.commit()
        return order, recorded, True

    def _store(self, tenant: Tenant, order: Order, recorded: list[IssuedDocument],
               context: Callable[[], dict[str, Any]]) -> dict[str, bytes]:
        """Render and upload the documents not stored yet; returns their PDFs by id."""
        pending = [document for document in recorded if not document.stored or not self._present(document)]
        if not pending:
            return {}
        rendered: dict[str, bytes] = {}
        stored = []
        for document in pending:
            pdf = self._renderer().render(tenant.slug, document.kind, self._document_context(context(), document))
            obj = self._storage.put_pdf(document.s3_key, pdf, {
                "order-number": str(order.number), "kind": document.kind.value, "number": document.display_number})
            stored.append((document.id, obj.sha256, obj.size))
            rendered[document.id] = pdf
        with self._uow(tenant.id) as uow:
            uow.documents.mark_stored(stored, self._now())
            uow.log.record("documents.stored", "order", order.id, "system", order.id, count=len(stored))
            uow.commit()
        return rendered

    def _present(self, document: IssuedDocument) -> bool:
        if self._storage.exists(document.s3_key):
            return True
        log.warning("document %s (%s) was stored but its object %s is missing: drawing it again",
                    document.display_number, document.kind.value, document.s3_key)
        return False

    # --- template contexts -----------------------------------------------------------------
    def _context(self, tenant: Tenant, seller: Requisites, order: Order) -> dict[str, Any]:
        sailing = self._catalog.sailing(tenant.id, order.sailing_id)
        seat_map = self._catalog.seat_map(tenant.id, sailing.seat_map_id) if sailing.seat_map_id else None
        zone = ZoneInfo(tenant.timezone)
        lines = docs.document_lines(order)
        with self._uow(tenant.id) as uow:  # the tenant's own tariff names, as on the storefront
            tariff_names = {t.id: t.name for t in uow.catalog.tariffs([sailing.program_id])}
            supplier_codes = uow.suppliers.codes(order.id)
        assert order.paid_at is not None
        return {
            "tenant": tenant, "seller": seller, "brand": tenant.brand,
            "buyer": order.customer,
            "order": {"id": order.id, "number": order.number, "total": order.total,
                      "date": order.created_at.astimezone(zone).strftime("%d.%m.%Y"),
                      "paid": order.paid_at.astimezone(zone).strftime("%d.%m.%Y %H:%M")},
            "items": order.items, "lines": lines, "vat_lines": docs.vat_summary(lines), "total": order.total,
            "total_words": docs.amount_in_words(order.total),
            "sailing": sailing, "seat_map": seat_map, "zone": zone, "tariff_names": tariff_names,
            "supplier_codes": supplier_codes,
        }

    def _document_context(self, context: dict[str, Any], document: IssuedDocument) -> dict[str, Any]:
        ours = {**context, "document": {"kind": document.kind.value, "title": document.kind.title,
                                        "number": document.display_number,
                                        "date": document.issued_on.strftime("%d.%m.%Y")}}
        if document.kind is DocumentKind.TICKET:
            ours["ticket"] = self._ticket(context, document)
        return ours

    def _ticket(self, context: dict[str, Any], document: IssuedDocument) -> dict[str, Any]:
        sailing: Sailing = context["sailing"]
        order = context["order"]
        item = next(i for i in context["items"] if i.position == document.position)
        claims = TicketClaims(ticket=str(document.ticket_id), tenant=context["tenant"].slug, sailing=sailing.id,
                              seat=item.seat_id, order=order["number"], departs=sailing.departs_at.isoformat())
        code = self._signer.sign(claims)
        return {**ticket_facts(sailing, context["seat_map"], item.seat_id, context["zone"]),
                "tariff": context["tariff_names"].get(item.tariff_id, item.ticket_type),
                "price": item.price, "vat_label": item.vat_rate.label,
                "vat_amount": item.vat_amount if item.vat_rate is not VatRate.NONE else None,
                "code": code, **_supplier_code(context, document)}

    # --- email -----------------------------------------------------------------------------
    def _email(self, tenant: Tenant, order: Order, seller: Requisites, recorded: list[IssuedDocument],
               rendered: dict[str, bytes], context: Callable[[], dict[str, Any]]) -> str:
        """At most once per order, recorded before and after sending.

        The row goes ``pending -> sending`` (committed) before the SMTP call and ``sent``
        after it. A crash between the server accepting the mail and the ``sent`` commit
        leaves ``sending``: once its lease is over the next delivery sends again — the one
        duplicate the buyer may get (same Message-ID, so most mail clients fold them). A
        second interruption is not retried: it is marked failed for a person to look at.
        A temporary SMTP failure goes back to ``pending`` and answers 503 (the connector
        retries with backoff); a permanent one (a 5xx, an address that cannot be written to or
        needs SMTPUTF8 the server lacks) is recorded as ``failed``, not retried, and the order
        is flagged for attention with the reason: the buyer paid and has no tickets yet.
        """
        if not order.customer.email:
            return "no-email"
        now = self._now()
        with self._uow(tenant.id) as uow:
            delivery = uow.documents.open_email(order.id, order.customer.email)
            outcome = self._claim(uow, delivery, now)
            uow.commit()
        if outcome != "claimed":
            return outcome
        try:
            message = self._message(tenant, order, seller, recorded, rendered, context())
            self._mailer().send(message)
        except (MailTemporaryFailure, Unavailable) as exc:
            self._email_done(tenant, order, "pending", error=str(exc))
            DOCUMENT_EMAILS.labels("deferred").inc()
            raise EmailDeferred(f"the email to the buyer will be retried: {exc}", order_id=order.id) from exc
        except MailPermanentFailure as exc:
            self._email_done(tenant, order, "failed", error=str(exc),
                             attention=f"the tickets could not be emailed to the buyer: {exc}")
            DOCUMENT_EMAILS.labels("failed").inc()
            log.error("email for order %s failed permanently: %s", order.number, exc)
            return "failed"
        except BaseException as exc:  # a bug or an interruption: let the lease decide, say why
            self._email_done(tenant, order, "pending", error=f"{type(exc).__name__}: {exc}")
            raise
        self._email_done(tenant, order, "sent", at=self._now())
        DOCUMENT_EMAILS.labels("sent").inc()
        return "sent"

    def _claim(self, uow: UnitOfWork, delivery: EmailDelivery, now: datetime) -> str:
        if delivery.status in ("sent", "failed"):
            return delivery.status
        interrupted = delivery.status == "sending"
        if interrupted:
            assert delivery.claimed_at is not None
            if delivery.claimed_at + self._settings.email_lease > now:
                raise EmailDeferred("another delivery is sending this email right now", order_id=delivery.order_id)
            if delivery.interrupted:
                error = "interrupted twice while sending; not sent again to avoid duplicates"
                uow.documents.email_done(delivery.order_id, "failed", error=error)
                self._flag(uow, delivery.order_id, f"the tickets email may not have reached the buyer: {error}")
                return "failed"
        uow.documents.email_claimed(delivery.order_id, now, interrupted)
        return "claimed"

    def _email_done(self, tenant: Tenant, order: Order, status: str, at: datetime | None = None,
                    error: str | None = None, attention: str | None = None) -> None:
        with self._uow(tenant.id) as uow:
            uow.documents.email_done(order.id, status, at, error)
            uow.log.record(f"email.{status}", "order", order.id, "system", order.id, error=error)
            if attention is not None:
                self._flag(uow, order.id, attention)
            uow.commit()

    @staticmethod
    def _flag(uow: UnitOfWork, order_id: str, reason: str) -> None:
        uow.orders.flag(order_id, reason)
        uow.log.record("order.flagged", "order", order_id, "system", order_id, reason=reason)

    def _message(self, tenant: Tenant, order: Order, seller: Requisites, recorded: list[IssuedDocument],
                 rendered: dict[str, bytes], context: dict[str, Any]) -> EmailMessage:
        expiry = int(self._settings.email_link_expiry.total_seconds())
        links = [{"title": f"{d.kind.title} № {d.display_number} от {d.issued_on:%d.%m.%Y} (PDF)",
                  "url": self._storage.presigned_get(d.s3_key, expiry, _filename(order, d))}
                 for d in recorded if d.kind is not DocumentKind.TICKET]
        tickets = [d for d in recorded if d.kind is DocumentKind.TICKET]
        email_context = {**context, "links": links, "tickets": tickets, "links_valid": _duration(expiry),
                         "seller_name": seller.name,
                         "ticket": ticket_facts(context["sailing"], context["seat_map"],
                                                order.items[0].seat_id if order.items else None, context["zone"])}
        brand = tenant.brand
        seller_name = without_control_characters(brand.get("display_name") or tenant.name)
        message = EmailMessage()
        message["Subject"] = f"Билеты по заказу № {order.number} — {seller_name}"
        sender = recipient(seller_name, brand.get("email_from") or self._settings.sender)
        message["From"] = sender
        try:
            message["To"] = recipient(order.customer.name, order.customer.email or "")
        except BadAddress as exc:  # stored before addresses were checked: it can never be sent
            raise MailPermanentFailure(f"the address {order.customer.email!r} cannot be written to: {exc}") from exc
        message["Date"] = format_datetime(self._now().astimezone(UTC))  # the send time; some servers require it
        # The same id on a possible resend lets mail clients recognise the duplicate.
        message["Message-ID"] = f"<order-{order.id}@{sender.domain}>"
        message["X-Prichal-Order"] = str(order.number)
        message.set_content(self._templates.render(tenant.slug, "email", "documents.txt", email_context))
        message.add_alternative(self._templates.render(tenant.slug, "email", "documents.html", email_context),
                                subtype="html")
        for document in tickets:
            pdf = rendered.get(document.id) or self._storage.get(document.s3_key)
            message.add_attachment(pdf, maintype="application", subtype="pdf", filename=_filename(order, document))
        return message

    # --- read ------------------------------------------------------------------------------
    def list(self, tenant: Tenant, order_id: str) -> tuple[list[DocumentLink], EmailDelivery | None]:
        """An order's documents with short-lived download links (the caller checked access)."""
        canonical = canonical_uuid(order_id)
        if canonical is None:
            raise NotFound("order not found")
        with self._uow(tenant.id) as uow:
            order = uow.orders.get(canonical)
            if order is None:
                raise NotFound("order not found")
            recorded = uow.documents.for_order(canonical)
            email = uow.documents.email(canonical)
        expiry = int(self._settings.link_expiry.total_seconds())
        return [DocumentLink(d, self._storage.presigned_get(d.s3_key, expiry, _filename(order, d))
                             if d.stored else None) for d in recorded], email


def ticket_facts(sailing: Sailing, seat_map: SeatMap | None, seat_id: str | None, zone: ZoneInfo) -> dict[str, Any]:
    label = seat_map.label(seat_id) if seat_map and seat_id else seat_id
    return {"program": sailing.program_name, "pier": sailing.pier_name, "pier_address": None,
            "vessel": sailing.vessel_name, "seat": label,
            "departs": sailing.departs_at.astimezone(zone).strftime("%d.%m.%Y %H:%M")}


def _filename(order: Order, document: IssuedDocument) -> str:
    return f"{document.kind.value}-{order.number}-{document.position}.pdf"


def _duration(seconds: int) -> str:
    """How long the email's links work, in words the buyer reads."""
    if seconds % 86400 == 0:
        return f"{seconds // 86400} дн."
    return f"{max(1, seconds // 60)} мин."


def _parse_event(message: Any) -> tuple[str, str]:
    """Tenant and order of an ``order.paid`` message, or of ``order.tickets-resend`` (an agent
    reset the order's email to pending: the same path sends it again); anything else is a
    permanent error."""
    event = events.parse(message)
    if not isinstance(event, events.OrderPaid | events.TicketsResendRequested):
        raise InvalidInput("not an order.paid event", errors=[
            {"loc": ["body", "type"], "type": "value_error", "msg": "expected an order.paid event"}])
    tenant_id = canonical_uuid(str(message.get("tenant", "")))
    order_id = canonical_uuid(event.order_id)
    if tenant_id is None or order_id is None:
        raise InvalidInput("the event names no valid tenant or order", errors=[
            {"loc": ["body", "tenant" if tenant_id is None else "data.order_id"], "type": "uuid_parsing",
             "msg": "a UUID is required"}])
    return tenant_id, order_id
