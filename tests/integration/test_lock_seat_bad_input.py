"""Bad input to lock-seat (and catalog) through the real functions: every answer is a 4xx
``application/problem+json`` with a machine-readable ``code``, and nothing changes —
the seat map, the ``seat_holds`` rows, the sailings' counters and the sailing's Redis keys
are the same before and after."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from prichal.adapters.db import tables as t
from prichal.domain.webhook_tokens import webhook_token
from tests.conftest import assigned_sailing, free_sailing
from tests.support import Answer, call, internal, signed_client_id

PROBLEM = "application/problem+json"


# --- helpers ---------------------------------------------------------------------------------
def _tenant_keys(container, tenant_id: str) -> list[bytes]:
    return list(container.redis.scan_iter(match=f"{container.settings.redis_prefix}t:{tenant_id}:*", count=1000))


def _redis_state(container, tenant_id: str) -> dict[bytes, object]:
    """Every hold-related Redis key of the tenant with its content (the rendered seat-map
    cache is left out: it is a cache, dropped before each look at the seat map)."""
    state: dict[bytes, object] = {}
    for key in _tenant_keys(container, tenant_id):
        if b":seatmap:" in key:
            continue
        kind = container.redis.type(key)
        state[key] = container.redis.hgetall(key) if kind == b"hash" else container.redis.get(key)
    return state


def _seat_statuses(container, demo, sailing_id: str) -> dict:
    for key in _tenant_keys(container, demo.tenant_id):
        if b":seatmap:" in key:
            container.redis.delete(key)  # render from the truth, not from the cache
    answer = call("catalog", "GET", f"/sailings/{sailing_id}/seatmap", tenant=demo.slug)
    assert answer.status == 200, answer.json
    body = answer.json
    if body["seat_map"] is None:
        return {"available": body["available"]}
    return {seat["id"]: seat["status"] for seat in body["seats"]}


def snapshot(container, owner_engine, demo) -> dict:
    with owner_engine.connect() as conn:
        holds = conn.execute(select(t.seat_holds).where(t.seat_holds.c.tenant_id == demo.tenant_id)
                             .order_by(t.seat_holds.c.token)).all()
        sailings = conn.execute(select(t.sailings.c.id, t.sailings.c.status, t.sailings.c.places_held,
                                       t.sailings.c.places_sold)
                                .where(t.sailings.c.tenant_id == demo.tenant_id).order_by(t.sailings.c.id)).all()
    return {
        "assigned": _seat_statuses(container, demo, assigned_sailing(demo)),
        "free": _seat_statuses(container, demo, free_sailing(demo)),
        "holds": [tuple(row) for row in holds],
        "sailings": [tuple(row) for row in sailings],
        "redis": _redis_state(container, demo.tenant_id),
    }


def assert_problem(answer: Answer, status: int, code: str) -> dict:
    assert answer.status == status, (answer.status, answer.raw)
    assert answer.headers["Content-Type"] == PROBLEM
    body = answer.json
    assert body["status"] == status and body["code"] == code and body["type"] == f"/problems/{code}", body
    assert body["title"] and body["detail"]
    return body


def _hold(demo, body=None, raw=None, headers=None, tenant="__demo__"):
    return call("lock-seat", "POST", "/holds", tenant=demo.slug if tenant == "__demo__" else tenant,
                body=body, raw=raw, headers=headers)


@pytest.fixture
def fresh(container, owner_engine, demo):
    """The tenant's state before the request, and a check that it is unchanged after it."""
    before = snapshot(container, owner_engine, demo)
    assert before["holds"] == [] and before["redis"] == {}

    def unchanged() -> None:
        after = snapshot(container, owner_engine, demo)
        assert after == before

    return unchanged


# --- unknown sailing ------------------------------------------------------------------------
UNKNOWN_SAILING = "7d1c3f0e-5a8b-4c2d-9e6f-0a1b2c3d4e5f"


@pytest.mark.parametrize("sailing_id", [UNKNOWN_SAILING, "not-a-uuid", "../../etc/passwd", "' OR 1=1 --"])
def test_unknown_sailing_is_404(demo, fresh, sailing_id):
    body = assert_problem(_hold(demo, {"sailing_id": sailing_id, "seat_ids": ["main-B-1"]}), 404, "not-found")
    assert body["sailing_id"] == sailing_id
    fresh()


