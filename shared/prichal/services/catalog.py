"""What the storefront shows: sailings with availability and prices, and live seat maps."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import LiveHolds, RedisHoldStore, epoch_ms
from prichal.domain.catalog import Sailing, Tariff
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
        zone = ZoneInfo(tenant.timezone)
        start = datetime.combine(day, time.min, zone)
        with self._uow(tenant.id) as uow:
            found = uow.catalog.sailings_between(start, start + timedelta(days=1), pier_id, program_id)
            tariffs = uow.catalog.tariffs(sorted({s.program_id for s in found}))
            ticketed = uow.catalog.ticketed_seats_of([s.id for s in found if s.seating is Seating.ASSIGNED])
        held = self._store.live_holds(tenant.id, [s.id for s in found], epoch_ms(self._now()))
        sale_day = self._sale_day(tenant)
        lowest: dict[str, Tariff] = {}
        for tariff in tariffs:
            best = lowest.get(tariff.program_id)
            if best is None or tariff.price < best.price:
                lowest[tariff.program_id] = tariff
        return [
            {
                **self._summary(sailing),
                "available": self._available(tenant.id, sailing, ticketed.get(sailing.id, set()), held[sailing.id]),
                "lowest_price": price_view(lowest[sailing.program_id], tenant, sale_day)
                if sailing.program_id in lowest else None,
            }
            for sailing in found
        ]

    def _available(self, tenant_id: str, sailing: Sailing, ticketed: set[str], held: LiveHolds) -> int:
        """Places a buyer can still take. A seat may be both held (Redis) and ticketed
        (an unpaid order): count it once. Free seating: Redis counts the places of live
        holds and unpaid orders; the database, what is sold."""
        if sailing.seating is Seating.ASSIGNED:
            sellable = self._catalog.seat_map(tenant_id, sailing.seat_map_id or "").sellable_ids()
            return len(sellable - ticketed - held.seats)
        return max(sailing.capacity - sailing.places_sold - held.places, 0)

    @staticmethod
    def _summary(sailing: Sailing) -> dict[str, Any]:
        return {
            "id": sailing.id,
            "departs_at": sailing.departs_at.isoformat(),
            "duration_minutes": sailing.duration_minutes,
            "status": sailing.status.value,
            "seating": sailing.seating.value,
            "capacity": sailing.capacity,
            "program": {"id": sailing.program_id, "name": sailing.program_name},
            "pier": {"id": sailing.pier_id, "name": sailing.pier_name},
            "vessel": {"id": sailing.vessel_id, "name": sailing.vessel_name},
        }

    # --- detail ------------------------------------------------------------------------
    def sailing(self, tenant: Tenant, sailing_id: str) -> dict[str, Any]:
        sailing = self._catalog.sailing(tenant.id, sailing_id)
        with self._uow(tenant.id) as uow:
            tariffs = uow.catalog.tariffs([sailing.program_id])
            ticketed = uow.catalog.ticketed_seats_of([sailing.id]) if sailing.seating is Seating.ASSIGNED else {}
        held = self._store.live_holds(tenant.id, [sailing.id], epoch_ms(self._now()))[sailing.id]
        sale_day = self._sale_day(tenant)
        return {
            **self._summary(sailing),
            "available": self._available(tenant.id, sailing, ticketed.get(sailing.id, set()), held),
            "tariffs": [price_view(t, tenant, sale_day) for t in tariffs],
        }

    # --- seat map ------------------------------------------------------------------------
    def seatmap(self, tenant: Tenant, sailing_id: str) -> bytes:
        """The seat map with each seat's live status, as JSON bytes (served from a cache
        versioned by every hold change, so it is never staler than the TTL for sales)."""
        sailing = self._catalog.sailing(tenant.id, sailing_id)
        version = self._store.seatmap_version(tenant.id, sailing.id)
        cached = self._store.cached_seatmap(tenant.id, sailing.id, version)
        if cached is not None:
            return cached
        now_ms = epoch_ms(self._now())
        rendered, next_expiry = self._render_seatmap(tenant, sailing, now_ms)
        payload = json.dumps(rendered, separators=(",", ":")).encode()
        # cached until the first hold in it runs out, at most the configured time
        ttl = self._cache_ms if next_expiry is None else min(self._cache_ms, next_expiry - now_ms)
        self._store.cache_seatmap(tenant.id, sailing.id, version, payload, max(ttl, 0))
        return payload

    def _render_seatmap(self, tenant: Tenant, sailing: Sailing, now_ms: int) -> tuple[dict[str, Any], int | None]:
        """The seat map and the moment its first seat hold expires (``None``: no seat holds)."""
        with self._uow(tenant.id) as uow:
            tariffs = uow.catalog.tariffs([sailing.program_id])
            ticketed = uow.catalog.ticketed_seats(sailing.id) if sailing.seating is Seating.ASSIGNED else {}
        sale_day = self._sale_day(tenant)
        base = {**self._summary(sailing), "tariffs": [price_view(t, tenant, sale_day) for t in tariffs]}
        if sailing.seating is Seating.FREE:
            held = self._store.live_holds(tenant.id, [sailing.id], now_ms)[sailing.id]
            return {**base, "seat_map": None, "available": self._available(tenant.id, sailing, set(), held)}, None
        seat_map = self._catalog.seat_map(tenant.id, sailing.seat_map_id or "")
        held_seats = self._store.held_seats(tenant.id, sailing.id, now_ms)
        counts = dict.fromkeys(SeatStatus, 0)
        seats = []
        for seat in seat_map.seats.values():
            if seat.blocked:
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
                          "x": seat.x, "y": seat.y, "category": seat.category, "status": status.value})
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
            "available": counts[SeatStatus.FREE],
            "seats": seats,
        }, min(held_seats.values(), default=None)

