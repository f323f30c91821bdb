"""Through the local gateway, as an operator's admin and a buyer would: draw a 60-seat map in
two categories on a new boat, publish it, put a sailing on it, and see it in the storefront;
hold a seat there, block a seat of that sailing, and the storefront shows both at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import requests

from prichal.adapters.db import tables as t
from prichal_localrun.seed import ZONE
from tests.e2e.gateway_harness import NO_BUYER_LIMITS, run_gateway, tenant_host
from tests.staff_support import bearer, staff_token


@pytest.fixture(scope="module")
def gateway(test_env):
    with run_gateway(env={**test_env.as_environ(), **NO_BUYER_LIMITS}, workers=1, threads=4) as url:
        yield url


def test_a_60_seat_map_drawn_published_and_sold_from(gateway, container, demo, owner_engine):
    with owner_engine.begin() as conn:
        vessel = conn.execute(t.vessels.insert().values(tenant_id=demo.tenant_id, name="Катер «Смольный»")
                              .returning(t.vessels.c.id)).scalar_one()
    host = tenant_host(demo.slug)
    admin = {**host, **bearer(staff_token(demo.tenant_id, "admin"))}
    draft = f"{gateway}/function/admin/vessels/{vessel}/seatmap/draft"

    def send(method: str, url: str, body: dict | None = None, status: int = 200) -> dict:
        answer = requests.request(method, url, json=body, headers=admin, timeout=30)
        assert answer.status_code == status, answer.text
        return answer.json()

    send("POST", draft, {"empty": True}, status=201)
    send("PUT", f"{draft}/name", {"name": "Смольный, 60 мест"})
    send("PUT", f"{draft}/sections/deck", {"name": "Палуба", "bounds": {"x": 0, "y": 0, "width": 500, "height": 300}})
    send("PUT", f"{draft}/categories/vip", {"name": "Первые ряды", "color": "#b8860b"})
    send("PUT", f"{draft}/categories/standard", {"name": "Палуба", "color": "#2e8b57"})
    for index, row in enumerate("ABCDEF"):
        send("POST", f"{draft}/rows", {"section": "deck", "row": row, "count": 10, "x": 30, "y": 20 + 45 * index,
                                       "spacing": 45, "category": "vip" if row in "AB" else "standard"})
    assert send("POST", f"{draft}/validate") == {"publishable": True, "issues": []}
    version = send("POST", f"{draft}/publish", {}, status=201)
    assert (version["version"], version["seats"]) == (1, 60)

    departs = datetime.now(ZONE).replace(microsecond=0) + timedelta(days=3)
    with owner_engine.begin() as conn:  # sailings come from the catalog API of another branch
        sailing = conn.execute(t.sailings.insert().values(
            tenant_id=demo.tenant_id, program_id=demo.assigned_program_id, pier_id=demo.pier_id, vessel_id=vessel,
            seat_map_id=version["id"], departs_at=departs, duration_minutes=90, seating="assigned", capacity=60,
        ).returning(t.sailings.c.id)).scalar_one()

    seatmap_url = f"{gateway}/function/catalog/sailings/{sailing}/seatmap"
    seatmap = requests.get(seatmap_url, headers=host, timeout=30).json()
    assert seatmap["seat_map"]["version"] == 1 and len(seatmap["seats"]) == 60
    assert seatmap["counts"] == {"free": 60, "held": 0, "sold": 0, "blocked": 0}
    assert {c["code"]: bool(c["prices"]) for c in seatmap["categories"]} == {"vip": True, "standard": True}

    hold = requests.post(f"{gateway}/function/lock-seat/holds", headers=host, timeout=30,
                         json={"sailing_id": sailing, "seat_ids": ["deck-A-1", "deck-A-2"]})
    assert hold.status_code == 201, hold.text
    refused = requests.post(f"{gateway}/function/admin/sailings/{sailing}/blocks", headers=admin, timeout=30,
                            json={"seat_ids": ["deck-A-1"]})
    assert refused.status_code == 409 and refused.json()["code"] == "seats-held", refused.text
    send("POST", f"{gateway}/function/admin/sailings/{sailing}/blocks", {"seat_ids": ["deck-F-10"], "reason": "crew"})

    counts = requests.get(seatmap_url, headers=host, timeout=30).json()["counts"]
    assert counts == {"free": 57, "held": 2, "sold": 0, "blocked": 1}
