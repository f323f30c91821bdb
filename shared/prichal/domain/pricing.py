"""Order lines with VAT, totals that add up exactly, and the 54-FZ receipt for YooKassa.

VAT is computed per line (rounded half up to the kopeck) and the order's VAT is the sum
of its lines, so every document and the fiscal receipt agree to the kopeck.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .money import format_rub
from .vat import VatRate, vat_included

RECEIPT_DESCRIPTION_LIMIT = 128


@dataclass(frozen=True, slots=True)
class OrderLine:
    description: str
    price: Decimal  # gross, VAT included
    vat_rate: VatRate
    ticket_type: str
    tariff_id: str
    seat_id: str | None = None

    @property
    def vat(self) -> Decimal:
        return vat_included(self.price, self.vat_rate)


@dataclass(frozen=True, slots=True)
class Totals:
    total: Decimal
    vat_total: Decimal
    vat_by_rate: dict[VatRate, Decimal]


def totals(lines: list[OrderLine]) -> Totals:
    by_rate: dict[VatRate, Decimal] = defaultdict(lambda: Decimal("0.00"))
    for line in lines:
        by_rate[line.vat_rate] += line.vat
    return Totals(total=sum((line.price for line in lines), Decimal("0.00")),
                  vat_total=sum(by_rate.values(), Decimal("0.00")), vat_by_rate=dict(by_rate))


def receipt(lines: list[OrderLine], *, email: str | None, phone: str | None, full_name: str | None,
            tax_system_code: int, prepayment: bool = True) -> dict[str, Any]:
    """The ``receipt`` object of a YooKassa payment (54-FZ).

    Identical lines are grouped with a quantity; free lines (0.00) are left out, the
    items still add up to the amount paid. A ticket paid before the trip is a
    prepayment for a service, which takes the calculated VAT rate (22/122) by law.
    """
    grouped: dict[tuple[str, Decimal, VatRate], int] = defaultdict(int)
    for line in lines:
        grouped[(line.description[:RECEIPT_DESCRIPTION_LIMIT], line.price, line.vat_rate)] += 1
    customer: dict[str, str] = {}
    if email:
        customer["email"] = email
    if phone:
        customer["phone"] = phone
    if full_name:
        customer["full_name"] = full_name
    return {
        "customer": customer,
        "tax_system_code": tax_system_code,
        "items": [
            {
                "description": description,
                "quantity": f"{quantity}.00",
                "amount": {"value": format_rub(price), "currency": "RUB"},
                "vat_code": (rate.calculated if prepayment else rate).yookassa_vat_code,
                "payment_mode": "full_prepayment" if prepayment else "full_payment",
                "payment_subject": "service",
            }
            for (description, price, rate), quantity in grouped.items()
            if price > 0  # a free ticket (0.00) is not paid for: no receipt item of 0.00 for a provider to refuse
        ],
    }
