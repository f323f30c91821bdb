"""Small translations both operators' payloads need (ids, money, VAT, times)."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from prichal.domain.vat import VatRate

# Both operators work in St. Petersburg time and send local times without an offset.
OPERATOR_ZONE = ZoneInfo("Europe/Moscow")
_SPACES = re.compile(r"[\s\u00a0\u202f]+")


def clean_id(value: Any) -> str:
    """An operator's id as our reference: no (non-breaking) spaces, no zero padding
    (``"000000002"`` and ``"2"`` are one id; ``"1 234"`` with an NBSP is ``"1234"``)."""
    text = _SPACES.sub("", str(value if value is not None else "")).strip()
    if text.isdigit():
        return str(int(text))
    return text


def padded(ref: str, width: int = 9) -> str:
    """Back to the operator's zero-padded form (Astra Marine pads to nine digits)."""
    return ref.zfill(width) if ref.isdigit() else ref


def rubles(value: Any) -> Decimal:
    """A price in rubles (``"1200.00"``, ``1200``, ``"1 200,50"``) as a Decimal with kopecks."""
    if isinstance(value, float):
        value = repr(value)
    text = _SPACES.sub("", str(value)).replace(",", ".")
    try:
        amount = Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"not a price: {value!r}") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not a price: {value!r}")
    return amount.quantize(Decimal("0.01"))


def kopecks(value: Any) -> Decimal:
    """A price in kopecks (an integer, maybe as a string) as rubles."""
    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
        raise ValueError(f"not an amount in kopecks: {value!r}")
    amount = Decimal(int(str(value).strip()))
    if amount < 0:
        raise ValueError(f"not an amount in kopecks: {value!r}")
    return (amount / 100).quantize(Decimal("0.01"))


_VAT = {
    "22": VatRate.VAT22, "vat22": VatRate.VAT22, "ндс 22%": VatRate.VAT22, "22%": VatRate.VAT22,
    "20": VatRate.VAT22,  # contracts signed before 2026 say 20 %; the law says 22 % since 1 Jan 2026
    "10": VatRate.VAT10, "vat10": VatRate.VAT10, "ндс 10%": VatRate.VAT10, "10%": VatRate.VAT10,
    "7": VatRate.VAT7, "vat7": VatRate.VAT7, "5": VatRate.VAT5, "vat5": VatRate.VAT5,
    "0": VatRate.VAT0, "vat0": VatRate.VAT0,
    "none": VatRate.NONE, "no_vat": VatRate.NONE, "без ндс": VatRate.NONE, "novat": VatRate.NONE,
}


def vat_rate(value: Any) -> VatRate | None:
    """The operator's VAT field as our rate; ``None`` (absent or unknown): the tenant's rate."""
    if value is None or value == "":
        return None
    return _VAT.get(str(value).strip().lower())


def local_time(value: str) -> datetime:
    """``2026-12-02T12:00:00`` or ``2026-12-02 12:00:00`` (local, maybe with an offset)."""
    moment = datetime.fromisoformat(str(value).strip().replace(" ", "T", 1))
    return moment if moment.tzinfo else moment.replace(tzinfo=OPERATOR_ZONE)


def first(payload: dict[str, Any], *keys: str, default: Any = None) -> Any:
    """The first of ``keys`` present: the operators misspell some keys some of the time."""
    for key in keys:
        if key in payload and payload[key] is not None:
            return payload[key]
    return default
