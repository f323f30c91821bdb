"""create-order refuses bad input with a 4xx problem+json and writes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from tests.conftest import assigned_sailing, free_sailing
from tests.support import call, load_function

BUYER = {"X-Client-Id": "buyer-a"}
CUSTOMER = {"name": "Анна", "email": "anna@example.test"}


def _hold(demo, body):
    answer = call("lock-seat", "POST", "/holds", tenant=demo.slug, body=body, headers=BUYER)
    assert answer.status == 201, answer.json
    return answer.json["token"]


def _order(demo, body=None, raw=None, headers=None):
    return call("create-order", "POST", "/orders", tenant=demo.slug, body=body, raw=raw,
                headers={**BUYER, **(headers or {})})


def _written(engine, tenant_id):
    with engine.connect() as conn:
        return {table.name: conn.execute(select(func.count()).select_from(table)
                                          .where(table.c.tenant_id == tenant_id)).scalar_one()
                for table in (t.orders, t.tickets, t.payments, t.order_items, t.order_log, t.outbox)}


@pytest.fixture
def seat_hold(container, demo):
    return _hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1", "main-B-2"]})


def _items(*pairs):
    return [{"seat_id": seat, "ticket_type": kind} for seat, kind in pairs]


CASES = {
    "malformed json": (dict(raw=b'{"hold_token":'), 400, "malformed-json"),
    "array body": (dict(raw=b"[]"), 400, "malformed-json"),
    "empty body": (dict(raw=b""), 400, "body-required"),
    "no contact": (dict(body={"customer": {"name": "Анна"}, "items": _items(("main-B-1", "adult"),
                                                                          ("main-B-2", "adult"))}),
                   422, "validation-failed"),
    "bad email": (dict(body={"customer": {"name": "A", "email": "not-an-email"},
                             "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))}), 422, "validation-failed"),
    "bad phone": (dict(body={"customer": {"name": "A", "phone": "call me"},
                             "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))}), 422, "validation-failed"),
    "too many digits in a phone": (dict(body={"customer": {"name": "A", "phone": "+7 921 5551234 567890"},
                                              "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))}),
                                   422, "validation-failed"),
    "no items": (dict(body={"customer": CUSTOMER, "items": []}), 422, "validation-failed"),
    "extra field": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"), ("main-B-2", "adult")),
                               "discount": "100"}), 422, "validation-failed"),
    "item without tariff": (dict(body={"customer": CUSTOMER, "items": [{"seat_id": "main-B-1"},
                                                                      {"seat_id": "main-B-2"}]}),
                            422, "validation-failed"),
    "seats do not match": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"),
                                                                           ("main-B-3", "adult"))}),
                           422, "invalid-input"),
    "seat twice": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"), ("main-B-1", "adult"))}),
                   422, "invalid-input"),
    "unknown ticket type": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "pensioner"),
                                                                            ("main-B-2", "adult"))}),
                            422, "invalid-input"),
    "unknown tariff id": (dict(body={"customer": CUSTOMER, "items": [
        {"seat_id": "main-B-1", "tariff_id": "7d1c3f0e-5a8b-4c2d-9e6f-0a1b2c3d4e5f"},
        {"seat_id": "main-B-2", "ticket_type": "adult"}]}), 422, "invalid-input"),
    "long idempotency key": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"),
                                                                             ("main-B-2", "adult"))},
                                  headers={"Idempotency-Key": "k" * 65}), 422, "invalid-input"),
    "form body": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))},
                       headers={"Content-Type": "application/x-www-form-urlencoded"}), 415, "unsupported-media-type"),
    "text body": (dict(body={"customer": CUSTOMER, "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))},
                       headers={"Content-Type": "text/plain"}), 415, "unsupported-media-type"),
    "body over the limit": (dict(raw=b'{"customer": "' + b"x" * (1024 * 1024) + b'"}'), 413, "body-too-large"),
    "unsafe return url": (dict(body={"customer": CUSTOMER, "return_url": "javascript:alert(1)",
                                     "items": _items(("main-B-1", "adult"), ("main-B-2", "adult"))}),
                          422, "validation-failed"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_order_input(container, demo, owner_engine, seat_hold, case):
    request, status, code = CASES[case]
    if "body" in request:
        request = {**request, "body": {"hold_token": seat_hold, **request["body"]}}
    before = _written(owner_engine, demo.tenant_id)
    answer = _order(demo, **request)
    assert answer.status == status, answer.json
    assert answer.headers["Content-Type"] == "application/problem+json" and answer.json["code"] == code
    assert _written(owner_engine, demo.tenant_id) == before
    # the hold is still there for a correct attempt
    assert call("lock-seat", "GET", f"/holds/{seat_hold}", tenant=demo.slug).json["status"] == "active"


def test_hold_problems_are_conflicts_and_write_nothing(container, demo, owner_engine, clock):
    sailing = assigned_sailing(demo)
    items = _items(("main-C-1", "adult"))
    released = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-C-1"]})
    assert call("lock-seat", "DELETE", f"/holds/{released}", tenant=demo.slug, headers=BUYER).status == 204
    other = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-C-2"]})
    expiring = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-C-3"]})
    before = _written(owner_engine, demo.tenant_id)

    gone = _order(demo, {"hold_token": released, "customer": CUSTOMER, "items": items})
    assert gone.status == 409 and gone.json["code"] == "hold-not-usable" and gone.json["reason"] == "released"
    stolen = call("create-order", "POST", "/orders", tenant=demo.slug, headers={"X-Client-Id": "someone-else"},
                  body={"hold_token": other, "customer": CUSTOMER, "items": _items(("main-C-2", "adult"))})
    assert stolen.status == 409 and stolen.json["reason"] == "other-client"
    unknown = _order(demo, {"hold_token": "Z" * 32, "customer": CUSTOMER, "items": items})
    assert unknown.status == 404
    clock.advance(seconds=container.settings.hold_ttl_seconds + 1)
    late = _order(demo, {"hold_token": expiring, "customer": CUSTOMER, "items": _items(("main-C-3", "adult"))})
    assert late.status == 409 and late.json["reason"] == "expired"
    assert _written(owner_engine, demo.tenant_id) == before


def test_free_seating_quantities_must_match_the_hold(container, demo, owner_engine):
    token = _hold(demo, {"sailing_id": free_sailing(demo), "quantity": 3})
    before = _written(owner_engine, demo.tenant_id)
    for items in ([{"ticket_type": "adult", "quantity": 2}],
                  [{"ticket_type": "adult", "quantity": 2}, {"seat_id": "main-B-1", "ticket_type": "child"}]):
        answer = _order(demo, {"hold_token": token, "customer": CUSTOMER, "items": items})
        assert answer.status == 422 and answer.json["code"] == "invalid-input", answer.json
    assert _written(owner_engine, demo.tenant_id) == before


def test_unknown_tenant_and_another_tenants_order(container, demo):
    answer = call("create-order", "POST", "/orders", tenant="nobody", body={})
    assert answer.status == 404 and answer.json["code"] == "tenant-unknown"
    read = call("create-order", "GET", "/orders/7d1c3f0e-5a8b-4c2d-9e6f-0a1b2c3d4e5f", tenant=demo.slug,
                headers={"Authorization": "Bearer nope"})
    assert read.status == 404


TWO = _items(("main-B-1", "adult"), ("main-B-2", "adult"))
UNTYPABLE = {
    "nul in the name": ({"customer": {"name": "Анна\x00", "email": "anna@example.test"}, "items": TWO},
                        ["customer", "name"]),
    "nul in the email": ({"customer": {"name": "Анна", "email": "anna\x00@example.test"}, "items": TWO},
                         ["customer", "email"]),
    "cr/lf in the name": ({"customer": {"name": "Анна\r\nBcc: spy@example.com", "email": "anna@example.test"},
                           "items": TWO}, ["customer", "name"]),
    "a c1 control in the name": ({"customer": {"name": "Анна\x85", "email": "anna@example.test"}, "items": TWO},
                                 ["customer", "name"]),
    "a tab in the phone": ({"customer": {"name": "Анна", "phone": "+7999000000\t0"}, "items": TWO},
                           ["customer", "phone"]),
    "display name and brackets": ({"customer": {"name": "A", "email": "Evil<evil@example.com>"}, "items": TWO},
                                  ["customer", "email"]),
    "a header in the email": ({"customer": {"name": "A", "email": "Bcc:x@example.com"}, "items": TWO},
                              ["customer", "email"]),
    "an address that never receives mail": ({"customer": {"name": "A", "email": "a@example.invalid"}, "items": TWO},
                                            ["customer", "email"]),
    "nul in a seat": ({"customer": CUSTOMER, "items": _items(("main-B-1\x00", "adult"), ("main-B-2", "adult"))},
                      ["items", 0, "seat_id"]),
    "newline in a ticket type": ({"customer": CUSTOMER, "items": _items(("main-B-1", "adult\n"),
                                                                         ("main-B-2", "adult"))},
                                 ["items", 0, "ticket_type"]),
    "nul in an unknown key": ({"customer": CUSTOMER, "items": TWO, "x\x00": 1}, ["x\x00"]),
    "nul in the return url": ({"customer": CUSTOMER, "items": TWO, "return_url": "https://shop.example/\x00"},
                              ["return_url"]),
}


@pytest.mark.parametrize("case", UNTYPABLE, ids=list(UNTYPABLE))
def test_control_characters_and_bad_addresses_are_refused_naming_the_field(container, demo, owner_engine, seat_hold,
                                                                            case):
    body, loc = UNTYPABLE[case]
    before = _written(owner_engine, demo.tenant_id)
    answer = _order(demo, {"hold_token": seat_hold, **body})
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json", answer.json
    assert answer.json["code"] == "validation-failed" and loc in [e["loc"] for e in answer.json["errors"]]
    assert _written(owner_engine, demo.tenant_id) == before


def test_a_nul_in_the_hold_token_or_the_order_path_is_refused(container, demo, owner_engine, seat_hold):
    before = _written(owner_engine, demo.tenant_id)
    answer = _order(demo, {"hold_token": seat_hold + "\x00", "customer": CUSTOMER, "items": TWO})
    assert answer.status == 422 and ["hold_token"] in [e["loc"] for e in answer.json["errors"]]
    read = call("create-order", "GET", "/orders/\x00", tenant=demo.slug, headers={"Authorization": "Bearer x"})
    assert (read.status, read.json["code"]) == (404, "no-route")  # no path parameter holds a control character
    assert _written(owner_engine, demo.tenant_id) == before


@pytest.mark.parametrize("email, stored", [("анна@пример.рф", "анна@пример.рф"),
                                           (" Anna@Пример.РФ ", "Anna@пример.рф"),
                                           ("anna@xn--e1afmkfd.xn--p1ai", "anna@пример.рф")])
def test_an_internationalised_address_is_accepted_and_normalised(email, stored):
    """RFC 6531 addresses are legal: kept in their normalised form, sent as the email tests show."""
    customer = load_function("create-order").CustomerIn.model_validate({"name": "Анна", "email": email})
    assert customer.email == stored


def test_an_idempotency_key_with_a_control_character_is_refused(container, demo, owner_engine, seat_hold):
    before = _written(owner_engine, demo.tenant_id)
    answer = _order(demo, {"hold_token": seat_hold, "customer": CUSTOMER, "items": TWO},
                    headers={"Idempotency-Key": "key\x00"})
    assert answer.status == 422 and answer.json["errors"][0]["loc"] == ["header", "Idempotency-Key"]
    assert _written(owner_engine, demo.tenant_id) == before


def test_the_landing_page_after_paying_claims_no_outcome(container):
    """The provider sends a buyer back after declining too: the default return page must not say
    the payment was accepted (issue #8, item 10)."""
    page = call("create-order", "GET", "/paid")
    text = page.raw.decode()
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
    assert "принят" not in text and "Спасибо" not in text
    assert "отказались от оплаты" in text and "билеты придут" in text
