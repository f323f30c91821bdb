"""Seats blocked on one sailing only (crew seats, a broken seat): free <-> blocked for that
sailing, without a new seat-map version.

This is a piece of the seat lifecycle, whose owner is the inventory module (the refunds
branch's ``services/inventory.py``); it lives here until both are on one branch, then it
becomes ``Inventory.block_on_sailing`` / ``unblock_on_sailing``. Like every seat move it
has two halves: PostgreSQL inside the caller's unit of work (``sailing_seat_blocks``,
which ``sold_seats`` counts, so neither a hold reload nor an order can take the seat), then
the Redis mirror after commit (the seat joins the sailing's "taken" set, which every hold
script checks, and the seat map's version moves so the storefront shows it at once).
"""

from __future__ import annotations

from prichal.adapters.db.uow import UnitOfWork
from prichal.adapters.redis_holds import RedisHoldStore


class SailingSeatBlocks:
    def __init__(self, store: RedisHoldStore) -> None:
        self._store = store

    # --- PostgreSQL (inside the caller's unit of work) --------------------------------
    @staticmethod
    def block(uow: UnitOfWork, sailing_id: str, seat_ids: list[str], reason: str, by: str) -> list[str]:
        """Block the seats on the sailing; answers those that were not blocked before.
        The caller has made sure none has a live ticket (a sold seat is refunded first)."""
        return uow.seat_maps.add_blocks(sailing_id, seat_ids, reason, by)

    @staticmethod
    def unblock(uow: UnitOfWork, sailing_id: str, seat_ids: list[str]) -> list[str]:
        return uow.seat_maps.remove_blocks(sailing_id, seat_ids)

    # --- Redis mirror (after commit) ----------------------------------------------------
    def mirror(self, tenant_id: str, sailing_id: str, blocked: list[str], unblocked: list[str]) -> None:
        if blocked:
            self._store.mark_taken(tenant_id, sailing_id, blocked, taken=True)
        if unblocked:
            self._store.mark_taken(tenant_id, sailing_id, unblocked, taken=False)
        if not blocked and not unblocked:
            self._store.invalidate_seatmap(tenant_id, sailing_id)
