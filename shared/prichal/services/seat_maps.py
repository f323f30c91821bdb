"""The seat-map editor's use cases: open a vessel's draft, edit it, import and export it,
validate and publish it; move a sailing to another version; block seats of one sailing.

Rules (``domain/seat_map_editor.py``): a vessel has published versions and at most one
draft; publishing makes the draft the next version and cannot be undone; a sailing keeps
the version it was given until an admin moves it, which is refused (409, naming the
tickets) when a seat with a live ticket or hold would disappear. Every change writes one
audit row (``uow.audit.record``) in its own transaction; bad input changes nothing.

Blocking a seat of one sailing (``block``), decided here:
- a seat with a live ticket (reserved or sold) cannot be blocked: 409 ``seats-sold``
  naming the tickets (refund or move the buyer first);
- a seat in a live hold is refused too (409 ``seats-held`` with the time the holds end),
  unless the admin asks ``release_holds``: then those holds end at once (the buyer's
  checkout answers 410 hold-gone) and the seat is blocked;
- blocking a blocked seat changes nothing; a seat blocked in the version itself is
  unblocked only by a new version (422 ``blocked_in_map``).
Whatever changed, the storefront's seat map shows it at once (its cache is keyed by the
sailing's Redis version, which every change moves).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from prichal.adapters import seat_map_json
from prichal.adapters.db.seat_map_repository import DraftRow, VersionRow
from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore, epoch_ms
from prichal.domain import seat_map_editor as e
from prichal.domain.errors import Conflict, InvalidInput, NotFound
from prichal.domain.ids import canonical_uuid

from .catalog_reader import CatalogReader
from .inventory import Inventory

MAX_SEATS_PER_CALL = 500


class SeatsSold(Conflict):
    code = "seats-sold"
    title = "Seats have live tickets"


class SeatsHeld(Conflict):
    code = "seats-held"
    title = "Seats are held by buyers"


class DraftChanged(Conflict):
    code = "draft-changed"
    title = "The draft changed since it was read"


class HoldReleaser(Protocol):
    def release(self, tenant_id: str, token: str) -> Any: ...


def who(actor: Any) -> str:
    """How logs and rows name a staff actor (``StaffActor``: principal + address)."""
    principal = getattr(actor, "principal", actor)
    return f"staff:{getattr(principal, 'user_id', principal)}"


@dataclass(frozen=True, slots=True)
class Edit:
    """One draft edit: the audit action, the pure change and what the audit row says."""

    action: str
    change: Callable[[e.SeatMapDocument], e.SeatMapDocument]
    data: dict[str, Any]


class SeatMapService:
    def __init__(self, *, uow: Callable[[str], UnitOfWork], store: RedisHoldStore, inventory: Inventory,
                 holds: HoldReleaser, catalog: CatalogReader, clock: Callable[[], datetime],
                 import_max_bytes: int, catalog_changed: Callable[[str], None] | None = None) -> None:
        """``catalog_changed(tenant_id)``: tell every process's catalog cache that a sailing
        changed (the catalog-admin branch's generation bump); without it only this process's
        cache forgets the sailing, others read it afresh within ``CATALOG_CACHE_SECONDS``."""
        self._uow = uow
        self._store = store
        self._holds = holds
        self._catalog = catalog
        self._now = clock
        self._max_bytes = import_max_bytes
        self._inventory = inventory
        self._catalog_changed = catalog_changed

    # --- reading -------------------------------------------------------------------------
    def overview(self, tenant_id: str, vessel_id: str) -> dict[str, Any]:
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id)
            versions = uow.seat_maps.versions(vessel_id)
            draft = uow.seat_maps.draft(vessel_id)
        return {"vessel_id": vessel_id, "published": _version(versions[-1]) if versions else None,
                "versions": [_version(v) for v in versions],
                "draft": _draft_head(draft) if draft else None}

    def draft(self, tenant_id: str, vessel_id: str) -> dict[str, Any]:
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id)
            draft = self._the_draft(uow, vessel_id)
            pricing = uow.seat_maps.pricing()
        return self._draft_view(draft, pricing)

    def export(self, tenant_id: str, vessel_id: str, version: int | None) -> dict[str, Any]:
        """A version (default: the newest) as a seat-map file."""
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id)
            versions = uow.seat_maps.versions(vessel_id)
            chosen = next((v for v in versions if v.version == version), None) if version is not None else (
                versions[-1] if versions else None)
            if chosen is None:
                raise NotFound(f"version {version} of this seat map not found" if version is not None
                               else "this vessel has no published seat map")
            document = uow.seat_maps.document(chosen.id)
        return seat_map_json.dump(document)

    def export_draft(self, tenant_id: str, vessel_id: str) -> dict[str, Any]:
        return self.draft(tenant_id, vessel_id)["document"]

    # --- the draft -------------------------------------------------------------------------
    def open_draft(self, tenant_id: str, vessel_id: str, actor: Any, from_version: int | None = None,
                   empty: bool = False) -> dict[str, Any]:
        """Start the vessel's draft from a version (default: the newest) or from nothing."""
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id, lock=True)
            existing = uow.seat_maps.draft(vessel_id)
            if existing is not None:
                raise e.DraftExists("the seat map has a draft already: edit, publish or discard it",
                                    revision=existing.revision)
            versions = uow.seat_maps.versions(vessel_id)
            base: VersionRow | None = None
            if not empty and versions:
                base = versions[-1] if from_version is None else next(
                    (v for v in versions if v.version == from_version), None)
                if base is None:
                    raise InvalidInput(f"version {from_version} does not exist", errors=[
                        {"loc": ["from_version"], "type": "unknown_version", "msg": "no such version"}])
            document = uow.seat_maps.document(base.id) if base else e.SeatMapDocument(name="Seat map")
            draft = uow.seat_maps.create_draft(vessel_id, base.version if base else None,
                                               seat_map_json.dump(document), who(actor))
            if draft is None:  # a concurrent open won
                raise e.DraftExists("the seat map has a draft already")
            uow.audit.record(actor, "seatmap.draft_opened", "vessel", vessel_id,
                             base_version=base.version if base else None)
            pricing = uow.seat_maps.pricing()
            uow.commit()
        return self._draft_view(draft, pricing)

    def edit(self, tenant_id: str, vessel_id: str, actor: Any, edit: Edit,
             expected_revision: int | None = None) -> dict[str, Any]:
        """Apply one pure edit to the draft (``expected_revision``: refuse if it moved on)."""
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id, lock=True)
            draft = self._the_draft(uow, vessel_id, expected_revision)
            document = edit.change(seat_map_json.from_data(draft.document))
            revision = uow.seat_maps.save_draft(draft.id, seat_map_json.dump(document), who(actor), self._now())
            uow.audit.record(actor, edit.action, "vessel", vessel_id, revision=revision, **edit.data)
            pricing = uow.seat_maps.pricing()
            uow.commit()
        saved = DraftRow(draft.id, vessel_id, draft.base_version, seat_map_json.dump(document), revision,
                         self._now(), who(actor))
        return self._draft_view(saved, pricing)

    def replace_draft(self, tenant_id: str, vessel_id: str, actor: Any, raw: bytes | dict[str, Any],
                      expected_revision: int | None = None) -> dict[str, Any]:
        """Import a seat-map file as the vessel's draft (opening one if there is none).
        The file is checked before anything is written."""
        document = (seat_map_json.parse(raw, self._max_bytes) if isinstance(raw, bytes)
                    else seat_map_json.from_data(raw))
        vessel_id = _id(vessel_id, "vessel")
        data = {"seats": len(document.seats), "sections": len(document.sections)}
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id, lock=True)
            existing = uow.seat_maps.draft(vessel_id)
            if existing is None:
                versions = uow.seat_maps.versions(vessel_id)
                created = uow.seat_maps.create_draft(vessel_id, versions[-1].version if versions else None,
                                                     seat_map_json.dump(document), who(actor))
                if created is None:
                    raise e.DraftExists("the seat map has a draft already")
                existing = created
            else:
                if expected_revision is not None and existing.revision != expected_revision:
                    raise DraftChanged(f"the draft is at revision {existing.revision}", revision=existing.revision)
                revision = uow.seat_maps.save_draft(existing.id, seat_map_json.dump(document), who(actor),
                                                    self._now())
                existing = DraftRow(existing.id, vessel_id, existing.base_version, seat_map_json.dump(document),
                                    revision, self._now(), who(actor))
            uow.audit.record(actor, "seatmap.draft_imported", "vessel", vessel_id, revision=existing.revision, **data)
            pricing = uow.seat_maps.pricing()
            uow.commit()
        return self._draft_view(existing, pricing)

    def discard_draft(self, tenant_id: str, vessel_id: str, actor: Any) -> None:
        vessel_id = _id(vessel_id, "vessel")
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id, lock=True)
            draft = self._the_draft(uow, vessel_id)
            uow.seat_maps.delete_draft(draft.id)
            uow.audit.record(actor, "seatmap.draft_discarded", "vessel", vessel_id, revision=draft.revision)
            uow.commit()

    def publish(self, tenant_id: str, vessel_id: str, actor: Any,
                expected_revision: int | None = None) -> dict[str, Any]:
        """The draft becomes the vessel's next version, if it passes validation (422
        ``seat-map-invalid`` listing every problem otherwise). Sailings keep their versions."""
        vessel_id = _id(vessel_id, "vessel")
        now = self._now()
        with self._uow(tenant_id) as uow:
            self._vessel(uow, vessel_id, lock=True)
            draft = self._the_draft(uow, vessel_id, expected_revision)
            document = seat_map_json.from_data(draft.document)
            e.ensure_publishable(document, uow.seat_maps.pricing())
            seat_map_id, version = uow.seat_maps.publish(vessel_id, document, who(actor), now)
            uow.seat_maps.delete_draft(draft.id)
            uow.audit.record(actor, "seatmap.published", "seat_map", seat_map_id, vessel_id=vessel_id,
                             version=version, seats=len(document.seats), revision=draft.revision)
            published = uow.seat_maps.version(seat_map_id)
            uow.commit()
        return _version(published)

    # --- sailings ------------------------------------------------------------------------
    def move_sailing(self, tenant_id: str, sailing_id: str, seat_map_id: str, actor: Any) -> dict[str, Any]:
        """Put a sailing on another version of its vessel's map. Refused (409
        ``seats-would-disappear``, naming tickets and holds) when a seat with a live ticket
        or hold is missing from it or blocked in it; blocks of seats that are gone go too.
        The sailing's capacity becomes the version's sellable seats."""
        sailing_id, seat_map_id = _id(sailing_id, "sailing"), _id(seat_map_id, "seat map")
        now = self._now()
        with self._uow(tenant_id) as uow:
            sailing = self._assigned_sailing(uow, sailing_id, lock=True)
            target = uow.seat_maps.version(seat_map_id)
            if target is None or target.vessel_id != sailing.vessel_id:
                raise InvalidInput("the seat map is not a version of this sailing's vessel", errors=[
                    {"loc": ["seat_map_id"], "type": "other_vessel",
                     "msg": "choose a version of the sailing's vessel"}])
            previous = uow.seat_maps.version(sailing.seat_map_id) if sailing.seat_map_id else None
            if sailing.seat_map_id == seat_map_id:
                return {"sailing_id": sailing_id, "seat_map": _version(target), "dropped_blocks": []}
            new_seats = uow.seat_maps.document(seat_map_id).seats
            new_ids = {seat.id for seat in new_seats}
            sellable = {seat.id for seat in new_seats if not seat.blocked}  # a sold seat may not become blocked
            tickets = uow.seat_maps.live_tickets(sailing_id)
            held = {seat: token for seat, (token, _) in self._store.seat_claims(tenant_id, sailing_id,
                                                                                epoch_ms(now)).items()}
            lost_tickets = e.lost_seats(sellable, tickets)
            lost_holds = e.lost_seats(sellable, {s: t for s, t in held.items() if s not in tickets})
            if lost_tickets or lost_holds:
                raise e.SeatsWouldDisappear(
                    f"{len(lost_tickets)} sold and {len(lost_holds)} held seat(s) are not in version {target.version}",
                    ticket_ids=sorted(lost_tickets.values()), seat_ids=sorted({*lost_tickets, *lost_holds}))
            uow.seat_maps.move_sailing(sailing_id, seat_map_id, capacity=len(sellable))
            dropped = uow.seat_maps.drop_blocks_outside(sailing_id, new_ids)
            uow.audit.record(actor, "sailing.seat_map_changed", "sailing", sailing_id, seat_map_id=seat_map_id,
                             version=target.version, previous_version=previous.version if previous else None,
                             dropped_blocks=dropped)
            uow.commit()
        self._catalog.forget_sailing(tenant_id, sailing_id)
        if self._catalog_changed is not None:
            self._catalog_changed(tenant_id)
        self._store.invalidate_seatmap(tenant_id, sailing_id)
        return {"sailing_id": sailing_id, "seat_map": _version(target), "dropped_blocks": dropped}

    def blocks(self, tenant_id: str, sailing_id: str) -> dict[str, Any]:
        sailing_id = _id(sailing_id, "sailing")
        with self._uow(tenant_id) as uow:
            sailing = self._assigned_sailing(uow, sailing_id)
            found = uow.seat_maps.blocks(sailing_id)
        seat_map = self._catalog.seat_map(tenant_id, sailing.seat_map_id or "")
        return {"sailing_id": sailing_id, "seat_map_id": sailing.seat_map_id,
                "blocked": [{"seat_id": b.seat_id, "label": seat_map.label(b.seat_id), "reason": b.reason,
                             "blocked_by": b.blocked_by, "blocked_at": b.created_at.isoformat()}
                            for b in found.values()],
                "blocked_in_map": sorted(s.id for s in seat_map.seats.values() if s.blocked)}

    def block(self, tenant_id: str, sailing_id: str, seat_ids: list[str], actor: Any, reason: str = "",
              release_holds: bool = False) -> dict[str, Any]:
        """Take seats of one sailing out of sale (see the module docstring for held seats)."""
        sailing_id = _id(sailing_id, "sailing")
        now = self._now()
        with self._uow(tenant_id) as uow:
            sailing = self._assigned_sailing(uow, sailing_id, lock=True)
            seat_map = self._catalog.seat_map(tenant_id, sailing.seat_map_id or "")
            _check_seats(seat_map.seats, seat_ids)
            wanted = [s for s in seat_ids if not seat_map.seats[s].blocked]
            tickets = {s: t for s, t in uow.seat_maps.live_tickets(sailing_id).items() if s in wanted}
            if tickets:
                raise SeatsSold(f"{len(tickets)} seat(s) have live tickets: refund or move them first",
                                seat_ids=sorted(tickets), ticket_ids=sorted(tickets.values()))
            claims = {s: c for s, c in self._store.seat_claims(tenant_id, sailing_id, epoch_ms(now)).items()
                      if s in wanted}
            if claims and not release_holds:
                until = datetime.fromtimestamp(max(exp for _, exp in claims.values()) / 1000, tz=now.tzinfo)
                raise SeatsHeld(f"{len(claims)} seat(s) are held by buyers until {until.isoformat()}; "
                                "retry then, or send release_holds to end those holds", seat_ids=sorted(claims),
                                held_until=until.isoformat())
            blocked = self._inventory.block_on_sailing(uow, sailing_id, wanted, reason, who(actor))
            tokens = sorted({token for token, _ in claims.values()})
            if blocked or tokens:  # blocking blocked seats is no change, and no audit row
                uow.audit.record(actor, "sailing.seats_blocked", "sailing", sailing_id, seat_ids=blocked,
                                 reason=reason, released_holds=len(tokens))
                uow.commit()
        for token in tokens:  # state first, then effects
            try:
                self._holds.release(tenant_id, token)
            except (Conflict, NotFound):  # became an order or vanished: the block stands either way
                pass
        self._inventory.mirror_blocks(tenant_id, sailing_id, blocked, [])
        return {**self.blocks(tenant_id, sailing_id), "changed": blocked, "released_holds": len(tokens)}

    def unblock(self, tenant_id: str, sailing_id: str, seat_ids: list[str], actor: Any) -> dict[str, Any]:
        sailing_id = _id(sailing_id, "sailing")
        with self._uow(tenant_id) as uow:
            sailing = self._assigned_sailing(uow, sailing_id, lock=True)
            seat_map = self._catalog.seat_map(tenant_id, sailing.seat_map_id or "")
            _check_seats(seat_map.seats, seat_ids)
            in_map = [{"loc": ["seat_ids", i], "type": "blocked_in_map",
                       "msg": f"seat {s} is blocked in the seat map itself: publish a version without it"}
                      for i, s in enumerate(seat_ids) if seat_map.seats[s].blocked]
            if in_map:
                raise InvalidInput("some seats are blocked in the seat map, not on this sailing", errors=in_map)
            unblocked = self._inventory.unblock_on_sailing(uow, sailing_id, seat_ids)
            ticketed = set(uow.seat_maps.live_tickets(sailing_id))
            if unblocked:
                uow.audit.record(actor, "sailing.seats_unblocked", "sailing", sailing_id, seat_ids=unblocked)
                uow.commit()
        self._inventory.mirror_blocks(tenant_id, sailing_id, [], [s for s in unblocked if s not in ticketed])
        return {**self.blocks(tenant_id, sailing_id), "changed": unblocked}

    # --- helpers -------------------------------------------------------------------------
    @staticmethod
    def _vessel(uow: UnitOfWork, vessel_id: str, lock: bool = False) -> None:
        found = uow.seat_maps.lock_vessel(vessel_id) if lock else uow.seat_maps.vessel_exists(vessel_id)
        if not found:
            raise NotFound(f"vessel {vessel_id} not found")

    @staticmethod
    def _the_draft(uow: UnitOfWork, vessel_id: str, expected_revision: int | None = None) -> DraftRow:
        draft = uow.seat_maps.draft(vessel_id, for_update=True)
        if draft is None:
            raise NotFound("this seat map has no draft: open one first")
        if expected_revision is not None and draft.revision != expected_revision:
            raise DraftChanged(f"the draft is at revision {draft.revision}, not {expected_revision}",
                               revision=draft.revision)
        return draft

    @staticmethod
    def _assigned_sailing(uow: UnitOfWork, sailing_id: str, lock: bool = False):
        sailing = uow.seat_maps.sailing(sailing_id, for_update=lock)
        if sailing is None:
            raise NotFound(f"sailing {sailing_id} not found")
        if sailing.seating != "assigned":
            raise Conflict("this sailing has free seating: it has no seats to map or block")
        return sailing

    @staticmethod
    def _draft_view(draft: DraftRow, pricing: e.Pricing) -> dict[str, Any]:
        document = seat_map_json.from_data(draft.document)
        issues = e.validate(document, pricing)
        return {**_draft_head(draft), "document": draft.document, "seats": len(document.seats),
                "publishable": not issues, "issues": [i.as_error() for i in issues]}


