"""Astra Marine's seated departures (``DateTimeSeat``) through the stub server over HTTP:
synced as assigned seating on a seat-map version built from the operator's seats, the
seats the operator reports taken blocked on the sailing (and unblocked when it frees them),
twice -> no change, a seat we sold stays sold, a seated sale pushed with the operator's
seat ids."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from prichal.adapters.db import tables as t
from prichal.domain.errors import SeatsUnavailable
from prichal.domain.suppliers import Supplier
from prichal.services.holds import HoldRequest
from prichal_sandbox.suppliers.astra import SEATED_INDEX, event_id, seat_ref
from tests.supplier_support import paid_event, paid_seat_order, supplier_order, supplier_sailings, sync, tomorrow

ASTRA = Supplier.ASTRA_MARINE
BY = "supplier:astra_marine"


@pytest.fixture
def seated(suppliers):
    suppliers.astra.control(seated=True)
    return suppliers


def _event(c) -> str:
    return event_id(tomorrow(c), SEATED_INDEX)


def _seated_sailing(c, tenant):
    return next(s for s in supplier_sailings(c, tenant, ASTRA) if s.seating == "assigned")


def _blocks(c, tenant, sailing_id) -> dict[str, str]:
    with c.uow(tenant.id) as uow:
        return {seat: block.blocked_by for seat, block in uow.seat_maps.blocks(sailing_id).items()}


def _versions(c, tenant, vessel_id):
    with c.uow(tenant.id) as uow:
        return uow.seat_maps.versions(vessel_id)


def _hold(c, tenant, sailing_id, seat_id, client="buyer-1"):
    return c.holds.create(tenant.id, HoldRequest(sailing_id=sailing_id, seat_ids=[seat_id], quantity=None,
                                                 client_id=client))


def test_a_seated_departure_is_synced_onto_a_seat_map_of_the_operators_seats_and_twice_changes_nothing(seated):
    c, tenant = seated.container, seated.tenant
    first = sync(c, tenant, ASTRA)
    assert (first.status, first.created, first.errors) == ("succeeded", 4, [])  # three free + one seated
    sailing = _seated_sailing(c, tenant)
    assert (sailing.supplier_ref, sailing.capacity, sailing.seat_map_id is not None) == \
        (str(int(_event(c))), 12, True)
    assert {s.seating for s in supplier_sailings(c, tenant, ASTRA) if s.id != sailing.id} == {"free"}
    versions = _versions(c, tenant, sailing.vessel_id)
    assert [(v.version, v.seats, v.id) for v in versions] == [(1, 12, sailing.seat_map_id)]
    with c.uow(tenant.id) as uow:
        document = uow.seat_maps.document(sailing.seat_map_id)
        booking = uow.suppliers.supplier_sailing(sailing.id).booking
        vessel = uow.conn.execute(select(t.vessels).where(t.vessels.c.id == sailing.vessel_id)).one()
    assert (vessel.supplier, vessel.supplier_ref) == ("astra_marine", "12")
    assert {s.id for s in document.seats} == {f"main-{row}-{n}" for row in (1, 2) for n in range(1, 7)}
    assert booking["seats"]["main-1-1"] == seat_ref(1, 1) == "000000501"  # theirs, as they send it
    assert booking["seats"]["main-2-6"] == "000000512"
    assert _blocks(c, tenant, sailing.id) == {}

    again = sync(c, tenant, ASTRA)
    assert (again.status, again.created, again.updated, again.closed) == ("succeeded", 0, 0, 0)
    assert len(_versions(c, tenant, sailing.vessel_id)) == 1  # the same layout: no second version
    assert _seated_sailing(c, tenant) == sailing


def test_seats_taken_at_the_operator_are_blocked_and_unblocked_when_it_frees_them(seated):
    c, tenant = seated.container, seated.tenant
    seated.astra.control(seat_status={_event(c): {seat_ref(1, 2): "sold", seat_ref(2, 6): "selected",
                                                  seat_ref(2, 1): "reserved"}})
    sync(c, tenant, ASTRA)
    sailing = _seated_sailing(c, tenant)
    assert _blocks(c, tenant, sailing.id) == {"main-1-2": BY, "main-2-6": BY, "main-2-1": BY}
    with pytest.raises(SeatsUnavailable):
        _hold(c, tenant, sailing.id, "main-1-2")  # Redis knows the block too
    again = sync(c, tenant, ASTRA)
    assert (again.created, again.updated, again.closed) == (0, 0, 0)

    with c.uow(tenant.id) as uow:  # a block set by staff is not the sync's to lift
        c.inventory.block_on_sailing(uow, sailing.id, ["main-1-6"], "crew", "staff:someone")
        uow.commit()
    seated.astra.control(seat_status={_event(c): {seat_ref(1, 2): "free", seat_ref(2, 6): "free"}})
    freed = sync(c, tenant, ASTRA)
    assert (freed.status, freed.updated) == ("succeeded", 1)
    assert _blocks(c, tenant, sailing.id) == {"main-2-1": BY, "main-1-6": "staff:someone"}
    assert _hold(c, tenant, sailing.id, "main-1-2").seat_ids == ("main-1-2",)  # on sale again
    assert sync(c, tenant, ASTRA).updated == 0


def test_a_seat_we_sold_stays_sold_and_the_sale_is_pushed_with_the_operators_seat_ids(seated):
    c, tenant = seated.container, seated.tenant
    sync(c, tenant, ASTRA)
    sailing = _seated_sailing(c, tenant)
    order = paid_seat_order(c, tenant, sailing.id, ["main-1-3", "main-2-4"])

    outcome = c.supplier_orders.on_event(paid_event(order))
    assert outcome["outcome"] == "confirmed" and outcome["codes"] == 2
    assert supplier_order(c, tenant, order.id).status == "confirmed"
    registered = next(iter(seated.astra.control()["orders"].values()))
    assert [line["seatID"] for line in registered["lines"]] == [seat_ref(1, 3), seat_ref(2, 4)]
    assert {line["eventID"] for line in registered["lines"]} == {_event(c)}

    result = sync(c, tenant, ASTRA)  # the operator now reports both seats sold: they are ours
    assert (result.status, result.updated) == ("succeeded", 0)
    assert _blocks(c, tenant, sailing.id) == {}
    with c.uow(tenant.id) as uow:
        assert uow.seat_maps.live_tickets(sailing.id).keys() == {"main-1-3", "main-2-4"}
        assert {i.seat_id for i in uow.orders.get(order.id).items} == {"main-1-3", "main-2-4"}
        tickets = uow.conn.execute(select(t.tickets.c.status).where(t.tickets.c.order_id == order.id)).scalars()
        assert set(tickets) == {"sold"}


def test_a_seat_held_by_our_buyer_is_not_blocked_until_the_hold_ends(seated):
    c, tenant = seated.container, seated.tenant
    sync(c, tenant, ASTRA)
    sailing = _seated_sailing(c, tenant)
    hold = _hold(c, tenant, sailing.id, "main-1-5")
    seated.astra.control(seat_status={_event(c): {seat_ref(1, 5): "selected", seat_ref(1, 4): "sold"}})
    sync(c, tenant, ASTRA)
    assert _blocks(c, tenant, sailing.id) == {"main-1-4": BY}
    c.holds.release(tenant.id, hold.token)
    sync(c, tenant, ASTRA)
    assert _blocks(c, tenant, sailing.id) == {"main-1-4": BY, "main-1-5": BY}


def test_a_free_seating_sailing_without_sales_moves_onto_the_seat_map(seated):
    c, tenant = seated.container, seated.tenant
    result = sync(c, tenant, ASTRA)
    sailing = _seated_sailing(c, tenant)
    with c.uow(tenant.id) as uow:  # as synced before seated departures were mapped: free seating, nothing sold
        uow.suppliers.update_sailing(sailing.id, {"seating": "free", "seat_map_id": None, "capacity": 12})
        uow.commit()
    c.catalog_generations.bump(tenant.id)
    assert c.catalog_reader.sailing(tenant.id, sailing.id).seating.value == "free"  # cached as free seating
    again = sync(c, tenant, ASTRA)
    assert (result.created, again.created, again.updated) == (4, 0, 1)
    moved = _seated_sailing(c, tenant)
    assert (moved.id, moved.seat_map_id, moved.capacity) == (sailing.id, sailing.seat_map_id, 12)
    assert _hold(c, tenant, moved.id, "main-1-1").seat_ids == ("main-1-1",)  # the cache forgot the free seating