def test_empty_sailing_id_is_422(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": "", "seat_ids": ["main-B-1"]}), 422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["sailing_id"]]
    fresh()


# --- seats ----------------------------------------------------------------------------------
def test_seat_not_in_the_map(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1", "deck-Z-99"]}),
                          422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids", 1], "unknown_seat")]
    fresh()


def test_blocked_seat(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1", "main-A-1"]}),
                          422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids", 1], "blocked_seat")]
    fresh()


def test_duplicate_seat_ids(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo),
                                       "seat_ids": ["main-B-1", "main-B-2", "main-B-1"]}), 422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids", 2], "duplicate")]
    fresh()


def test_too_many_seats(container, demo, fresh):
    limit = container.settings.hold_max_seats
    seats = [f"main-{row}-{n}" for row in "BCDEF" for n in range(1, 13)][: limit + 1]
    assert len(set(seats)) == limit + 1
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": seats}),
                          422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids"], "too_many")]
    fresh()


def test_empty_seat_list(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": []}), 422, "invalid-input")
    assert [e["loc"] for e in body["errors"]] == [["seat_ids"]]
    fresh()


def test_no_seats_at_all_on_assigned_seating(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "quantity": 2}), 422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids"], "missing")]
    fresh()


def test_quantity_not_matching_seats(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1"], "quantity": 3}),
                          422, "invalid-input")
    assert [e["loc"] for e in body["errors"]] == [["quantity"]]
    fresh()


@pytest.mark.parametrize("seat_ids", [["main-B-1", 7], "main-B-1", [None], [["main-B-1"]]])
def test_seat_ids_of_the_wrong_type(demo, fresh, seat_ids):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": seat_ids}),
                          422, "validation-failed")
    assert all(e["loc"][0] == "seat_ids" for e in body["errors"])
    fresh()


# --- free seating ---------------------------------------------------------------------------
def test_seat_ids_on_free_seating(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo), "seat_ids": ["main-B-1"], "quantity": 1}),
                          422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["seat_ids"], "not_allowed")]
    fresh()


def test_quantity_missing_on_free_seating(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo)}), 422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["quantity"], "missing")]
    fresh()


@pytest.mark.parametrize("quantity", [0, -1, -1000])
def test_quantity_below_one(demo, fresh, quantity):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo), "quantity": quantity}),
                          422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["quantity"]]
    fresh()


@pytest.mark.parametrize("quantity", ["two", 1.5, [2]])
def test_quantity_not_an_integer(demo, fresh, quantity):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo), "quantity": quantity}),
                          422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["quantity"]]
    fresh()


def test_quantity_above_max(container, demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo),
                                       "quantity": container.settings.hold_max_seats + 1}), 422, "invalid-input")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["quantity"], "too_many")]
    fresh()


def test_huge_quantity(demo, fresh):
    assert_problem(_hold(demo, {"sailing_id": free_sailing(demo), "quantity": 10**30}), 422, "invalid-input")
    fresh()


# --- shape of the body ----------------------------------------------------------------------
def test_extra_unknown_field(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1"],
                                       "price": "0.01"}), 422, "validation-failed")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["price"], "extra_forbidden")]
    fresh()


def test_missing_sailing_id(demo, fresh):
    body = assert_problem(_hold(demo, {"seat_ids": ["main-B-1"]}), 422, "validation-failed")
    assert [(e["loc"], e["type"]) for e in body["errors"]] == [(["sailing_id"], "missing")]
    fresh()


@pytest.mark.parametrize("raw", [b'{"sailing_id": ', b"sailing_id=x&seat_ids=main-B-1", b"\xff\xfe"])
def test_malformed_json(demo, fresh, raw):
    assert_problem(_hold(demo, raw=raw), 400, "malformed-json")
    fresh()


def test_json_array_body(demo, fresh):
    assert_problem(_hold(demo, raw=f'[{{"sailing_id": "{assigned_sailing(demo)}", "seat_ids": ["main-B-1"]}}]'
                         .encode()), 400, "malformed-json")
    fresh()


