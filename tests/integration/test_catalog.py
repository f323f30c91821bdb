"""The catalog shows what can be bought: availability rebuilt from PostgreSQL after a Redis
loss, sailings past their sales close shown closed with nothing available, days in range."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from prichal.adapters.db import tables as t
from prichal_localrun.seed import ZONE
from tests.conftest import assigned_sailing, free_sailing
from tests.support import call


def _day_of(demo, sailing_id: str) -> str:
    departs_at = next(s["departs_at"] for s in demo.sailings if s["id"] == sailing_id)
    return departs_at.astimezone(ZONE).date().isoformat()


def _listed(demo, sailing_id: str) -> dict:
    answer = call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": _day_of(demo, sailing_id)})
    assert answer.status == 200, answer.json
    return next(s for s in answer.json["sailings"] if s["id"] == sailing_id)


def _detail(demo, sailing_id: str) -> dict:
    answer = call("catalog", "GET", f"/sailings/{sailing_id}", tenant=demo.slug)
    assert answer.status == 200, answer.json
    return answer.json


def _seatmap(demo, sailing_id: str) -> dict:
    answer = call("catalog", "GET", f"/sailings/{sailing_id}/seatmap", tenant=demo.slug)
    assert answer.status == 200, answer.json
    return answer.json


def _flush_this_runs_redis(container) -> None:
    """What a Redis restart without persistence does to us: every key of this run is gone."""
    keys = list(container.redis.scan_iter(match=f"{container.settings.redis_prefix}*", count=1000))
    assert keys, "the test should have written something to Redis"
    container.redis.delete(*keys)


def _hold(demo, body: dict) -> dict:
    answer = call("lock-seat", "POST", "/holds", tenant=demo.slug, body=body)
    assert answer.status == 201, answer.json
    return answer.json


# --- item 19: after a Redis loss -------------------------------------------------------------
def test_free_seating_availability_survives_a_redis_flush(container, demo, owner_engine):
    sailing = free_sailing(demo)
    for _ in range(3):
        _hold(demo, {"sailing_id": sailing, "quantity": 10})
    with owner_engine.begin() as conn:  # the other ten were sold
        conn.execute(update(t.sailings).where(t.sailings.c.id == sailing).values(places_sold=10))
    assert _listed(demo, sailing)["available"] == 0

    _flush_this_runs_redis(container)

    assert _listed(demo, sailing)["available"] == 0
    assert _detail(demo, sailing)["available"] == 0
    assert _seatmap(demo, sailing)["available"] == 0
    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug, body={"sailing_id": sailing, "quantity": 1})
    assert refused.status == 409 and refused.json["code"] == "capacity-exhausted"


def test_free_seating_holds_past_expiry_no_longer_count(container, demo, clock):
    """Before the reconciler settles them, expired holds are not shown as taken."""
    sailing = free_sailing(demo)
    _hold(demo, {"sailing_id": sailing, "quantity": 10})
    assert _detail(demo, sailing)["available"] == 30
    clock.advance(seconds=container.settings.hold_ttl_seconds + 1)
    _flush_this_runs_redis(container)
    assert _detail(demo, sailing)["available"] == 40


def test_assigned_seating_statuses_survive_a_redis_flush(container, demo, owner_engine):
    sailing = assigned_sailing(demo)
    with owner_engine.begin() as conn:
        for seat, status in (("main-B-1", "sold"), ("main-B-2", "reserved")):
            conn.execute(t.tickets.insert().values(tenant_id=demo.tenant_id, sailing_id=sailing, seat_id=seat,
                                                   status=status))
    _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-B-3"]})

    _flush_this_runs_redis(container)

    statuses = {seat["id"]: seat["status"] for seat in _seatmap(demo, sailing)["seats"]}
    assert (statuses["main-B-1"], statuses["main-B-2"]) == ("sold", "held")
    sellable = 148  # 150 seats, two blocked
    assert _seatmap(demo, sailing)["available"] == sellable - 2
    assert _listed(demo, sailing)["available"] == sellable - 2
    assert _detail(demo, sailing)["available"] == sellable - 2
    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                   body={"sailing_id": sailing, "seat_ids": ["main-B-1"]})
    assert refused.status == 409 and refused.json["seat_ids"] == ["main-B-1"]


# --- item 21: what can be bought now ----------------------------------------------------------
@pytest.mark.parametrize("seating", ["assigned", "free"])
@pytest.mark.parametrize(("minutes_before", "sale_status"), [(5, "sales_closed"), (-1, "departed")])
def test_a_sailing_past_its_sales_close_is_shown_closed(container, demo, clock, seating, minutes_before,
                                                        sale_status):
    sailing = assigned_sailing(demo) if seating == "assigned" else free_sailing(demo)
    departs_at = next(s["departs_at"] for s in demo.sailings if s["id"] == sailing)
    listed = _listed(demo, sailing)
    assert (listed["sale_status"], listed["status"]) == ("on_sale", "scheduled") and listed["available"] > 0

    clock.now = departs_at - timedelta(minutes=minutes_before)
    container.hold_store.invalidate_seatmap(demo.tenant_id, sailing)  # a cached map lives seconds, not minutes

    for view in (_listed(demo, sailing), _detail(demo, sailing), _seatmap(demo, sailing)):
        assert view["sale_status"] == sale_status and view["available"] == 0, view
    body = {"sailing_id": sailing, **({"seat_ids": ["main-C-1"]} if seating == "assigned" else {"quantity": 1})}
    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug, body=body)
    assert refused.status == 409 and refused.json["code"] == "sales-closed"
    assert refused.json["sale_status"] == sale_status


def test_a_cancelled_sailing_is_shown_cancelled(container, demo, owner_engine):
    sailing = free_sailing(demo)
    with owner_engine.begin() as conn:
        conn.execute(update(t.sailings).where(t.sailings.c.id == sailing).values(status="cancelled"))
    listed = _listed(demo, sailing)
    assert (listed["status"], listed["sale_status"], listed["available"]) == ("cancelled", "cancelled", 0)


def test_the_seatmap_cache_does_not_outlive_the_sales_close(container, demo, clock):
    sailing = assigned_sailing(demo)
    departs_at = next(s["departs_at"] for s in demo.sailings if s["id"] == sailing)
    clock.now = departs_at - timedelta(minutes=10, seconds=2)
    assert _seatmap(demo, sailing)["sale_status"] == "on_sale"
    # the rendered map is cached under the catalog generation and the sailing's seat version
    version = (f"{container.catalog_reader.generation(demo.tenant_id)}."
               f"{container.hold_store.seatmap_version(demo.tenant_id, sailing)}")
    ttl = container.redis.pttl(f"{container.settings.redis_prefix}t:{demo.tenant_id}:{{sail:{sailing}}}:seatmap:"
                               f"{version}")
    assert 0 < ttl <= 2000


# --- item 9: the day asked for ----------------------------------------------------------------
@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_out_of_range_is_422_naming_date(container, demo, day):
    answer = call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": day})
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert [e["loc"] for e in answer.json["errors"]] == [["date"]]


def test_days_within_range_are_listed(container, demo, clock):
    today = clock.now.astimezone(ZONE).date()
    for day in (today - timedelta(days=366), today + timedelta(days=732)):
        answer = call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": day.isoformat()})
        assert answer.status == 200 and answer.json["sailings"] == []
