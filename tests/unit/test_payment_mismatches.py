"""``mismatches``: a provider's payment pays an order only when it is exactly that order's."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from prichal.adapters.payments.base import ProviderPayment
from prichal.domain.orders import Customer, Order, OrderStatus
from prichal.domain.tenants import Tenant
from prichal.services.payments import mismatches

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TENANT = Tenant(id="t-1", slug="neva", name="Нева")
ORDER = Order(id="o-1", tenant_id="t-1", number=7, status=OrderStatus.AWAITING_PAYMENT, sailing_id="s-1",
              hold_token="h", client_id="c", customer=Customer("Анна", "a@example.test", None),
              total=Decimal("2400.00"), vat_total=Decimal("432.79"), currency="RUB", created_at=NOW, expires_at=NOW)
RIGHT = ProviderPayment(id="p-1", status="succeeded", amount=Decimal("2400.00"), currency="RUB", paid=True,
                        metadata={"order_id": "o-1", "order_number": "7", "tenant": "neva"})


def test_the_orders_own_payment_has_no_mismatch() -> None:
    assert mismatches(RIGHT, ORDER, TENANT) == []
    assert mismatches(replace(RIGHT, amount=Decimal("2400")), ORDER, TENANT) == []  # the same amount, exactly


@pytest.mark.parametrize(("change", "reason"), [
    ({"amount": Decimal("2399.99")}, "amount 2399.99 instead of 2400.00"),
    ({"amount": Decimal("2400.001")}, "amount 2400.001 instead of 2400.00"),
    ({"currency": "USD"}, "currency USD instead of RUB"),
    ({"paid": False}, "succeeded but not paid"),
    ({"metadata": {"order_id": "o-2", "tenant": "neva"}}, "metadata names another order"),
    ({"metadata": {"order_id": "o-1", "tenant": "other"}}, "metadata names another seller"),
    ({"metadata": {}}, "metadata names another order"),
])
def test_every_difference_is_named(change: dict, reason: str) -> None:
    assert reason in mismatches(replace(RIGHT, **change), ORDER, TENANT)
