"""The sandbox's return URLs (IRI -> URI) and the outcome its page tells the buyer."""

from __future__ import annotations

import pytest

from prichal_sandbox.pages import checkout_page, outcome, outcome_page
from prichal_sandbox.return_urls import as_uri, location


@pytest.mark.parametrize(("given", "sent"), [
    ("https://shop.example/orders/7/paid?x=1#top", "https://shop.example/orders/7/paid?x=1#top"),
    ("https://магазин.рф/заказ", "https://xn--80aairftm.xn--p1ai/%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7"),
    ("HTTPS://Shop.Example:8443/a b?q=ё", "https://shop.example:8443/a%20b?q=%D1%91"),
    ("https://shop.example/%D0%B0%20b", "https://shop.example/%D0%B0%20b"),  # escapes are kept, not doubled
    ("http://[::1]:8080/paid", "http://[::1]:8080/paid"),
    ("https://пользователь@shop.example/", "https://%D0%BF%D0%BE%D0%BB%D1%8C%D0%B7%D0%BE%D0%B2%D0%B0%D1%82%D0%B5%D0%BB%D1%8C@shop.example/"),
])
def test_an_iri_becomes_an_ascii_uri(given: str, sent: str) -> None:
    assert as_uri(given) == sent
    assert as_uri(given).isascii()


@pytest.mark.parametrize("bad", [
    "https://shop.example/\r\nLocation: https://evil.example", "https://shop.example/\x00", "https://shop.example/\x9b",
    "ftp://shop.example/", "javascript:alert(1)", "//shop.example/paid", "https://", "https://shop.example:x/",
    "https://[::1/", "https://sh op.example/", "https://xn--.рф/",
])
def test_unusable_return_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        as_uri(bad)
    assert location(bad) is None  # a URL stored before the check: no redirect, never an error


PAYMENT = {"id": "p1", "amount": {"value": "1500.00", "currency": "RUB"}, "recipient": {"account_id": "demo"},
           "status": "pending"}


def test_the_outcome_is_what_became_of_the_payment() -> None:
    assert outcome({**PAYMENT, "status": "succeeded"})[0] == "Оплачено"
    assert outcome({**PAYMENT, "status": "waiting_for_capture"})[0] == "Оплачено"
    refunded = outcome({**PAYMENT, "status": "succeeded", "refunded_amount": {"value": "500.00", "currency": "RUB"}})
    assert "Возвращено 500,00\u00a0₽" in refunded[1]
    buyer = {**PAYMENT, "status": "canceled",
             "cancellation_details": {"party": "yoo_money", "reason": "expired_on_confirmation"}}
    assert outcome(buyer, declined=True) == ("Оплата отменена", "Вы отказались от оплаты. Деньги не списаны.")
    assert outcome(buyer)[0] == "Оплата отменена"
    merchant = {**PAYMENT, "status": "canceled",
                "cancellation_details": {"party": "merchant", "reason": "canceled_by_merchant"}}
    assert outcome(merchant)[0] == "Платёж отменён"


def test_pages_link_back_to_the_shop_escaped() -> None:
    uri = "https://shop.example/paid?a=1&b=\"x\""
    page = outcome_page({**PAYMENT, "status": "canceled"}, True, uri)
    assert '<a href="https://shop.example/paid?a=1&amp;b=&quot;x&quot;">Вернуться в магазин</a>' in page
    assert "Вернуться в магазин" not in outcome_page({**PAYMENT, "status": "canceled"}, True, None)
    pending = checkout_page(PAYMENT, uri)
    assert "Оплатить" in pending and "Вернуться в магазин" not in pending  # the buyer decides first
    paid = checkout_page({**PAYMENT, "status": "succeeded"}, uri)
    assert "<h1>Оплачено</h1>" in paid and "Оплатить" not in paid and "Вернуться в магазин" in paid
