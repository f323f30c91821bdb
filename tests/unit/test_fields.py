"""Text and addresses a client sends (prichal.entrypoints.fields, prichal.domain.contacts) and
the brand a tenant sets (prichal.domain.brand)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from prichal.domain.brand import brand_problems, safe_brand
from prichal.domain.contacts import BadAddress, parse_email, recipient
from prichal.entrypoints.fields import Email, StrictText, Text, nul_location


class Probe(BaseModel):
    text: Text | None = None
    strict: StrictText | None = None
    email: Email | None = None


@pytest.mark.parametrize("value", ["\x00", "a\rb", "a\nb", "\t", "\x1b[31m", "\x7f", "\x85", "\x9f"])
def test_control_characters_are_refused(value):
    for field in ("text", "strict"):
        with pytest.raises(ValidationError, match="control characters"):
            Probe.model_validate({field: value})


def test_ordinary_text_passes_unchanged():
    assert Probe(text="Анна-Мария O'Neil «Нева» 😀", strict="x y").text == "Анна-Мария O'Neil «Нева» 😀"
    with pytest.raises(ValidationError):
        Probe.model_validate({"strict": 5})


@pytest.mark.parametrize("value", ["Evil<evil@example.com>", "Bcc:x@example.com", "a@b", "a b@example.com",
                                   "a@example.invalid", "a@localhost", "\"quoted\"@example.com", "a@[127.0.0.1]",
                                   "anna@example.com\r\nBcc: x@y.z", "", "@example.com"])
def test_addresses_that_cannot_be_mailed_are_refused(value):
    with pytest.raises(ValidationError, match="not a valid e-mail address"):
        Probe(email=value)


def test_a_normalised_address_is_kept_and_sent_in_its_most_portable_form():
    assert Probe(email=" Anna@Пример.РФ ").email == "Anna@пример.рф"
    assert parse_email("anna@пример.рф").ascii == "anna@xn--e1afmkfd.xn--p1ai"
    assert parse_email("анна@пример.рф").ascii is None  # SMTPUTF8 or nothing
    to = recipient("Анна\r\nBcc: spy@example.com", "anna@пример.рф")
    assert to.addr_spec == "anna@xn--e1afmkfd.xn--p1ai" and to.display_name == "Анна Bcc: spy@example.com"
    with pytest.raises(BadAddress):
        recipient("x", "Evil<evil@example.com>")


def test_a_nul_is_found_anywhere_in_json_however_deep():
    assert nul_location({"a": [1, {"b": "ok", "c": ["x", "y\x00"]}]}) == ["a", 1, "c", 1]
    assert nul_location({"k\x00": 1}) == ["k\x00"]
    assert nul_location({"a": [{"b": "clean"}], "n": None, "f": 1.5}) is None
    deep: list = ["\x00"]
    for _ in range(100_000):
        deep = [deep]
    assert nul_location(deep) == [0] * 100_000 + [0]


@pytest.mark.parametrize("colour", ["#0b3d91", "#FFF", "#abc"])
def test_colours_are_hex(colour):
    assert brand_problems({"primary_color": colour}) == {}


@pytest.mark.parametrize("colour", ["red;background:url(file:///etc/passwd)", "red", "#0b3d91;", "#12345",
                                    "#0b3d91\n", "rgb(1,2,3)", "#ggg", 255, ["#fff"]])
def test_anything_else_is_not_a_colour(colour):
    cleaned, problems = safe_brand({"primary_color": colour, "display_name": "Причал"})
    assert problems.keys() == {"primary_color"} and cleaned == {"display_name": "Причал"}


def test_brand_addresses_and_names_are_checked_too():
    assert brand_problems({"email_from": "Evil<evil@example.com>", "support_email": "help@example.com",
                           "display_name": "A\r\nBcc: x", "logo_width": 120}).keys() == {"email_from", "display_name"}
