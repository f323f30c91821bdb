"""Tenant onboarding through the admin function and the CLI: a platform admin creates a
tenant, completes it, and only then opens its sales; secrets are references, never shown."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select, update

from prichal.adapters.db import tables as t
from prichal.admin import main as admin_cli
from tests.conftest import free_sailing
from tests.staff_support import bearer, staff_token
from tests.support import call

LEGAL = {"name": "ООО «Северный ветер»", "inn": "7801234567", "kpp": "780101001", "ogrn": "1207800012345",
         "address": "190000, Санкт-Петербург, наб. Мойки, д. 1", "bank": "ПАО «Банк Санкт-Петербург»",
         "bic": "044030790", "correspondent_account": "30101810900000000790", "account": "40702810000000012345"}


@pytest.fixture
def platform(container):
    headers = bearer(staff_token(None, "platform_admin"))

    def request(method: str, path: str, body=None):
        return call("admin", method, path, body=body, headers=headers)
    return request


def _slug() -> str:
    return f"op-{uuid.uuid4().hex[:8]}"


def _stored(engine, slug: str) -> dict | None:
    with engine.connect() as conn:
        row = conn.execute(select(t.tenants).where(t.tenants.c.slug == slug)).mappings().first()
    return dict(row) if row else None


def test_onboarding_lists_what_is_missing_until_sales_may_open(platform, owner_engine, monkeypatch):
    slug = _slug()
    created = platform("POST", "/tenants", {"slug": slug, "name": "Северный ветер"})
    assert created.status == 201 and created.json["sales_open"] is False, created.json
    missing = {".".join(map(str, m["loc"])) for m in created.json["missing"]}
    assert {"legal.inn", "hosts", "payment.provider"} <= missing

    refused = platform("POST", f"/tenants/{slug}/sales/open")
    assert refused.status == 409 and refused.json["code"] == "tenant-not-ready"
    assert refused.headers["Content-Type"] == "application/problem+json" and refused.json["errors"]

    secret = f"yookassa-{slug}"
    changed = platform("PATCH", f"/tenants/{slug}", {
        "legal": LEGAL, "hosts": [f"{slug}.example.test"], "timezone": "Europe/Moscow",
        "payment": {"provider": "yookassa", "shop_id": "123456", "secret_name": secret},
        "vat": {"included": True, "tax_system_code": 1, "rates": [{"valid_from": "2026-01-01", "rate": "22"}]},
        "brand": {"display_name": "Ветер", "primary_color": "#0a3d62", "logo_url": "https://cdn.example.test/l.png"},
        "email_sender": "tickets@veter.example.test",
        "refund_policy": {"tiers": [{"hours_before": 24, "fee_percent": "0"}], "after_last": "refuse"}})
    assert changed.status == 200, changed.json
    assert [m["loc"] for m in changed.json["missing"]] == [["payment", "secret_name"]]  # not mounted yet
    monkeypatch.setenv(secret.upper().replace("-", "_"), "live_the-key")
    ready = platform("GET", f"/tenants/{slug}/readiness").json
    assert ready == {"ready": True, "missing": []}
    opened = platform("POST", f"/tenants/{slug}/sales/open")
    assert opened.status == 200 and opened.json["sales_open"] is True
    assert "live_the-key" not in json.dumps(opened.json) and "storefront_key" not in opened.json
    assert opened.json["payment"] == {"provider": "yookassa", "shop_id": "123456", "secret_name": secret}

    tenant_id = opened.json["id"]
    with owner_engine.connect() as conn:
        actions = list(conn.execute(select(t.staff_audit.c.action).where(t.staff_audit.c.tenant_id == tenant_id)
                                    .order_by(t.staff_audit.c.id)).scalars())
        rates = conn.execute(select(t.tenant_vat_periods.c.rate).where(t.tenant_vat_periods.c.tenant_id == tenant_id)
                             ).scalars().all()
    assert actions == ["tenant.created", "tenant.updated", "tenant.sales_opened"]
    assert rates == ["22"]


def test_a_secret_key_is_refused_and_nothing_is_written(platform, owner_engine):
    slug = _slug()
    answer = platform("POST", "/tenants", {"slug": slug, "name": "X", "legal": LEGAL,
                                           "payment": {"provider": "yookassa", "shop_id": "1", "secret_name": "k",
                                                       "secret_key": "live_abc"}})
    assert answer.status == 422 and ["payment", "secret_key"] in [e["loc"] for e in answer.json["errors"]]
    assert "live_abc" not in answer.raw.decode()
    assert _stored(owner_engine, slug) is None


@pytest.mark.parametrize(("body", "loc"), [
    ({"legal": {**LEGAL, "bic": "12"}}, ["legal", "bic"]),
    ({"hosts": ["bad host"]}, ["hosts", 0]),
    ({"timezone": "Europe/Nowhere"}, ["timezone"]),
    ({"brand": {"primary_color": "red"}}, ["brand", "primary_color"]),
    ({"email_sender": "not an address"}, ["body", "email_sender"]),
])
def test_bad_onboarding_input_writes_nothing(platform, owner_engine, body, loc):
    slug = _slug()
    answer = platform("POST", "/tenants", {"slug": slug, "name": "X", **body})
    assert answer.status == 422 and answer.headers["Content-Type"] == "application/problem+json"
    assert loc in [e["loc"] for e in answer.json["errors"]] or loc[1:] in [e["loc"] for e in answer.json["errors"]]
    assert _stored(owner_engine, slug) is None


def test_hosts_of_another_tenant_and_taken_slugs_conflict(platform, demo):
    assert platform("POST", "/tenants", {"slug": demo.slug, "name": "X"}).status == 409
    taken = platform("POST", "/tenants", {"slug": _slug(), "name": "X", "hosts": [f"{demo.slug}.example.test"]})
    assert taken.status == 409 and taken.json["hosts"] == [f"{demo.slug}.example.test"]


def test_only_platform_staff_onboard(container, demo):
    tenant_admin = bearer(staff_token(demo.tenant_id, "admin"))
    assert call("admin", "POST", "/tenants", body={"slug": _slug(), "name": "X"}, headers=tenant_admin).status == 401
    assert call("admin", "GET", "/tenants").status == 401


def test_a_tenant_that_has_not_opened_sales_takes_no_order(container, demo, owner_engine):
    with owner_engine.begin() as conn:
        conn.execute(update(t.tenants).where(t.tenants.c.id == demo.tenant_id).values(sales_open=False))
    container.tenant_resolver.forget()
    hold = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers={"X-Client-Id": "b"},
                body={"sailing_id": free_sailing(demo), "quantity": 1})
    assert hold.status == 201
    order = call("create-order", "POST", "/orders", tenant=demo.slug, headers={"X-Client-Id": "b"}, body={
        "hold_token": hold.json["token"], "customer": {"name": "Анна", "email": "anna@example.test"},
        "items": [{"ticket_type": "adult"}]})
    assert order.status == 409 and order.json["code"] == "sales-closed", order.json
    with owner_engine.connect() as conn:
        assert conn.execute(select(t.orders.c.id).where(t.orders.c.tenant_id == demo.tenant_id)).all() == []


def test_the_cli_onboards_a_tenant_from_nothing(container, owner_engine, tmp_path, capsys, monkeypatch):
    slug = _slug()
    settings = tmp_path / "tenant.json"
    settings.write_text(json.dumps({"legal": LEGAL, "payment": {"provider": "mock"}}), encoding="utf-8")
    assert admin_cli(["tenant-onboard", slug, "--name", "Волна", "--host", f"{slug}.example.test",
                      "--file", str(settings)]) == 0
    assert admin_cli(["tenant-readiness", slug]) == 0
    assert admin_cli(["tenant-open-sales", slug]) == 0
    stored = _stored(owner_engine, slug)
    assert stored["sales_open"] is True and stored["payment_provider"] == "mock"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hosts": "one"}))
    assert admin_cli(["tenant-update", slug, "--file", str(bad)]) == 2
    assert "hosts" in capsys.readouterr().err
