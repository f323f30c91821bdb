"""What a seller needs before create-order writes anything: a payment provider this
installation accepts (``mock`` only in sandbox mode), and return URLs on its own hosts."""

from __future__ import annotations

import uuid
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from prichal.adapters.db import tables as t
from prichal.adapters.payments.base import ProviderPayment
from prichal.admin import main as admin
from prichal.config import get_settings
from prichal.domain.orders import Customer
from prichal.domain.return_urls import ReturnUrlRefused
from prichal.domain.webhook_tokens import webhook_token
from prichal.services.checkout import ItemRequest, OrderRequest
from tests.conftest import assigned_sailing
from tests.support import call

BUYER = {"X-Client-Id": "buyer-setup"}
CUSTOMER = {"name": "Анна", "email": "anna@example.test"}
SEATS = ["main-D-1", "main-D-2"]


def _written(engine, tenant_id: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {table.name: len(conn.execute(select(table.c.tenant_id).where(table.c.tenant_id == tenant_id)).all())
                for table in (t.orders, t.tickets, t.payments, t.order_items, t.order_log, t.outbox)}


def _hold(demo, seats: list[str] = SEATS) -> str:
    answer = call("lock-seat", "POST", "/holds", tenant=demo.slug, headers=BUYER,
                  body={"sailing_id": assigned_sailing(demo), "seat_ids": seats})
    assert answer.status == 201, answer.json
    return answer.json["token"]


def _order(demo, token: str, **extra: Any):
    return call("create-order", "POST", "/orders", tenant=demo.slug, headers=BUYER,
                body={"hold_token": token, "customer": CUSTOMER,
                      "items": [{"seat_id": seat, "ticket_type": "adult"} for seat in SEATS], **extra})


def _set_provider(engine, tenant_id: str, provider: str | None, settings: dict | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(update(t.tenants).where(t.tenants.c.id == tenant_id)
                     .values(payment_provider=provider, payment_settings=settings or {}))


def _refused_without_writing(demo, owner_engine, **extra: Any) -> dict:
    token = _hold(demo)
    before = _written(owner_engine, demo.tenant_id)
    answer = _order(demo, token, **extra)
    assert _written(owner_engine, demo.tenant_id) == before
    assert call("lock-seat", "GET", f"/holds/{token}", tenant=demo.slug).json["status"] == "active"
    assert call("lock-seat", "DELETE", f"/holds/{token}", tenant=demo.slug, headers=BUYER).status == 204
    assert answer.headers["Content-Type"] == "application/problem+json"
    return {"status": answer.status, **answer.json}


# --- the provider -------------------------------------------------------------------------

def test_a_new_tenant_has_no_provider(container, owner_engine) -> None:
    with owner_engine.begin() as conn:
        conn.execute(t.tenants.insert().values(slug="no-provider-yet", name="New"))
    try:
        tenant = container.tenants.by_slug("no-provider-yet")
        assert tenant is not None and tenant.payment_provider is None
    finally:
        with owner_engine.begin() as conn:
            conn.execute(t.tenants.delete().where(t.tenants.c.slug == "no-provider-yet"))


def test_the_demo_seed_chooses_the_sandbox_explicitly(container, demo) -> None:
    assert container.tenants.by_slug(demo.slug).payment_provider == "mock"


def test_a_tenant_without_provider_cannot_sell(container, demo, owner_engine) -> None:
    _set_provider(owner_engine, demo.tenant_id, None)
    problem = _refused_without_writing(demo, owner_engine)
    assert (problem["status"], problem["code"], problem["missing"]) == (503, "payment-not-configured",
                                                                        ["payment_provider"])


def test_a_yookassa_tenant_without_its_key_cannot_sell(container, demo, other_demo, owner_engine) -> None:
    _set_provider(owner_engine, demo.tenant_id, "yookassa", {"shop_id": "123456", "secret_name": "yookassa-nobody"})
    problem = _refused_without_writing(demo, owner_engine)
    assert problem["code"] == "payment-not-configured" and problem["provider"] == "yookassa"
    assert len(problem["missing"]) == 1 and "yookassa-nobody" in problem["missing"][0]
    _set_provider(owner_engine, other_demo.tenant_id, "yookassa", {})  # (functions cache a tenant a while)
    assert _refused_without_writing(other_demo, owner_engine)["missing"] == ["shop_id", "secret_name"]


def test_the_sandbox_provider_cannot_sell_with_sandbox_mode_off(container, demo, owner_engine) -> None:
    container.settings.payments_sandbox = False
    problem = _refused_without_writing(demo, owner_engine)
    assert problem["code"] == "payment-not-configured" and problem["provider"] == "mock"
    assert "sandbox mode" in problem["detail"]


def test_the_webhook_refuses_sandbox_notifications_with_sandbox_mode_off(container, demo) -> None:
    body = {"type": "notification", "event": "payment.succeeded", "object": {"id": "p-1"}}
    path = f"/mock/{demo.slug}/{webhook_token(container.settings.webhook_url_key, 'mock', demo.slug)}"
    container.settings.payments_sandbox = False
    answer = call("payment-webhook", "POST", path, body=body)
    assert answer.status == 404, answer.json
    container.settings.payments_sandbox = True  # then it is heard (and re-read; here: no sandbox answers)
    assert call("payment-webhook", "POST", path, body=body).status != 404


@pytest.fixture
def admin_env(monkeypatch: pytest.MonkeyPatch, test_env):
    get_settings.cache_clear()
    yield monkeypatch
    get_settings.cache_clear()


def _provider(engine, tenant_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(t.tenants.c.payment_provider).where(t.tenants.c.id == tenant_id)).scalar()


@pytest.mark.parametrize("env", [{"PRICHAL_ENV": "production"}, {"PAYMENTS_SANDBOX": "false"}])
def test_the_admin_refuses_the_sandbox_provider_outside_sandbox_mode(demo, owner_engine, admin_env, capsys,
                                                                      env: dict[str, str]) -> None:
    _set_provider(owner_engine, demo.tenant_id, None)
    for key, value in env.items():
        admin_env.setenv(key, value)
    with pytest.raises(SystemExit) as refused:
        admin(["payments", demo.slug, "--provider", "mock"])
    assert refused.value.code == 2 and "sandbox mode" in capsys.readouterr().err
    assert _provider(owner_engine, demo.tenant_id) is None


def test_the_admin_sets_the_sandbox_provider_in_development(demo, owner_engine, admin_env) -> None:
    _set_provider(owner_engine, demo.tenant_id, None)
    assert admin(["payments", demo.slug, "--provider", "mock"]) == 0
    assert _provider(owner_engine, demo.tenant_id) == "mock"


# --- the return URL -----------------------------------------------------------------------

class RecordingProvider:
    """Stands in for the provider: records the payment it is asked for."""

    def __init__(self) -> None:
        self.created: list[dict[str, Any]] = []

    def create_payment(self, **request: Any) -> ProviderPayment:
        self.created.append(request)
        return ProviderPayment(id=f"pay-{uuid.uuid4()}", status="pending", amount=Decimal(request["amount"]),
                               currency="RUB", paid=False, confirmation_url="https://pay.example/confirm")


@pytest.fixture
def provider(container, monkeypatch: pytest.MonkeyPatch) -> RecordingProvider:
    fake = RecordingProvider()
    monkeypatch.setattr(container, "payment_client", lambda account: fake)
    return fake


def _stored_return_url(engine, order_id: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(t.orders.c.return_url).where(t.orders.c.id == order_id)).scalar()


def test_a_return_url_on_the_tenants_host_is_encoded_and_used(container, demo, owner_engine, provider) -> None:
    host = container.tenants.by_slug(demo.slug).hosts[0]
    answer = _order(demo, _hold(demo), return_url=f"https://{host.upper()}/спасибо?заказ=1 2#итог".replace(" ", "%20"))
    assert answer.status == 201, answer.json
    expected = f"https://{host}/%D1%81%D0%BF%D0%B0%D1%81%D0%B8%D0%B1%D0%BE?%D0%B7%D0%B0%D0%BA%D0%B0%D0%B7=1%202" \
               "#%D0%B8%D1%82%D0%BE%D0%B3"
    assert provider.created[-1]["return_url"] == expected
    assert _stored_return_url(owner_engine, answer.json["id"]) == expected


def test_an_idn_storefront_host_is_matched_in_either_form(container, demo, owner_engine, provider) -> None:
    with owner_engine.begin() as conn:
        conn.execute(t.tenant_domains.insert().values(host=f"{demo.slug}.пример.рф", tenant_id=demo.tenant_id))
    answer = _order(demo, _hold(demo), return_url=f"https://{demo.slug}.ПРИМЕР.рф/ok")
    assert answer.status == 201, answer.json
    assert provider.created[-1]["return_url"] == f"https://{demo.slug}.xn--e1afmkfd.xn--p1ai/ok"


REFUSED = {
    "another host": ("https://evil.example/phish", "return_url_host"),
    "a host that merely ends like it": ("https://evil-{host}/", "return_url_host"),
    "the host in the query": ("https://evil.example/?u=https://{host}/", "return_url_host"),
    "user info before the host": ("https://{host}@evil.example/", "return_url_userinfo"),
    "user info on the host": ("https://someone@{host}/", "return_url_userinfo"),
    "a backslash": ("https://evil.example\\@{host}/", "return_url_characters"),
    "a space": ("https://{host}/a b", "return_url_characters"),
    "plain http": ("http://{host}/", "return_url_scheme"),
    "a bad port": ("https://{host}:99999/", "return_url_syntax"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_a_foreign_or_malformed_return_url_is_refused(container, demo, owner_engine, provider, case: str) -> None:
    url, reason = REFUSED[case]
    host = container.tenants.by_slug(demo.slug).hosts[0]
    problem = _refused_without_writing(demo, owner_engine, return_url=url.format(host=host))
    assert (problem["status"], problem["code"]) == (422, "return-url-refused"), problem
    assert problem["errors"] == [{"loc": ["return_url"], "type": reason, "msg": problem["errors"][0]["msg"]}]
    assert provider.created == []


# Control characters never reach the return-URL rule: every text field refuses them first
# (prichal.entrypoints.fields); the rule refuses them too (tests/unit/test_return_urls.py).
CONTROL = {"a control character": "https://{host}/\r\nSet-Cookie: x=1", "a NUL": "https://{host}/\x00"}


@pytest.mark.parametrize("case", CONTROL, ids=list(CONTROL))
def test_a_return_url_with_control_characters_is_refused(container, demo, owner_engine, provider, case: str) -> None:
    host = container.tenants.by_slug(demo.slug).hosts[0]
    problem = _refused_without_writing(demo, owner_engine, return_url=CONTROL[case].format(host=host))
    assert (problem["status"], problem["code"]) == (422, "validation-failed"), problem
    assert [error["loc"][-1] for error in problem["errors"]] == ["return_url"], problem
    assert provider.created == []


def _place_directly(checkout, tenant, demo, url: str, seats: list[str]):
    return checkout.place(tenant, OrderRequest(
        hold_token=_hold(demo, seats), customer=Customer("Анна", "anna@example.test", None),
        items=[ItemRequest(seat, "adult") for seat in seats], client_id=BUYER["X-Client-Id"], return_url=url))


def test_http_on_localhost_only_in_development(container, demo, owner_engine, provider) -> None:
    """The hosts come from the database; here the tenant is given ``localhost`` in memory."""
    tenant = container.tenants.by_slug(demo.slug)
    local = replace(tenant, hosts=(*tenant.hosts, "localhost"))
    _place_directly(container.checkout, local, demo, "http://LOCALHOST:3000/back", ["main-E-1"])
    assert provider.created[-1]["return_url"] == "http://localhost:3000/back"

    container.settings.prichal_env = "production"
    del container.__dict__["checkout"]  # rebuilt for a production installation
    before = _written(owner_engine, demo.tenant_id)
    with pytest.raises(ReturnUrlRefused) as refused:
        _place_directly(container.checkout, local, demo, "http://localhost:3000/back", ["main-E-2"])
    assert refused.value.errors[0]["type"] == "return_url_scheme"
    assert _written(owner_engine, demo.tenant_id) == before
