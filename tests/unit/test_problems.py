"""Each domain error -> HTTP status and an application/problem+json body."""

from __future__ import annotations

import pytest

from prichal.domain import errors
from prichal.entrypoints import problems


@pytest.mark.parametrize(("error", "status", "code"), [
    (errors.TenantMissing("say which tenant"), 400, "tenant-missing"),
    (errors.TenantUnknown("no tenant 'x'", tenant="x"), 404, "tenant-unknown"),
    (errors.NotFound("sailing not found"), 404, "not-found"),
    (errors.RateLimited("slow down", retry_after=17), 429, "rate-limited"),
    (errors.HoldGone("hold is expired", hold_status="expired"), 410, "hold-gone"),
    (errors.Conflict("the hold became an order"), 409, "conflict"),
    (errors.SeatsUnavailable("taken", seat_ids=["main-B-1"]), 409, "seats-unavailable"),
    (errors.CapacityExhausted("only 2 left", available=2), 409, "capacity-exhausted"),
    (errors.SalesClosed("sailing is cancelled", sailing_id="s1"), 409, "sales-closed"),
    (errors.InvalidInput("bad", errors=[{"loc": ["quantity"], "type": "too_many", "msg": "at most 10"}]),
     422, "invalid-input"),
    (errors.DomainError("something else"), 400, "error"),
])
def test_status_and_body(error, status, code):
    got_status, body, _headers = problems.from_domain(error)
    assert got_status == status
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"/problems/{code}"
    assert body["title"] == type(error).title
    assert body["detail"] == error.detail


def test_rate_limited_has_retry_after_header_and_field():
    status, body, headers = problems.from_domain(errors.RateLimited("slow down", retry_after=42))
    assert status == 429
    assert headers == {"Retry-After": "42"}
    assert body["retry_after"] == 42


@pytest.mark.parametrize("error", [errors.NotFound("x"), errors.Conflict("x"), errors.InvalidInput("x")])
def test_only_rate_limited_sets_retry_after(error):
    assert problems.from_domain(error)[2] == {}


def test_invalid_input_carries_field_errors():
    field_errors = [{"loc": ["seat_ids", 1], "type": "unknown_seat", "msg": "seat x is not in the seat map"}]
    _, body, _ = problems.from_domain(errors.InvalidInput("some seats cannot be held", errors=field_errors))
    assert body["errors"] == field_errors


def test_invalid_input_without_field_errors_has_no_errors_key():
    _, body, _ = problems.from_domain(errors.InvalidInput("bad"))
    assert "errors" not in body


def test_extras_are_in_the_body_and_none_is_dropped():
    _, body, _ = problems.from_domain(errors.SeatsUnavailable("taken", seat_ids=["a", "b"]))
    assert body["seat_ids"] == ["a", "b"]
    _, body, _ = problems.from_domain(errors.CapacityExhausted("none left", available=0))
    assert body["available"] == 0  # zero is a value, not "absent"
    _, body, _ = problems.from_domain(errors.TenantMissing("which tenant?", host=None))
    assert "host" not in body


def test_hold_gone_keeps_the_http_status_in_the_body():
    _, body, _ = problems.from_domain(errors.HoldGone("hold is released", hold_status="released"))
    assert body["status"] == 410
    assert body["hold_status"] == "released"


def test_from_validation():
    body = problems.from_validation([
        {"loc": ("quantity",), "type": "greater_than_equal", "msg": "Input should be greater than or equal to 1"},
        {"loc": ("seat_ids", 0), "type": "string_type", "msg": "Input should be a valid string"},
        {"loc": (), "type": "model_type", "msg": "Input should be an object"},
    ])
    assert body["status"] == 422 and body["code"] == "validation-failed"
    assert [e["loc"] for e in body["errors"]] == [["quantity"], ["seat_ids", 0], []]
    assert "quantity: Input should be greater" in body["detail"]
    assert "seat_ids.0: Input should be a valid string" in body["detail"]
    assert "body: Input should be an object" in body["detail"]


def test_problem_content_type():
    assert problems.PROBLEM_CONTENT_TYPE == "application/problem+json"
