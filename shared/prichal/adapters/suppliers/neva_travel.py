"""Neva Travel: REST/JSON, the key in ``X-API-KEY``; catalog by GET, orders by POST.

Quirks handled here: program prices are in kopecks
(``prices_table[0].default_price[category].price``), availability is only a bucket
(``many``, ``less_than_10``, ``less_than_3``, ``none``), and the bucket's key is sometimes
spelled ``avaliable_seats``; ticket categories ``full``, ``child``, ``infant``,
``privileged``, ``attendant``. Neva Travel has no documented external id: we send our
order id as ``external_order_id`` and in the comment (to confirm against the real contract).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from prichal.domain.suppliers import (
    AvailabilityBucket,
    IssuedCode,
    Registration,
    RemoteOrderStatus,
    ReturnResult,
    SeatStatus,
    Supplier,
    SupplierCatalog,
    SupplierDeparture,
    SupplierOrderExpired,
    SupplierPier,
    SupplierProgram,
    SupplierRejected,
    SupplierSale,
    SupplierSeat,
    SupplierTariff,
    SupplierUnavailable,
    SupplierVessel,
    places_for_sale,
)

from .http import SupplierHttp
from .mapping import clean_id, first, kopecks, local_time, vat_rate

CATEGORIES = {"full": ("adult", "Взрослый"), "child": ("child", "Детский (3-10 лет)"),
              "infant": ("infant", "Детский (до 3 лет)"), "privileged": ("concession", "Льготный"),
              "attendant": ("attendant", "Сопровождающий")}
OUR_CATEGORY = {ours: theirs for theirs, (ours, _) in CATEGORIES.items()}
ORDER_STATUSES = {"pending": RemoteOrderStatus.PENDING, "new": RemoteOrderStatus.PENDING,
                  "success": RemoteOrderStatus.SUCCESS, "approved": RemoteOrderStatus.SUCCESS,
                  "reject": RemoteOrderStatus.REJECT, "rejected": RemoteOrderStatus.REJECT,
                  "expired": RemoteOrderStatus.EXPIRED, "canceled": RemoteOrderStatus.RETURNED,
                  "cancelled": RemoteOrderStatus.RETURNED}


def bucket(value: Any) -> AvailabilityBucket:
    try:
        return AvailabilityBucket(str(value).strip().lower())
    except ValueError:
        return AvailabilityBucket.NONE  # an unknown bucket sells nothing rather than too much


def map_pier(row: dict[str, Any]) -> SupplierPier:
    lat, lng = first(row, "lat", "latitude"), first(row, "lng", "lon", "longitude")
    return SupplierPier(ref=clean_id(row["id"]), name=str(row["name"]).strip(),
                        address=str(first(row, "address", default="")).strip(),
                        latitude=Decimal(str(lat)) if lat is not None else None,
                        longitude=Decimal(str(lng)) if lng is not None else None)


def map_ship(row: dict[str, Any]) -> SupplierVessel:
    return SupplierVessel(ref=clean_id(row["id"]), name=str(row["name"]).strip())


def map_prices(prices_table: list[dict[str, Any]], vat: Any = None) -> tuple[SupplierTariff, ...]:
    """The first price table's default prices (kopecks) -> tariffs in rubles."""
    if not prices_table:
        return ()
    table = prices_table[0]
    tariffs = []
    for category, entry in (table.get("default_price") or {}).items():
        if category not in CATEGORIES or entry is None:
            continue
        ours, name = CATEGORIES[category]
        price = entry["price"] if isinstance(entry, dict) else entry
        tariffs.append(SupplierTariff(
            ticket_type=ours, name=name, price=kopecks(price),
            vat_rate=vat_rate(first(table, "vat", "vat_rate", default=vat)),
            booking={"program_price_id": clean_id(table["program_price_id"]), "ticket_category": category,
                     "purchase_price": int(price)}))
    return tuple(tariffs)


def map_program(row: dict[str, Any]) -> SupplierProgram:
    return SupplierProgram(ref=clean_id(row["id"]), name=str(row["name"]).strip(),
                           description=str(first(row, "description", default="")).strip(),
                           duration_minutes=int(first(row, "duration", "duration_minutes", default=60)),
                           seating="free", barcode_required=True,
                           tariffs=map_prices(row.get("prices_table") or [], first(row, "vat", "vat_rate")))


def map_cruise(row: dict[str, Any]) -> SupplierDeparture:
    arrival = row.get("default_arrival") or {}
    prices = arrival.get("prices_table") or []
    buckets = [bucket(first(p, "available_seats", "avaliable_seats", "availableSeats")) for p in prices]
    best = max(buckets, key=lambda b: places_for_sale(None, b)) if buckets else AvailabilityBucket.NONE
    departs_at = local_time(row["departure_date"])
    arrives = first(arrival, "arrival_date")
    duration = int((local_time(arrives) - departs_at) / timedelta(minutes=1)) if arrives else 60
    return SupplierDeparture(
        ref=clean_id(row["id"]), program_ref=clean_id(row["program_id"]), pier_ref=clean_id(row["pier_id"]),
        vessel_ref=clean_id(row["ship_id"]) if row.get("ship_id") is not None else None,
        departs_at=departs_at, duration_minutes=max(duration, 1), available=None, bucket=best,
        canceled=bool(first(row, "is_canceled", "is_cancelled", "canceled", default=False)),
        booking={"cruise_id": clean_id(row["id"]), "departure_point_id": clean_id(row["pier_id"]),
                 "program_price_ids": [clean_id(p["program_price_id"]) for p in prices if "program_price_id" in p],
                 "back_cruises": [clean_id(c.get("id")) for c in row.get("back_cruises") or []]})


