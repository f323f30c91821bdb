"""Holds against real PostgreSQL and Redis: races, expiry, extension, release, capacity."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.services.holds import expire_due_holds
from tests.conftest import assigned_sailing, free_sailing
from tests.support import call, internal


def _hold(demo, body, **headers):
    return call("lock-seat", "POST", "/holds", tenant=demo.slug, body=body, headers=headers)


def _statuses(demo, sailing):
    answer = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug)
    assert answer.status == 200
    return {seat["id"]: seat["status"] for seat in answer.json["seats"]}


def test_hundreds_of_buyers_race_and_each_seat_goes_to_one_hold(container, demo):
    sailing = assigned_sailing(demo)
    seats = [f"main-{row}-{n}" for row in "BCD" for n in range(1, 13)]  # 36 seats
    buyers = 300
    rng = random.Random(7)
    wanted = [rng.sample(seats, rng.randint(1, 4)) for _ in range(buyers)]
    start = threading.Barrier(32)

    def buy(index: int):
        if index < 32:
            start.wait()
        return wanted[index], _hold(demo, {"sailing_id": sailing, "seat_ids": wanted[index]},
                                    **{"X-Client-Id": f"buyer-{index}"})

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(buy, range(buyers)))

    won = Counter()
    for asked, answer in results:
        assert answer.status in (201, 409), answer.json
        if answer.status == 201:
            assert sorted(answer.json["seat_ids"]) == sorted(asked)
            won.update(asked)
        else:
            taken = answer.json["seat_ids"]
            assert taken and set(taken) <= set(asked)
    assert won, "somebody must win"
    assert max(won.values()) == 1, "a seat went to two holds"
    statuses = _statuses(demo, sailing)
    assert {s for s in seats if statuses[s] == "held"} == set(won)
    recorded = Counter()
    for _, answer in results:
        if answer.status == 201:
            hold = call("lock-seat", "GET", f"/holds/{answer.json['token']}", tenant=demo.slug).json
            assert hold["status"] == "active"
            recorded.update(hold["seat_ids"])
    assert recorded == won


def test_hold_is_all_or_nothing(container, demo):
    sailing = assigned_sailing(demo)
    assert _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-E-5"]}).status == 201
    answer = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-E-4", "main-E-5", "main-E-6"]})
    assert answer.status == 409
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["code"] == "seats-unavailable" and answer.json["seat_ids"] == ["main-E-5"]
    statuses = _statuses(demo, sailing)
    assert statuses["main-E-4"] == "free" and statuses["main-E-6"] == "free"


def test_holds_expire_and_the_seats_come_back(container, demo, clock):
    sailing = assigned_sailing(demo)
    first = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-F-1", "main-F-2"]})
    assert first.status == 201
    assert _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-F-2"]}).status == 409

    clock.advance(seconds=container.settings.hold_ttl_seconds + 1)
    assert _statuses(demo, sailing)["main-F-1"] == "free"
    assert call("lock-seat", "GET", f"/holds/{first.json['token']}", tenant=demo.slug).json["status"] == "expired"
    second = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-F-2"]})
    assert second.status == 201
    assert call("lock-seat", "PATCH", f"/holds/{first.json['token']}", tenant=demo.slug).status == 410

    # seat holds live in Redis only: the reconciler has nothing to settle, and must not
    # touch the seat now held by someone else
    assert expire_due_holds([demo.tenant_id], container.uow, container.hold_store, container.now()) == 0
    assert call("lock-seat", "GET", f"/holds/{second.json['token']}", tenant=demo.slug).json["status"] == "active"
    assert _statuses(demo, sailing)["main-F-2"] == "held"


def test_extend_moves_expiry_up_to_the_cap(container, demo, clock):
    sailing = assigned_sailing(demo)
    created = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-G-7"]}).json
    ttl = container.settings.hold_ttl_seconds
    clock.advance(seconds=ttl - 60)
    extended = call("lock-seat", "PATCH", f"/holds/{created['token']}", tenant=demo.slug)
    assert extended.status == 200
    assert extended.json["expires_at"] > created["expires_at"]
    clock.advance(seconds=ttl - 60)
    capped = call("lock-seat", "PATCH", f"/holds/{created['token']}", tenant=demo.slug).json
    assert capped["expires_at"] == created["extendable_until"]
    clock.advance(seconds=container.settings.hold_max_lifetime_seconds)  # well past the cap
    assert call("lock-seat", "PATCH", f"/holds/{created['token']}", tenant=demo.slug).status == 410
    assert _statuses(demo, sailing)["main-G-7"] == "free"


def _forget_redis(container, demo):
    for key in container.redis.scan_iter(match=f"{container.settings.redis_prefix}t:{demo.tenant_id}:*"):
        container.redis.delete(key)


def test_a_seat_hold_redis_lost_is_gone_and_its_seat_free(container, demo):
    """Seat holds are advisory: after losing Redis the buyer learns it at once (404 on
    extend), never by a double sale — the ticket index guards the order (see e2e checkout)."""
    sailing = assigned_sailing(demo)
    created = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-H-3"]}).json
    _forget_redis(container, demo)
    assert call("lock-seat", "PATCH", f"/holds/{created['token']}", tenant=demo.slug).status == 404
    assert _statuses(demo, sailing)["main-H-3"] == "free"


def test_extend_reclaims_a_free_seating_hold_redis_lost(container, demo, owner_engine):
    sailing = free_sailing(demo)
    created = _hold(demo, {"sailing_id": sailing, "quantity": 5}).json
    _forget_redis(container, demo)
    assert call("lock-seat", "PATCH", f"/holds/{created['token']}", tenant=demo.slug).status == 200
    detail = call("catalog", "GET", f"/sailings/{sailing}", tenant=demo.slug).json
    assert detail["available"] == 40 - 5


def test_release_frees_seats_and_is_idempotent(container, demo):
    sailing = assigned_sailing(demo)
    token = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-J-1", "main-J-2"]}).json["token"]
    assert call("lock-seat", "DELETE", f"/holds/{token}", tenant=demo.slug).status == 204
    assert call("lock-seat", "DELETE", f"/holds/{token}", tenant=demo.slug).status == 204
    assert call("lock-seat", "GET", f"/holds/{token}", tenant=demo.slug).json["status"] == "released"
    assert _statuses(demo, sailing)["main-J-1"] == "free"
    assert _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-J-1"]}).status == 201


def test_sold_seat_cannot_be_held_even_when_redis_forgot_it(container, demo, owner_engine):
    sailing = assigned_sailing(demo)
    with owner_engine.begin() as conn:
        conn.execute(t.tickets.insert().values(tenant_id=demo.tenant_id, sailing_id=sailing, seat_id="main-D-9",
                                               status="sold"))
    container.hold_store.invalidate_seatmap(demo.tenant_id, sailing)
    answer = _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-D-8", "main-D-9"]})
    assert answer.status == 409 and answer.json["seat_ids"] == ["main-D-9"]
    statuses = _statuses(demo, sailing)
    assert statuses["main-D-9"] == "sold" and statuses["main-D-8"] == "free"


def test_free_seating_never_exceeds_capacity(container, demo, owner_engine):
    sailing = free_sailing(demo)
    capacity = 40
    results = []
    lock = threading.Lock()

    def buy(index: int):
        answer = _hold(demo, {"sailing_id": sailing, "quantity": 1 + index % 3}, **{"X-Client-Id": f"b{index}"})
        with lock:
            results.append((1 + index % 3, answer))

    with ThreadPoolExecutor(max_workers=24) as pool:
        list(pool.map(buy, range(120)))
    held = sum(quantity for quantity, answer in results if answer.status == 201)
    assert all(answer.status in (201, 409) for _, answer in results)
    assert 0 < held <= capacity
    assert capacity - held < 3, "places were left unsold although buyers wanted them"
    with owner_engine.connect() as conn:
        row = conn.execute(select(t.sailings.c.places_held, t.sailings.c.places_sold)
                           .where(t.sailings.c.id == sailing)).one()
    assert row.places_held == held and row.places_held + row.places_sold <= capacity
    detail = call("catalog", "GET", f"/sailings/{sailing}", tenant=demo.slug).json
    assert detail["available"] == capacity - held


def test_free_seating_database_guarantee_holds_without_redis(container, demo, owner_engine):
    """Redis loses its counters; PostgreSQL's capacity check still refuses the surplus."""
    sailing = free_sailing(demo)
    assert _hold(demo, {"sailing_id": sailing, "quantity": 10}).status == 201
    for _ in range(3):
        assert _hold(demo, {"sailing_id": sailing, "quantity": 10}).status == 201
    _forget_redis(container, demo)
    answer = _hold(demo, {"sailing_id": sailing, "quantity": 1})
    assert answer.status == 409 and answer.json["code"] == "capacity-exhausted"
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.sailings.c.places_held).where(t.sailings.c.id == sailing)).scalar() == 40


def test_expired_free_holds_give_places_back(container, demo, clock, owner_engine):
    sailing = free_sailing(demo)
    assert _hold(demo, {"sailing_id": sailing, "quantity": 10}).status == 201
    clock.advance(seconds=container.settings.hold_ttl_seconds + 1)
    assert expire_due_holds([demo.tenant_id], container.uow, container.hold_store, container.now()) == 1
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.sailings.c.places_held).where(t.sailings.c.id == sailing)).scalar() == 0


def test_expire_holds_function_answers_the_cron_call(container, demo, clock):
    sailing = assigned_sailing(demo)
    _hold(demo, {"sailing_id": sailing, "seat_ids": ["main-I-4"]})
    clock.advance(seconds=container.settings.hold_ttl_seconds + 1)
    answer = call("expire-holds", "POST", "/", headers={"X-Connector": "cron-connector", **internal()})
    assert answer.status == 200 and answer.json["expired_holds"] >= 1
