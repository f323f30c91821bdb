"""Order lines, totals and the 54-FZ receipt: VAT per line adds up exactly (property tests)."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from prichal.domain.money import KOPECK
from prichal.domain.pricing import OrderLine, receipt, totals
from prichal.domain.vat import VatRate, vat_included

PLAIN_RATES = [VatRate.NONE, VatRate.VAT0, VatRate.VAT5, VatRate.VAT7, VatRate.VAT10, VatRate.VAT22]
prices = st.integers(min_value=0, max_value=10_000_000).map(lambda k: Decimal(k) / 100)
lines = st.lists(st.builds(lambda price, rate, kind: OrderLine(f"Билет {kind}", price, rate, kind, f"tariff-{kind}"),
                           prices, st.sampled_from(PLAIN_RATES), st.sampled_from(["adult", "child", "concession"])),
                 min_size=1, max_size=40)


@given(lines)
def test_lines_add_up_to_the_totals_exactly(order):
    sums = totals(order)
    assert sums.total == sum(line.price for line in order)
    assert sums.vat_total == sum(line.vat for line in order)
    assert sums.vat_total == sum(sums.vat_by_rate.values())
    assert sums.total.as_tuple().exponent == -2 and sums.vat_total.as_tuple().exponent == -2


@given(lines)
def test_line_vat_is_the_rounded_share_and_the_sum_stays_within_half_a_kopeck_per_line(order):
    for line in order:
        percent = line.vat_rate.percent or Decimal(0)
        exact = line.price * percent / (100 + percent)
        assert abs(line.vat - exact) <= KOPECK / 2
    by_total = sum(vat_included(sum(line.price for line in order if line.vat_rate is rate), rate)
                   for rate in PLAIN_RATES)
    assert abs(totals(order).vat_total - by_total) <= KOPECK / 2 * len(order)


@given(lines)
def test_receipt_items_add_up_to_the_total_and_carry_the_prepayment_vat_code(order):
    built = receipt(order, email="a@example.test", phone=None, full_name="Анна", tax_system_code=1)
    amount = sum(Decimal(item["amount"]["value"]) * Decimal(item["quantity"]) for item in built["items"])
    assert amount == totals(order).total
    codes = {item["vat_code"] for item in built["items"]}
    assert codes <= {line.vat_rate.calculated.yookassa_vat_code for line in order}
    assert all(item["payment_mode"] == "full_prepayment" and item["payment_subject"] == "service"
               for item in built["items"])
    assert all(len(item["description"]) <= 128 for item in built["items"])


def test_rounding_edges():
    # 22/122 of 0.01 is 0.0018 -> 0.00; of 0.03 is 0.0054 -> 0.01 (half up at 0.005)
    assert vat_included(Decimal("0.01"), VatRate.VAT22) == Decimal("0.00")
    assert vat_included(Decimal("0.03"), VatRate.VAT22) == Decimal("0.01")
    # 10/110 of 0.55 is exactly 0.05; of 0.66 is 0.06
    assert vat_included(Decimal("0.55"), VatRate.VAT10) == Decimal("0.05")
    # three adult tickets: per line 270.49 x 3 = 811.47, while 22/122 of 4500 is 811.48
    order = [OrderLine("Взрослый", Decimal("1500.00"), VatRate.VAT22, "adult", "t")] * 3
    assert totals(order).vat_total == Decimal("811.47")
    built = receipt(order, email=None, phone="+79001234567", full_name=None, tax_system_code=2)
    assert built["items"] == [{"description": "Взрослый", "quantity": "3.00",
                               "amount": {"value": "1500.00", "currency": "RUB"}, "vat_code": 12,
                               "payment_mode": "full_prepayment", "payment_subject": "service"}]
    assert built["customer"] == {"phone": "+79001234567"} and built["tax_system_code"] == 2


def test_no_vat_seller_gets_code_1_and_zero_vat():
    order = [OrderLine("Детский", Decimal("900.00"), VatRate.NONE, "child", "t")]
    assert totals(order).vat_total == Decimal("0.00")
    assert receipt(order, email="a@b.cd", phone=None, full_name=None, tax_system_code=2)["items"][0]["vat_code"] == 1


def test_free_tickets_stay_out_of_the_receipt():
    order = [OrderLine("Взрослый", Decimal("1500.00"), VatRate.VAT22, "adult", "t"),
             OrderLine("Младенец", Decimal("0.00"), VatRate.VAT22, "infant", "f")]
    built = receipt(order, email="a@b.cd", phone=None, full_name=None, tax_system_code=1)
    assert [item["description"] for item in built["items"]] == ["Взрослый"]
    assert totals(order).total == Decimal("1500.00")
