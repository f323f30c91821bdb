"""Tenants as the platform writes them: one transaction on the owner engine.

``tenants`` and ``tenant_domains`` are not tenant rows (nothing to isolate, and the
application role may only read them), so onboarding writes them as the schema's owner,
as the admin command line always has. The tenant's own rows (VAT periods, the audit
record) are still under FORCE row-level security: ``scope(tenant_id)`` chooses the tenant
for the rest of the transaction before they are touched.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.onboarding import TenantRecord
from prichal.domain.vat import VatPeriod, VatRate

from .tables import tenant_domains, tenant_vat_periods, tenants

_COLUMNS = ("name", "brand", "legal", "vat_included", "tax_system_code", "refund_policy", "payment_provider",
            "payment_settings", "timezone", "sales_open", "active")


class TenantRecords:
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def by_slug(self, slug: str, for_update: bool = False) -> TenantRecord | None:
        query = select(tenants).where(tenants.c.slug == slug)
        row = self.conn.execute(query.with_for_update() if for_update else query).mappings().first()
        return self._record(row) if row else None

    def all(self) -> list[TenantRecord]:
        rows = self.conn.execute(select(tenants).order_by(tenants.c.slug)).mappings().all()
        return [self._record(row) for row in rows]

    def _record(self, row: Any) -> TenantRecord:
        hosts = self.conn.execute(select(tenant_domains.c.host).where(tenant_domains.c.tenant_id == row["id"])
                                  .order_by(tenant_domains.c.host)).scalars().all()
        self.conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(row["id"])})
        periods = self.conn.execute(select(tenant_vat_periods.c.valid_from, tenant_vat_periods.c.rate)
                                    .order_by(tenant_vat_periods.c.valid_from)).all()
        return TenantRecord(
            id=str(row["id"]), slug=row["slug"], name=row["name"], brand=dict(row["brand"] or {}),
            legal=dict(row["legal"] or {}), hosts=tuple(hosts), vat_included=row["vat_included"],
            tax_system_code=row["tax_system_code"],
            vat_periods=tuple(VatPeriod(p.valid_from, VatRate(p.rate)) for p in periods),
            refund_policy=dict(row["refund_policy"] or {}), payment_provider=row["payment_provider"],
            payment_settings=dict(row["payment_settings"] or {}), timezone=row["timezone"],
            sales_open=row["sales_open"], active=row["active"])

    def insert(self, slug: str, values: dict[str, Any]) -> str:
        known = {key: value for key, value in values.items() if key in _COLUMNS}
        return str(self.conn.execute(tenants.insert().values(slug=slug, **known).returning(tenants.c.id)).scalar_one())

    def update(self, tenant_id: str, values: dict[str, Any]) -> None:
        known = {key: value for key, value in values.items() if key in _COLUMNS}
        if known:
            self.conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(**known))

    def hosts_elsewhere(self, hosts: list[str], tenant_id: str | None) -> dict[str, str]:
        """Which of ``hosts`` another tenant has: host -> that tenant's slug."""
        if not hosts:
            return {}
        query = (select(tenant_domains.c.host, tenants.c.slug)
                 .join(tenants, tenants.c.id == tenant_domains.c.tenant_id)
                 .where(tenant_domains.c.host.in_(hosts)))
        if tenant_id:
            query = query.where(tenant_domains.c.tenant_id != tenant_id)
        return dict(self.conn.execute(query).all())

    def set_hosts(self, tenant_id: str, hosts: list[str]) -> None:
        self.conn.execute(delete(tenant_domains).where(tenant_domains.c.tenant_id == tenant_id))
        if hosts:
            self.conn.execute(tenant_domains.insert(), [{"host": host, "tenant_id": tenant_id} for host in hosts])

    def set_vat_periods(self, tenant_id: str, periods: list[VatPeriod]) -> None:
        """Replace the tenant's VAT schedule (the caller has scoped the transaction to it)."""
        self.conn.execute(delete(tenant_vat_periods))
        for period in periods:
            statement = insert(tenant_vat_periods).values(tenant_id=tenant_id, valid_from=period.valid_from,
                                                          rate=period.rate.value)
            self.conn.execute(statement)


class TenantAdminUnit:
    """``with TenantAdminUnit(owner_engine, audit) as unit: ...; unit.commit()``; rolled back otherwise."""

    conn: Connection
    tenants: TenantRecords

    def __init__(self, engine: Engine, audit: Callable[[Connection, str], Any]) -> None:
        self._engine = engine
        self._audit = audit

    def __enter__(self) -> TenantAdminUnit:
        self.conn = self._engine.connect()
        self._tx = self.conn.begin()
        self.tenants = TenantRecords(self.conn)
        return self

    def scope(self, tenant_id: str) -> None:
        self.conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": tenant_id})

    def audit_for(self, tenant_id: str) -> Any:
        """The audit log of ``tenant_id``, in this transaction."""
        self.scope(tenant_id)
        return self._audit(self.conn, tenant_id)

    def commit(self) -> None:
        self._tx.commit()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self._tx.is_active:
                self._tx.rollback()
        finally:
            self.conn.close()
