"""The seat-map editor against PostgreSQL and Redis: draft -> validate (every failing rule) ->
publish; one draft per vessel; a sailing keeps its version; moving a sailing where a sold
seat would disappear; seats blocked on one sailing (held, sold) and the storefront seeing it
at once; another tenant's vessel is not found; a bad file writes nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from prichal.domain import seat_map_editor as e
from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.seat_map_editor import Bounds, CategorySpec, SeatSpec, SectionSpec
from prichal.services.seat_maps import Edit
from tests.conftest import assigned_sailing
from tests.support import call

ACTOR = "tests"


def _seat_map_view(demo, sailing_id: str) -> dict:
    answer = call("catalog", "GET", f"/sailings/{sailing_id}/seatmap", tenant=demo.slug)
    assert answer.status == 200, answer.json
    return answer.json


def _statuses(demo, sailing_id: str) -> dict[str, str]:
    return {seat["id"]: seat["status"] for seat in _seat_map_view(demo, sailing_id)["seats"]}


def _edit(container, demo, action: str, change) -> dict:
    return container.seat_maps.edit(demo.tenant_id, demo.vessel_id, ACTOR, Edit(action, change, {}))


def _sell(owner_engine, demo, sailing_id: str, seat_id: str) -> str:
    with owner_engine.begin() as conn:
        return conn.execute(t.tickets.insert().values(tenant_id=demo.tenant_id, sailing_id=sailing_id,
                                                      seat_id=seat_id, status="sold")
                            .returning(t.tickets.c.id)).scalar_one()


def _audit_actions(owner_engine, demo) -> list[str]:
    with owner_engine.connect() as conn:
        audit = t.metadata.tables["staff_audit"]
        return list(conn.execute(select(audit.c.action).where(audit.c.tenant_id == demo.tenant_id)
                                 .order_by(audit.c.id)).scalars())


def _version_count(owner_engine, demo) -> int:
    with owner_engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.seat_maps)
                            .where(t.seat_maps.c.vessel_id == demo.vessel_id)).scalar_one()


def test_draft_validate_every_failing_rule_then_publish(container, demo, owner_engine):
    service = container.seat_maps
    draft = service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    assert draft["base_version"] == 1 and draft["seats"] == 150 and draft["publishable"], draft["issues"]

    _edit(container, demo, "seatmap.draft_section_set",
          lambda d: e.with_section(d, SectionSpec("main", "Главная палуба", Bounds(0, 180, 520, 420))))
    _edit(container, demo, "seatmap.draft_category_set",
          lambda d: e.with_category(d, CategorySpec("balcony", "Балкон", "#aa00aa")))
    view = _edit(container, demo, "seatmap.draft_seats_added", lambda d: e.add_seats(d, [
        SeatSpec("main", "A", 5, x=200, y=200, category="standard"),       # duplicate label
        SeatSpec("main", "K", 1, x=900, y=200, category="standard"),       # outside its section
        SeatSpec("deck", "A", 1, x=10, y=10, category="standard"),         # unknown section
        SeatSpec("main", "K", 2, x=80, y=500, category="nosuch"),          # unknown category
        SeatSpec("main", "K", 3, x=120, y=500, category="balcony"),        # a category without a tariff
    ]))
    assert {i["type"] for i in view["issues"]} == {
        "duplicate_label", "seat_outside_section", "unknown_section", "unknown_category", "category_without_tariff"}
    assert not view["publishable"]
    revision = view["revision"]

    with pytest.raises(e.SeatMapInvalid) as refused:
        service.publish(demo.tenant_id, demo.vessel_id, ACTOR)
    assert [err["loc"][:2] for err in refused.value.errors] == [
        ["seats", 150], ["seats", 151], ["seats", 152], ["seats", 153], ["seats", 154]]
    assert _version_count(owner_engine, demo) == 1  # nothing written
    assert service.draft(demo.tenant_id, demo.vessel_id)["revision"] == revision

    fixed = _edit(container, demo, "seatmap.draft_seats_removed", lambda d: e.remove_seats(
        d, ["main-K-1", "deck-A-1", "main-K-2", "main-K-3"]))
    # the duplicate of main-A-5: remove both, put one back
    fixed = _edit(container, demo, "seatmap.draft_seats_removed", lambda d: e.remove_seats(d, ["main-A-5"]))
    fixed = _edit(container, demo, "seatmap.draft_seats_added", lambda d: e.add_seats(
        d, [SeatSpec("main", "A", 5, x=200, y=200, category="standard", accessible=True)]))
    assert fixed["publishable"], fixed["issues"]

    published = service.publish(demo.tenant_id, demo.vessel_id, ACTOR, expected_revision=fixed["revision"])
    assert published["version"] == 2 and published["seats"] == 150 and published["published_by"] == "staff:tests"
    overview = service.overview(demo.tenant_id, demo.vessel_id)
    assert [v["version"] for v in overview["versions"]] == [1, 2] and overview["draft"] is None
    assert overview["published"]["id"] == published["id"]
    exported = service.export(demo.tenant_id, demo.vessel_id, 2)
    seat = next(s for s in exported["seats"] if (s["row"], s["number"]) == ("A", 5) and s["section"] == "main")
    assert seat["accessible"] is True
    assert _audit_actions(owner_engine, demo) == [
        "seatmap.draft_opened", "seatmap.draft_section_set", "seatmap.draft_category_set",
        "seatmap.draft_seats_added", "seatmap.draft_seats_removed", "seatmap.draft_seats_removed",
        "seatmap.draft_seats_added", "seatmap.published"]


def test_one_draft_per_vessel_and_a_stale_revision_is_refused(container, demo):
    service = container.seat_maps
    draft = service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    with pytest.raises(e.DraftExists):
        service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    _edit(container, demo, "seatmap.draft_renamed", lambda d: e.renamed(d, "Нева-1, лето"))
    with pytest.raises(Conflict) as stale:
        service.publish(demo.tenant_id, demo.vessel_id, ACTOR, expected_revision=draft["revision"])
    assert stale.value.code == "draft-changed"
    service.discard_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    with pytest.raises(NotFound):
        service.draft(demo.tenant_id, demo.vessel_id)


def test_a_sailing_keeps_its_version_and_moves_only_where_no_sold_seat_disappears(container, demo, owner_engine):
    service = container.seat_maps
    sailing = assigned_sailing(demo)
    sold = _sell(owner_engine, demo, sailing, "main-J-12")
    service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    _edit(container, demo, "seatmap.draft_seats_removed",
          lambda d: e.remove_seats(d, [f"main-J-{n}" for n in range(1, 13)]))
    v2 = service.publish(demo.tenant_id, demo.vessel_id, ACTOR)

    assert _seat_map_view(demo, sailing)["seat_map"]["version"] == 1  # keeps its version

    with pytest.raises(e.SeatsWouldDisappear) as refused:
        service.move_sailing(demo.tenant_id, sailing, v2["id"], ACTOR)
    assert refused.value.extra["ticket_ids"] == [sold] and refused.value.extra["seat_ids"] == ["main-J-12"]
    assert _seat_map_view(demo, sailing)["seat_map"]["version"] == 1

    other = next(s["id"] for s in demo.sailings if s["seating"] == "assigned" and s["id"] != sailing)
    moved = service.move_sailing(demo.tenant_id, other, v2["id"], ACTOR)
    assert moved["seat_map"]["version"] == 2
    view = _seat_map_view(demo, other)
    # capacity: the version's sellable seats (the map's two crew seats are blocked)
    assert view["seat_map"]["version"] == 2 and len(view["seats"]) == 138 and view["capacity"] == 136
    assert "sailing.seat_map_changed" in _audit_actions(owner_engine, demo)


def test_moving_to_a_version_of_another_vessel_is_refused(container, demo, other_demo):
    with pytest.raises((InvalidInput, NotFound)):
        container.seat_maps.move_sailing(demo.tenant_id, assigned_sailing(demo), other_demo.seat_map_id, ACTOR)


def test_blocking_a_seat_of_one_sailing_shows_at_once_and_stops_holds(container, demo, owner_engine):
    sailing = assigned_sailing(demo)
    assert _statuses(demo, sailing)["upper-B-3"] == "free"  # the rendered seat map is cached now
    result = container.seat_maps.block(demo.tenant_id, sailing, ["upper-B-3"], ACTOR, reason="broken")
    assert result["changed"] == ["upper-B-3"] and result["blocked"][0]["reason"] == "broken"
    assert _statuses(demo, sailing)["upper-B-3"] == "blocked"
    other = next(s["id"] for s in demo.sailings if s["seating"] == "assigned" and s["id"] != sailing)
    assert _statuses(demo, other)["upper-B-3"] == "free"  # no new version: other sailings unchanged

    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                   body={"sailing_id": sailing, "seat_ids": ["upper-B-3"]})
    assert refused.status == 409, refused.json
    again = container.seat_maps.block(demo.tenant_id, sailing, ["upper-B-3"], ACTOR)
    assert again["changed"] == []  # blocking a blocked seat changes nothing

    container.seat_maps.unblock(demo.tenant_id, sailing, ["upper-B-3"], ACTOR)
    assert _statuses(demo, sailing)["upper-B-3"] == "free"
    held = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                body={"sailing_id": sailing, "seat_ids": ["upper-B-3"]})
    assert held.status == 201, held.json
    assert _audit_actions(owner_engine, demo) == ["sailing.seats_blocked", "sailing.seats_unblocked"]


def test_blocking_a_held_seat_is_refused_unless_the_holds_are_released(container, demo):
    sailing = assigned_sailing(demo)
    held = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                body={"sailing_id": sailing, "seat_ids": ["upper-C-1", "upper-C-2"]})
    assert held.status == 201, held.json
    token = held.json["token"]

    with pytest.raises(Conflict) as refused:
        container.seat_maps.block(demo.tenant_id, sailing, ["upper-C-1"], ACTOR)
    assert refused.value.code == "seats-held" and refused.value.extra["seat_ids"] == ["upper-C-1"]
    assert refused.value.extra["held_until"]
    assert _statuses(demo, sailing)["upper-C-1"] == "held"
    assert container.seat_maps.blocks(demo.tenant_id, sailing)["blocked"] == []  # nothing written

    result = container.seat_maps.block(demo.tenant_id, sailing, ["upper-C-1"], ACTOR, release_holds=True)
    assert result["released_holds"] == 1
    statuses = _statuses(demo, sailing)
    assert statuses["upper-C-1"] == "blocked" and statuses["upper-C-2"] == "free"  # the whole hold ended
    hold = call("lock-seat", "GET", f"/holds/{token}", tenant=demo.slug)
    assert hold.json["status"] == "released", hold.json


def test_a_sold_seat_cannot_be_blocked(container, demo, owner_engine):
    sailing = assigned_sailing(demo)
    ticket = _sell(owner_engine, demo, sailing, "main-C-4")
    with pytest.raises(Conflict) as refused:
        container.seat_maps.block(demo.tenant_id, sailing, ["main-C-4"], ACTOR)
    assert refused.value.code == "seats-sold" and refused.value.extra["ticket_ids"] == [ticket]


def test_seats_named_wrongly_are_refused_by_index(container, demo):
    sailing = assigned_sailing(demo)
    with pytest.raises(InvalidInput) as refused:
        container.seat_maps.block(demo.tenant_id, sailing, ["main-B-1", "nope-1-1", "main-B-1"], ACTOR)
    assert [(err["loc"], err["type"]) for err in refused.value.errors] == [
        (["seat_ids", 1], "unknown_seat"), (["seat_ids", 2], "duplicate")]
    with pytest.raises(InvalidInput) as in_map:
        container.seat_maps.unblock(demo.tenant_id, sailing, ["main-A-1"], ACTOR)  # a crew seat of the map
    assert in_map.value.errors[0]["type"] == "blocked_in_map"


def test_another_tenants_vessel_and_sailing_are_not_found(container, demo, other_demo):
    service = container.seat_maps
    with pytest.raises(NotFound):
        service.overview(other_demo.tenant_id, demo.vessel_id)
    with pytest.raises(NotFound):
        service.open_draft(other_demo.tenant_id, demo.vessel_id, ACTOR)
    with pytest.raises(NotFound):
        service.block(other_demo.tenant_id, assigned_sailing(demo), ["main-B-1"], ACTOR)
    with pytest.raises(NotFound):
        service.overview(demo.tenant_id, str(uuid.uuid4()))


def test_a_bad_file_writes_nothing_and_a_good_one_becomes_the_draft(container, demo, owner_engine):
    service = container.seat_maps
    for raw in (b"{", b'{"format": "prichal.seat-map/1"}', b"[]"):
        with pytest.raises(InvalidInput):
            service.replace_draft(demo.tenant_id, demo.vessel_id, ACTOR, raw)
    with owner_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.seat_map_drafts)
                            .where(t.seat_map_drafts.c.vessel_id == demo.vessel_id)).scalar_one() == 0
    exported = service.export(demo.tenant_id, demo.vessel_id, None)
    exported["name"] = "Imported"
    draft = service.replace_draft(demo.tenant_id, demo.vessel_id, ACTOR, json.dumps(exported).encode())
    assert draft["document"]["name"] == "Imported" and draft["publishable"]
    assert service.publish(demo.tenant_id, demo.vessel_id, ACTOR)["name"] == "Imported"


# --- PostgreSQL is the guarantee, Redis the fast path ---------------------------------------
BUYER = {"X-Client-Id": "buyer-a"}


def _hold(demo, sailing: str, seats: list[str]) -> str:
    answer = call("lock-seat", "POST", "/holds", tenant=demo.slug, body={"sailing_id": sailing, "seat_ids": seats},
                  headers=BUYER)
    assert answer.status == 201, answer.json
    return answer.json["token"]


def test_a_seat_blocked_while_its_hold_raced_ahead_cannot_be_ordered(container, demo, owner_engine):
    """Should a hold slip in between the block's checks and its Redis mirror, the order is
    refused: the database counts the block as taken."""
    sailing = assigned_sailing(demo)
    token = _hold(demo, sailing, ["main-D-7"])
    with owner_engine.begin() as conn:  # the block's PostgreSQL half only
        conn.execute(t.sailing_seat_blocks.insert().values(sailing_id=sailing, seat_id="main-D-7",
                                                           tenant_id=demo.tenant_id, blocked_by="staff:race"))
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER, body={
        "hold_token": token, "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"seat_id": "main-D-7", "ticket_type": "adult"}]})
    assert order.status == 409 and order.json["code"] == "seats-unavailable", order.json
    assert order.json["seat_ids"] == ["main-D-7"]
    with owner_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(t.tickets)
                            .where(t.tickets.c.sailing_id == sailing)).scalar_one() == 0


def test_blocks_survive_a_redis_flush(container, demo):
    sailing = assigned_sailing(demo)
    container.seat_maps.block(demo.tenant_id, sailing, ["main-E-2"], ACTOR)
    keys = list(container.redis.scan_iter(match=f"{container.settings.redis_prefix}*", count=1000))
    container.redis.delete(*keys)
    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                   body={"sailing_id": sailing, "seat_ids": ["main-E-2"]}, headers=BUYER)
    assert refused.status == 409 and refused.json["seat_ids"] == ["main-E-2"], refused.json
    assert _statuses(demo, sailing)["main-E-2"] == "blocked"


def test_a_held_seat_that_would_disappear_stops_a_move_too(container, demo):
    service = container.seat_maps
    sailing = assigned_sailing(demo)
    service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    _edit(container, demo, "seatmap.draft_seats_removed", lambda d: e.remove_seats(d, ["upper-A-1"]))
    v2 = service.publish(demo.tenant_id, demo.vessel_id, ACTOR)
    _hold(demo, sailing, ["upper-A-1"])
    with pytest.raises(e.SeatsWouldDisappear) as refused:
        service.move_sailing(demo.tenant_id, sailing, v2["id"], ACTOR)
    assert refused.value.extra == {"ticket_ids": [], "seat_ids": ["upper-A-1"]}


def test_a_move_drops_blocks_of_seats_the_new_version_lacks(container, demo):
    service = container.seat_maps
    sailing = assigned_sailing(demo)
    service.block(demo.tenant_id, sailing, ["upper-A-2", "upper-A-3"], ACTOR)
    service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    _edit(container, demo, "seatmap.draft_seats_removed", lambda d: e.remove_seats(d, ["upper-A-2"]))
    v2 = service.publish(demo.tenant_id, demo.vessel_id, ACTOR)
    moved = service.move_sailing(demo.tenant_id, sailing, v2["id"], ACTOR)
    assert moved["dropped_blocks"] == ["upper-A-2"]
    assert [b["seat_id"] for b in service.blocks(demo.tenant_id, sailing)["blocked"]] == ["upper-A-3"]
    statuses = _statuses(demo, sailing)
    assert "upper-A-2" not in statuses and statuses["upper-A-3"] == "blocked"


def test_a_sold_seat_blocked_in_the_new_version_stops_a_move(container, demo, owner_engine):
    service = container.seat_maps
    sailing = assigned_sailing(demo)
    sold = _sell(owner_engine, demo, sailing, "main-B-5")
    service.open_draft(demo.tenant_id, demo.vessel_id, ACTOR)
    _edit(container, demo, "seatmap.draft_seats_changed", lambda d: e.update_seats(d, ["main-B-5"], blocked=True))
    v2 = service.publish(demo.tenant_id, demo.vessel_id, ACTOR)
    with pytest.raises(e.SeatsWouldDisappear) as refused:
        service.move_sailing(demo.tenant_id, sailing, v2["id"], ACTOR)
    assert refused.value.extra == {"ticket_ids": [sold], "seat_ids": ["main-B-5"]}
