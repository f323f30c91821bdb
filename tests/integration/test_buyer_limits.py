"""One buyer cannot hold a whole sailing: a cap of held seats per sailing and buyer, a rate
limit on create-order, and client ids that count as buyers of their own only when signed
with the tenant's storefront key (otherwise the client's address is the buyer)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from prichal.domain.client_ids import sign_client_id
from tests.conftest import assigned_sailing, free_sailing
from tests.support import call, signed_client_id

CAP = 5
CUSTOMER = {"name": "Анна", "email": "anna@example.test"}


@pytest.fixture
def capped(container):
    """The process container with the production-like limits this module tests (set before
    anything reads them: the container builds its services on first use)."""
    s = container.settings
    s.hold_max_seats_per_client, s.order_rate_limit_per_minute, s.order_rate_limit_per_address_per_minute = CAP, 2, 3
    return container


def _hold(demo, body: dict, client_id: str | None = None, address: str | None = None):
    headers = {**({"X-Client-Id": client_id} if client_id else {}),
               **({"X-Forwarded-For": address} if address else {})}
    return call("lock-seat", "POST", "/holds", tenant=demo.slug, body=body, headers=headers)


def _seats(demo, *seats: str) -> dict:
    return {"sailing_id": assigned_sailing(demo), "seat_ids": list(seats)}


def _held_in_redis(container, demo) -> dict:
    return {key: container.redis.hgetall(key) for key in
            container.redis.scan_iter(match=f"{container.settings.redis_prefix}t:{demo.tenant_id}:*seats")}


# --- the cap --------------------------------------------------------------------------------
def test_one_address_cannot_hold_more_than_the_cap_with_many_client_ids(capped, demo):
    seats = [f"main-C-{n}" for n in range(1, 13)]
    won = 0
    for index, seat in enumerate(seats):
        answer = _hold(demo, _seats(demo, seat), client_id=f"fake-buyer-{index}")
        if answer.status != 201:
            break
        won += 1
    assert won == CAP
    before = _held_in_redis(capped, demo)
    refused = _hold(demo, _seats(demo, "main-D-1"), client_id="one-more-fake-buyer")
    assert refused.status == 409 and refused.headers["Content-Type"] == "application/problem+json"
    assert (refused.json["code"], refused.json["held"], refused.json["limit"]) == ("hold-limit-reached", CAP, CAP)
    assert _held_in_redis(capped, demo) == before, "a refused hold changed nothing"


def test_a_hold_that_would_pass_the_cap_is_refused_whole(capped, demo):
    assert _hold(demo, _seats(demo, "main-C-1", "main-C-2", "main-C-3")).status == 201
    refused = _hold(demo, _seats(demo, "main-C-4", "main-C-5", "main-C-6"))
    assert refused.status == 409 and refused.json["held"] == 3
    assert _hold(demo, _seats(demo, "main-C-4", "main-C-5")).status == 201


def test_released_and_expired_holds_give_the_allowance_back(capped, demo, clock):
    first = _hold(demo, _seats(demo, "main-C-1", "main-C-2", "main-C-3")).json["token"]
    assert _hold(demo, _seats(demo, "main-C-4", "main-C-5")).status == 201
    assert _hold(demo, _seats(demo, "main-C-6")).status == 409
    assert call("lock-seat", "DELETE", f"/holds/{first}", tenant=demo.slug).status == 204
    assert _hold(demo, _seats(demo, "main-C-6", "main-C-7", "main-C-8")).status == 201
    assert _hold(demo, _seats(demo, "main-C-9")).status == 409
    clock.advance(seconds=capped.settings.hold_ttl_seconds + 1)
    assert _hold(demo, _seats(demo, "main-C-9", "main-C-10", "main-C-11", "main-C-12", "main-D-1")).status == 201


def test_an_extended_hold_keeps_counting(capped, demo, clock):
    token = _hold(demo, _seats(demo, *(f"main-C-{n}" for n in range(1, 6)))).json["token"]
    clock.advance(seconds=capped.settings.hold_ttl_seconds - 60)
    assert call("lock-seat", "PATCH", f"/holds/{token}", tenant=demo.slug).status == 200
    clock.advance(seconds=120)  # past the first expiry, within the extended one
    assert _hold(demo, _seats(demo, "main-D-1")).json["code"] == "hold-limit-reached"


def test_the_cap_is_per_sailing(capped, demo):
    other = [s["id"] for s in demo.sailings if s["seating"] == "assigned"][1]
    assert _hold(demo, _seats(demo, *(f"main-C-{n}" for n in range(1, 6)))).status == 201
    assert _hold(demo, {"sailing_id": other, "seat_ids": ["main-C-1"]}).status == 201


def test_free_seating_is_capped_too(capped, demo, owner_engine):
    sailing = free_sailing(demo)
    first = _hold(demo, {"sailing_id": sailing, "quantity": 3}, client_id="fake-1").json["token"]
    refused = _hold(demo, {"sailing_id": sailing, "quantity": 3}, client_id="fake-2")
    assert refused.status == 409 and refused.json["code"] == "hold-limit-reached"
    with owner_engine.connect() as conn:  # the refusal reached neither counter
        held = conn.execute(select(t.sailings.c.places_held).where(t.sailings.c.id == sailing)).scalar_one()
    assert held == 3
    assert _hold(demo, {"sailing_id": sailing, "quantity": 2}, client_id="fake-3").status == 201
    assert call("lock-seat", "DELETE", f"/holds/{first}", tenant=demo.slug).status == 204
    assert _hold(demo, {"sailing_id": sailing, "quantity": 3}, client_id="fake-4").status == 201


def test_signed_client_ids_get_their_own_cap(capped, demo, owner_engine):
    alice = signed_client_id(owner_engine, demo.slug, "alice")
    bob = signed_client_id(owner_engine, demo.slug, "bob")
    assert _hold(demo, _seats(demo, *(f"main-C-{n}" for n in range(1, 6))), client_id=alice).status == 201
    assert _hold(demo, _seats(demo, *(f"main-D-{n}" for n in range(1, 6))), client_id=bob).status == 201
    assert _hold(demo, _seats(demo, *(f"main-E-{n}" for n in range(1, 6)))).status == 201  # the address
    assert _hold(demo, _seats(demo, "main-F-1"), client_id=alice).json["code"] == "hold-limit-reached"
    assert _hold(demo, _seats(demo, "main-F-1"), client_id="bob").json["code"] == "hold-limit-reached"


@pytest.mark.parametrize("forged", [
    "alice.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",  # a signature of the right shape, wrong
    "alice.",
    "alice",
])
def test_unsigned_or_badly_signed_ids_count_as_their_address(capped, demo, owner_engine, other_demo, forged):
    assert _hold(demo, _seats(demo, *(f"main-C-{n}" for n in range(1, 6)))).status == 201
    answer = _hold(demo, _seats(demo, "main-D-1"), client_id=forged)
    assert answer.status == 409 and answer.json["code"] == "hold-limit-reached"
    # another tenant's signature is no signature here
    with owner_engine.connect() as conn:
        key = conn.execute(select(t.tenants.c.storefront_key)
                           .where(t.tenants.c.slug == other_demo.slug)).scalar_one()
    elsewhere = sign_client_id(key, other_demo.slug, "alice")
    assert _hold(demo, _seats(demo, "main-D-1"), client_id=elsewhere).json["code"] == "hold-limit-reached"


def test_each_address_has_its_own_cap(capped, demo):
    assert _hold(demo, _seats(demo, *(f"main-C-{n}" for n in range(1, 6))), address="203.0.113.7").status == 201
    assert _hold(demo, _seats(demo, "main-D-1"), address="203.0.113.7").status == 409
    assert _hold(demo, _seats(demo, "main-D-1"), address="203.0.113.8").status == 201


# --- create-order -----------------------------------------------------------------------------
def _order(demo, client_id: str | None = None, address: str | None = None):
    headers = {**({"X-Client-Id": client_id} if client_id else {}),
               **({"X-Forwarded-For": address} if address else {})}
    return call("create-order", "POST", "/orders", tenant=demo.slug, headers=headers,
                body={"hold_token": "Z" * 32, "customer": CUSTOMER,
                      "items": [{"seat_id": "main-C-1", "ticket_type": "adult"}]})


def _orders_written(owner_engine, demo) -> int:
    with owner_engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.orders)
                            .where(t.orders.c.tenant_id == demo.tenant_id)).scalar_one()


def test_create_order_is_rate_limited_per_buyer(capped, demo, owner_engine):
    assert [_order(demo, client_id=f"fake-{n}").status for n in range(2)] == [404, 404]  # unknown hold token
    limited = _order(demo, client_id="fake-3")
    assert limited.status == 429 and limited.headers["Content-Type"] == "application/problem+json"
    assert limited.json["code"] == "rate-limited"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60 and limited.json["retry_after"] > 0
    # a signed id is a buyer of its own
    assert _order(demo, client_id=signed_client_id(owner_engine, demo.slug, "carol")).status == 404
    assert _orders_written(owner_engine, demo) == 0


def test_create_order_is_rate_limited_per_address_whatever_the_ids(capped, demo, owner_engine):
    ids = [signed_client_id(owner_engine, demo.slug, f"buyer-{n}") for n in range(4)]
    statuses = [_order(demo, client_id=client, address="203.0.113.9").status for client in ids]
    assert statuses == [404, 404, 404, 429]
    assert _order(demo, client_id=ids[3], address="203.0.113.10").status == 404
