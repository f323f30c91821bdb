"""Our built-in document designs (ReportLab) on awkward input: they draw it all, or say why.

Pure: no services; the context is the one ``DocumentService`` builds (see its ``_context``).
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from prichal.adapters.pdf_layouts import BuiltinLayouts
from prichal.domain.documents import (
    DocumentDoesNotFit,
    DocumentKind,
    DocumentLine,
    Requisites,
    amount_in_words,
    vat_summary,
)
from prichal.domain.orders import Customer
from prichal.domain.vat import VatRate
from tests.documents_support import pdf_text, qr_codes

ENTREPRENEUR = Requisites(name="ИП Кузнецов Пётр Сергеевич", inn="780123456789", kpp=None, ogrn="320784700012345",
                          address="198000, Санкт-Петербург, " + "длинная улица с длинным названием, " * 4 + "д. 7",
                          bank="АО «Т-Банк»", bic="044525974", correspondent_account="30101810145250000974",
                          account="40802810000000054321", director=None, accountant=None)


def _context(kind: DocumentKind, lines: list[DocumentLine], buyer: Customer, brand: dict, seat: str | None) -> dict:
    total = sum((line.amount for line in lines), Decimal("0.00"))
    context = {
        "seller": ENTREPRENEUR, "brand": brand, "buyer": buyer,
        "order": {"number": 812, "date": "22.11.2026", "paid": "22.11.2026 18:05", "total": total},
        "lines": lines, "vat_lines": vat_summary(lines), "total": total, "total_words": amount_in_words(total),
        "document": {"kind": kind.value, "title": kind.title, "number": "2026-000042", "date": "22.11.2026"},
    }
    if kind is DocumentKind.TICKET:
        context["ticket"] = {"program": "Большая ночная прогулка по рекам и каналам " * 3,
                             "pier": "Причал «Адмиралтейский»",
                             "pier_address": "Адмиралтейская наб., 2", "vessel": "Теплоход «Нева-1»", "seat": seat,
                             "departs": "23.11.2026 01:00", "tariff": "Взрослый", "price": lines[0].price,
                             "vat_label": lines[0].vat_rate.label, "vat_amount": None, "code": "PT1.e30.c2ln"}
    return context


def _lines(count: int, rate: VatRate) -> list[DocumentLine]:
    return [DocumentLine(description=f"Ночная прогулка, место {n} & <i>ряд</i>", quantity=1, price=Decimal("1250.00"),
                         amount=Decimal("1250.00"), vat_rate=rate, vat_amount=Decimal("0.00")) for n in range(count)]


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_without_vat_without_kpp_with_long_texts_and_markup_characters(kind):
    lines = _lines(3, VatRate.NONE)
    buyer = Customer(name="ООО «Ромашка & <b>Партнёры</b>» &amp; Co", email=None, phone="+79990001122")
    pdf = BuiltinLayouts().render(kind, _context(kind, lines, buyer, {"primary_color": "not a colour"}, seat=None))
    text = pdf_text(pdf)
    assert "2026-000042" in text
    if kind is DocumentKind.TICKET:
        assert "свободная рассадка" in text and "ООО «Ромашка & <b>Партнёры</b>» &amp; Co" in text
        assert qr_codes(pdf) == ["PT1.e30.c2ln"]
    else:
        assert "ИНН 780123456789, ОГРНИП 320784700012345" in text  # no KPP for an entrepreneur
        assert "Без НДС" in text and "Ночная прогулка, место 2 & <i>ряд</i>" in text
        assert "Три тысячи семьсот пятьдесят рублей 00 копеек" in text
        assert "+79990001122" in text


def test_a_hundred_lines_run_over_several_pages_and_end_with_the_totals():
    lines = _lines(100, VatRate.VAT22)
    pdf = BuiltinLayouts().render(DocumentKind.INVOICE, _context(DocumentKind.INVOICE, lines,
                                                                 Customer("Анна", "a@example.test", None), {}, "x"))
    text = pdf_text(pdf)
    assert text.count("Наименование") >= 3  # the header row repeats on every page
    assert "Всего наименований 100, на сумму 125 000,00 руб." in text
    assert "Сто двадцать пять тысяч рублей 00 копеек" in text


def test_a_text_too_long_for_any_page_is_a_permanent_failure_that_names_the_document():
    context = _context(DocumentKind.TICKET, _lines(1, VatRate.VAT22), Customer("Анна", None, None), {}, "x")
    context["ticket"]["program"] = "Очень длинное название прогулки " * 300
    with pytest.raises(DocumentDoesNotFit) as raised:
        BuiltinLayouts().render(DocumentKind.TICKET, context)
    assert "ticket № 2026-000042 does not fit its page" in raised.value.detail


def test_the_same_document_drawn_twice_is_the_same_file_dated_by_its_own_date():
    context = _context(DocumentKind.INVOICE, _lines(2, VatRate.VAT22), Customer("Анна", None, None), {}, "x")
    first, second = (BuiltinLayouts().render(DocumentKind.INVOICE, context) for _ in range(2))
    assert first == second  # a re-render after a crash stores the same object with the same sha256
    metadata = PdfReader(io.BytesIO(first)).metadata
    assert metadata["/CreationDate"] == "D:20261122" and metadata["/Title"] == "Счёт на оплату № 2026-000042"
