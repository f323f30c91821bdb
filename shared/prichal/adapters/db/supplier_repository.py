"""The operators' side of our catalog and orders (migration 0015)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from prichal.domain.suppliers import (
    IssuedCode,
    Supplier,
    SupplierAccount,
    SupplierMode,
    SupplierPier,
    SupplierProgram,
    SupplierTariff,
)

from .tables import (
    orders,
    piers,
    programs,
    sailings,
    supplier_accounts,
    supplier_mismatches,
    supplier_orders,
    supplier_sailings,
    supplier_sync_runs,
    supplier_tariffs,
    supplier_tickets,
    tariffs,
    vessels,
)


class SupplierRepository:
    def __init__(self, conn: Connection, tenant_id: str) -> None:
        self.conn = conn
        self.tenant_id = tenant_id

    # --- accounts ------------------------------------------------------------------------
    def accounts(self) -> list[SupplierAccount]:
        rows = self.conn.execute(select(supplier_accounts).where(supplier_accounts.c.active)
                                 .order_by(supplier_accounts.c.supplier))
        return [SupplierAccount(Supplier(r.supplier), SupplierMode(r.mode), r.base_url, r.secret_name, r.email)
                for r in rows]

    def account(self, supplier: Supplier) -> SupplierAccount | None:
        return next((a for a in self.accounts() if a.supplier is supplier), None)

    def set_account(self, account: SupplierAccount) -> None:
        values = {"mode": account.mode.value, "base_url": account.base_url, "secret_name": account.secret_name,
                  "email": account.email, "active": account.active}
        self.conn.execute(insert(supplier_accounts).values(tenant_id=self.tenant_id, supplier=account.supplier.value,
                                                           **values)
                          .on_conflict_do_update(index_elements=["tenant_id", "supplier"], set_=values))

    def lock_sync(self, supplier: str) -> None:
        """One sync of a tenant's operator at a time (cron and a manual run may overlap):
        a transaction-scoped advisory lock, released at commit or rollback."""
        self.conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"supplier-sync:{self.tenant_id}:{supplier}"})

    # --- catalog upserts (by supplier reference: never a duplicate) -----------------------
    def _upsert(self, table: Any, supplier: str, ref: str, values: dict[str, Any]) -> tuple[str, str]:
        """(id, "created" | "updated" | "unchanged")."""
        row = self.conn.execute(select(table).where(table.c.tenant_id == self.tenant_id,
                                                    table.c.supplier == supplier,
                                                    table.c.supplier_ref == ref)).first()
        if row is None:
            new = self.conn.execute(insert(table).values(tenant_id=self.tenant_id, supplier=supplier,
                                                         supplier_ref=ref, **values)
                                    .on_conflict_do_nothing().returning(table.c.id)).scalar()
            if new:
                return new, "created"
            return self._upsert(table, supplier, ref, values)  # a concurrent sync created it
        changed = {k: v for k, v in values.items() if getattr(row, k) != v}
        if changed:
            self.conn.execute(update(table).where(table.c.id == row.id).values(**changed))
            return row.id, "updated"
        return row.id, "unchanged"

    def upsert_pier(self, supplier: str, pier: SupplierPier) -> str:
        return self._upsert(piers, supplier, pier.ref, {"name": pier.name, "address": pier.address,
                                                        "latitude": pier.latitude, "longitude": pier.longitude})[0]

    def upsert_vessel(self, supplier: str, ref: str, name: str) -> str:
        return self._upsert(vessels, supplier, ref, {"name": name})[0]

    def upsert_program(self, supplier: str, program: SupplierProgram) -> str:
        return self._upsert(programs, supplier, program.ref, {
            "name": program.name, "description": program.description,
            "duration_minutes": program.duration_minutes})[0]

    def upsert_tariff(self, supplier: str, program_id: str, tariff: SupplierTariff) -> str:
        """A price change updates the tariff: orders keep the price they were sold at
        (order items copy it), so it applies to new sales only."""
        values = {"name": tariff.name, "price": tariff.price,
                  "vat_rate": tariff.vat_rate.value if tariff.vat_rate else None, "active": True}
        statement = insert(tariffs).values(tenant_id=self.tenant_id, program_id=program_id,
                                           ticket_type=tariff.ticket_type, seat_category=tariff.seat_category,
                                           **values)
        tariff_id = self.conn.execute(statement.on_conflict_do_update(
            constraint="uq_tariffs_kind", set_=values).returning(tariffs.c.id)).scalar_one()
        booking = {"booking": tariff.booking}
        self.conn.execute(insert(supplier_tariffs).values(tariff_id=tariff_id, tenant_id=self.tenant_id,
                                                          supplier=supplier, **booking)
                          .on_conflict_do_update(index_elements=["tariff_id"], set_=booking))
        return tariff_id

    def tariff_prices(self, program_id: str) -> dict[str, Any]:
        rows = self.conn.execute(select(tariffs.c.ticket_type, tariffs.c.price)
                                 .where(tariffs.c.program_id == program_id, tariffs.c.active))
        return {r.ticket_type: r.price for r in rows}

    def tariff_bookings(self, tariff_ids: list[str]) -> dict[str, dict[str, Any]]:
        rows = self.conn.execute(select(supplier_tariffs.c.tariff_id, supplier_tariffs.c.booking)
                                 .where(supplier_tariffs.c.tariff_id.in_(tariff_ids)))
        return {r.tariff_id: r.booking for r in rows}

    # --- sailings ------------------------------------------------------------------------
    def sailing_by_ref(self, supplier: str, ref: str) -> Any:
        return self.conn.execute(
            select(sailings, supplier_sailings.c.available, supplier_sailings.c.bucket,
                   supplier_sailings.c.booking, supplier_sailings.c.closed_at)
            .select_from(sailings.outerjoin(supplier_sailings, supplier_sailings.c.sailing_id == sailings.c.id))
            .where(sailings.c.tenant_id == self.tenant_id, sailings.c.supplier == supplier,
                   sailings.c.supplier_ref == ref)).first()

    def add_sailing(self, supplier: str, ref: str, values: dict[str, Any]) -> str:
        return self.conn.execute(insert(sailings).values(tenant_id=self.tenant_id, supplier=supplier,
                                                         supplier_ref=ref, **{"seating": "free", **values})
                                 .returning(sailings.c.id)).scalar_one()

    def update_sailing(self, sailing_id: str, values: dict[str, Any]) -> None:
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(**values))

    def cap_places(self, sailing_id: str, places: int) -> None:
        """What the operator lets us sell caps free seating: sold here (registered there) plus
        the operator's free places; never below what is sold and held here already."""
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(
            capacity=func.greatest(sailings.c.places_sold + places, sailings.c.places_sold + sailings.c.places_held)))

    def record_sailing(self, sailing_id: str, supplier: str, ref: str, booking: dict[str, Any],
                       available: int | None, bucket: str | None, barcode_required: bool, now: datetime) -> None:
        values = {"booking": booking, "available": available, "bucket": bucket,
                  "barcode_required": barcode_required, "last_seen_at": now}
        self.conn.execute(insert(supplier_sailings).values(sailing_id=sailing_id, tenant_id=self.tenant_id,
                                                           supplier=supplier, supplier_ref=ref, **values)
                          .on_conflict_do_update(index_elements=["sailing_id"], set_=values))

    def scheduled_between(self, supplier: str, start: datetime, end: datetime) -> list[Any]:
        return list(self.conn.execute(
            select(sailings.c.id, sailings.c.supplier_ref, sailings.c.places_sold)
            .where(sailings.c.tenant_id == self.tenant_id, sailings.c.supplier == supplier,
                   sailings.c.status == "scheduled", sailings.c.departs_at >= start, sailings.c.departs_at < end)))

    def close_sailing(self, sailing_id: str, reason: str, now: datetime) -> None:
        self.conn.execute(update(sailings).where(sailings.c.id == sailing_id).values(status="cancelled"))
        self.conn.execute(update(supplier_sailings).where(supplier_sailings.c.sailing_id == sailing_id)
                          .values(closed_at=now, closed_reason=reason))

    def paid_orders_of(self, sailing_id: str) -> list[str]:
        return list(self.conn.execute(select(orders.c.id).where(orders.c.sailing_id == sailing_id,
                                                                orders.c.status == "paid")).scalars())

    def supplier_sailing(self, sailing_id: str) -> Any:
        return self.conn.execute(select(supplier_sailings).where(supplier_sailings.c.sailing_id == sailing_id)).first()

    # --- orders --------------------------------------------------------------------------
    def open_order(self, order_id: str, supplier: str, sailing_id: str) -> Any:
        """The order's row at the operator, created on first sight and locked."""
        self.conn.execute(insert(supplier_orders).values(order_id=order_id, tenant_id=self.tenant_id,
                                                         supplier=supplier, sailing_id=sailing_id,
                                                         external_id=order_id).on_conflict_do_nothing())
        return self.order(order_id, for_update=True)

    def order(self, order_id: str, for_update: bool = False) -> Any:
        query = select(supplier_orders).where(supplier_orders.c.order_id == order_id)
        return self.conn.execute(query.with_for_update() if for_update else query).first()

    def update_order(self, order_id: str, **values: Any) -> None:
        self.conn.execute(update(supplier_orders).where(supplier_orders.c.order_id == order_id)
                          .values(updated_at=func.now(), **values))

    def add_codes(self, order_id: str, codes: tuple[IssuedCode, ...]) -> None:
        for code in codes:
            values = {"barcode": code.barcode, "ticket_number": code.ticket_number}
            self.conn.execute(insert(supplier_tickets).values(ticket_id=code.ticket_id, tenant_id=self.tenant_id,
                                                              order_id=order_id, **values)
                              .on_conflict_do_update(index_elements=["ticket_id"], set_=values))

    def codes(self, order_id: str) -> dict[str, tuple[str, str | None]]:
        rows = self.conn.execute(select(supplier_tickets).where(supplier_tickets.c.order_id == order_id))
        return {r.ticket_id: (r.barcode, r.ticket_number) for r in rows}

    def orders_of(self, supplier: str) -> list[Any]:
        """Every order at this operator with our order's status (for reconciliation)."""
        return list(self.conn.execute(
            select(supplier_orders, orders.c.status.label("order_status"), orders.c.number)
            .select_from(supplier_orders.join(orders, orders.c.id == supplier_orders.c.order_id))
            .where(supplier_orders.c.supplier == supplier)))

    def unpushed_paid_orders(self, supplier: str) -> list[tuple[str, str]]:
        """Paid orders of this operator's sailings that have no record of the sale there."""
        rows = self.conn.execute(
            select(orders.c.id, orders.c.sailing_id)
            .select_from(orders.join(supplier_sailings, supplier_sailings.c.sailing_id == orders.c.sailing_id)
                         .outerjoin(supplier_orders, supplier_orders.c.order_id == orders.c.id))
            .where(supplier_sailings.c.supplier == supplier, orders.c.status == "paid",
                   supplier_orders.c.order_id.is_(None)))
        return [(r.id, r.sailing_id) for r in rows]

    def add_mismatch(self, run_id: str, supplier: str, order_id: str | None, sailing_id: str | None, ours: str,
                     theirs: str, kind: str) -> None:
        self.conn.execute(supplier_mismatches.insert().values(
            tenant_id=self.tenant_id, run_id=run_id, supplier=supplier, order_id=order_id, sailing_id=sailing_id,
            ours=ours, theirs=theirs, kind=kind))

    def mismatches(self, run_id: str | None = None) -> list[dict[str, Any]]:
        query = select(supplier_mismatches).order_by(supplier_mismatches.c.found_at)
        if run_id:
            query = query.where(supplier_mismatches.c.run_id == run_id)
        return [dict(r._mapping) for r in self.conn.execute(query)]

    # --- sync runs -----------------------------------------------------------------------
    def start_run(self, supplier: str, horizon: str, date_from: Any, date_to: Any, now: datetime) -> str:
        return self.conn.execute(supplier_sync_runs.insert().values(
            tenant_id=self.tenant_id, supplier=supplier, horizon=horizon, date_from=date_from, date_to=date_to,
            started_at=now).returning(supplier_sync_runs.c.id)).scalar_one()

    def finish_run(self, run_id: str, status: str, now: datetime, created: int, updated: int, closed: int,
                   errors: list[str]) -> None:
        self.conn.execute(update(supplier_sync_runs).where(supplier_sync_runs.c.id == run_id).values(
            status=status, finished_at=now, created=created, updated=updated, closed=closed, errors=errors))

    def last_run(self, supplier: str, horizon: str) -> Any:
        return self.conn.execute(
            select(supplier_sync_runs).where(supplier_sync_runs.c.supplier == supplier,
                                             supplier_sync_runs.c.horizon == horizon,
                                             supplier_sync_runs.c.status.in_(("succeeded", "partial")))
            .order_by(supplier_sync_runs.c.started_at.desc()).limit(1)).first()

    def runs(self, supplier: str | None = None) -> list[dict[str, Any]]:
        query = select(supplier_sync_runs).order_by(supplier_sync_runs.c.started_at)
        if supplier:
            query = query.where(supplier_sync_runs.c.supplier == supplier)
        return [dict(r._mapping) for r in self.conn.execute(query)]