def test_empty_body(demo, fresh):
    assert_problem(_hold(demo, raw=b""), 400, "body-required")
    fresh()


# --- tenancy --------------------------------------------------------------------------------
def test_missing_tenant(demo, fresh):
    answer = _hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1"]},
                   headers={"Host": "unmapped.example.test"}, tenant=None)
    assert_problem(answer, 400, "tenant-missing")
    fresh()


def test_unknown_tenant(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-B-1"]},
                                tenant="nope"), 404, "tenant-unknown")
    assert body["tenant"] == "nope"
    fresh()


def test_another_tenants_sailing(container, owner_engine, demo, other_demo, fresh):
    other_before = snapshot(container, owner_engine, other_demo)
    answer = _hold(demo, {"sailing_id": assigned_sailing(other_demo), "seat_ids": ["main-B-1"]})
    assert_problem(answer, 404, "not-found")
    answer = _hold(demo, {"sailing_id": free_sailing(other_demo), "quantity": 1})
    assert_problem(answer, 404, "not-found")
    # nor can the catalog show it
    assert_problem(call("catalog", "GET", f"/sailings/{assigned_sailing(other_demo)}/seatmap", tenant=demo.slug),
                   404, "not-found")
    assert_problem(call("catalog", "GET", f"/sailings/{free_sailing(other_demo)}", tenant=demo.slug),
                   404, "not-found")
    fresh()
    assert snapshot(container, owner_engine, other_demo) == other_before


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_another_tenants_hold_token(container, owner_engine, demo, other_demo, fresh, clock, method):
    created = _hold(other_demo, {"sailing_id": assigned_sailing(other_demo), "seat_ids": ["main-C-3"]})
    assert created.status == 201, created.json
    token = created.json["token"]
    other_before = snapshot(container, owner_engine, other_demo)
    clock.advance(minutes=5)  # so an extension would move the expiry if it went through
    assert_problem(call("lock-seat", method, f"/holds/{token}", tenant=demo.slug), 404, "not-found")
    fresh()
    assert snapshot(container, owner_engine, other_demo) == other_before
    mine = call("lock-seat", "GET", f"/holds/{token}", tenant=other_demo.slug)
    assert mine.status == 200 and mine.json["status"] == "active"
    assert mine.json["expires_at"] == created.json["expires_at"]


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_unknown_hold_token(demo, fresh, method):
    assert_problem(call("lock-seat", method, "/holds/no-such-token", tenant=demo.slug), 404, "not-found")
    fresh()


# --- sales closed ---------------------------------------------------------------------------
def _set_sailing(owner_engine, sailing_id: str, **values) -> None:
    with owner_engine.begin() as conn:
        conn.execute(update(t.sailings).where(t.sailings.c.id == sailing_id).values(**values))


@pytest.mark.parametrize("seating", ["assigned", "free"])
@pytest.mark.parametrize("change", ["departed", "boarding", "cancelled", "completed"])
def test_sales_closed(container, owner_engine, demo, clock, change, seating):
    sailing = assigned_sailing(demo) if seating == "assigned" else free_sailing(demo)
    values = {
        "departed": {"departs_at": clock.now - timedelta(hours=1)},
        "boarding": {"departs_at": clock.now + timedelta(minutes=5)},  # sales stop 10 minutes before
        "cancelled": {"status": "cancelled"},
        "completed": {"status": "completed"},
    }[change]
    _set_sailing(owner_engine, sailing, **values)  # before anything reads (and caches) the sailing
    before = snapshot(container, owner_engine, demo)
    body = {"sailing_id": sailing, **({"seat_ids": ["main-B-1"]} if seating == "assigned" else {"quantity": 2})}
    problem = assert_problem(_hold(demo, body), 409, "sales-closed")
    assert problem["sailing_id"] == sailing
    assert snapshot(container, owner_engine, demo) == before
    assert before["redis"] == {} and before["holds"] == []


