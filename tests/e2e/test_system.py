"""The real stack.yml through the local gateway, as a storefront would use it."""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
import requests

from prichal_localrun.seed import ZONE
from tests.conftest import assigned_sailing
from tests.e2e.gateway_harness import INTERNAL, run_gateway


@pytest.fixture(scope="module")
def gateway(test_env):
    # As a benchmark does: this machine stands for a proxy in front of many buyers, whose
    # X-Forwarded-For and X-Tenant the gateway then passes on.
    env = {**test_env.as_environ(), "GATEWAY_TRUSTED_PROXIES": "127.0.0.1/32"}
    with run_gateway(env=env, seed=True, workers=2, threads=8) as url:
        yield url


@pytest.mark.parametrize("path", ["expire-holds", "outbox-relay", "issue-documents", "catalog/metrics",
                                  "lock-seat/metrics", "payment-webhook/metrics"])
def test_internal_functions_refuse_callers_without_the_credential(gateway, path):
    method = requests.get if path.endswith("metrics") else requests.post
    anonymous = method(f"{gateway}/function/{path}", timeout=30)
    assert anonymous.status_code == 401, anonymous.text
    assert anonymous.headers["Content-Type"] == "application/problem+json"
    assert anonymous.json()["code"] == "internal-credential-required"
    wrong = method(f"{gateway}/function/{path}", headers={"Authorization": "Bearer guessed"}, timeout=30)
    assert wrong.status_code == 403 and wrong.json()["code"] == "internal-credential-invalid"


def test_internal_functions_answer_the_platform(gateway):
    assert requests.post(f"{gateway}/function/outbox-relay", headers=INTERNAL, timeout=30).status_code == 200
    metrics = requests.get(f"{gateway}/function/catalog/metrics", headers=INTERNAL, timeout=30)
    assert metrics.status_code == 200 and "prichal_requests_total" in metrics.text


def test_demo_tenant_by_host_with_catalog_and_seat_map(gateway):
    tomorrow = (datetime.now(ZONE) + timedelta(days=1)).date().isoformat()
    listing = requests.get(f"{gateway}/function/catalog/sailings", params={"date": tomorrow}, timeout=10)
    assert listing.status_code == 200, listing.text
    sailings = listing.json()["sailings"]
    assert [s["seating"] for s in sailings].count("free") == 1 and len(sailings) == 4
    assigned = next(s for s in sailings if s["seating"] == "assigned")
    assert assigned["available"] == 148 and assigned["lowest_price"]["price"] == "900.00"

    seatmap = requests.get(f"{gateway}/function/catalog/sailings/{assigned['id']}/seatmap", timeout=10).json()
    assert len(seatmap["seats"]) == 150 and seatmap["counts"] == {"free": 148, "held": 0, "sold": 0, "blocked": 2}
    standard = next(c for c in seatmap["categories"] if c["code"] == "standard")
    adult = next(p for p in standard["prices"] if p["ticket_type"] == "adult")
    assert adult == {**adult, "price": "1500.00", "vat_rate": "22", "vat_amount": "270.49", "vat_included": True}
    assert Decimal(adult["vat_amount"]) == (Decimal(adult["price"]) * 22 / 122).quantize(Decimal("0.01"))


def test_every_function_publishes_openapi(gateway):
    for name in ("hello", "catalog", "lock-seat", "expire-holds"):
        spec = requests.get(f"{gateway}/function/{name}/openapi.json", timeout=10).json()
        assert spec["openapi"].startswith("3.") and spec["servers"] == [{"url": f"/function/{name}"}]
    paths = requests.get(f"{gateway}/function/lock-seat/openapi.json", timeout=10).json()["paths"]
    assert {"post"} <= set(paths["/holds"]) and {"get", "patch", "delete"} <= set(paths["/holds/{token}"])


def test_hundreds_of_buyers_race_through_the_gateway(gateway, demo):
    """Each seat goes to exactly one hold; the seat map agrees with the answers."""
    sailing = assigned_sailing(demo)
    url = f"{gateway}/function/lock-seat/holds"
    seatmap_url = f"{gateway}/function/catalog/sailings/{sailing}/seatmap"
    headers = {"X-Tenant": demo.slug}
    before = requests.get(seatmap_url, headers=headers, timeout=10).json()["counts"]
    assert before == {"free": 148, "held": 0, "sold": 0, "blocked": 2}

    seats = [f"main-{row}-{n}" for row in "BC" for n in range(1, 13)]  # 24 contested seats
    rng = random.Random(11)
    wanted = [rng.sample(seats, rng.randint(1, 3)) for _ in range(300)]
    start = threading.Barrier(48)
    local = threading.local()

    def buy(index: int):
        if not hasattr(local, "session"):
            local.session = requests.Session()
        if index < 48:
            start.wait()
        buyer = {**headers, "X-Client-Id": f"buyer-{index}", "X-Forwarded-For": f"10.1.{index // 250}.{index % 250}"}
        answer = local.session.post(url, json={"sailing_id": sailing, "seat_ids": wanted[index]}, headers=buyer,
                                    timeout=30)
        return wanted[index], answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=48) as pool:
        results = list(pool.map(buy, range(len(wanted))))

    assert {status for _, status, _ in results} <= {201, 409}, Counter(status for _, status, _ in results)
    won = Counter(seat for asked, status, body in results if status == 201 for seat in body["seat_ids"])
    assert won and max(won.values()) == 1
    after = requests.get(seatmap_url, headers=headers, timeout=10).json()
    held = {seat["id"] for seat in after["seats"] if seat["status"] == "held"}
    assert held == set(won)
    assert after["counts"]["held"] == len(won) and after["counts"]["free"] == 148 - len(won)


def test_release_through_the_gateway_frees_the_seat_map(gateway, demo):
    sailing = assigned_sailing(demo)
    headers = {"X-Tenant": demo.slug, "X-Client-Id": "one-buyer"}
    created = requests.post(f"{gateway}/function/lock-seat/holds", headers=headers, timeout=10,
                            json={"sailing_id": sailing, "seat_ids": ["upper-A-1", "upper-A-2"]})
    assert created.status_code == 201
    seatmap_url = f"{gateway}/function/catalog/sailings/{sailing}/seatmap"
    statuses = {s["id"]: s["status"] for s in requests.get(seatmap_url, headers=headers, timeout=10).json()["seats"]}
    assert statuses["upper-A-1"] == "held"
    token = created.json()["token"]
    released = requests.delete(f"{gateway}/function/lock-seat/holds/{token}", headers=headers, timeout=10)
    assert released.status_code == 204
    statuses = {s["id"]: s["status"] for s in requests.get(seatmap_url, headers=headers, timeout=10).json()["seats"]}
    assert statuses["upper-A-1"] == "free"
