"""Tenant lookup before any tenant is chosen (tenants and their hosts are not RLS-guarded)."""

from __future__ import annotations

import logging

from sqlalchemy import Engine, select, text

from prichal.domain.brand import safe_brand
from prichal.domain.tenants import Tenant
from prichal.domain.vat import VatPeriod, VatRate, VatSchedule

from .tables import tenant_domains, tenant_vat_periods, tenants

log = logging.getLogger("prichal.tenants")


class TenantDirectory:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def by_slug(self, slug: str) -> Tenant | None:
        return self._one(select(tenants).where(tenants.c.slug == slug, tenants.c.active))

    def by_id(self, tenant_id: str) -> Tenant | None:
        """For events, which name their tenant by id."""
        return self._one(select(tenants).where(tenants.c.id == tenant_id, tenants.c.active))

    def by_host(self, host: str) -> Tenant | None:
        query = (select(tenants).join(tenant_domains, tenant_domains.c.tenant_id == tenants.c.id)
                 .where(tenant_domains.c.host == host.lower(), tenants.c.active))
        return self._one(query)

    def active_ids(self) -> list[str]:
        with self._engine.connect() as conn:
            return list(conn.execute(select(tenants.c.id).where(tenants.c.active)).scalars())

    def active(self) -> list[Tenant]:
        """Every active tenant (for scheduled work across tenants)."""
        with self._engine.connect() as conn:
            slugs = list(conn.execute(select(tenants.c.slug).where(tenants.c.active)).scalars())
        return [tenant for slug in slugs if (tenant := self.by_slug(slug)) is not None]

    def _one(self, query) -> Tenant | None:
        with self._engine.begin() as conn:
            row = conn.execute(query).mappings().first()
            if row is None:
                return None
            # VAT periods are tenant rows: read them inside that tenant's scope.
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": row["id"]})
            periods = conn.execute(select(tenant_vat_periods.c.valid_from, tenant_vat_periods.c.rate)).all()
            hosts = conn.execute(select(tenant_domains.c.host).where(tenant_domains.c.tenant_id == row["id"])
                                 .order_by(tenant_domains.c.host)).scalars().all()
        brand, problems = safe_brand(row["brand"] or {})
        if problems:  # set before the admin command checked it, or written by hand
            log.warning("tenant %s: brand values left out, templates use their defaults: %s", row["slug"], problems)
        return Tenant(
            id=row["id"], slug=row["slug"], name=row["name"], brand=brand, legal=row["legal"],
            vat_included=row["vat_included"],
            vat_schedule=VatSchedule(tuple(VatPeriod(p.valid_from, VatRate(p.rate)) for p in periods)),
            tax_system_code=row["tax_system_code"], refund_policy=row["refund_policy"],
            payment_provider=row["payment_provider"], payment_settings=row["payment_settings"],
            timezone=row["timezone"], hosts=tuple(hosts), storefront_key=row["storefront_key"],
            sales_open=row["sales_open"],
        )