# --- holds that are gone --------------------------------------------------------------------
def test_extending_a_released_hold_is_410(container, owner_engine, demo):
    created = _hold(demo, {"sailing_id": assigned_sailing(demo), "seat_ids": ["main-D-4"]})
    assert created.status == 201
    token = created.json["token"]
    assert call("lock-seat", "DELETE", f"/holds/{token}", tenant=demo.slug).status == 204
    before = snapshot(container, owner_engine, demo)
    body = assert_problem(call("lock-seat", "PATCH", f"/holds/{token}", tenant=demo.slug), 410, "hold-gone")
    assert body["hold_status"] == "released"
    assert snapshot(container, owner_engine, demo) == before


# --- rate limit -----------------------------------------------------------------------------
@pytest.fixture
def limited_container(container):
    container.settings.hold_rate_limit_per_minute = 3  # before the hold service reads it
    return container


def test_rate_limit(limited_container, owner_engine, demo):
    sailing = assigned_sailing(demo)
    buyer = {"X-Client-Id": signed_client_id(owner_engine, demo.slug, f"buyer-{uuid.uuid4().hex[:6]}")}
    for seat in ("main-E-1", "main-E-2", "main-E-3"):
        ok = _hold(demo, {"sailing_id": sailing, "seat_ids": [seat]}, headers=buyer)
        assert ok.status == 201, ok.json
    before = snapshot(limited_container, owner_engine, demo)
    answer = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-E-4"]}, headers=buyer)
    body = assert_problem(answer, 429, "rate-limited")
    retry_after = int(answer.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body["retry_after"] == retry_after
    after = snapshot(limited_container, owner_engine, demo)
    assert after == before
    assert after["assigned"]["main-E-4"] == "free"
    # the limit is per client, not for everyone: another signed id, or the address (unsigned ids count as it)
    other = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-E-4"]},
                  headers={"X-Client-Id": signed_client_id(owner_engine, demo.slug, "someone-else")})
    assert other.status == 201, other.json
    for seat in ("main-E-5", "main-E-6", "main-E-7"):
        assert _hold(demo, {"sailing_id": sailing, "seat_ids": [seat]},
                     headers={"X-Client-Id": f"unsigned-{seat}"}).status == 201
    assert_problem(_hold(demo, {"sailing_id": sailing, "seat_ids": ["main-E-8"]},
                         headers={"X-Client-Id": "yet-another-unsigned-id"}), 429, "rate-limited")


def test_bad_input_does_not_count_against_the_rate_limit(limited_container, demo):
    sailing = assigned_sailing(demo)
    buyer = {"X-Client-Id": f"buyer-{uuid.uuid4().hex[:6]}"}
    for _ in range(5):
        assert _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-A-1"]}, headers=buyer).status == 422
    assert _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-F-1"]}, headers=buyer).status == 201


# --- catalog --------------------------------------------------------------------------------
@pytest.mark.parametrize("query", [{}, {"date": "2026-13-45"}, {"date": "tomorrow"}, {"date": ""}])
def test_catalog_sailings_bad_date(container, demo, query):
    body = assert_problem(call("catalog", "GET", "/sailings", tenant=demo.slug, query=query), 422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["date"]]


def test_catalog_sailings_unknown_query_parameter(container, demo, clock):
    day = (clock.now + timedelta(days=1)).date().isoformat()
    body = assert_problem(call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": day, "pir": "x"}),
                          422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["pir"]]


@pytest.mark.parametrize("sailing_id", [UNKNOWN_SAILING, "not-a-uuid"])
@pytest.mark.parametrize("suffix", ["", "/seatmap"])
def test_catalog_unknown_sailing(container, demo, sailing_id, suffix):
    assert_problem(call("catalog", "GET", f"/sailings/{sailing_id}{suffix}", tenant=demo.slug), 404, "not-found")


def test_catalog_without_tenant(container, demo):
    answer = call("catalog", "GET", "/sailings", query={"date": "2026-12-01"},
                  headers={"Host": "unmapped.example.test"})
    assert_problem(answer, 400, "tenant-missing")


# --- bugs found by these tests and fixed --------------------------------------------------
def test_deeply_nested_json(demo, fresh):
    assert_problem(_hold(demo, raw=b'{"sailing_id":' * 5000 + b"1" + b"}" * 5000), 400, "malformed-json")
    fresh()


