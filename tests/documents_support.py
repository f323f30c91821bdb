"""Helpers for the documents tests: a paid order written straight to the database, an SMTP
sink on loopback (aiosmtpd) and PDF text."""

from __future__ import annotations

import hashlib
import io
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pypdfium2
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from pypdf import PdfReader
from pyzbar.pyzbar import decode

from prichal.domain.holds import Hold, HoldStatus
from prichal.domain.orders import Customer, Order, OrderItem, OrderStatus, TicketStatus
from prichal.domain.pricing import OrderLine
from prichal_localrun.s3server import free_port, spawn_s3_server


def paid_order(container, demo, seats=("main-C-1", "main-C-2"), types=("adult", "child"),
               email: str | None = "anna@example.test", name: str = "Анна Петрова") -> Order:
    """A paid order on the demo's first assigned sailing, priced as checkout prices it."""
    tenant = container.tenants.by_slug(demo.slug)
    now = container.now()
    sailing_id = next(s["id"] for s in demo.sailings if s["seating"] == "assigned")
    with container.uow(tenant.id) as uow:
        sailing = uow.catalog.sailing(sailing_id)
        seat_map = uow.catalog.seat_map(sailing.seat_map_id)
        tariffs = uow.catalog.tariffs([sailing.program_id])
        token = f"test-{uuid.uuid4().hex}"
        uow.holds.add(Hold(token=token, tenant_id=tenant.id, sailing_id=sailing_id, client_id="buyer",
                           seat_ids=tuple(seats), quantity=len(seats), status=HoldStatus.ORDERED, created_at=now,
                           expires_at=now + timedelta(minutes=15)))
        lines = []
        for seat_id, ticket_type in zip(seats, types, strict=True):
            seat = seat_map.seats[seat_id]
            tariff = next(t for t in tariffs if t.ticket_type == ticket_type and t.seat_category == seat.category)
            lines.append(OrderLine(description=f"{sailing.program_name}, {tariff.name}, место {seat.section} "
                                               f"{seat.row}-{seat.number}", price=tariff.price,
                                   vat_rate=tenant.vat_rate_on(now.date(), tariff.vat_rate),
                                   ticket_type=ticket_type, tariff_id=tariff.id, seat_id=seat_id))
        order_id = str(uuid.uuid4())
        order = Order(id=order_id, tenant_id=tenant.id, number=uow.orders.next_number(), status=OrderStatus.PAID,
                      sailing_id=sailing_id, hold_token=token, client_id="buyer",
                      customer=Customer(name, email, None if email else "+79990000000"),
                      total=sum(line.price for line in lines), vat_total=sum(line.vat for line in lines),
                      currency="RUB", created_at=now, expires_at=now + timedelta(minutes=15), paid_at=now)
        token_hash = hashlib.sha256(container.checkout.access_token(order_id).encode()).hexdigest()
        uow.orders.add(order, token_hash)
        uow.orders.set_status(order_id, OrderStatus.PAID, now)
        for position, line in enumerate(lines, start=1):
            ticket_id = uow.orders.add_ticket(order_id, sailing_id, line.seat_id, line.tariff_id, token,
                                              TicketStatus.SOLD)
            uow.orders.add_item(order_id, OrderItem(
                id=str(uuid.uuid4()), ticket_id=ticket_id, position=position, seat_id=line.seat_id,
                tariff_id=line.tariff_id, ticket_type=line.ticket_type, description=line.description,
                price=line.price, vat_rate=line.vat_rate, vat_amount=line.vat))
        uow.commit()
    with container.uow(tenant.id) as uow:
        return uow.orders.get(order_id)


def rewire(container, **settings) -> None:
    """New settings for the document pipeline: drop what the container built from the old ones."""
    for name, value in settings.items():
        setattr(container.settings, name, value)
    for name in ("templates", "pdf_renderer", "documents"):
        container.__dict__.pop(name, None)


def issue(container, order: Order) -> dict:
    return container.documents.issue_for_event(order_paid_event(order))


def documents_of(container, order: Order):
    with container.uow(order.tenant_id) as uow:
        return uow.documents.for_order(order.id)


def order_paid_event(order: Order) -> dict:
    return {"id": str(uuid.uuid4()), "type": "order.paid", "version": 1, "tenant": order.tenant_id,
            "occurred_at": order.paid_at.isoformat(),
            "data": {"order_id": order.id, "number": order.number, "total": str(order.total), "currency": "RUB",
                     "sailing_id": order.sailing_id}}


@dataclass
class SmtpSink:
    """aiosmtpd on 127.0.0.1 keeping every message; ``fail_next`` answers 451 (or any code) first.
    Like many servers it does not offer SMTPUTF8 (the local runtime's sink does)."""

    host: str = "127.0.0.1"
    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)
    fail_next: list[str] = field(default_factory=list)
    refuse_rcpt: dict[str, str] = field(default_factory=dict)  # recipient -> reply to RCPT (e.g. "450 ...")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope: Envelope, address: str, rcpt_options) -> str:
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope: Envelope) -> str:
        with self._lock:
            if self.fail_next:
                return self.fail_next.pop(0)
            message = message_from_bytes(envelope.content, policy=policy.default)
            message["X-Test-Envelope-To"] = ", ".join(envelope.rcpt_tos)
            self.messages.append(message)
        return "250 OK"

    def start(self) -> SmtpSink:
        self.port = free_port()
        self._controller = Controller(self, hostname=self.host, port=self.port, enable_SMTPUTF8=False)
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def for_order(self, number: int) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["X-Prichal-Order"] == str(number)]


def qr_codes(data: bytes, scale: float = 3.0) -> list[str]:
    """The QR codes on the first page, read as a phone camera would: the page rasterised
    (PDFium, about 216 dpi) and decoded by ZBar. Works for vector and bitmap codes alike."""
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=scale).to_pil().convert("L")
    return [found.data.decode() for found in decode(image) if found.type == "QRCODE"]


def pdf_producer(data: bytes) -> str:
    """Which library wrote the PDF ("ReportLab ..." or "WeasyPrint ...")."""
    return str((PdfReader(io.BytesIO(data)).metadata or {}).get("/Producer", ""))


def pdf_text(data: bytes) -> str:
    """The text of every page with whitespace collapsed: line breaks depend on the layout, and
    no-break spaces (thousands separators) read as plain spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


@contextmanager
def moto_s3(bucket: str = "prichal"):
    """A moto S3 server of our own (``start_s3`` would export its address to the whole process)."""
    server = spawn_s3_server(bucket)
    try:
        yield server
    finally:
        server.stop()
