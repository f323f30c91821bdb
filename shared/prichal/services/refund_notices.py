"""The buyer's email confirming a refund (after the refund committed; the cron retries).

At most one email per refund: ``refunds.email_sent_at`` is set after the SMTP server took
it (a crash in between may send it twice, never zero times). A refund without an email
address, or a tenant without SMTP, is marked done or left for later respectively.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.smtp_mailer import MailPermanentFailure, MailTemporaryFailure
from prichal.domain.errors import Unavailable
from prichal.domain.money import format_rub
from prichal.domain.tenants import Tenant

log = logging.getLogger("prichal.refund_notices")


class Mailer(Protocol):
    def send(self, message: EmailMessage) -> None: ...


class RefundNotices:
    def __init__(self, uow_factory: Callable[..., UnitOfWork], mailer: Callable[[], Mailer], sender: str,
                 clock: Callable[[], datetime]) -> None:
        self._uow = uow_factory
        self._mailer = mailer
        self._sender = sender
        self._now = clock

    def __call__(self, tenant: Tenant, refund_id: str) -> None:
        self.send(tenant, refund_id)

    def send(self, tenant: Tenant, refund_id: str) -> str:
        with self._uow(tenant.id) as uow:
            refund = uow.refunds.get(refund_id)
            order = uow.orders.get(refund.order_id) if refund is not None else None
            items = uow.refunds.items(refund_id) if refund is not None else []
        if refund is None or order is None or refund.email_sent_at is not None:
            return "none"
        if not order.customer.email:
            self._done(tenant, refund_id)
            return "no-email"
        try:
            mailer = self._mailer()
        except Unavailable:
            return "no-mailer"
        positions = {item.ticket_id: item.position for item in order.items}
        brand = tenant.brand.get("name") or tenant.name
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = order.customer.email
        message["Subject"] = f"{brand}: возврат по заказу №{order.number}"
        message["Message-ID"] = make_msgid(idstring=f"refund-{refund_id}")
        lines = [f"Здравствуйте, {order.customer.name}!", "",
                 f"Оформлен возврат {format_rub(refund.amount)} ₽ по заказу №{order.number}.",
                 "Деньги вернутся тем же способом, которым был оплачен заказ (обычно в течение нескольких дней).",
                 "", "Возвращённые билеты (их коды больше не действуют):"]
        for item in items:
            lines.append(f"  билет №{positions.get(item.ticket_id, '?')}: {format_rub(item.amount)} ₽"
                         + (f" (удержано {format_rub(item.fee)} ₽)" if item.fee else ""))
        lines += ["", f"Причина: {refund.reason}", "", brand]
        message.set_content("\n".join(lines))
        try:
            mailer.send(message)
        except MailTemporaryFailure as exc:
            log.warning("refund email deferred", extra={"refund_id": refund_id, "error": str(exc)})
            return "deferred"
        except MailPermanentFailure as exc:
            log.error("refund email failed", extra={"refund_id": refund_id, "error": str(exc)})
            with self._uow(tenant.id) as uow:
                uow.log.record("attention.refund_email_failed", "refund", refund_id, "system", order.id,
                               detail=str(exc))
                uow.refunds.email_sent(refund_id, self._now())  # not retried: a person looks
                uow.commit()
            return "failed"
        self._done(tenant, refund_id)
        with self._uow(tenant.id) as uow:
            uow.log.record("refund.emailed", "refund", refund_id, "system", order.id, to=order.customer.email)
            uow.commit()
        return "sent"

    def _done(self, tenant: Tenant, refund_id: str) -> None:
        with self._uow(tenant.id) as uow:
            uow.refunds.email_sent(refund_id, self._now())
            uow.commit()
