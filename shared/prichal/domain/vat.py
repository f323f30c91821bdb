"""VAT rates, their effective dates and the VAT contained in a price.

Since 1 January 2026 the general rate is 22% (federal law 425-FZ). Prices are VAT
included by default, so the VAT of a line is ``gross * r / (100 + r)`` rounded half up
to the kopeck. The calculated rates (22/122, ...) are what a 54-FZ receipt carries for
prepayments; they contain the same amount of VAT as the plain rate.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .money import round_kopecks


class VatRate(enum.StrEnum):
    NONE = "none"
    VAT0 = "0"
    VAT5 = "5"
    VAT7 = "7"
    VAT10 = "10"
    VAT22 = "22"
    VAT5_105 = "5/105"
    VAT7_107 = "7/107"
    VAT10_110 = "10/110"
    VAT22_122 = "22/122"

    @property
    def percent(self) -> Decimal | None:
        """The rate in percent, ``None`` for "no VAT"."""
        if self is VatRate.NONE:
            return None
        return Decimal(self.value.split("/")[0])

    @property
    def label(self) -> str:
        """How documents and price displays name the rate."""
        if self is VatRate.NONE:
            return "Без НДС"
        return f"НДС {self.value}%" if "/" not in self.value else f"НДС {self.value}"

    @property
    def yookassa_vat_code(self) -> int:
        return _YOOKASSA_CODES[self]

    @property
    def calculated(self) -> VatRate:
        """The calculated rate a prepayment receipt uses for this rate (22 -> 22/122)."""
        return _CALCULATED.get(self, self)


_YOOKASSA_CODES = {
    VatRate.NONE: 1,
    VatRate.VAT0: 2,
    VatRate.VAT10: 3,
    VatRate.VAT10_110: 5,
    VatRate.VAT5: 7,
    VatRate.VAT7: 8,
    VatRate.VAT5_105: 9,
    VatRate.VAT7_107: 10,
    VatRate.VAT22: 11,
    VatRate.VAT22_122: 12,
}
_CALCULATED = {
    VatRate.VAT5: VatRate.VAT5_105,
    VatRate.VAT7: VatRate.VAT7_107,
    VatRate.VAT10: VatRate.VAT10_110,
    VatRate.VAT22: VatRate.VAT22_122,
}

DEFAULT_VAT_RATE = VatRate.VAT22


def vat_included(gross: Decimal, rate: VatRate) -> Decimal:
    """VAT contained in a VAT-inclusive amount, rounded to kopecks."""
    percent = rate.percent
    if not percent:
        return Decimal("0.00")
    return round_kopecks(gross * percent / (Decimal(100) + percent))


@dataclass(frozen=True, slots=True)
class VatPeriod:
    valid_from: date
    rate: VatRate


@dataclass(frozen=True, slots=True)
class VatSchedule:
    """A seller's VAT rate over time: the latest period starting on or before a day wins."""

    periods: tuple[VatPeriod, ...]

    def rate_on(self, day: date) -> VatRate:
        current = DEFAULT_VAT_RATE
        for period in sorted(self.periods, key=lambda p: p.valid_from):
            if period.valid_from <= day:
                current = period.rate
        return current


@dataclass(frozen=True, slots=True)
class PriceWithVat:
    gross: Decimal
    rate: VatRate
    vat: Decimal

    @classmethod
    def of(cls, gross: Decimal, rate: VatRate) -> PriceWithVat:
        return cls(gross=gross, rate=rate, vat=vat_included(gross, rate))
