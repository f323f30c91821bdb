"""Catalog sync from the boat operators (the ``supplier-sync`` cron).

Every run syncs the next ``near_days`` days of every tenant's operator accounts; the
season horizon (``season_days``) at most every ``season_interval``. A run:

1. is recorded first (``supplier_sync_runs``: started, then finished with created /
   updated / closed counts and errors) and counted in Prometheus;
2. reads the operator's piers, vessels, programs, tariffs and departures; an operator that
   does not answer fails the run and changes nothing (an empty answer is not a drop);
3. upserts everything by the operator's reference (``supplier``, ``supplier_ref``), so a
   second run changes nothing; tariffs are updated in place: orders keep the price they
   were sold at, a new price applies to new sales only;
4. caps free seating by the operator's availability (an exact count, or a bucket's floor);
   a seated departure (Astra Marine's ``DateTimeSeat``) becomes an assigned-seating sailing
   on a seat-map version built from the operator's seats, the seats taken there blocked on
   it through the inventory module (``services/supplier_seating.py``);
5. closes for sale what the operator dropped or canceled within the synced days; a sailing
   with our sales goes to the refund service's sailing cancellation and every paid order
   into the attention queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from prichal.adapters.suppliers.mapping import OPERATOR_ZONE
from prichal.domain.errors import DomainError
from prichal.domain.suppliers import (
    SupplierAccount,
    SupplierCatalog,
    SupplierDeparture,
    SupplierProgram,
    SupplierSeat,
    SupplierTariff,
    SupplierUnavailable,
)
from prichal.observability.metrics import SUPPLIER_SYNC_CHANGES, SUPPLIER_SYNC_LAST, SUPPLIER_SYNC_RUNS

from . import supplier_seating as seating
from .inventory import Inventory
from .supplier_port import SaleReversal, SupplierClient

log = logging.getLogger("prichal.supplier_sync")
DEFAULT_VESSEL = "default"


@dataclass
class SyncResult:
    tenant_id: str
    supplier: str
    horizon: str
    run_id: str = ""
    status: str = "succeeded"
    created: int = 0
    updated: int = 0
    closed: int = 0
    errors: list[str] = field(default_factory=list)
    canceled_with_sales: list[str] = field(default_factory=list)
    seat_changes: list[tuple[str, list[str], list[str]]] = field(default_factory=list)  # sailing, blocked, unblocked

    def as_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant_id, "supplier": self.supplier, "horizon": self.horizon, "run_id": self.run_id,
                "status": self.status, "created": self.created, "updated": self.updated, "closed": self.closed,
                "errors": self.errors}


@dataclass(frozen=True)
class SyncPolicy:
    near_days: int = 3
    season_days: int = 120
    season_interval: timedelta = timedelta(hours=1)


class SupplierSync:
    def __init__(self, uow_factory: Callable[..., Any], clients: Callable[[SupplierAccount], SupplierClient],
                 reversal: SaleReversal, clock: Callable[[], datetime], policy: SyncPolicy,
                 inventory: Inventory | None = None,
                 held_seats: Callable[[str, str], set[str]] | None = None,
                 catalog_changed: Callable[[str], None] | None = None) -> None:
        """``inventory``: mirrors seat blocks into Redis after commit; ``held_seats(tenant,
        sailing)``: seats in live holds of ours (never blocked by the sync);
        ``catalog_changed(tenant)``: every process's catalog cache forgets the tenant's sailings
        (a sailing re-seated onto a seat map must not be held as free seating from a cache)."""
        self._catalog_changed = catalog_changed
        self._inventory = inventory
        self._held = held_seats or (lambda tenant_id, sailing_id: set())
        self._uow = uow_factory
        self._clients = clients
        self._reversal = reversal
        self._now = clock
        self._policy = policy

    # --- the cron's entry --------------------------------------------------------------------
    def run_due(self, tenant_ids: Iterable[str]) -> list[SyncResult]:
        results = []
        today = self._now().astimezone(OPERATOR_ZONE).date()
        for tenant_id in tenant_ids:
            with self._uow(tenant_id) as uow:
                accounts = uow.suppliers.accounts()
                due_season = {a.supplier: self._season_due(uow, a) for a in accounts}
            for account in accounts:
                days = self._policy.season_days if due_season[account.supplier] else self._policy.near_days
                horizon = "season" if due_season[account.supplier] else "near"
                results.append(self.sync(tenant_id, account, today, today + timedelta(days=days - 1), horizon))
        return results

    def _season_due(self, uow: Any, account: SupplierAccount) -> bool:
        last = uow.suppliers.last_run(account.supplier.value, "season")
        return last is None or self._now() - last.started_at >= self._policy.season_interval

    # --- one run -------------------------------------------------------------------------------
    def sync(self, tenant_id: str, account: SupplierAccount, date_from: date, date_to: date,
             horizon: str = "near") -> SyncResult:
        supplier = account.supplier.value
        result = SyncResult(tenant_id, supplier, horizon)
        with self._uow(tenant_id) as uow:
            result.run_id = uow.suppliers.start_run(supplier, horizon, date_from, date_to, self._now())
            uow.commit()
        try:
            client = self._clients(account)
            catalog = client.catalog()
            departures = client.departures(date_from, date_to)
            tariffs = self._tariffs(client, catalog, departures, result)
            plans = self._seat_plans(client, catalog, departures, result)
            self._apply(tenant_id, supplier, catalog, departures, tariffs, plans, date_from, date_to, result)
        except (SupplierUnavailable, DomainError, ValueError, KeyError, TypeError) as exc:
            log.warning("sync of %s for tenant %s failed: %s", supplier, tenant_id, exc)
            result.status = "failed"
            result.errors.append(f"{type(exc).__name__}: {exc}")
        self._mirror_seats(tenant_id, result)
        if self._catalog_changed and (result.created or result.updated or result.closed):
            try:
                self._catalog_changed(tenant_id)
            except Exception:  # the cache expires on its own
                log.exception("catalog generation of tenant %s not bumped", tenant_id)
        self._reverse_sales(tenant_id, result)
        with self._uow(tenant_id) as uow:
            uow.suppliers.finish_run(result.run_id, result.status, self._now(), result.created, result.updated,
                                     result.closed, result.errors)
            uow.commit()
        SUPPLIER_SYNC_RUNS.labels(supplier, horizon, result.status).inc()
        for change in ("created", "updated", "closed"):
            SUPPLIER_SYNC_CHANGES.labels(supplier, change).inc(getattr(result, change))
        if result.status != "failed":
            SUPPLIER_SYNC_LAST.labels(supplier, horizon).set(self._now().timestamp())
        return result

    def _tariffs(self, client: SupplierClient, catalog: SupplierCatalog, departures: list[SupplierDeparture],
                 result: SyncResult) -> dict[str, list[SupplierTariff]]:
        """Tariffs per program: the program's own (Neva Travel), else the prices of its first
        departure in the window (Astra Marine prices by event)."""
        found: dict[str, list[SupplierTariff]] = {}
        for program in catalog.programs:
            first = next((d for d in departures if d.program_ref == program.ref and not d.canceled), None)
            try:
                found[program.ref] = list(program.tariffs) or client.tariffs(program, first)
            except SupplierUnavailable as exc:
                result.status = "partial"
                result.errors.append(f"tariffs of {program.ref}: {exc}")
        return found

    @staticmethod
    def _seat_plans(client: SupplierClient, catalog: SupplierCatalog, departures: list[SupplierDeparture],
                    result: SyncResult) -> dict[str, list[SupplierSeat]]:
        """The operator's seats of every seated departure; one that does not answer leaves
        its departure as it was this run (a new one is not created yet)."""
        seated = {p.ref for p in catalog.programs if p.seating == "assigned"}
        found: dict[str, list[SupplierSeat]] = {}
        for departure in departures:
            if not _seated(departure, seated) or departure.canceled:
                continue
            try:
                found[departure.ref] = client.seat_plan(departure)
            except SupplierUnavailable as exc:
                result.status = "partial"
                result.errors.append(f"seats of {departure.ref}: {exc}")
        return found

    def _apply(self, tenant_id: str, supplier: str, catalog: SupplierCatalog, departures: list[SupplierDeparture],
               tariffs: dict[str, list[SupplierTariff]], plans: dict[str, list[SupplierSeat]], date_from: date,
               date_to: date, result: SyncResult) -> None:
        now = self._now()
        with self._uow(tenant_id) as uow:
            repo = uow.suppliers
            repo.lock_sync(supplier)
            pier_ids = {pier.ref: repo.upsert_pier(supplier, pier) for pier in catalog.piers}
            vessel_ids = {vessel.ref: repo.upsert_vessel(supplier, vessel.ref, vessel.name)
                          for vessel in catalog.vessels}
            programs: dict[str, tuple[SupplierProgram, str]] = {}
            for program in catalog.programs:
                program_id = repo.upsert_program(supplier, program)
                programs[program.ref] = (program, program_id)
                before = repo.tariff_prices(program_id)
                for tariff in tariffs.get(program.ref, []):
                    repo.upsert_tariff(supplier, program_id, tariff)
                    if tariff.ticket_type in before and before[tariff.ticket_type] != tariff.price:
                        log.info("%s program %s: %s price %s -> %s (new sales only)", supplier, program.ref,
                                 tariff.ticket_type, before[tariff.ticket_type], tariff.price)
            seen = set()
            for departure in departures:
                if departure.program_ref not in programs or departure.pier_ref not in pier_ids:
                    result.errors.append(f"departure {departure.ref}: unknown program or pier")
                    result.status = "partial"
                    continue
                seen.add(departure.ref)
                vessel_id = self._vessel(repo, supplier, departure, vessel_ids)
                program = programs[departure.program_ref]
                if _seated(departure, {program[0].ref} if program[0].seating == "assigned" else set()):
                    self._seated_departure(tenant_id, uow, supplier, departure, program,
                                           pier_ids[departure.pier_ref], vessel_id, plans.get(departure.ref), now,
                                           result)
                else:
                    self._departure(uow, supplier, departure, program, pier_ids[departure.pier_ref], vessel_id,
                                    now, result)
            start = datetime.combine(date_from, time.min, OPERATOR_ZONE)
            end = datetime.combine(date_to + timedelta(days=1), time.min, OPERATOR_ZONE)
            for row in repo.scheduled_between(supplier, max(start, now), end):
                if row.supplier_ref not in seen:
                    self._close(uow, row.id, "dropped by the operator", now, result)
            uow.commit()

    @staticmethod
    def _vessel(repo: Any, supplier: str, departure: SupplierDeparture, vessel_ids: dict[str, str]) -> str:
        ref = departure.vessel_ref or DEFAULT_VESSEL
        if ref not in vessel_ids:
            name = departure.booking.get("shipName") or f"Теплоход ({supplier})"
            vessel_ids[ref] = repo.upsert_vessel(supplier, ref, name)
        return vessel_ids[ref]

    def _departure(self, uow: Any, supplier: str, departure: SupplierDeparture,
                   program: tuple[SupplierProgram, str], pier_id: str, vessel_id: str, now: datetime,
                   result: SyncResult) -> None:
        repo = uow.suppliers
        info, program_id = program
        row = repo.sailing_by_ref(supplier, departure.ref)
        places = departure.places
        wanted = {"program_id": program_id, "pier_id": pier_id, "vessel_id": vessel_id,
                  "departs_at": departure.departs_at, "duration_minutes": departure.duration_minutes}
        if row is None:
            if departure.canceled:
                return
            sailing_id = repo.add_sailing(supplier, departure.ref, {**wanted, "capacity": places})
            result.created += 1
        else:
            sailing_id = row.id
            if row.status != "scheduled":
                return  # closed here stays closed; a person reopens it
            if departure.canceled:
                repo.record_sailing(sailing_id, supplier, departure.ref, departure.booking, departure.available,
                                    departure.bucket.value if departure.bucket else None, info.barcode_required, now)
                self._close(uow, sailing_id, "canceled by the operator", now, result)
                return
            changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            capacity = max(row.places_sold + places, row.places_sold + row.places_held)
            if changed:
                repo.update_sailing(sailing_id, changed)
            if changed or capacity != row.capacity:
                repo.cap_places(sailing_id, places)
                result.updated += 1
        repo.record_sailing(sailing_id, supplier, departure.ref, departure.booking, departure.available,
                            departure.bucket.value if departure.bucket else None, info.barcode_required, now)

    def _seated_departure(self, tenant_id: str, uow: Any, supplier: str, departure: SupplierDeparture,
                          program: tuple[SupplierProgram, str], pier_id: str, vessel_id: str,
                          seats: list[SupplierSeat] | None, now: datetime, result: SyncResult) -> None:
        """A seated departure: an assigned-seating sailing on the operator's seat map, the
        seats taken there blocked on it. A sailing sold here as free seating before (places
        sold or held) stays free seating, capped as before."""
        repo = uow.suppliers
        info, program_id = program
        row = repo.sailing_by_ref(supplier, departure.ref)
        plan = seating.plan_of(seats or [])
        if departure.canceled or (row is not None and row.status != "scheduled"):
            self._departure(uow, supplier, departure, program, pier_id, vessel_id, now, result)
            return
        if row is not None and row.seating == "free" and (row.places_sold or row.places_held):
            log.warning("%s departure %s has free-seating sales here: it stays free seating", supplier, departure.ref)
            self._departure(uow, supplier, departure, program, pier_id, vessel_id, now, result)
            return
        problems = seating.problems(plan)
        if problems:  # this departure waits; the rest of the run goes on
            result.status = "partial"
            result.errors.append(f"departure {departure.ref}: {problems}")
            return
        wanted = {"program_id": program_id, "pier_id": pier_id, "vessel_id": vessel_id,
                  "departs_at": departure.departs_at, "duration_minutes": departure.duration_minutes}
        reseat = row is None or row.seating == "free" or row.vessel_id != vessel_id
        if row is not None and row.seating == "assigned" and row.vessel_id != vessel_id \
                and uow.seat_maps.live_tickets(row.id):
            result.status = "partial"
            result.errors.append(f"departure {departure.ref}: the operator moved it to another ship, but it has "
                                 "seats sold here; move it to the new ship's seat map by hand")
            reseat, wanted = False, {k: v for k, v in wanted.items() if k != "vessel_id"}
        touched = False
        if reseat:
            seat_map_id, _ = seating.version_for(uow, vessel_id, plan, supplier, now)
            values = {**wanted, "seating": "assigned", "seat_map_id": seat_map_id,
                      "capacity": len(plan.document.seats)}
            if row is None:
                sailing_id = repo.add_sailing(supplier, departure.ref, values)
                result.created += 1
            else:  # nothing sold here yet: the free-seating sailing (or one on another ship) is re-seated
                sailing_id = row.id
                uow.seat_maps.drop_blocks_outside(sailing_id, set())
                repo.update_sailing(sailing_id, values)
                touched = True
        else:
            sailing_id, seat_map_id = row.id, row.seat_map_id
            changed = {k: v for k, v in wanted.items() if getattr(row, k) != v}
            if changed:
                repo.update_sailing(sailing_id, changed)
                touched = True
        # a sailing keeps its version (as in the editor); seats the operator no longer has stay unmarked
        seat_ids = uow.seat_maps.document(seat_map_id).seat_ids()
        blocked, unblocked = seating.mark_taken(uow, sailing_id, seat_ids, plan, supplier,
                                                self._held(tenant_id, sailing_id))
        if blocked or unblocked:
            result.seat_changes.append((sailing_id, blocked, unblocked))
            touched = True
        if touched and row is not None:
            result.updated += 1
        booking = {**departure.booking, "seats": {ours: theirs for ours, theirs in plan.refs.items()
                                                  if ours in seat_ids}}
        repo.record_sailing(sailing_id, supplier, departure.ref, booking, departure.available,
                            departure.bucket.value if departure.bucket else None, info.barcode_required, now)

    def _mirror_seats(self, tenant_id: str, result: SyncResult) -> None:
        """After commit: Redis's "taken" sets learn the blocks (state first, then effects)."""
        if self._inventory is None:
            return
        for sailing_id, blocked, unblocked in result.seat_changes:
            try:
                self._inventory.mirror_blocks(tenant_id, sailing_id, blocked, unblocked)
            except Exception as exc:  # the database has the blocks; a hold reload reads them
                log.exception("mirroring seat blocks of %s failed", sailing_id)
                result.errors.append(f"mirror seats of {sailing_id}: {exc}")

    def _close(self, uow: Any, sailing_id: str, reason: str, now: datetime, result: SyncResult) -> None:
        uow.suppliers.close_sailing(sailing_id, reason, now)
        uow.log.record("sailing.closed", "sailing", sailing_id, "system", None, reason=reason)
        paid = uow.suppliers.paid_orders_of(sailing_id)
        for order_id in paid:
            uow.attention.flag(order_id, "supplier_sailing_canceled",
                           f"the operator {reason}; the sailing is canceled and its sales refunded")
        if paid:
            result.canceled_with_sales.append(sailing_id)
        result.closed += 1

    def _reverse_sales(self, tenant_id: str, result: SyncResult) -> None:
        """After the closing committed: the refund service cancels the sailing with its sales."""
        for sailing_id in result.canceled_with_sales:
            try:
                self._reversal.cancel_sailing(tenant_id, sailing_id, "canceled by the boat operator")
            except Exception as exc:  # the flag is already on every order; a person finishes it
                log.exception("cancel_sailing of %s failed", sailing_id)
                result.errors.append(f"cancel_sailing {sailing_id}: {exc}")
                result.status = "partial"


def _seated(departure: SupplierDeparture, seated_programs: set[str]) -> bool:
    """Assigned seating: a seated program's departure that the operator does not sell as
    free seating (Astra's ``eventFreeSeating``)."""
    return departure.program_ref in seated_programs and not departure.booking.get("freeSeating")
