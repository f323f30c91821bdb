"""The catalog API of the admin function: each entity's create/read/update/delete and what
cannot be deleted once sold, seasons, changes of a sold sailing, tenant isolation, bad input
(4xx problem+json, nothing written), the audit log and the storefront seeing changes at once."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from prichal.adapters.db import tables as t
from tests.conftest import assigned_sailing, free_sailing
from tests.staff_support import bearer, staff_token
from tests.support import call

MSK = "Europe/Moscow"


@pytest.fixture
def admin(container, demo):
    """A logged-in admin of the demo tenant: ``admin(method, path, body=None)``."""
    headers = bearer(staff_token(demo.tenant_id, "admin"))

    def request(method: str, path: str, body: Any = None, query: dict | None = None, tenant: str | None = None):
        return call("admin", method, path, tenant=tenant or demo.slug, body=body, headers=headers, query=query)
    return request


def _count(engine, table, tenant_id: str) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.tenant_id == tenant_id)).scalar()


def _written(engine, tenant_id: str) -> dict[str, int]:
    return {table.name: _count(engine, table, tenant_id)
            for table in (t.piers, t.vessels, t.programs, t.tariffs, t.sailings, t.staff_audit)}


def _audit(engine, tenant_id: str) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(t.staff_audit.c.action).where(t.staff_audit.c.tenant_id == tenant_id)
                                 .order_by(t.staff_audit.c.id)).scalars())


def _sell(engine, demo, sailing: str, seat: str | None = "main-B-1", status: str = "sold") -> str:
    with engine.begin() as conn:
        ticket = conn.execute(t.tickets.insert().values(tenant_id=demo.tenant_id, sailing_id=sailing, seat_id=seat,
                                                        status=status).returning(t.tickets.c.id)).scalar_one()
        if seat is None:
            conn.execute(t.sailings.update().where(t.sailings.c.id == sailing)
                         .values(places_sold=t.sailings.c.places_sold + 1))
    return str(ticket)


def _future(clock, days: int = 3, hour: int = 12) -> str:
    from zoneinfo import ZoneInfo

    day = clock.now.astimezone(ZoneInfo(MSK)).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=ZoneInfo(MSK)).isoformat()


# --- entities ---------------------------------------------------------------------------------
def test_piers_vessels_programs_crud_and_audit(admin, demo, owner_engine):
    pier = admin("POST", "/piers", {"name": "Причал «Летний сад»", "address": "наб. Кутузова",
                                    "latitude": "59.945", "longitude": "30.337"})
    assert pier.status == 201 and pier.json["latitude"] == "59.945000", pier.json
    vessel = admin("POST", "/vessels", {"name": "Теплоход «Ладога»", "capacity": 60}).json
    program = admin("POST", "/programs", {"name": "Белые ночи", "duration_minutes": 90,
                                          "images": ["https://cdn.example.test/1.jpg"]}).json
    assert program["images"] == ["https://cdn.example.test/1.jpg"]

    assert admin("GET", f"/piers/{pier.json['id']}").json["name"] == "Причал «Летний сад»"
    assert {p["id"] for p in admin("GET", "/piers").json["items"]} >= {pier.json["id"], demo.pier_id}
    changed = admin("PATCH", f"/vessels/{vessel['id']}", {"capacity": 80, "name": "«Ладога-2»"})
    assert changed.status == 200 and changed.json["capacity"] == 80

    for kind, row in (("piers", pier.json), ("vessels", vessel), ("programs", program)):
        assert admin("DELETE", f"/{kind}/{row['id']}").status == 204
        assert admin("GET", f"/{kind}/{row['id']}").status == 404
    assert _audit(owner_engine, demo.tenant_id)[-7:] == [
        "catalog.pier.created", "catalog.vessel.created", "catalog.program.created", "catalog.vessel.updated",
        "catalog.pier.deleted", "catalog.vessel.deleted", "catalog.program.deleted"]


def test_what_sailings_use_cannot_be_deleted(admin, demo, owner_engine):
    before = _written(owner_engine, demo.tenant_id)
    for kind, entity in (("piers", demo.pier_id), ("vessels", demo.vessel_id), ("programs", demo.free_program_id)):
        refused = admin("DELETE", f"/{kind}/{entity}")
        assert refused.status == 409 and refused.json["code"] == "still-in-use", refused.json
        assert refused.headers["Content-Type"] == "application/problem+json"
    assert _written(owner_engine, demo.tenant_id) == before


def test_tariffs_periods_overlap_and_a_sold_tariff_is_only_deactivated(admin, demo, owner_engine, clock):
    program = demo.free_program_id
    summer = admin("POST", "/tariffs", {"program_id": program, "ticket_type": "student", "name": "Студенческий",
                                        "price": "650", "valid_from": "2027-06-01", "valid_until": "2027-08-31"})
    assert summer.status == 201 and summer.json["price"] == "650.00", summer.json
    overlapping = admin("POST", "/tariffs", {"program_id": program, "ticket_type": "student", "name": "S",
                                             "price": "700.00", "valid_from": "2027-08-01"})
    assert overlapping.status == 409 and overlapping.json["code"] == "tariff-overlaps"
    autumn = admin("POST", "/tariffs", {"program_id": program, "ticket_type": "student", "name": "Осенний",
                                        "price": "600.00", "valid_from": "2027-09-01", "vat_rate": "10"})
    assert autumn.status == 201 and autumn.json["vat_rate"] == "10"
    listed = admin("GET", "/tariffs", query={"program": program}).json["items"]
    assert {summer.json["id"], autumn.json["id"]} <= {row["id"] for row in listed}
    assert admin("DELETE", f"/tariffs/{autumn.json['id']}").status == 204

    sold = next(row for row in listed if row["ticket_type"] == "adult" and row["valid_from"] is None)
    with owner_engine.begin() as conn:
        conn.execute(t.tickets.insert().values(tenant_id=demo.tenant_id, sailing_id=free_sailing(demo),
                                               tariff_id=sold["id"], status="sold"))
    refused = admin("DELETE", f"/tariffs/{sold['id']}")
    assert refused.status == 409 and refused.json["code"] == "still-in-use" and refused.json["tickets"] == 1
    assert admin("PATCH", f"/tariffs/{sold['id']}", {"active": False}).json["active"] is False


@pytest.mark.parametrize(("path", "body", "loc"), [
    ("/piers", {"name": ""}, ["name"]),
    ("/piers", {"name": "P", "latitude": "95"}, ["latitude"]),
    ("/vessels", {"name": "V", "capacity": -1}, ["capacity"]),
    ("/programs", {"name": "P", "duration_minutes": 60, "images": ["http://plain.example.test/x.jpg"]},
     ["images", 0]),
    ("/tariffs", {"program_id": "00000000-0000-0000-0000-000000000000", "ticket_type": "adult", "name": "A",
                  "price": "100.00"}, ["program_id"]),
    ("/tariffs", {"ticket_type": "adult", "name": "A", "price": 100.5}, ["price"]),
    ("/sailings", {"program_id": "00000000-0000-0000-0000-000000000000"}, ["pier_id"]),
    ("/sailings/generate", {"weekdays": [1]}, ["first_day"]),
])
def test_bad_input_is_a_problem_and_writes_nothing(admin, demo, owner_engine, path, body, loc):
    before = _written(owner_engine, demo.tenant_id)
    if path == "/tariffs" and "program_id" not in body:
        body = {**body, "program_id": demo.free_program_id}
    answer = admin("POST", path, body)
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json", answer.json
    assert loc in [e["loc"] for e in answer.json["errors"]], answer.json
    assert _written(owner_engine, demo.tenant_id) == before


# --- sailings ---------------------------------------------------------------------------------
def test_one_free_seating_sailing_and_its_deletion(admin, demo, owner_engine, clock):
    body = {"program_id": demo.free_program_id, "pier_id": demo.pier_id, "vessel_id": demo.vessel_id,
            "seating": "free", "capacity": 25, "departs_at": _future(clock, 5)}
    created = admin("POST", "/sailings", body)
    assert created.status == 201 and created.json["capacity"] == 25 and created.json["seat_map_id"] is None
    assert created.json["duration_minutes"] > 0  # the program's
    in_the_past = admin("POST", "/sailings", {**body, "departs_at": "2020-01-01T12:00:00+03:00"})
    assert in_the_past.status == 422
    naive = admin("POST", "/sailings", {**body, "departs_at": "2030-01-01T12:00:00"})
    assert naive.status == 422 and naive.json["errors"][0]["loc"] == ["departs_at"]
    backwards = admin("POST", "/sailings", {**body, "sales_open_at": body["departs_at"]})
    assert backwards.status == 422 and backwards.json["errors"][0]["loc"] == ["sales_open_at"]
    assert admin("DELETE", f"/sailings/{created.json['id']}").status == 204

    sold = free_sailing(demo)
    _sell(owner_engine, demo, sold, seat=None)
    refused = admin("DELETE", f"/sailings/{sold}")
    assert refused.status == 409 and refused.json["tickets"] == 1


def test_a_season_across_a_month_end_with_exceptions_and_no_duplicates(admin, demo, owner_engine, clock):
    from zoneinfo import ZoneInfo

    today = clock.now.astimezone(ZoneInfo(MSK)).date()
    first = (today.replace(day=1) + timedelta(days=40)).replace(day=20)  # the 20th of a month ahead
    last = first + timedelta(days=20)  # into the next month
    skipped_day = first + timedelta(days=3)
    body = {"program_id": demo.free_program_id, "pier_id": demo.pier_id, "vessel_id": demo.vessel_id,
            "seating": "free", "capacity": 40, "first_day": first.isoformat(), "last_day": last.isoformat(),
            "weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["11:00", "19:30"], "except_days": [skipped_day.isoformat()],
            "except_departures": [f"{last.isoformat()}T19:30:00"], "sales_close_minutes_before": 30}
    generated = admin("POST", "/sailings/generate", body)
    assert generated.status == 201, generated.json
    assert generated.json["created"] == 21 * 2 - 2 - 1 and generated.json["skipped"] == 0
    departures = [datetime.fromisoformat(d) for d in generated.json["departures"]]
    assert departures[0].isoformat() == f"{first.isoformat()}T11:00:00+03:00"
    assert {d.month for d in departures} == {first.month, last.month}
    assert skipped_day not in {d.date() for d in departures}

    again = admin("POST", "/sailings/generate", body)
    assert again.json == {**again.json, "created": 0, "skipped": 21 * 2 - 3}
    listed = admin("GET", "/sailings", query={"from": f"{first.isoformat()}T00:00:00+03:00",
                                              "to": f"{(last + timedelta(days=1)).isoformat()}T00:00:00+03:00",
                                              "program": demo.free_program_id}).json["items"]
    assert len(listed) == 39
    one = listed[0]
    assert datetime.fromisoformat(one["sales_close_at"]) == datetime.fromisoformat(one["departs_at"]) - \
        timedelta(minutes=30)
    assert _audit(owner_engine, demo.tenant_id).count("catalog.sailings.generated") == 2


def test_a_sold_sailing_keeps_its_time_and_only_moves_where_every_seat_survives(admin, demo, owner_engine, clock):
    sailing = assigned_sailing(demo)
    ticket = _sell(owner_engine, demo, sailing, "main-B-1")
    moved = admin("PATCH", f"/sailings/{sailing}", {"departs_at": _future(clock, 9)})
    assert moved.status == 409 and moved.json["code"] == "sailing-has-tickets" and moved.json["ticket_ids"] == [ticket]

    # another vessel whose only seat map lacks main-B-1
    other = admin("POST", "/vessels", {"name": "Катер"}).json
    with owner_engine.begin() as conn:
        small = conn.execute(t.seat_maps.insert().values(tenant_id=demo.tenant_id, vessel_id=other["id"], version=1,
                                                         name="Катер").returning(t.seat_maps.c.id)).scalar_one()
        conn.execute(t.seat_categories.insert().values(tenant_id=demo.tenant_id, seat_map_id=small, code="standard",
                                                       name="Салон"))
        for number in (1, 2):
            conn.execute(t.seats.insert().values(tenant_id=demo.tenant_id, seat_map_id=small, code=f"main-A-{number}",
                                                 section="main", row_label="A", number=number, x=0, y=0,
                                                 category="standard"))
    admin("PATCH", f"/vessels/{other['id']}", {"seat_map_id": str(small)})
    before = _written(owner_engine, demo.tenant_id)
    refused = admin("PATCH", f"/sailings/{sailing}", {"vessel_id": other["id"]})
    assert refused.status == 409 and refused.json["ticket_ids"] == [ticket], refused.json
    assert _written(owner_engine, demo.tenant_id) == before

    unsold = next(s["id"] for s in demo.sailings if s["seating"] == "assigned" and s["id"] != sailing)
    buyer = {"X-Client-Id": "buyer-hold"}
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=buyer,
                body={"sailing_id": unsold, "seat_ids": ["main-C-3"]})
    assert hold.status == 201, hold.json
    held = admin("PATCH", f"/sailings/{unsold}", {"vessel_id": other["id"]})
    assert held.status == 409 and held.json["seat_ids"] == ["main-C-3"], held.json
    assert call("lock-seat", "DELETE", f"/holds/{hold.json['token']}", tenant=demo.slug, headers=buyer).status == 204
    rehoused = admin("PATCH", f"/sailings/{unsold}", {"vessel_id": other["id"]})
    assert rehoused.status == 200 and rehoused.json["capacity"] == 2 and rehoused.json["seat_map_id"] == str(small)

    free = free_sailing(demo)
    for _ in range(3):
        _sell(owner_engine, demo, free, seat=None)
    too_small = admin("PATCH", f"/sailings/{free}", {"capacity": 2})
    assert too_small.status == 409 and len(too_small.json["ticket_ids"]) == 1
    assert admin("PATCH", f"/sailings/{free}", {"capacity": 3}).json["capacity"] == 3


def test_closing_sales_shows_in_the_storefront_at_once(admin, demo, container):
    sailing = free_sailing(demo)
    shown = call("catalog", "GET", f"/sailings/{sailing}", tenant=demo.slug).json
    assert shown["sale_status"] == "on_sale"  # now cached in this process
    closed = admin("POST", f"/sailings/{sailing}/close-sales")
    assert closed.status == 200 and closed.json["sales_close_at"]
    assert call("catalog", "GET", f"/sailings/{sailing}", tenant=demo.slug).json["sale_status"] == "sales_closed"
    refused = call("lock-seat", "POST", "/holds", tenant=demo.slug, body={"sailing_id": sailing, "quantity": 1},
                   headers={"X-Client-Id": "buyer-x"})
    assert refused.status == 409 and refused.json["code"] == "sales-closed"


def test_a_tariff_change_shows_in_the_seat_map_at_once(admin, demo):
    sailing = assigned_sailing(demo)
    before = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug).json
    adult = next(p for p in before["tariffs"] if p["ticket_type"] == "adult" and p["seat_category"] == "standard")
    assert admin("PATCH", f"/tariffs/{adult['tariff_id']}", {"price": "1600.00"}).status == 200
    after = call("catalog", "GET", f"/sailings/{sailing}/seatmap", tenant=demo.slug).json
    assert next(p for p in after["tariffs"] if p["tariff_id"] == adult["tariff_id"])["price"] == "1600.00"


def test_cancel_goes_through_the_refund_service(admin, demo, owner_engine):
    sailing = free_sailing(demo)
    answer = admin("POST", f"/sailings/{sailing}/cancel", {"reason": "шторм"})
    assert answer.status == 202 and answer.json["status"] in ("cancelled", "cancelling"), answer.json
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.sailings.c.status).where(t.sailings.c.id == sailing)).scalar() == "cancelled"
        assert conn.execute(select(t.sailing_cancellations.c.reason)
                            .where(t.sailing_cancellations.c.sailing_id == sailing)).scalar() == "шторм"
    assert admin("PATCH", f"/sailings/{sailing}", {"capacity": 10}).status == 409


# --- who may do what ---------------------------------------------------------------------------
def test_a_tenant_admin_cannot_touch_another_tenant(container, demo, other_demo, owner_engine):
    theirs = bearer(staff_token(other_demo.tenant_id, "admin"))
    before = _written(owner_engine, demo.tenant_id)
    # their token on our host: unknown here
    assert call("admin", "GET", "/piers", tenant=demo.slug, headers=theirs).status == 401
    assert call("admin", "DELETE", f"/piers/{demo.pier_id}", tenant=demo.slug, headers=theirs).status == 401
    # our ids through their own tenant: not found, nothing changed
    assert call("admin", "GET", f"/piers/{demo.pier_id}", tenant=other_demo.slug, headers=theirs).status == 404
    assert call("admin", "PATCH", f"/sailings/{free_sailing(demo)}", tenant=other_demo.slug, headers=theirs,
                body={"capacity": 1}).status == 404
    refused = call("admin", "POST", "/sailings", tenant=other_demo.slug, headers=theirs, body={
        "program_id": demo.free_program_id, "pier_id": demo.pier_id, "vessel_id": demo.vessel_id,
        "seating": "free", "capacity": 5, "departs_at": "2030-06-01T12:00:00+03:00"})
    assert refused.status == 422 and refused.json["errors"][0]["loc"] == ["program_id"]
    assert _written(owner_engine, demo.tenant_id) == before


def test_roles_read_and_manage(container, demo):
    agent = bearer(staff_token(demo.tenant_id, "agent"))
    assert call("admin", "GET", "/piers", tenant=demo.slug, headers=agent).status == 200
    refused = call("admin", "POST", "/piers", tenant=demo.slug, headers=agent, body={"name": "X"})
    assert refused.status == 403 and refused.json["code"] == "forbidden"
    assert call("admin", "GET", "/piers", tenant=demo.slug).status == 401
    assert call("admin", "GET", "/tenants", headers=bearer(staff_token(demo.tenant_id, "admin"))).status == 401


def test_the_admin_function_describes_itself():
    doc = call("admin", "GET", "/openapi.json").json
    assert {"/tenants", "/sailings/generate", "/tariffs/{entity_id}"} <= set(doc["paths"])
    assert doc["paths"]["/piers"]["post"]["security"] == [{"staffToken": []}]


def test_migration_keeps_existing_tenants_selling(owner_engine, demo):
    with owner_engine.connect() as conn:
        assert conn.execute(text("SELECT sales_open FROM tenants WHERE id = :t"), {"t": demo.tenant_id}).scalar()
    assert date.today()  # the demo seed writes no sales_open and sells
