"""Tenant onboarding on fakes: validation writes nothing, readiness lists what is missing,
sales open only when nothing is, secrets are references and never shown."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

import pytest

from prichal.domain.errors import Conflict, InvalidInput
from prichal.domain.onboarding import TenantRecord
from prichal.services.tenant_onboarding import TenantNotReady, TenantOnboarding

LEGAL = {"name": "ООО «Северный ветер»", "inn": "7801234567", "kpp": "780101001", "ogrn": "1207800012345",
         "address": "Санкт-Петербург, наб. Мойки, 1", "bank": "ПАО «Банк»", "bic": "044030790",
         "correspondent_account": "30101810900000000790", "account": "40702810000000012345"}
PAYMENT = {"provider": "yookassa", "shop_id": "123456", "secret_name": "yookassa-veter"}


class FakeRecords:
    def __init__(self) -> None:
        self.rows: dict[str, TenantRecord] = {}

    def by_slug(self, slug: str, for_update: bool = False) -> TenantRecord | None:
        return next((t for t in self.rows.values() if t.slug == slug), None)

    def all(self) -> list[TenantRecord]:
        return sorted(self.rows.values(), key=lambda t: t.slug)

    def insert(self, slug: str, values: dict[str, Any]) -> str:
        tenant_id = str(uuid.uuid4())
        fields = {k: v for k, v in values.items() if k in TenantRecord.__dataclass_fields__}
        self.rows[tenant_id] = TenantRecord(id=tenant_id, slug=slug, **fields)
        return tenant_id

    def update(self, tenant_id: str, values: dict[str, Any]) -> None:
        self.rows[tenant_id] = dataclasses.replace(self.rows[tenant_id], **values)

    def hosts_elsewhere(self, hosts: list[str], tenant_id: str | None) -> dict[str, str]:
        return {h: t.slug for t in self.rows.values() if t.id != tenant_id for h in t.hosts if h in hosts}

    def set_hosts(self, tenant_id: str, hosts: list[str]) -> None:
        self.update(tenant_id, {"hosts": tuple(hosts)})

    def set_vat_periods(self, tenant_id: str, periods: list) -> None:
        self.update(tenant_id, {"vat_periods": tuple(periods)})


class FakeUnit:
    """Writes land only on commit, as in a transaction."""

    def __init__(self, store: FakeStore) -> None:
        self._store = store
        self.tenants = FakeRecords()
        self.tenants.rows = dict(store.rows)
        self.audited: list[tuple] = []

    def __enter__(self) -> FakeUnit:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def scope(self, tenant_id: str) -> None:
        pass

    def audit_for(self, tenant_id: str) -> Any:
        unit = self

        class Audit:
            def record(self, actor: Any, action: str, target_type: str, target_id: str, **data: Any) -> None:
                unit.audited.append((tenant_id, actor, action, data))
        return Audit()

    def commit(self) -> None:
        self._store.rows = dict(self.tenants.rows)
        self._store.audit.extend(self.audited)


class FakeStore:
    def __init__(self) -> None:
        self.rows: dict[str, TenantRecord] = {}
        self.audit: list[tuple] = []


@pytest.fixture
def store() -> FakeStore:
    return FakeStore()


@pytest.fixture
def onboarding(store: FakeStore) -> TenantOnboarding:
    return TenantOnboarding(unit=lambda: FakeUnit(store), secret_found=lambda name: name == "yookassa-veter",
                            accepted_providers=("yookassa",))


def test_a_new_tenant_starts_closed_with_the_list_of_what_is_missing(onboarding, store):
    view = onboarding.create("platform", "veter", "Северный ветер", {})
    assert view["sales_open"] is False
    missing = {".".join(map(str, m["loc"])) for m in view["missing"]}
    assert {"legal.inn", "legal.account", "hosts", "payment.provider"} <= missing
    assert store.audit[0][2] == "tenant.created"
    with pytest.raises(TenantNotReady) as refused:
        onboarding.open_sales("platform", "veter")
    assert refused.value.extra["errors"] and store.rows[view["id"]].sales_open is False


def test_complete_tenant_opens_sales_and_every_change_is_audited(onboarding, store):
    onboarding.create("platform", "veter", "Северный ветер", {"hosts": ["Tickets.Veter.Example"],
                                                              "legal": LEGAL, "payment": PAYMENT,
                                                              "vat": {"rates": [{"valid_from": "2026-01-01",
                                                                                 "rate": "22"}]}})
    assert onboarding.readiness("veter") == []
    view = onboarding.open_sales("platform", "veter")
    assert view["sales_open"] is True and view["hosts"] == ["tickets.veter.example"]
    assert view["payment"] == PAYMENT  # the secret's name, never a key
    assert [entry[2] for entry in store.audit] == ["tenant.created", "tenant.sales_opened"]


def test_a_secret_that_is_not_mounted_is_missing(onboarding):
    onboarding.create("platform", "veter", "В", {"hosts": ["a.example"], "legal": LEGAL,
                                                 "payment": {**PAYMENT, "secret_name": "yookassa-other"}})
    assert [m.loc for m in onboarding.readiness("veter")] == [("payment", "secret_name")]


@pytest.mark.parametrize(("values", "loc"), [
    ({"legal": {**LEGAL, "inn": "12"}}, ["legal", "inn"]),
    ({"legal": {"name": "ООО"}}, ["legal", "inn"]),
    ({"payment": {**PAYMENT, "secret_key": "live_abc"}}, ["payment", "secret_key"]),
    ({"payment": {"provider": "mock"}}, ["payment", "provider"]),
    ({"hosts": ["no_host"]}, ["hosts", 0]),
    ({"timezone": "Mars/Olympus"}, ["timezone"]),
    ({"brand": {"primary_color": "red;background:url(x)"}}, ["brand", "primary_color"]),
    ({"brand": {"logo_url": "http://plain.example/logo.png"}}, ["brand", "logo_url"]),
    ({"refund_policy": {"tiers": "soon"}}, ["refund_policy", "tiers"]),
    ({"vat": {"rates": [{"valid_from": "2026-01-01", "rate": "18"}]}}, ["vat", "rates", 0, "rate"]),
])
def test_bad_input_names_the_field_and_writes_nothing(onboarding, store, values, loc):
    with pytest.raises(InvalidInput) as refused:
        onboarding.create("platform", "veter", "В", values)
    assert loc in [e["loc"] for e in refused.value.errors]
    assert store.rows == {} and store.audit == []


def test_bad_slug_and_taken_hosts_are_refused(onboarding, store):
    with pytest.raises(InvalidInput):
        onboarding.create("platform", "Bad Slug", "В", {})
    onboarding.create("platform", "veter", "В", {"hosts": ["a.example"]})
    with pytest.raises(Conflict):
        onboarding.create("platform", "volna", "В", {"hosts": ["a.example"]})
    with pytest.raises(Conflict):
        onboarding.create("platform", "veter", "В", {})
    assert len(store.rows) == 1


def test_a_selling_tenant_cannot_be_left_incomplete(onboarding, store):
    onboarding.create("platform", "veter", "В", {"hosts": ["a.example"], "legal": LEGAL, "payment": PAYMENT})
    onboarding.open_sales("platform", "veter")
    with pytest.raises(TenantNotReady):
        onboarding.update("platform", "veter", {"hosts": []})
    changed = onboarding.update("platform", "veter", {"brand": {"display_name": "Ветер"}, "email_sender":
                                                      "tickets@veter.example"})
    assert changed["brand"] == {"display_name": "Ветер", "email_from": "tickets@veter.example"}
    assert changed["email_sender"] == "tickets@veter.example"
