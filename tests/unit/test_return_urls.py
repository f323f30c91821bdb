"""Return URLs: only the seller's own hosts, rebuilt as plain ASCII from their checked parts."""

from __future__ import annotations

import pytest

from prichal.domain.return_urls import ReturnUrlRefused, checked_return_url

HOSTS = ("shop.example", "пример.рф", "localhost")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://shop.example/thanks?order=1", "https://shop.example/thanks?order=1"),
    ("https://SHOP.Example.:8443", "https://shop.example:8443/"),
    ("https://пример.рф/оплата?x=я#итог", "https://xn--e1afmkfd.xn--p1ai/%D0%BE%D0%BF%D0%BB%D0%B0%D1%82%D0%B0"
                                          "?x=%D1%8F#%D0%B8%D1%82%D0%BE%D0%B3"),
    ("https://xn--e1afmkfd.xn--p1ai/x", "https://xn--e1afmkfd.xn--p1ai/x"),
    ("https://shop.example/a%2Fb%zz/\"<x>\"", "https://shop.example/a%2Fb%25zz/%22%3Cx%3E%22"),
    ("http://localhost:3000/back", "http://localhost:3000/back"),
])
def test_accepted_and_normalised(url: str, expected: str) -> None:
    normalised = checked_return_url(url, HOSTS, allow_local_http=True)
    assert normalised == expected
    assert normalised.isascii()
    assert checked_return_url(normalised, HOSTS, allow_local_http=True) == normalised  # stable


@pytest.mark.parametrize(("url", "reason"), [
    ("https://evil.example/", "return_url_host"),
    ("https://shop.example.evil.example/", "return_url_host"),
    ("https://evil.example\\@shop.example/", "return_url_characters"),
    ("https://shop.example/\u2028", "return_url_characters"),
    ("https://shop.example/\x85", "return_url_characters"),
    ("https://u:p@shop.example/", "return_url_userinfo"),
    ("https://[::1]/", "return_url_syntax"),
    ("https:///nohost", "return_url_syntax"),
    ("https://shop.example:0x50/", "return_url_syntax"),
    ("ftp://shop.example/", "return_url_scheme"),
    ("http://shop.example/", "return_url_scheme"),
    ("https://shop.example/" + "я" * 400, "return_url_length"),
])
def test_refused(url: str, reason: str) -> None:
    with pytest.raises(ReturnUrlRefused) as refused:
        checked_return_url(url, HOSTS, allow_local_http=True)
    assert refused.value.errors[0]["loc"] == ["return_url"] and refused.value.errors[0]["type"] == reason


def test_http_on_localhost_only_when_allowed() -> None:
    with pytest.raises(ReturnUrlRefused):
        checked_return_url("http://localhost/", HOSTS)
    with pytest.raises(ReturnUrlRefused):
        checked_return_url("http://127.0.0.1/", ("127.0.0.1",), allow_local_http=False)
    assert checked_return_url("http://127.0.0.1/", ("127.0.0.1",), allow_local_http=True) == "http://127.0.0.1/"
