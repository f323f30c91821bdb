"""VAT rates, YooKassa codes, VAT contained in a price and rate schedules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from prichal.domain.tenants import Tenant
from prichal.domain.vat import DEFAULT_VAT_RATE, PriceWithVat, VatPeriod, VatRate, VatSchedule, vat_included

# rate -> (percent, label, YooKassa vat_code per reference/payments-and-tax.md)
EXPECTED = {
    VatRate.NONE: (None, "Без НДС", 1),
    VatRate.VAT0: (Decimal(0), "НДС 0%", 2),
    VatRate.VAT10: (Decimal(10), "НДС 10%", 3),
    VatRate.VAT10_110: (Decimal(10), "НДС 10/110", 5),
    VatRate.VAT5: (Decimal(5), "НДС 5%", 7),
    VatRate.VAT7: (Decimal(7), "НДС 7%", 8),
    VatRate.VAT5_105: (Decimal(5), "НДС 5/105", 9),
    VatRate.VAT7_107: (Decimal(7), "НДС 7/107", 10),
    VatRate.VAT22: (Decimal(22), "НДС 22%", 11),
    VatRate.VAT22_122: (Decimal(22), "НДС 22/122", 12),
}


def test_every_rate_is_covered():
    assert set(EXPECTED) == set(VatRate)


@pytest.mark.parametrize("rate", list(VatRate))
def test_percent_label_and_yookassa_code(rate):
    percent, label, code = EXPECTED[rate]
    assert rate.percent == percent
    assert rate.label == label
    assert rate.yookassa_vat_code == code


def test_yookassa_codes_are_distinct_and_skip_the_2025_codes():
    codes = [rate.yookassa_vat_code for rate in VatRate]
    assert len(set(codes)) == len(codes)
    assert 4 not in codes and 6 not in codes  # 20% and 20/120 are for correcting 2025 sales only


@pytest.mark.parametrize(("rate", "calculated"), [
    (VatRate.VAT22, VatRate.VAT22_122), (VatRate.VAT10, VatRate.VAT10_110),
    (VatRate.VAT5, VatRate.VAT5_105), (VatRate.VAT7, VatRate.VAT7_107),
    (VatRate.VAT22_122, VatRate.VAT22_122), (VatRate.VAT0, VatRate.VAT0), (VatRate.NONE, VatRate.NONE),
])
def test_calculated_rate(rate, calculated):
    assert rate.calculated is calculated


def test_default_rate_is_22_percent():
    assert DEFAULT_VAT_RATE is VatRate.VAT22


@pytest.mark.parametrize(("gross", "rate", "vat"), [
    ("1500.00", VatRate.VAT22, "270.49"),     # 270.4918...
    ("1500.00", VatRate.VAT22_122, "270.49"),
    ("3500.00", VatRate.VAT22, "631.15"),     # 631.1475... rounds up
    ("900.00", VatRate.VAT22, "162.30"),      # 162.2950... rounds up at the half-kopeck edge
    ("0.01", VatRate.VAT22, "0.00"),          # 0.0018
    ("0.03", VatRate.VAT22, "0.01"),          # 0.0054 -> up
    ("0.02", VatRate.VAT22, "0.00"),          # 0.0036 -> down (below the half)
    ("122.00", VatRate.VAT22, "22.00"),
    ("110.00", VatRate.VAT10, "10.00"),
    ("110.00", VatRate.VAT10_110, "10.00"),
    ("1000.00", VatRate.VAT10, "90.91"),      # 90.9090...
    ("1000.00", VatRate.VAT5, "47.62"),       # 47.6190...
    ("1000.00", VatRate.VAT5_105, "47.62"),
    ("1000.00", VatRate.VAT7, "65.42"),       # 65.4205...
    ("1000.00", VatRate.VAT7_107, "65.42"),
    ("1000.00", VatRate.VAT0, "0.00"),
    ("1000.00", VatRate.NONE, "0.00"),
])
def test_vat_included_examples(gross, rate, vat):
    result = vat_included(Decimal(gross), rate)
    assert result == Decimal(vat)
    assert result.as_tuple().exponent == -2


def test_price_with_vat_of():
    price = PriceWithVat.of(Decimal("1500.00"), VatRate.VAT22)
    assert (price.gross, price.rate, price.vat) == (Decimal("1500.00"), VatRate.VAT22, Decimal("270.49"))


kopecks = st.integers(min_value=0, max_value=10**11).map(lambda k: Decimal(k).scaleb(-2))


@given(gross=kopecks, rate=st.sampled_from(list(VatRate)))
def test_vat_never_exceeds_gross_and_has_two_places(gross, rate):
    vat = vat_included(gross, rate)
    assert Decimal(0) <= vat <= gross
    assert vat.as_tuple().exponent == -2


@given(gross=kopecks, rate=st.sampled_from([VatRate.NONE, VatRate.VAT0]))
def test_vat_is_zero_without_vat(gross, rate):
    assert vat_included(gross, rate) == 0


@given(gross=kopecks, rate=st.sampled_from([r for r in VatRate if r.percent]))
def test_vat_is_the_exact_share_within_half_a_kopeck(gross, rate):
    r = Fraction(rate.percent)
    exact = Fraction(gross) * r / (100 + r)
    vat = Fraction(vat_included(gross, rate))
    assert abs(vat - exact) <= Fraction(1, 200)


@given(gross=kopecks, rate=st.sampled_from([VatRate.VAT5, VatRate.VAT7, VatRate.VAT10, VatRate.VAT22]))
def test_calculated_rate_contains_the_same_vat(gross, rate):
    assert vat_included(gross, rate.calculated) == vat_included(gross, rate)


# --- schedules -----------------------------------------------------------------------
SCHEDULE = VatSchedule((
    VatPeriod(date(2026, 1, 1), VatRate.VAT5),
    VatPeriod(date(2025, 1, 1), VatRate.NONE),     # out of order on purpose
    VatPeriod(date(2026, 7, 1), VatRate.VAT7),
))


@pytest.mark.parametrize(("day", "rate"), [
    (date(2024, 12, 31), DEFAULT_VAT_RATE),  # before any period: the default
    (date(2025, 1, 1), VatRate.NONE),        # a period applies from its first day
    (date(2025, 12, 31), VatRate.NONE),
    (date(2026, 1, 1), VatRate.VAT5),
    (date(2026, 6, 30), VatRate.VAT5),
    (date(2026, 7, 1), VatRate.VAT7),
    (date(2030, 1, 1), VatRate.VAT7),
])
def test_schedule_rate_on(day, rate):
    assert SCHEDULE.rate_on(day) is rate


def test_empty_schedule_gives_the_default():
    assert VatSchedule(()).rate_on(date(2026, 3, 1)) is VatRate.VAT22


def test_tenant_rate_and_tariff_override():
    tenant = Tenant(id="t", slug="t", name="T", vat_schedule=SCHEDULE)
    assert tenant.vat_rate_on(date(2026, 8, 1)) is VatRate.VAT7
    assert tenant.vat_rate_on(date(2026, 8, 1), override=VatRate.VAT0) is VatRate.VAT0
