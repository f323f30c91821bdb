"""The catalog admin service on fakes: every change audited and then the cache invalidated,
nothing of either when a rule refuses; what a sold sailing may not do; seasons skip what exists."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.schedule import LiveTicket, SailingHasTickets, Schedule, StillInUse, TariffOverlaps
from prichal.domain.tenants import Tenant
from prichal.services.catalog_admin import CatalogAdmin

NOW = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
TENANT = Tenant(id="t1", slug="veter", name="Ветер")


class FakeRecords:
    def __init__(self) -> None:
        self.rows: dict[str, dict[str, dict[str, Any]]] = {k: {} for k in
                                                           ("piers", "vessels", "programs", "tariffs", "sailings")}
        self.tickets: dict[str, list[LiveTicket]] = {}
        self.seat_maps: dict[str, dict[str, Any]] = {}
        self.sold_tariffs: set[str] = set()

    def list(self, kind: str, **where: Any) -> list[dict[str, Any]]:
        return [r for r in self.rows[kind].values() if all(r.get(k) == v for k, v in where.items())]

    def get(self, kind: str, entity_id: str, for_update: bool = False) -> dict[str, Any] | None:
        return self.rows[kind].get(entity_id)

    def insert(self, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        row = {"id": str(uuid.uuid4()), **values}
        if kind == "sailings":
            row.update(status="scheduled", places_sold=0, places_held=0)
        self.rows[kind][row["id"]] = row
        return row

    def insert_many(self, kind: str, rows: list[dict[str, Any]]) -> list[str]:
        return [self.insert(kind, row)["id"] for row in rows]

    def update(self, kind: str, entity_id: str, values: dict[str, Any]) -> dict[str, Any]:
        self.rows[kind][entity_id].update(values)
        return self.rows[kind][entity_id]

    def delete(self, kind: str, entity_id: str) -> None:
        del self.rows[kind][entity_id]

    def sailings_using(self, column: str, entity_id: str) -> int:
        return sum(1 for s in self.rows["sailings"].values() if s[column] == entity_id)

    def seat_maps_of(self, vessel_id: str) -> int:
        return sum(1 for m in self.seat_maps.values() if m["vessel_id"] == vessel_id)

    def tariff_sold(self, tariff_id: str) -> int:
        return int(tariff_id in self.sold_tariffs)

    def overlapping_tariffs(self, program_id, ticket_type, seat_category, valid_from, valid_until, except_id):
        low, high = valid_from or date.min, valid_until or date.max
        return [t["id"] for t in self.rows["tariffs"].values()
                if t["id"] != except_id and (t["program_id"], t["ticket_type"], t.get("seat_category")) ==
                (program_id, ticket_type, seat_category)
                and (t.get("valid_from") or date.min) <= high and low <= (t.get("valid_until") or date.max)]

    def lock_program(self, program_id: str) -> None:
        pass

    def live_tickets(self, sailing_id: str) -> list[LiveTicket]:
        return self.tickets.get(sailing_id, [])

    def ever_sold(self, sailing_id: str) -> dict[str, int]:
        return {"tickets": len(self.tickets.get(sailing_id, [])), "orders": 0, "holds": 0}

    def departures(self, program_id, pier_id, start, end) -> set[datetime]:
        return {s["departs_at"] for s in self.rows["sailings"].values()
                if s["program_id"] == program_id and s["pier_id"] == pier_id}

    def sailings_between(self, start, end, program_id=None):
        return list(self.rows["sailings"].values())

    def seat_map(self, seat_map_id: str) -> dict[str, Any] | None:
        return self.seat_maps.get(seat_map_id)


class FakeUnit:
    """A transaction: the records change only on commit."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.catalog_admin = copy.deepcopy(world.records)
        self.audited: list[str] = []
        self.audit = self

    def record(self, actor: Any, action: str, target_type: str, target_id: str, **data: Any) -> None:
        self.audited.append(action)

    def commit(self) -> None:
        self.world.records = self.catalog_admin
        self.world.audit.extend(self.audited)
        self.world.events.append("commit")

    def __enter__(self) -> FakeUnit:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


class World:
    def __init__(self) -> None:
        self.records = FakeRecords()
        self.audit: list[str] = []
        self.events: list[str] = []
        self.held: set[str] = set()


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def service(world: World) -> CatalogAdmin:
    return CatalogAdmin(uow=lambda tenant_id: FakeUnit(world),
                        invalidate=lambda tenant_id, ids: world.events.append("invalidate"),
                        cancel_sailing=lambda *args: None, held_seats=lambda t, s: world.held, clock=lambda: NOW)


@pytest.fixture
def catalog(service: CatalogAdmin) -> dict[str, Any]:
    pier = service.create("anna", TENANT, "piers", {"name": "Причал"})
    vessel = service.create("anna", TENANT, "vessels", {"name": "Ладога", "capacity": 10})
    program = service.create("anna", TENANT, "programs", {"name": "Ночь", "duration_minutes": 90})
    return {"pier_id": pier["id"], "vessel_id": vessel["id"], "program_id": program["id"]}


