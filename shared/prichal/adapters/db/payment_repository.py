"""Payments, refunds and the durable record of provider notifications."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, func, select, update

from prichal.domain.orders import Payment, PaymentAccount, PaymentStatus

from .tables import payment_notifications, payments, refunds


def _payment(row: Any) -> Payment:
    return Payment(id=row.id, order_id=row.order_id, account=_account(row),
                   provider_payment_id=row.provider_payment_id, status=PaymentStatus(row.status), amount=row.amount,
                   currency=row.currency, idempotence_key=row.idempotence_key,
                   confirmation_url=row.confirmation_url, cancellation_reason=row.cancellation_reason)


def _account(row: Any) -> PaymentAccount:
    return PaymentAccount(provider=row.provider, shop_id=row.shop_id, secret_name=row.secret_name,
                          api_url=row.api_url)


class PaymentRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    def add(self, payment: Payment) -> None:
        self.conn.execute(payments.insert().values(
            id=payment.id, tenant_id=self.tenant_id, order_id=payment.order_id, provider=payment.provider,
            shop_id=payment.account.shop_id, secret_name=payment.account.secret_name,
            api_url=payment.account.api_url, status=payment.status.value, amount=payment.amount,
            currency=payment.currency, idempotence_key=payment.idempotence_key))

    def for_order(self, order_id: str, for_update: bool = False) -> Payment | None:
        query = (select(payments).where(payments.c.order_id == order_id)
                 .order_by(payments.c.created_at.desc()).limit(1))
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _payment(row) if row else None

    def get(self, payment_id: str) -> Payment | None:
        row = self.conn.execute(select(payments).where(payments.c.id == payment_id)).first()
        return _payment(row) if row else None

    def for_refund(self, provider_refund_id: str) -> Payment | None:
        """The payment a refund (known by the provider's id) was made from."""
        row = self.conn.execute(select(payments).join(refunds, refunds.c.payment_id == payments.c.id)
                                .where(refunds.c.provider_refund_id == provider_refund_id)).first()
        return _payment(row) if row else None

    def by_provider_id(self, provider: str, provider_payment_id: str, for_update: bool = False) -> Payment | None:
        query = select(payments).where(payments.c.provider == provider,
                                       payments.c.provider_payment_id == provider_payment_id)
        if for_update:
            query = query.with_for_update()
        row = self.conn.execute(query).first()
        return _payment(row) if row else None

    def started(self, payment_id: str, provider_payment_id: str, status: PaymentStatus,
                confirmation_url: str | None) -> None:
        self.conn.execute(update(payments).where(payments.c.id == payment_id).values(
            provider_payment_id=provider_payment_id, status=status.value, confirmation_url=confirmation_url,
            updated_at=func.now()))

    def set_status(self, payment_id: str, status: PaymentStatus, cancellation_reason: str | None = None) -> None:
        self.conn.execute(update(payments).where(payments.c.id == payment_id).values(
            status=status.value, cancellation_reason=cancellation_reason, updated_at=func.now()))

    # --- refunds -------------------------------------------------------------------------
    def add_refund(self, refund_id: str, order_id: str, payment_id: str, amount: Decimal, reason: str,
                   idempotence_key: str, kind: str = "system") -> None:
        """A refund of a whole payment that did not pay its order (late, mismatched); refunds
        of tickets are ``RefundRepository.add``'s."""
        self.conn.execute(refunds.insert().values(
            id=refund_id, tenant_id=self.tenant_id, order_id=order_id, payment_id=payment_id, status="requested",
            amount=amount, reason=reason, idempotence_key=idempotence_key, kind=kind))

    def count_unsent_refunds(self, requested_before: datetime) -> int:
        """Refunds the provider has not accepted yet, requested before the given time."""
        return self.conn.execute(select(func.count()).select_from(refunds).where(
            refunds.c.status == "requested", refunds.c.created_at < requested_before)).scalar_one()

    # --- notifications -------------------------------------------------------------------
    def record_notification(self, provider: str, event: str, object_id: str, source: str | None,
                            body: dict[str, Any]) -> int:
        return self.conn.execute(payment_notifications.insert().values(
            tenant_id=self.tenant_id, provider=provider, event=event, object_id=object_id, source_address=source,
            body=body).returning(payment_notifications.c.id)).scalar_one()

    def notification_done(self, notification_id: int, outcome: str, at: datetime) -> None:
        self.conn.execute(update(payment_notifications).where(payment_notifications.c.id == notification_id)
                          .values(processed_at=at, outcome=outcome))
