"""Tenant isolation: PostgreSQL row-level security under the application role, and the
resolution of a request to a tenant by header or by host name."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError

from prichal.adapters.db import tables as t
from tests.conftest import assigned_sailing, free_sailing
from tests.support import call

TENANT_TABLES = [t.piers, t.vessels, t.seat_maps, t.seats, t.programs, t.sailings, t.tariffs]


def _scope(conn, tenant_id: str) -> None:
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def _count(conn, table, tenant_id: str | None = None) -> int:
    query = select(func.count()).select_from(table)
    if tenant_id is not None:
        query = query.where(table.c.tenant_id == tenant_id)
    return conn.execute(query).scalar_one()


# --- row-level security ---------------------------------------------------------------------
def test_application_engine_runs_as_the_app_role(container):
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar_one() == "prichal_app"
        assert conn.execute(text("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user"))\
            .scalar_one() is False


def test_no_tenant_set_sees_no_rows(container, owner_engine, demo, other_demo):
    with owner_engine.connect() as conn:  # the owner (a superuser) sees that the rows exist
        assert _count(conn, t.sailings, demo.tenant_id) == len(demo.sailings) > 0
    with container.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sailings")).scalar_one() == 0
        for table in TENANT_TABLES:
            assert _count(conn, table) == 0, table.name


def test_a_tenant_sees_only_its_own_rows(container, owner_engine, demo, other_demo):
    with container.engine.begin() as conn:
        _scope(conn, demo.tenant_id)
        ids = set(conn.execute(select(t.sailings.c.id)).scalars())
        assert ids == {s["id"] for s in demo.sailings}
        for table in TENANT_TABLES:
            owners = set(conn.execute(select(table.c.tenant_id).distinct()).scalars())
            assert owners == {demo.tenant_id}, table.name
        # asking for the other tenant's rows by id finds nothing
        assert conn.execute(select(t.sailings).where(t.sailings.c.id == assigned_sailing(other_demo))).first() is None
        assert _count(conn, t.seats, other_demo.tenant_id) == 0
    with container.engine.begin() as conn:
        _scope(conn, other_demo.tenant_id)
        assert set(conn.execute(select(t.sailings.c.id)).scalars()) == {s["id"] for s in other_demo.sailings}


def test_the_tenant_setting_does_not_outlive_its_transaction(container, demo):
    with container.engine.connect() as conn:
        with conn.begin():
            _scope(conn, demo.tenant_id)
            assert _count(conn, t.sailings) == len(demo.sailings)
        with conn.begin():  # same pooled connection, next transaction
            assert _count(conn, t.sailings) == 0


def test_garbage_tenant_setting_sees_nothing(container, demo):
    with container.engine.begin() as conn:
        _scope(conn, str(uuid.uuid4()))
        assert _count(conn, t.sailings) == 0


def test_inserting_a_row_for_another_tenant_fails(container, demo, other_demo):
    with container.engine.connect() as conn:
        tx = conn.begin()
        _scope(conn, demo.tenant_id)
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(insert(t.piers).values(tenant_id=other_demo.tenant_id, name="Чужой причал"))
        tx.rollback()
    with container.engine.connect() as conn:
        tx = conn.begin()
        _scope(conn, demo.tenant_id)
        # the same insert for one's own tenant works, so the failure above is the policy
        conn.execute(insert(t.piers).values(tenant_id=demo.tenant_id, name="Свой причал"))
        tx.rollback()


def test_moving_a_row_to_another_tenant_fails(container, demo, other_demo):
    with container.engine.connect() as conn:
        tx = conn.begin()
        _scope(conn, demo.tenant_id)
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.execute(update(t.sailings).where(t.sailings.c.id == assigned_sailing(demo))
                         .values(tenant_id=other_demo.tenant_id))
        tx.rollback()


def test_another_tenants_rows_cannot_be_updated(container, owner_engine, demo, other_demo):
    target = assigned_sailing(other_demo)
    with container.engine.begin() as conn:
        _scope(conn, demo.tenant_id)
        result = conn.execute(update(t.sailings).where(t.sailings.c.id == target).values(status="cancelled"))
        assert result.rowcount == 0
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.sailings.c.status).where(t.sailings.c.id == target)).scalar_one() == "scheduled"


def test_app_role_cannot_write_tenants(container, demo):
    with container.engine.connect() as conn:
        tx = conn.begin()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(update(t.tenants).where(t.tenants.c.id == demo.tenant_id).values(name="hijacked"))
        tx.rollback()


def test_a_hold_row_is_invisible_to_another_tenant(container, demo, other_demo):
    """Free-seating holds are recorded in PostgreSQL (seat holds live in Redis until ordered)."""
    created = call("lock-seat", "POST", "/holds", tenant=demo.slug,
                   body={"sailing_id": free_sailing(demo), "quantity": 2})
    assert created.status == 201, created.json
    with container.engine.begin() as conn:
        _scope(conn, other_demo.tenant_id)
        assert _count(conn, t.seat_holds) == 0
    with container.engine.begin() as conn:
        _scope(conn, demo.tenant_id)
        assert list(conn.execute(select(t.seat_holds.c.token)).scalars()) == [created.json["token"]]


# --- resolving the tenant -------------------------------------------------------------------
def _day(clock) -> str:
    from prichal_localrun.seed import ZONE

    return (clock.now.astimezone(ZONE).date() + timedelta(days=1)).isoformat()


def _listed(demo, clock, **headers) -> set[str]:
    answer = call("catalog", "GET", "/sailings", query={"date": _day(clock)}, headers=headers)
    assert answer.status == 200, answer.json
    return {s["id"] for s in answer.json["sailings"]}


def _day_sailings(ids, clock) -> set[str]:
    return {s["id"] for s in ids.sailings if s["departs_at"].date().isoformat() == _day(clock)}


@pytest.mark.parametrize("header", ["Host", "X-Forwarded-Host"])
@pytest.mark.parametrize("form", ["{slug}.example.test", "{slug}.example.test:8443", "{SLUG}.EXAMPLE.TEST"])
def test_tenant_from_host_without_the_header(container, demo, other_demo, clock, header, form):
    host = form.format(slug=demo.slug, SLUG=demo.slug.upper())
    listed = _listed(demo, clock, **{header: host})
    assert listed == _day_sailings(demo, clock) and listed


def test_forwarded_host_wins_over_host(container, demo, other_demo, clock):
    listed = _listed(demo, clock, **{"Host": f"{other_demo.slug}.example.test",
                                     "X-Forwarded-Host": f"{demo.slug}.example.test, internal.gateway"})
    assert listed == _day_sailings(demo, clock)


def test_tenant_header_wins_over_host(container, demo, other_demo, clock):
    listed = _listed(demo, clock, **{"X-Tenant": other_demo.slug, "Host": f"{demo.slug}.example.test"})
    assert listed == _day_sailings(other_demo, clock)


def test_hold_through_the_host_name(container, owner_engine, demo, other_demo):
    answer = call("lock-seat", "POST", "/holds", headers={"Host": f"{demo.slug}.example.test"},
                  body={"sailing_id": assigned_sailing(demo), "seat_ids": ["main-H-2"]})
    assert answer.status == 201, answer.json
    mine = call("lock-seat", "GET", f"/holds/{answer.json['token']}", headers={"Host": f"{demo.slug}.example.test"})
    assert mine.status == 200 and mine.json["seat_ids"] == ["main-H-2"]
    # the other tenant's host cannot see it
    other = call("lock-seat", "GET", f"/holds/{answer.json['token']}",
                 headers={"Host": f"{other_demo.slug}.example.test"})
    assert other.status == 404 and other.json["code"] == "not-found"


def test_unmapped_host_is_tenant_missing(container, demo):
    answer = call("catalog", "GET", "/sailings", query={"date": "2026-12-01"},
                  headers={"Host": f"www.{demo.slug}.example.test"})
    assert answer.status == 400 and answer.json["code"] == "tenant-missing"
    assert answer.json["host"] == f"www.{demo.slug}.example.test"


def test_inactive_tenant_is_unknown(container, owner_engine, demo):
    with owner_engine.begin() as conn:
        conn.execute(update(t.tenants).where(t.tenants.c.id == demo.tenant_id).values(active=False))
    by_slug = call("catalog", "GET", "/sailings", tenant=demo.slug, query={"date": "2026-12-01"})
    assert by_slug.status == 404 and by_slug.json["code"] == "tenant-unknown"
    by_host = call("catalog", "GET", "/sailings", query={"date": "2026-12-01"},
                   headers={"Host": f"{demo.slug}.example.test"})
    assert by_host.status == 400 and by_host.json["code"] == "tenant-missing"
