"""The catalog as a tenant's admins manage it: piers, vessels, programs, tariffs and sailings.

Every change is one transaction that also writes its audit record (``uow.audit.record``);
right after the commit the catalog caches of every function are invalidated (the
``invalidate`` port bumps the tenant's catalog generation, which the storefront's reader
checks, and the rendered seat maps of the sailings touched).

What cannot be undone once sold: a sailing with any ticket, order or hold cannot be
deleted (cancel it: that refunds its buyers); its time cannot move while it has live
tickets (a ticket promises a departure); its vessel or seat map may change only when
every live ticket keeps its seat (free seating: its place); a tariff used by a ticket
cannot be deleted (deactivate it: ``active: false``); a pier, vessel or program cannot
be deleted while a sailing (or a seat map) refers to it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from prichal.domain.catalog import SailingStatus
from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.ids import canonical_uuid
from prichal.domain.money import format_rub
from prichal.domain.schedule import (
    LiveTicket,
    SailingHasTickets,
    Schedule,
    StillInUse,
    TariffOverlaps,
    changed,
    tickets_lost_by_capacity,
    tickets_lost_by_new_seats,
)
from prichal.domain.tenants import Tenant

log = logging.getLogger("prichal.catalog_admin")

KINDS = ("piers", "vessels", "programs", "tariffs", "sailings")
_SINGULAR = {"piers": "pier", "vessels": "vessel", "programs": "program", "tariffs": "tariff",
             "sailings": "sailing"}


class CatalogRecords(Protocol):
    """The catalog rows of one tenant (``adapters/db/catalog_admin_repository.py``)."""

    def list(self, kind: str, **where: Any) -> list[dict[str, Any]]: ...
    def get(self, kind: str, entity_id: str, for_update: bool = False) -> dict[str, Any] | None: ...
    def insert(self, kind: str, values: dict[str, Any]) -> dict[str, Any]: ...
    def insert_many(self, kind: str, rows: list[dict[str, Any]]) -> list[str]: ...
    def update(self, kind: str, entity_id: str, values: dict[str, Any]) -> dict[str, Any]: ...
    def delete(self, kind: str, entity_id: str) -> None: ...
    def sailings_using(self, column: str, entity_id: str) -> int: ...
    def seat_maps_of(self, vessel_id: str) -> int: ...
    def tariff_sold(self, tariff_id: str) -> int: ...
    def overlapping_tariffs(self, program_id: str, ticket_type: str, seat_category: str | None, valid_from: Any,
                            valid_until: Any, except_id: str | None) -> list[str]: ...
    def lock_program(self, program_id: str) -> None: ...
    def live_tickets(self, sailing_id: str) -> list[LiveTicket]: ...
    def ever_sold(self, sailing_id: str) -> dict[str, int]: ...
    def departures(self, program_id: str, pier_id: str, start: datetime, end: datetime) -> set[datetime]: ...
    def sailings_between(self, start: datetime | None, end: datetime | None,
                         program_id: str | None = None) -> list[dict[str, Any]]: ...
    def seat_map(self, seat_map_id: str) -> dict[str, Any] | None: ...


class Audit(Protocol):
    def record(self, actor: Any, action: str, target_type: str, target_id: str, **data: Any) -> None: ...


class CatalogUnit(Protocol):
    catalog_admin: CatalogRecords
    audit: Audit

    def commit(self) -> None: ...


class SailingCanceller(Protocol):
    """The refund service's cancellation path (``container.refunds.cancel_sailing``)."""

    def __call__(self, tenant: Tenant, sailing_id: str, actor: Any, reason: str) -> Any: ...