def _check_seats(seats: dict[str, Any], seat_ids: list[str]) -> None:
    errors = []
    if not seat_ids:
        errors.append({"loc": ["seat_ids"], "type": "missing", "msg": "name at least one seat"})
    if len(seat_ids) > MAX_SEATS_PER_CALL:
        errors.append({"loc": ["seat_ids"], "type": "too_long", "msg": f"at most {MAX_SEATS_PER_CALL} seats"})
    seen: set[str] = set()
    for index, seat_id in enumerate(seat_ids):
        if seat_id in seen:
            errors.append({"loc": ["seat_ids", index], "type": "duplicate", "msg": f"seat {seat_id} is listed twice"})
        elif seat_id not in seats:
            errors.append({"loc": ["seat_ids", index], "type": "unknown_seat",
                           "msg": f"seat {seat_id} is not in the sailing's seat map"})
        seen.add(seat_id)
    if errors:
        raise InvalidInput("some seats cannot be changed", errors=errors)


def _id(value: str, what: str) -> str:
    canonical = canonical_uuid(value)
    if canonical is None:
        raise NotFound(f"{what} {value} not found")
    return canonical


def _version(v: VersionRow) -> dict[str, Any]:
    return {"id": v.id, "vessel_id": v.vessel_id, "version": v.version, "name": v.name,
            "published_at": (v.published_at or v.created_at).isoformat(), "published_by": v.published_by,
            "seats": v.seats, "sailings": v.sailings}


def _draft_head(d: DraftRow) -> dict[str, Any]:
    return {"vessel_id": d.vessel_id, "base_version": d.base_version, "revision": d.revision,
            "updated_at": d.updated_at.isoformat(), "updated_by": d.updated_by}
