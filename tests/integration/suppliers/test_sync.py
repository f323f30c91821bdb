"""Catalog sync from both operators' stub servers over HTTP: upsert by reference (twice ->
no change), a dropped or canceled departure closed (with our sales: to the refund service and
the attention queue), a price change for new sales only, availability buckets as caps, runs
recorded and counted."""

from __future__ import annotations

from decimal import Decimal

from prometheus_client import REGISTRY
from sqlalchemy import func, select

from prichal.adapters.db import tables as t
from prichal.domain.suppliers import BUCKET_PLACES, AvailabilityBucket, Supplier
from prichal_sandbox.suppliers.astra import event_id
from prichal_sandbox.suppliers.neva import cruise_id
from tests.supplier_support import (
    order_log,
    paid_order,
    supplier_sailings,
    sync,
    tomorrow,
)

ASTRA, NEVA = Supplier.ASTRA_MARINE, Supplier.NEVA_TRAVEL


def _counts(container, tenant) -> dict[str, int]:
    with container.uow(tenant.id) as uow:
        return {table.name: uow.conn.execute(select(func.count()).select_from(table)
                                             .where(table.c.supplier.in_(("astra_marine", "neva_travel")))).scalar_one()
                for table in (t.piers, t.vessels, t.programs, t.sailings)}


