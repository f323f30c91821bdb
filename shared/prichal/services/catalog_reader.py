"""Cached reads of sailings and seat maps shared by the hold and catalog use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.memory_cache import TtlCache
from prichal.domain.catalog import Sailing
from prichal.domain.errors import NotFound
from prichal.domain.ids import canonical_uuid
from prichal.domain.seating import SeatMap

# A miss loads the sailings departing this close to the one asked for, too.
NEIGHBOURS = timedelta(hours=36)


class CatalogReader:
    """Sailings are cached for seconds (status and departure may change); seat maps by
    id for longer, since a seat-map version never changes once a sailing uses it.

    Entries are keyed by the tenant's catalog generation (``generation``, from Redis): the
    admin function bumps it after every change, so every process reads the change at once.
    """

    def __init__(self, uow_factory: Callable[[str], UnitOfWork], sailing_ttl: float,
                 generation: Callable[[str], str] = lambda tenant_id: "0") -> None:
        self._uow = uow_factory
        self._generation = generation
        self._sailings: TtlCache[Sailing | None] = TtlCache(sailing_ttl)
        self._seat_maps: TtlCache[SeatMap | None] = TtlCache(600.0, max_entries=512)

    def generation(self, tenant_id: str) -> str:
        return self._generation(tenant_id)

    def sailing(self, tenant_id: str, sailing_id: str) -> Sailing:
        canonical = canonical_uuid(sailing_id)
        if canonical is None:
            raise NotFound(f"sailing {sailing_id} not found", sailing_id=sailing_id)
        sailing_id = canonical
        generation = self._generation(tenant_id)

        def load() -> Sailing | None:
            with self._uow(tenant_id) as uow:
                near = uow.catalog.sailings_near(sailing_id, NEIGHBOURS)
            for other in near:
                self._sailings.put((tenant_id, generation, other.id), other)
            return next((s for s in near if s.id == sailing_id), None)

        sailing = self._sailings.get_or_load((tenant_id, generation, sailing_id), load)
        if sailing is None:
            raise NotFound(f"sailing {sailing_id} not found", sailing_id=sailing_id)
        return sailing

    def forget_sailing(self, tenant_id: str, sailing_id: str) -> None:
        """This process reads the sailing afresh next time (other processes within ``sailing_ttl``)."""
        self._sailings.forget((tenant_id, sailing_id))

    def seat_map(self, tenant_id: str, seat_map_id: str) -> SeatMap:
        def load() -> SeatMap | None:
            with self._uow(tenant_id) as uow:
                return uow.catalog.seat_map(seat_map_id)

        seat_map = self._seat_maps.get_or_load((tenant_id, self._generation(tenant_id), seat_map_id), load)
        if seat_map is None:
            raise NotFound(f"seat map {seat_map_id} not found")
        return seat_map