def test_boolean_quantity(demo, fresh):
    body = assert_problem(_hold(demo, {"sailing_id": free_sailing(demo), "quantity": True}), 422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [["quantity"]]
    fresh()


def test_urn_form_sailing_id(demo, fresh):
    answer = _hold(demo, {"sailing_id": f"urn:uuid:{assigned_sailing(demo)}", "seat_ids": ["main-B-1"]})
    assert answer.status in (404, 422), answer.raw
    assert answer.headers["Content-Type"] == PROBLEM
    fresh()


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_hold_token_with_nul_byte(demo, fresh, method):
    # a path parameter never holds a control character: no route, before any lookup
    assert_problem(call("lock-seat", method, "/holds/a\x00b", tenant=demo.slug), 404, "no-route")
    fresh()


@pytest.mark.parametrize("body, loc", [
    ({"sailing_id": "\x00", "seat_ids": ["main-B-1"]}, ["sailing_id"]),
    ({"sailing_id": "{sailing}", "seat_ids": ["main-B-1", "main-B-2\x00"]}, ["seat_ids", 1]),
    ({"sailing_id": "{sailing}", "seat_ids": ["main-B-1\n"]}, ["seat_ids", 0]),
    ({"sailing_id": "{sailing}\r", "seat_ids": ["main-B-1"]}, ["sailing_id"]),
    ({"sailing_id": "{sailing}", "seat_ids": ["main-B-1"], "\x00": 1}, ["\x00"]),
])
def test_control_characters_in_a_hold_are_422_naming_the_field(demo, fresh, body, loc):
    body = {key: value.replace("{sailing}", assigned_sailing(demo)) if isinstance(value, str) else
            [seat.replace("{sailing}", "") for seat in value] if isinstance(value, list) else value
            for key, value in body.items()}
    problem = assert_problem(_hold(demo, body), 422, "validation-failed")
    assert loc in [e["loc"] for e in problem["errors"]]
    fresh()


@pytest.mark.parametrize("path", ["/sailings/\x00", "/sailings/a\x00/seatmap"])
def test_catalog_routes_no_path_with_a_nul(container, demo, path):
    """A path parameter never holds a control character: no route matches, before any lookup."""
    assert_problem(call("catalog", "GET", path, tenant=demo.slug), 404, "no-route")


def test_catalog_refuses_a_nul_in_the_query(container, demo):
    body = assert_problem(call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": "2026-12-01\x00"}),
                          422, "validation-failed")
    assert ["date"] in [e["loc"] for e in body["errors"]]


@pytest.mark.parametrize("function, path", [
    ("payment-webhook", "/yookassa/a\x00b/token"), ("documents", "/orders/\x00/documents"),
    ("create-order", "/orders/\x00"),
])
def test_other_functions_route_no_path_with_a_nul(container, demo, function, path):
    assert_problem(call(function, "POST" if function == "payment-webhook" else "GET", path, tenant=demo.slug,
                        body={}), 404, "no-route")


@pytest.mark.parametrize("param", ["pier", "program"])
def test_catalog_sailings_non_uuid_filter(container, demo, clock, param):
    day = (clock.now + timedelta(days=1)).date().isoformat()
    answer = call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": day, param: "not-a-uuid"})
    body = assert_problem(answer, 422, "validation-failed")
    assert [e["loc"] for e in body["errors"]] == [[param]]


@pytest.mark.parametrize("function, path, body", [
    ("payment-webhook", "/yookassa/{slug}/{token}", {"type": "notification", "event": "payment.succeeded",
                                             "object": {"id": "x\x00", "status": "succeeded"}}),
    ("issue-documents", "/", {"type": "order.paid", "tenant": "{tenant}", "data": {"order_id": "\x00"}}),
])
def test_a_nul_in_a_json_body_a_handler_parses_itself_is_422(container, demo, function, path, body):
    raw = json.dumps(body).replace("{tenant}", demo.tenant_id).encode()
    token = webhook_token(container.settings.webhook_url_key, "yookassa", demo.slug)
    answer = call(function, "POST", path.format(slug=demo.slug, token=token), raw=raw,
                  headers={"X-Forwarded-For": "127.0.0.1", **internal()})
    assert_problem(answer, 422, "validation-failed")