def test_first_sync_creates_the_catalog_and_a_second_changes_nothing(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    first_astra, first_neva = sync(c, tenant, ASTRA, days=2), sync(c, tenant, NEVA, days=2)
    assert (first_astra.status, first_astra.created, first_astra.closed) == ("succeeded", 6, 0)
    assert (first_neva.status, first_neva.created) == ("succeeded", 4)
    before = _counts(c, tenant)
    assert before == {"piers": 3, "vessels": 2, "programs": 2, "sailings": 10}

    again = [sync(c, tenant, ASTRA, days=2), sync(c, tenant, NEVA, days=2)]
    assert [(r.status, r.created, r.updated, r.closed) for r in again] == [("succeeded", 0, 0, 0)] * 2
    assert _counts(c, tenant) == before

    astra = supplier_sailings(c, tenant, ASTRA)
    assert [s.supplier_ref for s in astra[:3]] == [str(int(event_id(tomorrow(c), n))) for n in range(3)]
    assert {(s.seating, s.capacity, s.status) for s in astra} == {("free", 40, "scheduled")}
    with c.uow(tenant.id) as uow:
        prices = {(r.supplier, r.ticket_type): (r.price, r.vat_rate) for r in uow.conn.execute(
            select(t.programs.c.supplier, t.tariffs.c.ticket_type, t.tariffs.c.price, t.tariffs.c.vat_rate)
            .select_from(t.tariffs.join(t.programs, t.programs.c.id == t.tariffs.c.program_id))
            .where(t.programs.c.supplier.in_(("astra_marine", "neva_travel"))))}
        runs = uow.suppliers.runs()
    assert prices[("neva_travel", "adult")] == (Decimal("1500.00"), "22")  # 150000 kopecks, vat22
    assert prices[("astra_marine", "adult")] == (Decimal("1200.00"), "none")  # rubles, "none"
    assert prices[("neva_travel", "concession")] == (Decimal("1200.00"), "22")  # "privileged"
    assert len(runs) == 4 and all(r["finished_at"] and r["status"] == "succeeded" for r in runs)
    assert REGISTRY.get_sample_value("prichal_supplier_sync_runs_total",
                                     {"supplier": "astra_marine", "horizon": "near", "outcome": "succeeded"}) >= 2


def test_neva_buckets_cap_what_we_sell_and_a_misspelled_key_is_read(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    day = tomorrow(c)
    suppliers.neva.control(available={cruise_id(day, 0): 5, cruise_id(day, 1): 2})
    sync(c, tenant, NEVA)
    capacities = [s.capacity for s in supplier_sailings(c, tenant, NEVA)]
    assert capacities == [BUCKET_PLACES[AvailabilityBucket.LESS_THAN_10], BUCKET_PLACES[AvailabilityBucket.LESS_THAN_3]]

    suppliers.neva.control(misspell=True, available={cruise_id(day, 0): 0, cruise_id(day, 1): 40})
    result = sync(c, tenant, NEVA)
    assert (result.status, result.updated) == ("succeeded", 2)
    assert [s.capacity for s in supplier_sailings(c, tenant, NEVA)] == [0, BUCKET_PLACES[AvailabilityBucket.MANY]]


def test_availability_never_caps_below_what_we_sold(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    sync(c, tenant, ASTRA)
    sailing = supplier_sailings(c, tenant, ASTRA)[0]
    paid_order(c, tenant, sailing.id, types=("adult", "adult", "child"))
    suppliers.astra.control(available={event_id(tomorrow(c), 0): 0}, misspell=True)  # avaliableSeats
    sync(c, tenant, ASTRA)
    refreshed = supplier_sailings(c, tenant, ASTRA)[0]
    assert (refreshed.capacity, refreshed.places_sold) == (3, 3)  # sold out, nothing more to sell


def test_a_dropped_departure_is_closed_and_one_with_sales_goes_to_the_refund_service(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    day = tomorrow(c)
    sync(c, tenant, ASTRA)
    empty, sold = supplier_sailings(c, tenant, ASTRA)[:2]
    order = paid_order(c, tenant, sold.id)
    suppliers.astra.control(drop=[event_id(day, 0)], cancel=[event_id(day, 1)])

    result = sync(c, tenant, ASTRA)
    assert (result.closed, result.created, result.status) == (2, 0, "succeeded")
    statuses = {s.id: s.status for s in supplier_sailings(c, tenant, ASTRA)}
    assert statuses[empty.id] == statuses[sold.id] == "cancelled"
    assert suppliers.reversal.cancellations == [(tenant.id, sold.id, "canceled by the boat operator")]
    assert "attention.supplier_sailing_canceled" in order_log(c, tenant, order.id)
    assert sync(c, tenant, ASTRA).closed == 0  # closed once


def test_an_operator_that_does_not_answer_closes_nothing(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    sync(c, tenant, NEVA)
    suppliers.neva.control(down=True)
    result = sync(c, tenant, NEVA)
    assert result.status == "failed" and result.errors and result.closed == 0
    assert {s.status for s in supplier_sailings(c, tenant, NEVA)} == {"scheduled"}
    with c.uow(tenant.id) as uow:
        assert uow.suppliers.runs("neva_travel")[-1]["status"] == "failed"


def test_a_price_change_applies_to_new_sales_only(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    sync(c, tenant, ASTRA)
    sailing = supplier_sailings(c, tenant, ASTRA)[0]
    order = paid_order(c, tenant, sailing.id, types=("adult",))
    suppliers.astra.control(prices={"adult": "1350.00"})
    sync(c, tenant, ASTRA)
    with c.uow(tenant.id) as uow:
        tariff = next(x for x in uow.catalog.tariffs([sailing.program_id]) if x.ticket_type == "adult")
        kept = uow.orders.get(order.id)
    assert tariff.price == Decimal("1350.00")
    assert kept.items[0].price == Decimal("1200.00") and kept.total == Decimal("1200.00")


def test_the_cron_syncs_every_tenant_and_the_season_hourly(suppliers):
    c = suppliers.container
    c.settings.supplier_season_days = 3
    c.__dict__.pop("supplier_sync", None)
    first = [r for r in c.supplier_sync.run_due([suppliers.tenant.id])]
    assert {(r.supplier, r.horizon) for r in first} == {("astra_marine", "season"), ("neva_travel", "season")}
    second = c.supplier_sync.run_due([suppliers.tenant.id])
    assert {r.horizon for r in second} == {"near"}
    suppliers.container.clock.advance(hours=1, minutes=1)
    assert {r.horizon for r in c.supplier_sync.run_due([suppliers.tenant.id])} == {"season"}


def test_a_burst_of_5xx_is_ridden_out_by_the_retries(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    suppliers.astra.control(fail_next=2)  # the first call fails twice, the third attempt answers
    result = sync(c, tenant, ASTRA)
    assert (result.status, result.created) == ("succeeded", 3)
    assert sum(suppliers.astra.control()["calls"].values()) >= 2 + 5


def test_astra_seat_statuses_and_exact_availability_come_over_http(suppliers):
    from datetime import timedelta

    from prichal.domain.suppliers import SeatStatus

    c, tenant = suppliers.container, suppliers.tenant
    with c.uow(tenant.id) as uow:
        client = c.supplier_client(uow.suppliers.account(ASTRA))
    day = tomorrow(c)
    departure = client.departures(day, day)[0]
    assert client.availability(departure) == 40
    suppliers.astra.control(available={departure.booking["eventID"]: 10})
    seats = client.seats(departure)
    assert len(seats) == 40 and client.availability(departure) == 10
    assert {SeatStatus.FREE, SeatStatus.RESERVED, SeatStatus.SELECTED} <= set(seats.values())
    assert client.departures(day, day + timedelta(days=1))[3].departs_at.date() == day + timedelta(days=1)