def _sailing(service: CatalogAdmin, catalog: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return service.create_sailing("anna", TENANT, {**catalog, "seating": "free",
                                                   "departs_at": NOW + timedelta(days=3), **extra})


def test_each_change_is_audited_then_invalidated(service, world, catalog):
    sailing = _sailing(service, catalog)
    assert sailing["capacity"] == 10 and sailing["duration_minutes"] == 90  # the vessel's and the program's
    assert world.audit == ["catalog.pier.created", "catalog.vessel.created", "catalog.program.created",
                           "catalog.sailing.created"]
    assert world.events == ["commit", "invalidate"] * 4


def test_a_refusal_writes_nothing_and_invalidates_nothing(service, world, catalog):
    sailing = _sailing(service, catalog)
    world.records.tickets[sailing["id"]] = [LiveTicket("k1", None)]
    before = (copy.deepcopy(world.records.rows), list(world.audit), list(world.events))
    with pytest.raises(SailingHasTickets) as refused:
        service.update_sailing("anna", TENANT, sailing["id"], {"departs_at": NOW + timedelta(days=4)})
    assert refused.value.ticket_ids == ["k1"]
    with pytest.raises(StillInUse):
        service.delete("anna", TENANT, "sailings", sailing["id"])
    with pytest.raises(StillInUse):
        service.delete("anna", TENANT, "piers", catalog["pier_id"])
    with pytest.raises(NotFound):
        service.delete("anna", TENANT, "piers", "not-an-id")
    assert (world.records.rows, world.audit, world.events) == before


def test_a_new_seat_map_must_keep_every_sold_seat_and_every_held_one(service, world, catalog):
    vessel = catalog["vessel_id"]
    ids = {"m1": str(uuid.UUID(int=1)), "m2": str(uuid.UUID(int=2))}
    world.records.seat_maps = {ids["m1"]: {"id": ids["m1"], "vessel_id": vessel, "sellable": {"A1", "A2", "A3"}},
                               ids["m2"]: {"id": ids["m2"], "vessel_id": vessel, "sellable": {"A1", "A2"}}}
    sailing = service.create_sailing("anna", TENANT, {**catalog, "seating": "assigned", "seat_map_id": ids["m1"],
                                                      "departs_at": NOW + timedelta(days=3)})
    assert sailing["capacity"] == 3
    world.records.tickets[sailing["id"]] = [LiveTicket("k3", "A3"), LiveTicket("k1", "A1")]
    with pytest.raises(SailingHasTickets) as refused:
        service.update_sailing("anna", TENANT, sailing["id"], {"seat_map_id": ids["m2"]})
    assert refused.value.ticket_ids == ["k3"]
    world.records.tickets[sailing["id"]] = [LiveTicket("k1", "A1")]
    world.held = {"A3"}
    with pytest.raises(Conflict) as held:
        service.update_sailing("anna", TENANT, sailing["id"], {"seat_map_id": ids["m2"]})
    assert held.value.extra["seat_ids"] == ["A3"]
    world.held = set()
    moved = service.update_sailing("anna", TENANT, sailing["id"], {"seat_map_id": ids["m2"]})
    assert moved["capacity"] == 2


def test_a_season_skips_the_departures_that_exist(service, world, catalog):
    schedule = Schedule(first_day=date(2027, 5, 30), last_day=date(2027, 6, 2), weekdays=frozenset(range(1, 8)),
                        times=(time(12, 0),))
    first = service.generate("anna", TENANT, {**catalog, "seating": "free", "sales_open_days_before": 7}, schedule)
    assert first["created"] == 4 and first["skipped"] == 0
    opened = sorted(s["sales_open_at"] for s in world.records.rows["sailings"].values())
    assert opened[0].date() == date(2027, 5, 23)
    again = service.generate("anna", TENANT, {**catalog, "seating": "free"}, schedule)
    assert (again["created"], again["skipped"]) == (0, 4)
    past = Schedule(first_day=date(2027, 4, 1), last_day=date(2027, 4, 2), weekdays=frozenset(range(1, 8)),
                    times=(time(12, 0),))
    with pytest.raises(InvalidInput):
        service.generate("anna", TENANT, {**catalog, "seating": "free"}, past)


def test_tariffs_do_not_overlap_and_sold_ones_stay(service, world, catalog):
    base = {"program_id": catalog["program_id"], "ticket_type": "adult", "name": "В", "price": "1000.00"}
    june = service.create("anna", TENANT, "tariffs", {**base, "valid_from": date(2027, 6, 1),
                                                      "valid_until": date(2027, 6, 30)})
    with pytest.raises(TariffOverlaps):
        service.create("anna", TENANT, "tariffs", {**base, "valid_from": date(2027, 6, 30)})
    with pytest.raises(InvalidInput):
        service.update("anna", TENANT, "tariffs", june["id"], {"valid_until": date(2027, 5, 1)})
    world.records.sold_tariffs.add(june["id"])
    with pytest.raises(StillInUse):
        service.delete("anna", TENANT, "tariffs", june["id"])
    assert service.update("anna", TENANT, "tariffs", june["id"], {"active": False})["active"] is False
