"""What the storefront shows: sailings with availability and prices, and live seat maps."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore, epoch_ms
from prichal.domain.catalog import Sailing, SaleStatus, Tariff, check_catalog_day
from prichal.domain.money import format_rub
from prichal.domain.seating import Seating, SeatStatus
from prichal.domain.tenants import Tenant

from .catalog_reader import CatalogReader


def price_view(tariff: Tariff, tenant: Tenant, day: date) -> dict[str, Any]:
    """A tariff's price as shown to a buyer: gross, VAT rate and the VAT it contains."""
    priced = tariff.priced(tenant.vat_rate_on(day, tariff.vat_rate))
    return {
        "tariff_id": tariff.id,
        "ticket_type": tariff.ticket_type,
        "name": tariff.name,
        "seat_category": tariff.seat_category,
        "price": format_rub(priced.gross),
        "currency": "RUB",
        "vat_rate": priced.rate.value,
        "vat_label": priced.rate.label,
        "vat_amount": format_rub(priced.vat),
        "vat_included": tenant.vat_included,
    }


class CatalogService:
    def __init__(self, uow_factory: Callable[[str], UnitOfWork], store: RedisHoldStore, catalog: CatalogReader,
                 clock: Callable[[], datetime], seat_status_cache_seconds: float) -> None:
        self._uow = uow_factory
        self._store = store
        self._catalog = catalog
        self._now = clock
        self._cache_ms = int(seat_status_cache_seconds * 1000)

    def _sale_day(self, tenant: Tenant) -> date:
        return self._now().astimezone(ZoneInfo(tenant.timezone)).date()

    # --- list --------------------------------------------------------------------------
    def sailings(self, tenant: Tenant, day: date, pier_id: str | None, program_id: str | None) -> list[dict]:
        check_catalog_day(day, self._sale_day(tenant))
        zone = ZoneInfo(tenant.timezone)
        start = datetime.combine(day, time.min, zone)
        now = self._now()
        with self._uow(tenant.id) as uow:
            found = uow.catalog.sailings_between(start, start + timedelta(days=1), pier_id, program_id)
            tariffs = uow.catalog.tariffs(sorted({s.program_id for s in found}), on=day)
            seated = {s.id for s in found if s.seating is Seating.ASSIGNED}
            ticketed = uow.catalog.ticketed_seats_of(sorted(seated))
            for sailing_id, blocked in uow.catalog.blocked_seats_of(sorted(seated)).items():
                ticketed[sailing_id] |= blocked  # neither can be bought
            places = uow.catalog.places_taken([s.id for s in found if s.seating is Seating.FREE], now)
        held = self._store.live_holds(tenant.id, sorted(seated), epoch_ms(now))
        sale_day = self._sale_day(tenant)
        lowest: dict[str, Tariff] = {}
        for tariff in tariffs:
            best = lowest.get(tariff.program_id)
            if best is None or tariff.price < best.price:
                lowest[tariff.program_id] = tariff
        return [
            {
                **self._summary(sailing, now),
                "available": self._available(tenant.id, sailing, now, ticketed.get(sailing.id, set()),
                                             held[sailing.id].seats if sailing.id in seated else set(),
                                             places.get(sailing.id, 0)),
                "lowest_price": price_view(lowest[sailing.program_id], tenant, sale_day)
                if sailing.program_id in lowest else None,
            }
            for sailing in found
        ]

    def _available(self, tenant_id: str, sailing: Sailing, now: datetime, ticketed: set[str], held: set[str],
                   places_taken: int) -> int:
        """Places a buyer can take now: none unless the sailing is on sale. Assigned seating:
        sellable seats without a live ticket (PostgreSQL) or a live hold (Redis, where seat
        holds live); a seat both held and ticketed counts once. Free seating: capacity less
        what PostgreSQL counts as sold or held, the durable record of every free-seating hold."""
        if sailing.sale_status(now) is not SaleStatus.ON_SALE:
            return 0
        if sailing.seating is Seating.ASSIGNED:
            sellable = self._catalog.seat_map(tenant_id, sailing.seat_map_id or "").sellable_ids()
            return len(sellable - ticketed - held)
        return max(sailing.capacity - places_taken, 0)

    @staticmethod
    def _summary(sailing: Sailing, now: datetime) -> dict[str, Any]:
        return {
            "id": sailing.id,
            "departs_at": sailing.departs_at.isoformat(),
            "duration_minutes": sailing.duration_minutes,
            "status": sailing.status.value,
            "sale_status": sailing.sale_status(now).value,
            "seating": sailing.seating.value,
            "capacity": sailing.capacity,
            "program": {"id": sailing.program_id, "name": sailing.program_name},
            "pier": {"id": sailing.pier_id, "name": sailing.pier_name},
            "vessel": {"id": sailing.vessel_id, "name": sailing.vessel_name},
        }

    # --- detail ------------------------------------------------------------------------
    def sailing(self, tenant: Tenant, sailing_id: str) -> dict[str, Any]:
        sailing = self._catalog.sailing(tenant.id, sailing_id)
        now = self._now()
        seated = sailing.seating is Seating.ASSIGNED
        with self._uow(tenant.id) as uow:
            tariffs = uow.catalog.tariffs([sailing.program_id], on=sailing.departure_day(tenant.timezone))
            ticketed = uow.catalog.ticketed_seats_of([sailing.id]).get(sailing.id, set()) if seated else set()
            if seated:
                ticketed |= uow.catalog.blocked_seats_of([sailing.id])[sailing.id]
            places = 0 if seated else uow.catalog.places_taken([sailing.id], now).get(sailing.id, 0)
        held = self._store.held_seats(tenant.id, sailing.id, epoch_ms(now)) if seated else {}
        sale_day = self._sale_day(tenant)
        return {
            **self._summary(sailing, now),
            "available": self._available(tenant.id, sailing, now, ticketed, set(held), places),
            "tariffs": [price_view(t, tenant, sale_day) for t in tariffs],
        }

    # --- seat map ------------------------------------------------------------------------
    def seatmap(self, tenant: Tenant, sailing_id: str) -> bytes:
        """The seat map with each seat's live status, as JSON bytes (served from a cache
        versioned by every hold change, so it is never staler than the TTL for sales)."""
        sailing = self._catalog.sailing(tenant.id, sailing_id)
        # an admin's change (a tariff, the sailing) bumps the generation; a hold, the seat's version
        version = f"{self._catalog.generation(tenant.id)}.{self._store.seatmap_version(tenant.id, sailing.id)}"
        cached = self._store.cached_seatmap(tenant.id, sailing.id, version)
        if cached is not None:
            return cached
        now = self._now()
        now_ms = epoch_ms(now)
        rendered, next_expiry = self._render_seatmap(tenant, sailing, now)
        payload = json.dumps(rendered, separators=(",", ":")).encode()
        # cached until the first hold in it runs out or sales close, at most the configured time
        ends = [end for end in (next_expiry, epoch_ms(sailing.sales_close_at)) if end is not None and end > now_ms]
        ttl = min([self._cache_ms, *(end - now_ms for end in ends)])
        self._store.cache_seatmap(tenant.id, sailing.id, version, payload, ttl)
        return payload

    def _render_seatmap(self, tenant: Tenant, sailing: Sailing, now: datetime) -> tuple[dict[str, Any], int | None]:
        """The seat map and the moment its first seat hold expires (``None``: no seat holds)."""
        seated = sailing.seating is Seating.ASSIGNED
        with self._uow(tenant.id) as uow:
            tariffs = uow.catalog.tariffs([sailing.program_id], on=sailing.departure_day(tenant.timezone))
            ticketed = uow.catalog.ticketed_seats(sailing.id) if seated else {}
            blocked = uow.catalog.blocked_seats_of([sailing.id])[sailing.id] if seated else set()
            places = 0 if seated else uow.catalog.places_taken([sailing.id], now).get(sailing.id, 0)
        sale_day = self._sale_day(tenant)
        base = {**self._summary(sailing, now), "tariffs": [price_view(t, tenant, sale_day) for t in tariffs]}
        if not seated:
            return {**base, "seat_map": None,
                    "available": self._available(tenant.id, sailing, now, set(), set(), places)}, None
        now_ms = epoch_ms(now)
        seat_map = self._catalog.seat_map(tenant.id, sailing.seat_map_id or "")
        held_seats = self._store.held_seats(tenant.id, sailing.id, now_ms)
        counts = dict.fromkeys(SeatStatus, 0)
        seats = []
        for seat in seat_map.seats.values():
            if seat.blocked or seat.id in blocked:  # in this version, or on this sailing only
                status = SeatStatus.BLOCKED
            elif ticketed.get(seat.id) == "sold":
                status = SeatStatus.SOLD
            elif seat.id in held_seats or seat.id in ticketed:  # held, or reserved by an unpaid order
                status = SeatStatus.HELD
            else:
                status = SeatStatus.FREE
            counts[status] += 1
            seats.append({"id": seat.id, "label": seat_map.label(seat.id), "section": seat.section,
                          "row": seat.row, "number": seat.number,
                          "x": seat.x, "y": seat.y, "category": seat.category, "accessible": seat.accessible,
                          "status": status.value})
        categories = [
            {"code": c.code, "name": c.name, "color": c.color,
             "prices": [price_view(t, tenant, sale_day) for t in tariffs if t.applies_to(c.code)]}
            for c in seat_map.categories.values()
        ]
        return {
            **base,
            "seat_map": {"id": seat_map.id, "version": seat_map.version, "name": seat_map.name},
            "sections": [{"code": code, "name": name} for code, name in seat_map.sections.items()],
            "categories": categories,
            "counts": {status.value: n for status, n in counts.items()},
            "available": counts[SeatStatus.FREE] if sailing.sale_status(now) is SaleStatus.ON_SALE else 0,
            "seats": seats,
        }, min(held_seats.values(), default=None)

