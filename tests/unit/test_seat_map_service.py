"""SeatMapService on fakes (no I/O): what is refused and what is written, audited and
mirrored — one draft, publishing only a valid draft, a move that would lose a sold seat,
blocking a held or sold seat, state before effects."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from prichal.adapters import seat_map_json
from prichal.adapters.db.seat_map_repository import BlockRow, DraftRow, SailingRow, VersionRow
from prichal.domain import seat_map_editor as e
from prichal.domain.errors import Conflict, NotFound
from prichal.domain.seating import SeatMap
from prichal.services.inventory import Inventory
from prichal.services.seat_maps import Edit, SeatMapService

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
VESSEL, SAILING, TENANT = "0b4a1c1e-0000-4000-8000-000000000001", "0b4a1c1e-0000-4000-8000-000000000002", "t"


def _doc(rows: str = "AB") -> e.SeatMapDocument:
    doc = e.with_category(e.with_section(e.SeatMapDocument("Катер"), e.SectionSpec("deck", "Палуба")),
                          e.CategorySpec("standard", "Палуба"))
    for index, row in enumerate(rows):
        doc = e.generate_row(doc, e.RowSpec("deck", row, 5, x=0, y=index * 10, spacing=10, category="standard"))
    return doc


class FakeSeatMaps:
    def __init__(self) -> None:
        self.drafts: dict[str, DraftRow] = {}
        self.versions_: dict[str, tuple[VersionRow, e.SeatMapDocument]] = {}
        self.sailings = {SAILING: SailingRow(SAILING, VESSEL, None, "assigned", 10)}
        self.tickets: dict[str, str] = {}
        self.block_rows: dict[str, BlockRow] = {}
        self.priced = e.Pricing(frozenset({"standard"}))

    def lock_vessel(self, vessel_id):
        return vessel_id == VESSEL

    vessel_exists = lock_vessel

    def versions(self, vessel_id):
        return sorted((v for v, _ in self.versions_.values() if v.vessel_id == vessel_id), key=lambda v: v.version)

    def version(self, seat_map_id):
        found = self.versions_.get(seat_map_id)
        return found[0] if found else None

    def document(self, seat_map_id):
        return self.versions_[seat_map_id][1]

    def publish(self, vessel_id, document, by, at):
        number = len(self.versions(vessel_id)) + 1
        seat_map_id = f"0b4a1c1e-0000-4000-8000-1000000000{number:02d}"
        self.versions_[seat_map_id] = (VersionRow(seat_map_id, vessel_id, number, document.name, at, at, by,
                                                  len(document.seats), 0), document)
        return seat_map_id, number

    def pricing(self):
        return self.priced

    def draft(self, vessel_id, for_update=False):
        return self.drafts.get(vessel_id)

    def create_draft(self, vessel_id, base_version, document, by):
        if vessel_id in self.drafts:
            return None
        self.drafts[vessel_id] = DraftRow("d1", vessel_id, base_version, document, 1, NOW, by)
        return self.drafts[vessel_id]

    def save_draft(self, draft_id, document, by, at):
        vessel_id, draft = next((k, d) for k, d in self.drafts.items() if d.id == draft_id)
        self.drafts[vessel_id] = replace(draft, document=document, revision=draft.revision + 1, updated_by=by)
        return draft.revision + 1

    def delete_draft(self, draft_id):
        self.drafts = {k: d for k, d in self.drafts.items() if d.id != draft_id}

    def sailing(self, sailing_id, for_update=False):
        return self.sailings.get(sailing_id)

    def move_sailing(self, sailing_id, seat_map_id, capacity):
        self.sailings[sailing_id] = replace(self.sailings[sailing_id], seat_map_id=seat_map_id, capacity=capacity)

    def live_tickets(self, sailing_id):
        return dict(self.tickets)

    def blocks(self, sailing_id):
        return dict(sorted(self.block_rows.items()))

    def add_blocks(self, sailing_id, seat_ids, reason, by):
        added = [s for s in seat_ids if s not in self.block_rows]
        self.block_rows.update({s: BlockRow(s, reason, by, NOW) for s in added})
        return sorted(added)

    def remove_blocks(self, sailing_id, seat_ids):
        removed = [s for s in seat_ids if self.block_rows.pop(s, None)]
        return sorted(removed)

    def drop_blocks_outside(self, sailing_id, seat_ids):
        return self.remove_blocks(sailing_id, [s for s in self.block_rows if s not in seat_ids])


class World:
    """Everything the service touches, committed or not: fakes share one state."""

    def __init__(self) -> None:
        self.seat_maps = FakeSeatMaps()
        self.audit: list[str] = []
        self.effects: list[tuple] = []
        self.claims: dict[str, tuple[str, int]] = {}

    def uow(self, tenant_id):
        world = self
        pending: list[str] = []

        class Uow:
            seat_maps = world.seat_maps
            audit = SimpleNamespace(record=lambda actor, action, *a, **k: pending.append(action))

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return False

            def commit(self):
                world.audit.extend(pending)
                world.effects.append(("commit",))

        return Uow()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def service(world: World) -> SeatMapService:
    store = SimpleNamespace(
        seat_claims=lambda tenant_id, sailing_id, now_ms: dict(world.claims),
        invalidate_seatmap=lambda tenant_id, sailing_id: world.effects.append(("invalidate", sailing_id)),
        mark_taken=lambda tenant_id, sailing_id, seats, taken: world.effects.append(("taken", tuple(seats), taken)))
    holds = SimpleNamespace(release=lambda tenant_id, token: world.effects.append(("release", token)))

    def seat_map(tenant_id, seat_map_id):
        version, document = world.seat_maps.versions_[seat_map_id]
        return e.as_seat_map(document, seat_map_id, VESSEL, version.version)

    catalog = SimpleNamespace(seat_map=seat_map, forget_sailing=lambda *a: world.effects.append(("forget",)))
    return SeatMapService(uow=world.uow, store=store, inventory=Inventory(store), holds=holds, catalog=catalog,
                          clock=lambda: NOW, import_max_bytes=100_000)


def _publish(world: World, service: SeatMapService, doc: e.SeatMapDocument) -> str:
    service.replace_draft(TENANT, VESSEL, "tests", seat_map_json.dump(doc))
    return service.publish(TENANT, VESSEL, "tests")["id"]


def _on_version(world: World, seat_map_id: str) -> None:
    world.seat_maps.sailings[SAILING] = replace(world.seat_maps.sailings[SAILING], seat_map_id=seat_map_id)


def test_one_draft_at_a_time_and_publishing_replaces_it_with_a_version(world, service):
    opened = service.open_draft(TENANT, VESSEL, "tests", empty=True)
    assert opened["issues"] == [{"loc": ["seats"], "type": "no_seats", "msg": "the seat map has no seats"}]
    with pytest.raises(e.DraftExists):
        service.open_draft(TENANT, VESSEL, "tests")
    service.edit(TENANT, VESSEL, "tests", Edit("seatmap.draft_renamed", lambda d: _doc(), {}))
    assert service.publish(TENANT, VESSEL, "tests")["version"] == 1
    assert world.seat_maps.drafts == {}
    assert world.audit == ["seatmap.draft_opened", "seatmap.draft_renamed", "seatmap.published"]


def test_an_invalid_draft_is_not_published_and_nothing_is_committed(world, service):
    world.seat_maps.priced = e.Pricing()
    service.replace_draft(TENANT, VESSEL, "tests", seat_map_json.dump(_doc()))
    commits = world.effects.count(("commit",))
    with pytest.raises(e.SeatMapInvalid) as refused:
        service.publish(TENANT, VESSEL, "tests")
    assert {err["type"] for err in refused.value.errors} == {"category_without_tariff"}
    assert world.seat_maps.versions_ == {} and world.effects.count(("commit",)) == commits


def test_a_move_that_would_lose_a_sold_seat_is_refused_naming_the_ticket(world, service):
    v1 = _publish(world, service, _doc("AB"))
    v2 = _publish(world, service, _doc("A"))
    _on_version(world, v1)
    world.seat_maps.tickets = {"deck-B-3": "ticket-1"}
    with pytest.raises(e.SeatsWouldDisappear) as refused:
        service.move_sailing(TENANT, SAILING, v2, "tests")
    assert refused.value.extra == {"ticket_ids": ["ticket-1"], "seat_ids": ["deck-B-3"]}
    assert world.seat_maps.sailings[SAILING].seat_map_id == v1

    world.seat_maps.tickets = {"deck-A-3": "ticket-2"}
    service.move_sailing(TENANT, SAILING, v2, "tests")
    assert world.seat_maps.sailings[SAILING].seat_map_id == v2 and world.seat_maps.sailings[SAILING].capacity == 5
    assert world.effects[-3:] == [("commit",), ("forget",), ("invalidate", SAILING)]  # state first, then effects


def test_blocking_a_held_seat_is_refused_unless_asked_to_release_the_hold(world, service):
    _on_version(world, _publish(world, service, _doc()))
    world.claims = {"deck-A-1": ("tok", int(NOW.timestamp() * 1000) + 60_000)}
    with pytest.raises(Conflict) as refused:
        service.block(TENANT, SAILING, ["deck-A-1"], "tests")
    assert refused.value.code == "seats-held" and refused.value.extra["held_until"] == "2026-12-01T12:01:00+00:00"
    assert world.seat_maps.block_rows == {}

    before = len(world.effects)
    result = service.block(TENANT, SAILING, ["deck-A-1"], "tests", release_holds=True)
    assert result["released_holds"] == 1
    assert world.effects[before:] == [("commit",), ("release", "tok"), ("taken", ("deck-A-1",), True)]
    assert world.audit[-1] == "sailing.seats_blocked"


def test_a_sold_seat_is_not_blocked_and_a_seat_blocked_in_the_map_is_left_alone(world, service):
    doc = e.update_seats(_doc(), ["deck-A-5"], blocked=True)
    _on_version(world, _publish(world, service, doc))
    world.seat_maps.tickets = {"deck-A-2": "ticket-9"}
    with pytest.raises(Conflict) as refused:
        service.block(TENANT, SAILING, ["deck-A-2"], "tests")
    assert refused.value.code == "seats-sold" and refused.value.extra["ticket_ids"] == ["ticket-9"]
    audited = len(world.audit)
    assert service.block(TENANT, SAILING, ["deck-A-5"], "tests")["changed"] == []
    assert len(world.audit) == audited  # no change, no audit row


def test_unblocking_mirrors_only_seats_without_a_live_ticket(world, service):
    _on_version(world, _publish(world, service, _doc()))
    service.block(TENANT, SAILING, ["deck-B-1", "deck-B-2"], "tests")
    world.seat_maps.tickets = {"deck-B-2": "ticket-3"}  # sold in the instant after (cannot happen; still safe)
    service.unblock(TENANT, SAILING, ["deck-B-1", "deck-B-2"], "tests")
    assert world.effects[-1] == ("taken", ("deck-B-1",), False)


def test_unknown_vessels_sailings_and_drafts_are_not_found(world, service):
    with pytest.raises(NotFound):
        service.overview(TENANT, "not-a-uuid")
    with pytest.raises(NotFound):
        service.overview(TENANT, "0b4a1c1e-0000-4000-8000-00000000ffff")
    with pytest.raises(NotFound):
        service.draft(TENANT, VESSEL)
    with pytest.raises(NotFound):
        service.block(TENANT, "0b4a1c1e-0000-4000-8000-00000000fffe", ["x"], "tests")


def test_free_seating_has_no_seats_to_block(world, service):
    world.seat_maps.sailings[SAILING] = replace(world.seat_maps.sailings[SAILING], seating="free")
    with pytest.raises(Conflict):
        service.block(TENANT, SAILING, ["deck-A-1"], "tests")


def test_seat_map_type_is_the_storefronts(world, service):
    _on_version(world, _publish(world, service, _doc()))
    assert isinstance(service._catalog.seat_map(TENANT, "0b4a1c1e-0000-4000-8000-100000000001"), SeatMap)
