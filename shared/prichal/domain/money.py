"""Money is ``Decimal`` rubles with exactly two places; a float never becomes money."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

KOPECK = Decimal("0.01")


def rubles(value: Decimal | int | str) -> Decimal:
    """Parse an amount of rubles, refusing floats and anything not exact to the kopeck."""
    if isinstance(value, float | bool):
        raise TypeError("money must not be a float or bool; pass a Decimal, int or str")
    try:
        amount = Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise ValueError(f"not an amount: {value!r}") from exc
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    try:
        exact = amount.quantize(KOPECK)
    except InvalidOperation as exc:  # too many digits for the context
        raise ValueError(f"not an amount: {value!r}") from exc
    if amount != exact:
        raise ValueError(f"more precise than a kopeck: {value!r}")
    return exact


def round_kopecks(amount: Decimal) -> Decimal:
    """Round half up to the kopeck (the usual rule for VAT in Russian receipts)."""
    return amount.quantize(KOPECK, rounding=ROUND_HALF_UP)


def format_rub(amount: Decimal) -> str:
    """The wire format: a string with two decimals, as YooKassa expects (``"1500.00"``)."""
    return f"{amount.quantize(KOPECK):f}"
