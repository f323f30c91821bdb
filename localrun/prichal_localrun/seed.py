"""The demo tenant: a pier, a boat with a 150-seat map in three categories, tariffs and a
week of sailings including a free-seating trip. ``make run`` seeds it; tests build their
own copies under unique slugs with ``build_demo``.

Idempotent: the tenant is created once; sailings are keyed by (supplier, supplier_ref)
so re-running only tops up days that are missing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, select, text
from sqlalchemy.dialects.postgresql import insert

from prichal.adapters.db import tables as t
from prichal.adapters.db.engine import make_owner_engine
from prichal.config import get_settings

log = logging.getLogger("prichal.seed")

DEMO_SLUG = "demo"
DEMO_HOSTS = ("demo.prichal.local", "localhost", "127.0.0.1")
ZONE = ZoneInfo("Europe/Moscow")

LEGAL = {
    "name": "ООО «Причал Демо»",
    "inn": "7801234567",
    "kpp": "780101001",
    "ogrn": "1207800012345",
    "address": "190000, Санкт-Петербург, Университетская наб., д. 1",
    "bank": "ПАО «Банк Санкт-Петербург»",
    "bic": "044030790",
    "correspondent_account": "30101810900000000790",
    "account": "40702810000000012345",
    "director": "Иванов И. И.",
    "accountant": "Петрова А. А.",
}

# (category code, name, colour, tariffs: ticket type -> price)
CATEGORIES = [
    ("vip", "VIP, первый ряд верхней палубы", "#b8860b",
     {"adult": "3500.00", "child": "2500.00", "concession": "3000.00"}),
    ("premium", "Верхняя палуба", "#1e90ff", {"adult": "2200.00", "child": "1400.00", "concession": "1700.00"}),
    ("standard", "Главная палуба", "#2e8b57", {"adult": "1500.00", "child": "900.00", "concession": "1100.00"}),
]
TICKET_NAMES = {"adult": "Взрослый", "child": "Детский (до 12 лет)", "concession": "Льготный"}
FREE_TARIFFS = {"adult": "900.00", "child": "500.00", "concession": "700.00"}
SECTIONS = {"upper": "Верхняя палуба", "main": "Главная палуба"}
BLOCKED_SEATS = ("main-A-1", "main-A-12")  # crew seats by the gangway
ASSIGNED_DEPARTURES = (time(12, 0), time(18, 30), time(23, 30))
FREE_DEPARTURE = time(15, 0)


@dataclass
class DemoIds:
    tenant_id: str
    slug: str
    pier_id: str = ""
    vessel_id: str = ""
    seat_map_id: str = ""
    assigned_program_id: str = ""
    free_program_id: str = ""
    sailings: list[dict] = field(default_factory=list)  # id, departs_at, seating


def demo_seats() -> list[dict]:
    """150 seats: upper deck rows A (vip) and B-C (premium) of 10, main deck A-J of 12."""
    seats = []
    for row_index, row in enumerate("ABC"):
        for number in range(1, 11):
            seats.append({"code": f"upper-{row}-{number}", "section": "upper", "row_label": row, "number": number,
                          "x": Decimal(number * 40), "y": Decimal(row_index * 40),
                          "category": "vip" if row == "A" else "premium", "blocked": False})
    for row_index, row in enumerate("ABCDEFGHIJ"):
        for number in range(1, 13):
            code = f"main-{row}-{number}"
            seats.append({"code": code, "section": "main", "row_label": row, "number": number,
                          "x": Decimal(number * 40), "y": Decimal(200 + row_index * 40),
                          "category": "standard", "blocked": code in BLOCKED_SEATS})
    return seats


def _scope(conn: Connection, tenant_id: str) -> None:
    conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})


def build_demo(conn: Connection, slug: str = DEMO_SLUG, hosts: tuple[str, ...] = DEMO_HOSTS,
               days: int = 7, start: date | None = None, name: str = "Причал Демо") -> DemoIds:
    """Create (or top up) a demo tenant inside the caller's transaction."""
    tenant_id = conn.execute(select(t.tenants.c.id).where(t.tenants.c.slug == slug)).scalar()
    if tenant_id is None:
        tenant_id = conn.execute(t.tenants.insert().values(
            slug=slug, name=name, legal=LEGAL, payment_provider="mock",  # the sandbox: demos only
            brand={"display_name": name, "primary_color": "#0b3d91", "email_from": f"tickets@{slug}.prichal.local"},
        ).returning(t.tenants.c.id)).scalar_one()
        for host in hosts:
            conn.execute(insert(t.tenant_domains).values(host=host, tenant_id=tenant_id)
                         .on_conflict_do_nothing())
    _scope(conn, tenant_id)
    ids = DemoIds(tenant_id=tenant_id, slug=slug)
    ids.pier_id = _one_or_create(conn, t.piers, {"name": "Причал «Дворцовая набережная, 2»"},
                                 {"address": "Санкт-Петербург, Дворцовая наб., 2",
                                  "latitude": Decimal("59.941000"), "longitude": Decimal("30.310000")}, tenant_id)
    ids.vessel_id = _one_or_create(conn, t.vessels, {"name": "Теплоход «Нева-1»"}, {}, tenant_id)
    small_vessel = _one_or_create(conn, t.vessels, {"name": "Катер «Ладога»"}, {}, tenant_id)
    ids.seat_map_id = _seat_map(conn, tenant_id, ids.vessel_id)
    ids.assigned_program_id = _one_or_create(
        conn, t.programs, {"name": "Ночные мосты"},
        {"description": "Развод мостов с воды: Дворцовый, Троицкий, Литейный.", "duration_minutes": 150}, tenant_id)
    ids.free_program_id = _one_or_create(
        conn, t.programs, {"name": "Реки и каналы"},
        {"description": "Обзорная прогулка по Мойке, Фонтанке и Неве.", "duration_minutes": 70}, tenant_id)
    for code, _, _, prices in CATEGORIES:
        _tariffs(conn, tenant_id, ids.assigned_program_id, code, prices)
    _tariffs(conn, tenant_id, ids.free_program_id, None, FREE_TARIFFS)

    first = start or datetime.now(ZONE).date()
    for offset in range(days):
        day = first + timedelta(days=offset)
        for departure in ASSIGNED_DEPARTURES:
            ids.sailings.append(_sailing(conn, tenant_id, ids, ids.assigned_program_id, ids.vessel_id,
                                         ids.seat_map_id, day, departure, 150, "assigned", 150))
        ids.sailings.append(_sailing(conn, tenant_id, ids, ids.free_program_id, small_vessel, None,
                                     day, FREE_DEPARTURE, 70, "free", 40))
    return ids


