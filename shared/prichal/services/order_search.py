"""Order search for agents: one box or explicit fields, newest first, keyset pages.

Names, e-mails and phones are matched by the database's search function on a normalised
projection (see ``domain/order_search.py`` and migration 0016); order numbers, ticket codes
and numbers and payment ids are resolved to orders first and narrow the same search, so
every other condition (status, sailing, dates, attention) still applies to them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from prichal.domain.errors import InvalidInput
from prichal.domain.order_search import (
    MAX_PAGE,
    TICKET_NUMBER,
    OrderSummary,
    SearchCriteria,
    SearchPage,
    canonical_uuid,
    parse_cursor,
)


class OrderSearchStore(Protocol):
    def search(self, criteria: dict[str, Any], before: int | None, limit: int) -> list[tuple[str, int]]: ...
    def order_ids_by_number(self, number: int) -> list[str]: ...
    def order_ids_by_id(self, order_id: str) -> list[str]: ...
    def order_ids_by_ticket(self, ticket_id: str) -> list[str]: ...
    def order_ids_by_ticket_number(self, year: int, number: int) -> list[str]: ...
    def order_ids_by_payment(self, payment_id: str, ours: bool) -> list[str]: ...
    def summaries(self, order_ids: Sequence[str]) -> list[OrderSummary]: ...


class SearchUnit(Protocol):
    order_search: OrderSearchStore


class OrderSearch:
    def __init__(self, *, uow: Callable[[str], AbstractContextManager[SearchUnit]],
                 ticket_id_of_code: Callable[[str], str | None]) -> None:
        """``ticket_id_of_code``: the ticket id a QR code names when its signature is ours, else None."""
        self._uow = uow
        self._ticket_id_of_code = ticket_id_of_code

    def search(self, tenant_id: str, criteria: SearchCriteria, cursor: str | None = None,
               limit: int = 20) -> SearchPage:
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit is 1 to {MAX_PAGE}", errors=[
                {"loc": ["query", "limit"], "type": "value_error", "msg": f"1 to {MAX_PAGE}"}])
        before = parse_cursor(cursor)
        wanted = criteria.database_criteria()  # refuses bad input before any query
        ticket_id = self._ticket_of(criteria.ticket)
        with self._uow(tenant_id) as uow:
            store = uow.order_search
            restricted = self._restriction(store, criteria, ticket_id)
            if restricted is not None:
                if not restricted:
                    return SearchPage([], None)
                wanted["order_ids"] = sorted(set(restricted))
            found = store.search(wanted, before, limit + 1)
            page = found[:limit]
            orders = store.summaries([order_id for order_id, _ in page])
        next_cursor = str(page[-1][1]) if len(found) > limit else None
        return SearchPage(orders, next_cursor)

    def _ticket_of(self, ticket: str | None) -> tuple[str, Any] | None:
        """What a ticket reference is: ("id", uuid), ("number", (year, n)) or ("none", None)."""
        if ticket is None:
            return None
        value = ticket.strip()
        if value.upper().startswith(("PT1.", "PT2.")):
            found = self._ticket_id_of_code(value)
            return ("id", found) if found else ("none", None)
        if (match := TICKET_NUMBER.match(value)) is not None:
            return "number", (int(match[1]), int(match[2]))
        if (as_uuid := canonical_uuid(value)) is not None:
            return "id", as_uuid
        raise InvalidInput("a ticket is its QR code, its number (2026-000123) or its id", errors=[
            {"loc": ["query", "ticket"], "type": "value_error", "msg": "not a ticket code, number or id"}])

    @staticmethod
    def _restriction(store: OrderSearchStore, criteria: SearchCriteria,
                     ticket: tuple[str, Any] | None) -> list[str] | None:
        """Orders the exact references allow (intersected), or None when none was given."""
        sets: list[set[str]] = []
        if criteria.number is not None:
            sets.append(set(store.order_ids_by_number(criteria.number)) if 0 < criteria.number < 2**31 else set())
        if criteria.order_id is not None:
            as_uuid = canonical_uuid(criteria.order_id)
            sets.append(set() if as_uuid is None else {
                *store.order_ids_by_id(as_uuid), *store.order_ids_by_ticket(as_uuid),
                *store.order_ids_by_payment(as_uuid, ours=True)})
        if ticket is not None:
            kind, value = ticket
            if kind == "id":
                sets.append(set(store.order_ids_by_ticket(value)))
            elif kind == "number":
                sets.append(set(store.order_ids_by_ticket_number(*value)) if value[1] < 2**31 else set())
            else:
                sets.append(set())
        if criteria.payment_id is not None:
            value = criteria.payment_id.strip()
            ids = set(store.order_ids_by_payment(value, ours=False))
            if (as_uuid := canonical_uuid(value)) is not None:
                ids |= set(store.order_ids_by_payment(as_uuid, ours=True))
            sets.append(ids)
        if not sets:
            return None
        return list(set.intersection(*sets))
