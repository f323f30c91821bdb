"""Tenant onboarding by the platform: create a tenant, complete it, open its sales.

One service for the admin API and the command line (``prichal/cli_tenants.py``). A new
tenant starts with sales closed; ``open_sales`` refuses (409, with the list) until
``readiness`` finds nothing missing: requisites as invoices need them, a storefront host,
a payment account whose secret key exists in the secret store, a known time zone and tax
system. The payment secret key is never accepted nor stored: the account names it
(``secret_name``), as the payment functions read it (``prichal.config.read_secret``).
Every change writes one audit record in the tenant's log, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Protocol

from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.onboarding import (
    Missing,
    TenantRecord,
    brand_errors,
    host_problems,
    normalize_host,
    payment_problems,
    readiness,
    refund_policy_problems,
    requisites_errors,
    slug_problems,
    timezone_problems,
    vat_period_problems,
)
from prichal.domain.vat import VatPeriod, VatRate

DEFAULT_REFUND_POLICY = {"cutoff_hours": 24, "fee_percent": "0"}


class TenantNotReady(Conflict):
    code = "tenant-not-ready"
    title = "The tenant cannot sell yet"


class TenantRecordsPort(Protocol):
    def by_slug(self, slug: str, for_update: bool = False) -> TenantRecord | None: ...
    def all(self) -> list[TenantRecord]: ...
    def insert(self, slug: str, values: dict[str, Any]) -> str: ...
    def update(self, tenant_id: str, values: dict[str, Any]) -> None: ...
    def hosts_elsewhere(self, hosts: list[str], tenant_id: str | None) -> dict[str, str]: ...
    def set_hosts(self, tenant_id: str, hosts: list[str]) -> None: ...
    def set_vat_periods(self, tenant_id: str, periods: list[VatPeriod]) -> None: ...


class TenantUnit(Protocol):
    tenants: TenantRecordsPort

    def scope(self, tenant_id: str) -> None: ...
    def audit_for(self, tenant_id: str) -> Any: ...
    def commit(self) -> None: ...


def tenant_view(tenant: TenantRecord, missing: list[Missing]) -> dict[str, Any]:
    """What the API shows of a tenant: never the storefront key, never a secret (only its name)."""
    payment = None
    if tenant.payment_provider:
        payment = {"provider": tenant.payment_provider,
                   **{k: v for k, v in tenant.payment_settings.items() if k in ("shop_id", "secret_name", "api_url")}}
    return {
        "id": tenant.id, "slug": tenant.slug, "name": tenant.name, "brand": tenant.brand, "legal": tenant.legal,
        "hosts": list(tenant.hosts), "timezone": tenant.timezone,
        "vat": {"included": tenant.vat_included, "tax_system_code": tenant.tax_system_code,
                "rates": [{"valid_from": p.valid_from.isoformat(), "rate": p.rate.value} for p in tenant.vat_periods]},
        "payment": payment, "refund_policy": tenant.refund_policy, "email_sender": tenant.brand.get("email_from"),
        "sales_open": tenant.sales_open, "active": tenant.active,
        "missing": [m.as_error() for m in missing],
    }


class TenantOnboarding:
    def __init__(self, *, unit: Callable[[], AbstractContextManager[TenantUnit]],
                 secret_found: Callable[[str], bool], accepted_providers: tuple[str, ...],
                 forget: Callable[[TenantRecord], None] = lambda tenant: None) -> None:
        """``forget``: drop the tenant from this process's caches after a change."""
        self._unit = unit
        self._secret_found = secret_found
        self._accepted = accepted_providers
        self._forget = forget

    # --- reads ---------------------------------------------------------------------------
    def list(self) -> list[dict[str, Any]]:
        with self._unit() as unit:
            return [tenant_view(t, self._missing(t)) for t in unit.tenants.all()]

    def get(self, slug: str) -> dict[str, Any]:
        with self._unit() as unit:
            tenant = self._found(unit, slug)
            return tenant_view(tenant, self._missing(tenant))

    def readiness(self, slug: str) -> list[Missing]:
        with self._unit() as unit:
            return self._missing(self._found(unit, slug))

    def _missing(self, tenant: TenantRecord) -> list[Missing]:
        return readiness(tenant, self._secret_found, self._accepted)

    # --- writes --------------------------------------------------------------------------
    def create(self, actor: Any, slug: str, name: str, values: dict[str, Any]) -> dict[str, Any]:
        """A new tenant with sales closed; ``values`` as ``update`` takes them."""
        problems = slug_problems(slug)
        columns, hosts, periods, more = self._columns(values, None)
        problems.extend(more)
        if problems:
            raise InvalidInput("the tenant cannot be created", errors=problems)
        with self._unit() as unit:
            if unit.tenants.by_slug(slug) is not None:
                raise Conflict(f"a tenant {slug!r} exists already", slug=slug)
            self._check_hosts_free(unit, hosts or [], None)
            tenant_id = unit.tenants.insert(slug, {"refund_policy": DEFAULT_REFUND_POLICY, **columns, "name": name,
                                                   "sales_open": False})
            unit.scope(tenant_id)
            if hosts:
                unit.tenants.set_hosts(tenant_id, hosts)
            if periods is not None:
                unit.tenants.set_vat_periods(tenant_id, periods)
            unit.audit_for(tenant_id).record(actor, "tenant.created", "tenant", tenant_id, slug=slug,
                                             **_audited(values))
            tenant = self._found(unit, slug)
            unit.commit()
        return tenant_view(tenant, self._missing(tenant))

    def update(self, actor: Any, slug: str, values: dict[str, Any]) -> dict[str, Any]:
        """Change what ``values`` holds: brand and legal are merged into what is there
        (``null`` removes a key), hosts and VAT rates are replaced, the rest set."""
        with self._unit() as unit:
            current = self._found(unit, slug, for_update=True)
            columns, hosts, periods, problems = self._columns(values, current)
            if problems:
                raise InvalidInput("the tenant was not changed", errors=problems)
            if current.sales_open:
                self._keep_selling(current, columns, hosts)
            unit.tenants.update(current.id, columns)
            unit.scope(current.id)
            if hosts is not None:
                self._check_hosts_free(unit, hosts, current.id)
                unit.tenants.set_hosts(current.id, hosts)
            if periods is not None:
                unit.tenants.set_vat_periods(current.id, periods)
            unit.audit_for(current.id).record(actor, "tenant.updated", "tenant", current.id, **_audited(values))
            tenant = self._found(unit, slug)
            unit.commit()
        self._forget(tenant)
        return tenant_view(tenant, self._missing(tenant))

    def _keep_selling(self, current: TenantRecord, columns: dict[str, Any], hosts: list[str] | None) -> None:
        """A tenant on sale stays complete: a change that would leave something missing is refused."""
        after = TenantRecord(**{**{name: getattr(current, name) for name in current.__dataclass_fields__},
                                **{k: v for k, v in columns.items() if k in current.__dataclass_fields__},
                                **({"hosts": tuple(hosts)} if hosts is not None else {})})
        missing = self._missing(after)
        if missing:
            raise TenantNotReady("the tenant sells: this change would leave it incomplete (close sales first)",
                                 errors=[m.as_error() for m in missing])

    def open_sales(self, actor: Any, slug: str) -> dict[str, Any]:
        return self._set_sales(actor, slug, True)

    def close_sales(self, actor: Any, slug: str) -> dict[str, Any]:
        return self._set_sales(actor, slug, False)

    def _set_sales(self, actor: Any, slug: str, open_: bool) -> dict[str, Any]:
        with self._unit() as unit:
            current = self._found(unit, slug, for_update=True)
            missing = self._missing(current)
            if open_ and missing:
                raise TenantNotReady(f"{slug} cannot open sales: {len(missing)} thing(s) missing",
                                     errors=[m.as_error() for m in missing])
            unit.tenants.update(current.id, {"sales_open": open_})
            unit.audit_for(current.id).record(actor, "tenant.sales_opened" if open_ else "tenant.sales_closed",
                                              "tenant", current.id)
            tenant = self._found(unit, slug)
            unit.commit()
        self._forget(tenant)
        return tenant_view(tenant, missing)

    # --- checks ----------------------------------------------------------------------------
    def _found(self, unit: TenantUnit, slug: str, for_update: bool = False) -> TenantRecord:
        tenant = unit.tenants.by_slug(slug, for_update) if isinstance(slug, str) else None
        if tenant is None:
            raise NotFound(f"no tenant {slug!r}", slug=slug)
        return tenant

    def _check_hosts_free(self, unit: TenantUnit, hosts: list[str], tenant_id: str | None) -> None:
        taken = unit.tenants.hosts_elsewhere(hosts, tenant_id)
        if taken:
            raise Conflict("host names belong to another tenant", hosts=sorted(taken))

    def _columns(self, values: dict[str, Any], current: TenantRecord | None
                 ) -> tuple[dict[str, Any], list[str] | None, list[VatPeriod] | None, list[dict[str, Any]]]:
        """Columns to write, the hosts and VAT periods to replace (None: unchanged), and every problem."""
        problems: list[dict[str, Any]] = []
        columns: dict[str, Any] = {}
        if "name" in values:
            columns["name"] = values["name"]
        if "brand" in values or "email_sender" in values:
            given = dict(values.get("brand") or {})
            if "email_sender" in values:
                given["email_from"] = values["email_sender"]
            problems.extend(brand_errors({k: v for k, v in given.items() if v is not None}))
            base = current.brand if current else {}
            columns["brand"] = {k: v for k, v in {**base, **given}.items() if v is not None}
        if "legal" in values:
            merged = {k: v for k, v in {**(current.legal if current else {}), **values["legal"]}.items()
                      if v is not None}
            problems.extend(requisites_errors(merged))
            columns["legal"] = merged
        if "timezone" in values:
            problems.extend(timezone_problems(values["timezone"]))
            columns["timezone"] = values["timezone"]
        if "refund_policy" in values:
            problems.extend(refund_policy_problems(values["refund_policy"]))
            columns["refund_policy"] = values["refund_policy"]
        if "payment" in values:
            payment = dict(values["payment"])
            problems.extend(payment_problems(payment, self._accepted))
            provider = payment.pop("provider", None)
            columns["payment_provider"] = provider
            columns["payment_settings"] = {k: v for k, v in payment.items()
                                           if k in ("shop_id", "secret_name", "api_url") and v is not None}
        periods = None
        if "vat" in values:
            vat = values["vat"]
            if "included" in vat:
                columns["vat_included"] = vat["included"]
            if "tax_system_code" in vat:
                columns["tax_system_code"] = vat["tax_system_code"]
            if "rates" in vat:
                given_rates = [(_day(r["valid_from"]), str(r["rate"])) for r in vat["rates"]]
                problems.extend(vat_period_problems(given_rates))
                periods = []
                for index, (day, rate) in enumerate(given_rates):
                    if rate not in {r.value for r in VatRate}:
                        problems.append({"loc": ["vat", "rates", index, "rate"], "type": "unknown",
                                         "msg": "a VAT rate: none, 0, 5, 7, 10, 22 (or 5/105 ...)"})
                    else:
                        periods.append(VatPeriod(day, VatRate(rate)))
        hosts = None
        if "hosts" in values:
            problems.extend(host_problems(values["hosts"]))
            hosts = sorted({normalize_host(h) for h in values["hosts"]})
        return columns, hosts, periods, problems


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    """What the audit keeps of a change: everything but the requisites' and brand's values
    (named by key only), as JSON."""
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("legal", "brand") and isinstance(value, dict):
            kept[key] = sorted(value)
        elif key == "vat" and isinstance(value, dict):
            kept[key] = {k: ([{"valid_from": str(r["valid_from"]), "rate": str(r["rate"])} for r in v]
                             if k == "rates" else v) for k, v in value.items()}
        else:
            kept[key] = value
    return kept