def view(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    """A row as the API shows it: ids and instants as text, money as "1500.00"."""
    shown: dict[str, Any] = {}
    for key, value in row.items():
        if key == "tenant_id":
            continue
        if isinstance(value, Decimal):
            shown[key] = format_rub(value) if key == "price" else str(value)
        elif hasattr(value, "isoformat"):
            shown[key] = value.isoformat()
        else:
            shown[key] = value
    return shown


class CatalogAdmin:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[CatalogUnit]],
                 invalidate: Callable[[str, list[str] | None], None],
                 cancel_sailing: SailingCanceller, held_seats: Callable[[str, str], set[str]],
                 clock: Callable[[], datetime]) -> None:
        """``held_seats(tenant_id, sailing_id)``: the seats in live holds (Redis, where seat holds live)."""
        self._uow = uow
        self._held_seats = held_seats
        self._invalidate = invalidate
        self._cancel_sailing = cancel_sailing
        self._now = clock

    # --- reads ---------------------------------------------------------------------------
    def list(self, tenant: Tenant, kind: str, **where: Any) -> list[dict[str, Any]]:
        with self._uow(tenant.id) as uow:
            return [view(kind, row) for row in uow.catalog_admin.list(kind, **where)]

    def get(self, tenant: Tenant, kind: str, entity_id: str) -> dict[str, Any]:
        with self._uow(tenant.id) as uow:
            return view(kind, self._found(uow.catalog_admin, kind, entity_id))

    def sailings(self, tenant: Tenant, start: datetime | None, end: datetime | None,
                 program_id: str | None) -> list[dict[str, Any]]:
        with self._uow(tenant.id) as uow:
            return [view("sailings", row) for row in uow.catalog_admin.sailings_between(start, end, program_id)]

    # --- piers, vessels, programs, tariffs -------------------------------------------------
    def create(self, actor: Any, tenant: Tenant, kind: str, values: dict[str, Any]) -> dict[str, Any]:
        if kind == "sailings":
            return self.create_sailing(actor, tenant, values)
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            self._check(records, kind, values, None)
            row = records.insert(kind, values)
            uow.audit.record(actor, f"catalog.{_SINGULAR[kind]}.created", _SINGULAR[kind], row["id"],
                             **_audited(values))
            uow.commit()
        self._invalidate(tenant.id, None)
        return view(kind, row)

    def update(self, actor: Any, tenant: Tenant, kind: str, entity_id: str, values: dict[str, Any]) -> dict[str, Any]:
        if kind == "sailings":
            return self.update_sailing(actor, tenant, entity_id, values)
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            current = self._found(records, kind, entity_id, for_update=True)
            self._check(records, kind, values, current)
            diff = changed(current, values)
            row = records.update(kind, entity_id, diff) if diff else current
            uow.audit.record(actor, f"catalog.{_SINGULAR[kind]}.updated", _SINGULAR[kind], entity_id,
                             **_audited(diff))
            uow.commit()
        self._invalidate(tenant.id, None)
        return view(kind, row)

    def delete(self, actor: Any, tenant: Tenant, kind: str, entity_id: str) -> None:
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            current = self._found(records, kind, entity_id, for_update=True)
            self._check_deletable(records, kind, current)
            if kind == "programs":
                for tariff in records.list("tariffs", program_id=entity_id):
                    records.delete("tariffs", tariff["id"])  # never sold: no sailing ever existed
            records.delete(kind, entity_id)
            uow.audit.record(actor, f"catalog.{_SINGULAR[kind]}.deleted", _SINGULAR[kind], entity_id,
                             name=current.get("name"))
            uow.commit()
        self._invalidate(tenant.id, [entity_id] if kind == "sailings" else None)

    def _found(self, records: CatalogRecords, kind: str, entity_id: str, for_update: bool = False) -> dict[str, Any]:
        canonical = canonical_uuid(entity_id)
        row = records.get(kind, canonical, for_update) if canonical else None
        if row is None:
            raise NotFound(f"{_SINGULAR[kind]} {entity_id} not found", **{f"{_SINGULAR[kind]}_id": entity_id})
        return row

    def _check(self, records: CatalogRecords, kind: str, values: dict[str, Any],
               current: dict[str, Any] | None) -> None:
        if kind == "vessels" and values.get("seat_map_id"):
            seat_map = self._seat_map(records, values["seat_map_id"], ["seat_map_id"])
            if current is not None and seat_map["vessel_id"] != current["id"]:
                raise InvalidInput("the seat map is another vessel's", errors=[
                    {"loc": ["seat_map_id"], "type": "other_vessel", "msg": "a seat map of this vessel"}])
            if current is None:
                raise InvalidInput("a new vessel has no seat maps yet", errors=[
                    {"loc": ["seat_map_id"], "type": "other_vessel",
                     "msg": "create the vessel first, then its seat map, then set it"}])
        if kind == "tariffs":
            self._check_tariff(records, values, current)

    def _check_tariff(self, records: CatalogRecords, values: dict[str, Any], current: dict[str, Any] | None) -> None:
        merged = {**(current or {}), **values}
        if current is None:
            self._reference(records, "programs", merged["program_id"], ["program_id"])
        start, end = merged.get("valid_from"), merged.get("valid_until")
        if start is not None and end is not None and end < start:
            raise InvalidInput("the tariff ends before it starts", errors=[
                {"loc": ["valid_until"], "type": "before_valid_from", "msg": "on or after valid_from"}])
        records.lock_program(merged["program_id"])
        overlapping = records.overlapping_tariffs(merged["program_id"], merged["ticket_type"],
                                                  merged.get("seat_category"), start, end,
                                                  current["id"] if current else None)
        if overlapping:
            raise TariffOverlaps("another tariff of this ticket type and seat category is valid on some of these days",
                                 tariff_ids=overlapping)

    def _check_deletable(self, records: CatalogRecords, kind: str, current: dict[str, Any]) -> None:
        entity_id = current["id"]
        if kind in ("piers", "vessels", "programs"):
            used = records.sailings_using(f"{_SINGULAR[kind]}_id", entity_id)
            if used:
                raise StillInUse(f"{used} sailing(s) use this {_SINGULAR[kind]}", sailings=used)
            if kind == "vessels" and (maps := records.seat_maps_of(entity_id)):
                raise StillInUse(f"{maps} seat map(s) belong to this vessel", seat_maps=maps)
        elif kind == "tariffs":
            sold = records.tariff_sold(entity_id)
            if sold:
                raise StillInUse(f"{sold} ticket(s) were sold with this tariff: deactivate it instead "
                                 "(active: false)", tickets=sold)
        elif kind == "sailings":
            ever = records.ever_sold(entity_id)
            if any(ever.values()):
                raise StillInUse("the sailing has had buyers (tickets, orders or holds): cancel it instead", **ever)

    # --- sailings --------------------------------------------------------------------------
    def create_sailing(self, actor: Any, tenant: Tenant, values: dict[str, Any]) -> dict[str, Any]:
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            row = self._sailing_row(records, values)
            self._check_future(row["departs_at"], ["departs_at"])
            _check_window(row)
            created = records.insert("sailings", row)
            uow.audit.record(actor, "catalog.sailing.created", "sailing", created["id"], **_audited(row))
            uow.commit()
        self._invalidate(tenant.id, [created["id"]])
        return view("sailings", created)

    def generate(self, actor: Any, tenant: Tenant, values: dict[str, Any], schedule: Schedule) -> dict[str, Any]:
        """A season of sailings; departures that exist already (same program, pier, instant) are skipped."""
        departures = schedule.departures()
        now = self._now()
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            template = self._sailing_row(records, {**values, "departs_at": None})
            past = [at for at in departures if at <= now]
            if past:
                raise InvalidInput("the schedule has departures in the past", errors=[
                    {"loc": ["first_day"], "type": "in_the_past",
                     "msg": f"the first departure {past[0].isoformat()} has passed"}])
            existing = records.departures(template["program_id"], template["pier_id"], departures[0],
                                          departures[-1]) if departures else set()
            fresh = [at for at in departures if at not in existing]
            rows = [{**template, "departs_at": at, **_sales_window(values, at)} for at in fresh]
            for row in rows[:1]:  # the same offsets for every departure: one check says it for all
                _check_window(row)
            ids = records.insert_many("sailings", rows)
            uow.audit.record(actor, "catalog.sailings.generated", "program", template["program_id"],
                             first_day=schedule.first_day.isoformat(), last_day=schedule.last_day.isoformat(),
                             created=len(ids), skipped=len(departures) - len(fresh))
            uow.commit()
        self._invalidate(tenant.id, None)
        return {"created": len(ids), "skipped": len(departures) - len(fresh), "sailing_ids": ids,
                "departures": [at.isoformat() for at in fresh]}

    def update_sailing(self, actor: Any, tenant: Tenant, sailing_id: str, values: dict[str, Any]) -> dict[str, Any]:
        with self._uow(tenant.id) as uow:
            records = uow.catalog_admin
            current = self._found(records, "sailings", sailing_id, for_update=True)
            if current["status"] != SailingStatus.SCHEDULED.value:
                raise Conflict(f"the sailing is {current['status']}", sailing_id=current["id"])
            diff = changed(current, values)
            tickets = records.live_tickets(current["id"]) if diff else []
            if "departs_at" in diff:
                self._check_future(diff["departs_at"], ["departs_at"])
                if tickets:
                    raise SailingHasTickets(
                        f"{len(tickets)} live ticket(s) were sold for this departure time: cancel the sailing "
                        "(its buyers are refunded) and create a new one", [t.id for t in tickets])
            if {"vessel_id", "seat_map_id", "capacity"} & diff.keys():
                diff = self._rehouse(tenant, records, current, diff, tickets)
            _check_window({**current, **diff})
            row = records.update("sailings", current["id"], diff) if diff else current
            uow.audit.record(actor, "catalog.sailing.updated", "sailing", current["id"], **_audited(diff))
            uow.commit()
        self._invalidate(tenant.id, [current["id"]])
        return view("sailings", row)

    def _rehouse(self, tenant: Tenant, records: CatalogRecords, current: dict[str, Any], diff: dict[str, Any],
                 tickets: list[LiveTicket]) -> dict[str, Any]:
        """Another vessel, seat map or capacity: refused when a live ticket would lose its seat."""
        vessel = self._reference(records, "vessels", diff.get("vessel_id", current["vessel_id"]), ["vessel_id"])
        if current["seating"] == "assigned":
            if "capacity" in diff:
                raise InvalidInput("assigned seating counts its seat map", errors=[
                    {"loc": ["capacity"], "type": "not_allowed", "msg": "the seat map decides the capacity"}])
            seat_map_id = diff.get("seat_map_id") or (vessel["seat_map_id"] if "vessel_id" in diff
                                                      else current["seat_map_id"])
            if not seat_map_id:
                raise InvalidInput("the vessel has no seat map", errors=[
                    {"loc": ["seat_map_id"], "type": "missing", "msg": "name the seat map of the new vessel"}])
            seat_map = self._seat_map(records, seat_map_id, ["seat_map_id"])
            if seat_map["vessel_id"] != vessel["id"]:
                raise InvalidInput("the seat map is another vessel's", errors=[
                    {"loc": ["seat_map_id"], "type": "other_vessel", "msg": "a seat map of the sailing's vessel"}])
            lost = tickets_lost_by_new_seats(tickets, seat_map["sellable"])
            if lost:
                raise SailingHasTickets(f"{len(lost)} sold seat(s) are not in the new seat map", lost)
            held = sorted(self._held_seats(tenant.id, current["id"]) - seat_map["sellable"])
            if held:
                raise Conflict("buyers hold seats that are not in the new seat map; try again when their holds end",
                               seat_ids=held)
            return {**diff, "seat_map_id": seat_map_id, "capacity": len(seat_map["sellable"])}
        capacity = diff.get("capacity", vessel.get("capacity") if "vessel_id" in diff else current["capacity"])
        if capacity is None:
            raise InvalidInput("the vessel has no capacity", errors=[
                {"loc": ["capacity"], "type": "missing", "msg": "give the sailing's capacity"}])
        lost = tickets_lost_by_capacity(tickets, current["places_sold"] + current["places_held"], capacity)
        if lost or current["places_sold"] + current["places_held"] > capacity:
            raise SailingHasTickets(f"{current['places_sold']} place(s) are sold and {current['places_held']} held: "
                                    f"a capacity of {capacity} is too small", lost)
        return {**diff, "capacity": capacity}

    def close_sales(self, actor: Any, tenant: Tenant, sailing_id: str) -> dict[str, Any]:
        """Stop selling now (the sailing stays; reopen by setting sales_close_at later or null).
        The instant is floored to the second: a hold taken in the same millisecond is refused too."""
        now = self._now().replace(microsecond=0)
        with self._uow(tenant.id) as uow:
            current = self._found(uow.catalog_admin, "sailings", sailing_id, for_update=True)
            row = uow.catalog_admin.update("sailings", current["id"], {"sales_close_at": now})
            uow.audit.record(actor, "catalog.sailing.sales_closed", "sailing", current["id"],
                             at=now.isoformat())
            uow.commit()
        self._invalidate(tenant.id, [current["id"]])
        return view("sailings", row)

    def cancel(self, actor: Any, tenant: Tenant, sailing_id: str, reason: str) -> dict[str, Any]:
        """Cancel through the refund service (``container.refunds.cancel_sailing``): it marks the
        sailing cancelled, refunds every paid order in full and audits; resumable."""
        with self._uow(tenant.id) as uow:
            current = self._found(uow.catalog_admin, "sailings", sailing_id)
        progress = self._cancel_sailing(tenant, current["id"], actor, reason)
        self._invalidate(tenant.id, [current["id"]])
        plain = _plain(progress)
        return {"sailing_id": current["id"], "status": "cancelled" if plain.get("status") == "done" else "cancelling",
                "progress": plain}

    def _sailing_row(self, records: CatalogRecords, values: dict[str, Any]) -> dict[str, Any]:
        program = self._reference(records, "programs", values.get("program_id"), ["program_id"])
        self._reference(records, "piers", values.get("pier_id"), ["pier_id"])
        vessel = self._reference(records, "vessels", values.get("vessel_id"), ["vessel_id"])
        seating = values.get("seating", "assigned")
        row: dict[str, Any] = {
            "program_id": program["id"], "pier_id": values["pier_id"], "vessel_id": vessel["id"],
            "departs_at": values.get("departs_at"), "seating": seating,
            "duration_minutes": values.get("duration_minutes") or program["duration_minutes"],
            "sales_open_at": values.get("sales_open_at"), "sales_close_at": values.get("sales_close_at"),
        }
        if seating == "assigned":
            seat_map_id = values.get("seat_map_id") or vessel.get("seat_map_id")
            if not seat_map_id:
                raise InvalidInput("assigned seating needs a seat map", errors=[
                    {"loc": ["seat_map_id"], "type": "missing",
                     "msg": "name a seat map, or set the vessel's, or sell free seating"}])
            seat_map = self._seat_map(records, seat_map_id, ["seat_map_id"])
            if seat_map["vessel_id"] != vessel["id"]:
                raise InvalidInput("the seat map is another vessel's", errors=[
                    {"loc": ["seat_map_id"], "type": "other_vessel", "msg": "a seat map of this vessel"}])
            if values.get("capacity") is not None:
                raise InvalidInput("assigned seating counts its seat map", errors=[
                    {"loc": ["capacity"], "type": "not_allowed", "msg": "the seat map decides the capacity"}])
            row.update(seat_map_id=seat_map_id, capacity=len(seat_map["sellable"]))
        else:
            capacity = values.get("capacity") if values.get("capacity") is not None else vessel.get("capacity")
            if capacity is None:
                raise InvalidInput("free seating needs a capacity", errors=[
                    {"loc": ["capacity"], "type": "missing", "msg": "give it, or set the vessel's capacity"}])
            if values.get("seat_map_id"):
                raise InvalidInput("free seating has no seat map", errors=[
                    {"loc": ["seat_map_id"], "type": "not_allowed", "msg": "omit it on free seating"}])
            row.update(seat_map_id=None, capacity=capacity)
        return row

    def _reference(self, records: CatalogRecords, kind: str, entity_id: Any, loc: list[str]) -> dict[str, Any]:
        canonical = canonical_uuid(entity_id)
        row = records.get(kind, canonical) if canonical else None
        if row is None:
            raise InvalidInput(f"unknown {_SINGULAR[kind]}", errors=[
                {"loc": loc, "type": "unknown", "msg": f"no such {_SINGULAR[kind]} of this tenant"}])
        return row

    def _seat_map(self, records: CatalogRecords, seat_map_id: Any, loc: list[str]) -> dict[str, Any]:
        canonical = canonical_uuid(seat_map_id)
        found = records.seat_map(canonical) if canonical else None
        if found is None:
            raise InvalidInput("unknown seat map", errors=[
                {"loc": loc, "type": "unknown", "msg": "no such seat map of this tenant"}])
        return found

    def _check_future(self, at: datetime | None, loc: list[str]) -> None:
        if at is None or at <= self._now():
            raise InvalidInput("a departure must be in the future", errors=[
                {"loc": loc, "type": "in_the_past", "msg": "a future instant with its offset"}])


def _check_window(row: dict[str, Any]) -> None:
    """Sales open before they close, and before the departure (a season's offsets too)."""
    opens, closes, departs = row.get("sales_open_at"), row.get("sales_close_at"), row["departs_at"]
    if opens is not None and (opens >= departs or (closes is not None and opens >= closes)):
        raise InvalidInput("sales would open after they close", errors=[
            {"loc": ["sales_open_at"], "type": "after_close", "msg": "before sales_close_at and the departure"}])


def _sales_window(values: dict[str, Any], departs_at: datetime) -> dict[str, Any]:
    """A generated sailing's sales window, from offsets before its departure."""
    window: dict[str, Any] = {}
    if values.get("sales_open_days_before") is not None:
        window["sales_open_at"] = departs_at - timedelta(days=values["sales_open_days_before"])
    if values.get("sales_close_minutes_before") is not None:
        window["sales_close_at"] = departs_at - timedelta(minutes=values["sales_close_minutes_before"])
    return window


def _audited(values: dict[str, Any]) -> dict[str, Any]:
    """Values as JSON for the audit record."""
    return {key: _plain(value) for key, value in values.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value
