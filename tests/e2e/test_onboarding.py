"""A new operator from nothing, as a new user would do it: the CLI for the first accounts,
then the admin API through the gateway for the tenant and its catalog, a month of sailings,
tariffs, and a ticket bought through the storefront functions; then a sold sailing refuses
to move or to be deleted."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import date, timedelta

import pytest
import requests

from tests.e2e.gateway_harness import NO_BUYER_LIMITS, REPO, free_port, run_gateway, sandbox_env, tenant_host, wait_for

LEGAL = {"name": "ООО «Северный ветер»", "inn": "7801234567", "kpp": "780101001", "ogrn": "1207800012345",
         "address": "190000, Санкт-Петербург, наб. Мойки, д. 1", "bank": "ПАО «Банк Санкт-Петербург»",
         "bic": "044030790", "correspondent_account": "30101810900000000790", "account": "40702810000000012345"}


@pytest.fixture(scope="module")
def gateway(test_env):
    port = free_port()
    # a tenant's settings are cached per process for TENANT_CACHE_SECONDS: opening sales shows within it
    env = {**test_env.as_environ(), **sandbox_env(port), **NO_BUYER_LIMITS, "TENANT_CACHE_SECONDS": "1"}
    with run_gateway(env=env, port=port, workers=1, threads=8) as url:
        yield url


def _cli(test_env, *args: str) -> str:
    """``python -m prichal.admin ...`` as an operator runs it; its standard output."""
    env = {**os.environ, **test_env.as_environ(), "PRICHAL_ENV": "development"}
    done = subprocess.run([sys.executable, "-m", "prichal.admin", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _token(output: str) -> str:
    return output.strip().splitlines()[0].strip()


def test_a_new_operator_sells_its_first_ticket(gateway, test_env):
    slug = f"veter-{uuid.uuid4().hex[:6]}"
    ops = f"ops-{slug}@platform.example.test"
    _cli(test_env, "platform-admin", "--email", ops, "--name", "Ops", "--no-password")
    token = _token(_cli(test_env, "staff-token", "--platform", "--email", ops, "--name", "e2e"))
    platform = {"Authorization": f"Bearer {token}"}
    admin_url = f"{gateway}/function/admin"

    created = requests.post(f"{admin_url}/tenants", headers=platform, timeout=30, json={
        "slug": slug, "name": "Северный ветер", "legal": LEGAL, "hosts": [f"{slug}.example.test"],
        "payment": {"provider": "mock"}, "email_sender": f"tickets@{slug}.example.test",
        "vat": {"rates": [{"valid_from": "2026-01-01", "rate": "22"}]}})
    assert created.status_code == 201, created.text
    assert created.json()["missing"] == [] and created.json()["sales_open"] is False

    boss = f"boss@{slug}.example.test"
    _cli(test_env, "staff-user", slug, "--email", boss, "--name", "Анна", "--role", "admin", "--no-password")
    token = _token(_cli(test_env, "staff-token", slug, "--email", boss, "--name", "e2e"))
    staff = {**tenant_host(slug), "Authorization": f"Bearer {token}"}

    def post(path: str, body: dict) -> dict:
        answer = requests.post(f"{admin_url}{path}", json=body, headers=staff, timeout=60)
        assert answer.status_code in (201, 202), answer.text
        return answer.json()

    pier = post("/piers", {"name": "Причал «Летний сад»", "address": "наб. Кутузова"})
    vessel = post("/vessels", {"name": "Теплоход «Ладога»", "capacity": 60})
    program = post("/programs", {"name": "Белые ночи", "duration_minutes": 90})
    post("/tariffs", {"program_id": program["id"], "ticket_type": "adult", "name": "Взрослый", "price": "1200.00"})
    post("/tariffs", {"program_id": program["id"], "ticket_type": "child", "name": "Детский", "price": "600"})
    first = date.today() + timedelta(days=2)
    month = post("/sailings/generate", {
        "program_id": program["id"], "pier_id": pier["id"], "vessel_id": vessel["id"], "seating": "free",
        "first_day": first.isoformat(), "last_day": (first + timedelta(days=30)).isoformat(),
        "weekdays": [1, 2, 3, 4, 5, 6, 7], "times": ["12:00", "19:00"]})
    assert month["created"] == 62

    day = first.isoformat()
    listed = requests.get(f"{gateway}/function/catalog/sailings", params={"date": day}, headers=tenant_host(slug),
                          timeout=30).json()["sailings"]
    assert len(listed) == 2 and listed[0]["lowest_price"]["price"] == "600.00"
    sailing = listed[0]["id"]

    def order() -> requests.Response:
        hold = requests.post(f"{gateway}/function/lock-seat/holds", json={"sailing_id": sailing, "quantity": 2},
                             headers={**tenant_host(slug), "X-Client-Id": "buyer-1"}, timeout=30)
        assert hold.status_code == 201, hold.text
        return requests.post(f"{gateway}/function/create-order/orders", timeout=60,
                             headers={**tenant_host(slug), "X-Client-Id": "buyer-1"},
                             json={"hold_token": hold.json()["token"],
                                   "customer": {"name": "Иван", "email": "ivan@example.test"},
                                   "items": [{"ticket_type": "adult"}, {"ticket_type": "child"}]})

    closed = order()
    assert closed.status_code == 409 and closed.json()["code"] == "sales-closed"  # not opened yet
    assert requests.post(f"{admin_url}/tenants/{slug}/sales/open", headers=platform, timeout=30).status_code == 200

    placed = wait_for(lambda: (answer := order()).status_code == 201 and answer, timeout=60, interval=1.0,
                      message="an order once sales are open (tenant caches age out)").json()
    assert placed["total"] == "1800.00" and placed["vat_total"] == "324.59"
    page = requests.post(placed["payment"]["confirmation_url"], data={"decision": "pay"}, allow_redirects=False,
                         timeout=60)
    assert page.status_code == 303

    def paid() -> bool:
        seen = requests.get(f"{gateway}/function/create-order/orders/{placed['id']}", timeout=30,
                            headers={**tenant_host(slug), "Authorization": f"Bearer {placed['access_token']}"})
        return seen.json()["status"] == "paid"
    wait_for(paid, timeout=60, message="order paid")

    later = (first + timedelta(days=40)).isoformat()
    moved = requests.patch(f"{admin_url}/sailings/{sailing}", headers=staff, timeout=30,
                           json={"departs_at": f"{later}T12:00:00+03:00"})
    assert moved.status_code == 409 and len(moved.json()["ticket_ids"]) == 2, moved.text
    shrunk = requests.patch(f"{admin_url}/sailings/{sailing}", headers=staff, json={"capacity": 1}, timeout=30)
    assert shrunk.status_code == 409 and shrunk.json()["code"] == "sailing-has-tickets"
    deleted = requests.delete(f"{admin_url}/sailings/{sailing}", headers=staff, timeout=30)
    assert deleted.status_code == 409 and deleted.json()["code"] == "still-in-use"
    assert requests.delete(f"{admin_url}/sailings/{listed[1]['id']}", headers=staff, timeout=30).status_code == 204