def _one_or_create(conn: Connection, table, key: dict, values: dict, tenant_id: str) -> str:
    # Filter by tenant explicitly: a superuser seeding bypasses row-level security.
    found = conn.execute(select(table.c.id).where(table.c.tenant_id == tenant_id,
                                                  *[table.c[k] == v for k, v in key.items()])).scalar()
    if found:
        return found
    return conn.execute(table.insert().values(tenant_id=tenant_id, **key, **values).returning(table.c.id)).scalar_one()


def _seat_map(conn: Connection, tenant_id: str, vessel_id: str) -> str:
    found = conn.execute(select(t.seat_maps.c.id).where(t.seat_maps.c.vessel_id == vessel_id,
                                                        t.seat_maps.c.version == 1)).scalar()
    if found:
        _sections(conn, tenant_id, found)  # a database migrated from before sections had names
        return found
    seat_map_id = conn.execute(t.seat_maps.insert().values(
        tenant_id=tenant_id, vessel_id=vessel_id, version=1, name="Нева-1, две палубы").returning(t.seat_maps.c.id)
    ).scalar_one()
    _sections(conn, tenant_id, seat_map_id)
    conn.execute(t.seat_categories.insert(), [
        {"seat_map_id": seat_map_id, "tenant_id": tenant_id, "code": code, "name": name, "color": color}
        for code, name, color, _ in CATEGORIES])
    conn.execute(t.seats.insert(), [{"seat_map_id": seat_map_id, "tenant_id": tenant_id, **seat}
                                    for seat in demo_seats()])
    return seat_map_id


def _sections(conn: Connection, tenant_id: str, seat_map_id: str) -> None:
    for code, name in SECTIONS.items():
        conn.execute(insert(t.seat_map_sections).values(seat_map_id=seat_map_id, tenant_id=tenant_id, code=code,
                                                       name=name)
                     .on_conflict_do_update(index_elements=["seat_map_id", "code"], set_={"name": name}))


def _tariffs(conn: Connection, tenant_id: str, program_id: str, category: str | None, prices: dict) -> None:
    for ticket_type, price in prices.items():
        conn.execute(insert(t.tariffs).values(
            tenant_id=tenant_id, program_id=program_id, ticket_type=ticket_type, seat_category=category,
            name=TICKET_NAMES[ticket_type], price=Decimal(price),
        ).on_conflict_do_nothing(constraint="uq_tariffs_kind"))


def _sailing(conn: Connection, tenant_id: str, ids: DemoIds, program_id: str, vessel_id: str,
             seat_map_id: str | None, day: date, departure: time, duration: int, seating: str,
             capacity: int) -> dict:
    departs_at = datetime.combine(day, departure, ZONE)
    ref = f"{program_id[:8]}-{departs_at:%Y%m%d%H%M}"
    conn.execute(insert(t.sailings).values(
        tenant_id=tenant_id, program_id=program_id, pier_id=ids.pier_id, vessel_id=vessel_id,
        seat_map_id=seat_map_id, departs_at=departs_at, duration_minutes=duration, seating=seating,
        capacity=capacity, supplier="demo", supplier_ref=ref,
    ).on_conflict_do_nothing(constraint="uq_sailings_supplier_ref"))
    sailing_id = conn.execute(select(t.sailings.c.id).where(t.sailings.c.tenant_id == tenant_id,
                                                            t.sailings.c.supplier == "demo",
                                                            t.sailings.c.supplier_ref == ref)).scalar_one()
    return {"id": sailing_id, "departs_at": departs_at, "seating": seating}


def demo_supplier_accounts(conn: Connection, tenant_id: str) -> None:
    """The demo tenant also sells one Astra Marine and one Neva Travel program, from the
    sandbox's stub servers (``make run`` starts them; supplier-sync brings their sailings)."""
    _scope(conn, tenant_id)
    for supplier in ("astra_marine", "neva_travel"):
        conn.execute(insert(t.supplier_accounts).values(tenant_id=tenant_id, supplier=supplier, mode="stub")
                     .on_conflict_do_nothing())


def seed_demo(database_url: str | None = None) -> DemoIds:
    """Seed (or top up) the demo tenant in the configured database."""
    engine = make_owner_engine(database_url or get_settings().database_url)
    try:
        with engine.begin() as conn:
            ids = build_demo(conn)
            demo_supplier_accounts(conn, ids.tenant_id)
    finally:
        engine.dispose()
    log.info("demo tenant ready", extra={"tenant": ids.slug, "sailings": len(ids.sailings)})
    return ids
