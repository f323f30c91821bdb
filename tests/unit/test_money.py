"""rubles(), round_kopecks() and format_rub(): money is Decimal kopecks, never a float."""

from __future__ import annotations

import decimal
from decimal import Decimal

import pytest

from prichal.domain.money import format_rub, round_kopecks, rubles


@pytest.mark.parametrize(("given", "expected"), [
    ("1500", Decimal("1500.00")),
    ("1500.5", Decimal("1500.50")),
    ("0.01", Decimal("0.01")),
    ("1500.000", Decimal("1500.00")),  # trailing zeros are not extra precision
    (1500, Decimal("1500.00")),
    (0, Decimal("0.00")),
    (Decimal("99.90"), Decimal("99.90")),
    ("-10.25", Decimal("-10.25")),
])
def test_rubles_accepts_exact_amounts_and_gives_two_places(given, expected):
    amount = rubles(given)
    assert amount == expected
    assert amount.as_tuple().exponent == -2


@pytest.mark.parametrize("given", [1500.0, 0.1, float("nan"), float("inf"), True, False])
def test_rubles_refuses_floats_and_bools(given):
    with pytest.raises(TypeError):
        rubles(given)


@pytest.mark.parametrize("given", ["NaN", "nan", "sNaN", "Infinity", "-Infinity", Decimal("NaN"), Decimal("Inf")])
def test_rubles_refuses_non_finite(given):
    with pytest.raises(ValueError, match="not an amount"):
        rubles(given)


@pytest.mark.parametrize("given", ["abc", "", "1,50", "12 rub", "1.2.3"])
def test_rubles_refuses_garbage(given):
    with pytest.raises(ValueError, match="not an amount"):
        rubles(given)


@pytest.mark.parametrize("given", ["0.001", "1500.005", Decimal("0.009"), "1e-3"])
def test_rubles_refuses_sub_kopeck_amounts(given):
    with pytest.raises(ValueError, match="more precise than a kopeck"):
        rubles(given)


def test_rubles_refuses_absurdly_large_amount_with_value_error():
    with pytest.raises(ValueError):
        rubles("1e30")


def test_huge_amount_is_at_least_refused():
    with pytest.raises((ValueError, decimal.InvalidOperation)):
        rubles("1e30")


@pytest.mark.parametrize(("given", "expected"), [
    (Decimal("0.005"), Decimal("0.01")),
    (Decimal("0.015"), Decimal("0.02")),
    (Decimal("0.0049999"), Decimal("0.00")),
    (Decimal("270.4918"), Decimal("270.49")),
    (Decimal("-0.005"), Decimal("-0.01")),
])
def test_round_kopecks_is_half_up(given, expected):
    assert round_kopecks(given) == expected


@pytest.mark.parametrize(("given", "expected"), [
    (Decimal("1500"), "1500.00"),
    (Decimal("1500.5"), "1500.50"),
    (Decimal("0"), "0.00"),
    (Decimal("1E+3"), "1000.00"),  # never scientific notation on the wire
    (Decimal("12345678.90"), "12345678.90"),
    (rubles("0.01"), "0.01"),
])
def test_format_rub_wire_format(given, expected):
    assert format_rub(given) == expected