def map_tickets(answer: dict[str, Any], ticket_ids: list[str]) -> tuple[IssuedCode, ...]:
    rows = answer.get("tickets") or []
    return tuple(IssuedCode(ticket_id=ticket, barcode=str(first(row, "barcode", "bar_code", "code")),
                            ticket_number=str(first(row, "ticket_number", "number", default="")) or None)
                 for ticket, row in zip(ticket_ids, rows, strict=False))


class NevaTravelClient:
    supplier = Supplier.NEVA_TRAVEL

    def __init__(self, http: SupplierHttp) -> None:
        self.http = http

    def _get(self, method: str, **params: Any) -> Any:
        return self.http.call("GET", method, params=params or None)

    def _post(self, method: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        answer = self.http.call("POST", method, json=body, params=params or None)
        if not isinstance(answer, dict):
            raise SupplierUnavailable(f"neva_travel {method}: unexpected answer")
        return answer

    def healthy(self) -> bool:
        return str((self._get("get_api_status") or {}).get("status")) == "ok"

    # --- catalog -------------------------------------------------------------------------
    def piers(self) -> list[SupplierPier]:
        return [map_pier(row) for row in self._get("get_piers_info") or []]

    def vessels(self) -> list[SupplierVessel]:
        return [map_ship(row) for row in self._get("get_ships_info") or []]

    def programs(self) -> list[SupplierProgram]:
        return [map_program(row) for row in self._get("get_programs_info") or []]

    def catalog(self) -> SupplierCatalog:
        return SupplierCatalog(piers=tuple(self.piers()), vessels=tuple(self.vessels()),
                               programs=tuple(self.programs()))

    def departures(self, date_from: date, date_to: date) -> list[SupplierDeparture]:
        found = []
        day = date_from
        while day <= date_to:  # the API takes one departure date per call
            found += [map_cruise(row) for row in self._get("get_cruises_info", departure_date=day.isoformat()) or []]
            day += timedelta(days=1)
        return found

    def availability(self, departure: SupplierDeparture) -> int:
        return departure.places

    def seats(self, departure: SupplierDeparture) -> dict[str, SeatStatus]:
        return {}  # no seat maps at Neva Travel

    def seat_plan(self, departure: SupplierDeparture) -> list[SupplierSeat]:
        return []

    def tariffs(self, program: SupplierProgram, departure: SupplierDeparture | None = None) -> list[SupplierTariff]:
        return list(program.tariffs)

    # --- orders --------------------------------------------------------------------------
    def register(self, sale: SupplierSale) -> Registration:
        grouped: dict[tuple[str, str, int], int] = {}
        for line in sale.lines:
            key = (str(line.booking["program_price_id"]), str(line.booking.get("ticket_category")
                                                               or OUR_CATEGORY.get(line.ticket_type, "full")),
                   int(line.booking.get("purchase_price", int(line.price * 100))))
            grouped[key] = grouped.get(key, 0) + 1
        body = {"ticket_list": [{"departure_point_id": sale.departure_booking["departure_point_id"],
                                 "cruise_id": sale.departure_booking["cruise_id"], "program_price_id": price_id,
                                 "ticket_category": category, "purchase_price": price, "qty": qty}
                                for (price_id, category, price), qty in grouped.items()],
                "name": sale.customer_name, "phone": sale.customer_phone or "", "email": sale.customer_email or "",
                "hide_ticket_price": False, "comment": f"prichal order {sale.external_id}",
                "external_order_id": sale.external_id}
        answer = self._post("request_ticket_order", body)
        if answer.get("error") or not answer.get("order_id"):
            raise SupplierRejected(f"Neva Travel refused the order: {answer.get('error') or answer}", answer=answer)
        return Registration(supplier_order_id=clean_id(answer["order_id"]),
                            codes=map_tickets(answer, [line.ticket_id for line in sale.lines]))

    def confirm(self, sale: SupplierSale, registration: Registration) -> Registration:
        answer = self._post("approve_order", {}, order_id=registration.supplier_order_id)
        status = ORDER_STATUSES.get(str(answer.get("status")), RemoteOrderStatus.UNKNOWN)
        if status is RemoteOrderStatus.EXPIRED:
            raise SupplierOrderExpired("Neva Travel let the registration lapse", answer=answer)
        if status is not RemoteOrderStatus.SUCCESS:
            raise SupplierRejected(f"Neva Travel refused the sale: {answer.get('error') or answer}", answer=answer)
        codes = map_tickets(answer, [line.ticket_id for line in sale.lines]) or registration.codes
        return Registration(registration.supplier_order_id, codes, RemoteOrderStatus.SUCCESS)

    def cancel(self, external_id: str, supplier_order_id: str) -> ReturnResult:
        answer = self._post("cancel_order", {"order_id": supplier_order_id})
        if answer.get("error"):
            raise SupplierRejected(f"Neva Travel refused the return: {answer['error']}", answer=answer)
        return ReturnResult(fine=kopecks(first(answer, "fine_amount", "penalty", default=0)))

    def status(self, external_id: str, supplier_order_id: str | None) -> RemoteOrderStatus:
        if not supplier_order_id:
            return RemoteOrderStatus.UNKNOWN
        try:
            answer = self._get("get_order_info", order_id=supplier_order_id) or {}
        except SupplierRejected:  # 404: the operator does not know the order
            return RemoteOrderStatus.UNKNOWN
        return ORDER_STATUSES.get(str(answer.get("status")), RemoteOrderStatus.UNKNOWN)
