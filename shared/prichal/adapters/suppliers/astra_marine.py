"""Astra Marine: JSON over HTTP Basic auth, ``POST {base}/{methodName}`` for nearly everything.

What is known of the API is in the handbook (reference/suppliers.md); the quirks handled
here: ids are zero-padded strings (``"000000002"``: we keep ``"2"`` and pad back when we
call), prices are rubles (strings or numbers), the registration answer's key is spelled
``isOrderRegistred`` (the correct spelling is accepted too), order ids may come back with
non-breaking-space thousands separators, seat statuses are Russian words.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from prichal.domain.suppliers import (
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
)

from .http import SupplierHttp
from .mapping import clean_id, first, local_time, padded, rubles, vat_rate

SEAT_STATUSES = {"Свободно": SeatStatus.FREE, "Продано": SeatStatus.SOLD, "Бронь": SeatStatus.RESERVED,
                 "Выбрано": SeatStatus.SELECTED}
ORDER_STATUSES = {"pending": RemoteOrderStatus.PENDING, "success": RemoteOrderStatus.SUCCESS,
                  "reject": RemoteOrderStatus.REJECT, "expired": RemoteOrderStatus.EXPIRED,
                  "returned": RemoteOrderStatus.RETURNED}
# ticketTypeName -> our ticket type (Astra Marine names them in Russian, no codes)
TICKET_TYPES = (("взросл", "adult"), ("дет", "child"), ("льгот", "concession"), ("пенсион", "concession"),
                ("студ", "concession"), ("млад", "infant"), ("сопровожд", "attendant"))
SEATED_SERVICE_TYPES = {"DateTimeSeat", "Place"}


def ticket_type(name: str) -> str:
    lowered = name.strip().lower()
    return next((ours for stem, ours in TICKET_TYPES if stem in lowered), "adult")


def map_point(row: dict[str, Any]) -> SupplierPier:
    latitude = longitude = None
    coordinates = first(row, "pointCoordinates", "coordinates")
    if isinstance(coordinates, str) and "," in coordinates:
        lat, lng = coordinates.split(",", 1)
        latitude, longitude = Decimal(lat.strip()), Decimal(lng.strip())
    elif isinstance(coordinates, dict):
        latitude, longitude = Decimal(str(coordinates["lat"])), Decimal(str(coordinates["lng"]))
    return SupplierPier(ref=clean_id(row["pointID"]), name=str(row["pointName"]).strip(),
                        address=str(first(row, "pointAddress", "address", default="")).strip(),
                        latitude=latitude, longitude=longitude,
                        wheelchair=first(row, "wheelchairBoarding", "wheelchair"))


def map_service(row: dict[str, Any]) -> SupplierProgram:
    return SupplierProgram(
        ref=clean_id(row["serviceID"]), name=str(row["serviceName"]).strip(),
        description=str(first(row, "serviceDescription", default="")).strip(),
        duration_minutes=int(first(row, "serviceDuration", default=60)),
        seating="assigned" if row.get("serviceType") in SEATED_SERVICE_TYPES else "free",
        barcode_required=bool(row.get("barcodeType")))


def map_prices(rows: list[dict[str, Any]], types: dict[str, str], vat: Any = None) -> tuple[SupplierTariff, ...]:
    """``getSeatPrices`` rows -> tariffs: the retail price (rubles) per ticket type; the first
    seat category's price when a type has several (free seating sells any seat)."""
    found: dict[str, SupplierTariff] = {}
    for row in rows:
        type_ref = clean_id(row["ticketTypeID"])
        name = types.get(type_ref, str(first(row, "ticketTypeName", default="Взрослый")))
        ours = ticket_type(name)
        if ours in found:
            continue
        found[ours] = SupplierTariff(
            ticket_type=ours, name=name, price=rubles(row["priceTypeValue"]),
            vat_rate=vat_rate(first(row, "vatRate", "taxRate", default=vat)),
            booking={"ticketTypeID": padded(type_ref), "priceTypeID": padded(clean_id(row["priceTypeID"])),
                     "seatCategoryID": padded(clean_id(row["seatCategoryID"])) if row.get("seatCategoryID") else None,
                     "menuID": row.get("menuID")})
    return tuple(found.values())


def map_event(row: dict[str, Any]) -> SupplierDeparture:
    no_seats = bool(row.get("eventNoSeats"))
    available = int(first(row, "availableSeats", "avaliableSeats", default=0))
    ship = first(row, "shipID", "vesselID")
    return SupplierDeparture(
        ref=clean_id(row["eventID"]), program_ref=clean_id(row["serviceID"]), pier_ref=clean_id(row["pierID"]),
        vessel_ref=clean_id(ship) if ship else None, departs_at=local_time(row["eventDateTime"]),
        duration_minutes=int(first(row, "eventDuration", default=60)),
        available=0 if no_seats else available,
        canceled=bool(first(row, "eventCanceled", "isCanceled", default=False)),
        booking={"eventID": padded(clean_id(row["eventID"])), "endPointID": row.get("endPointID"),
                 "freeSeating": bool(row.get("eventFreeSeating", False)), "shipName": row.get("shipName")})


def map_seats(rows: list[dict[str, Any]]) -> list[SupplierSeat]:
    """``getSeatsOnEvent`` rows -> seats with the operator's own ids (kept as sent: they go
    back in ``registerOrder``'s ``seatID``); a seat without a row is in row 1, one without
    a number takes its place in the list."""
    found = []
    for index, row in enumerate(rows, start=1):
        number = first(row, "seatNumber", "seatNum", "number")
        found.append(SupplierSeat(
            ref=str(row["seatID"]).strip(), row=str(first(row, "seatRow", "rowNumber", "row", default="1")).strip(),
            number=int(clean_id(number)) if number is not None and clean_id(number).isdigit() else index,
            status=SEAT_STATUSES.get(str(row.get("seatStatus")), SeatStatus.RESERVED)))
    return found


def registered(answer: dict[str, Any]) -> bool:
    return bool(first(answer, "isOrderRegistred", "isOrderRegistered", default=False))


def map_codes(answer: dict[str, Any], ticket_ids: list[str]) -> tuple[IssuedCode, ...]:
    """``orderedSeats[].barCodes``, in the order of our lines, one code per ticket."""
    codes = [str(code) for seat in answer.get("orderedSeats") or [] for code in seat.get("barCodes") or []]
    return tuple(IssuedCode(ticket_id=ticket, barcode=code) for ticket, code in zip(ticket_ids, codes, strict=False))


class AstraMarineClient:
    supplier = Supplier.ASTRA_MARINE

    def __init__(self, http: SupplierHttp, email: str | None = None) -> None:
        self.http = http
        self.email = email  # selects agent prices

    def _post(self, method: str, **body: Any) -> dict[str, Any]:
        if self.email:
            body.setdefault("email", self.email)
        answer = self.http.call("POST", method, json=body)
        if not isinstance(answer, dict):
            raise SupplierUnavailable(f"astra_marine {method}: unexpected answer")
        return answer

    # --- catalog -------------------------------------------------------------------------
    def piers(self) -> list[SupplierPier]:
        return [map_point(row) for row in self._post("getRouteStartEndPoints").get("points", [])]

    def programs(self) -> list[SupplierProgram]:
        return [map_service(row) for row in self._post("getServices").get("services", [])]

    def catalog(self) -> SupplierCatalog:
        piers = self.piers()
        return SupplierCatalog(piers=tuple(piers), vessels=(), programs=tuple(self.programs()))

    def departures(self, date_from: date, date_to: date) -> list[SupplierDeparture]:
        answer = self._post("getEvents", dateFrom=date_from.isoformat(), dateTo=date_to.isoformat())
        return [map_event(row) for row in answer.get("events", [])]

    def availability(self, departure: SupplierDeparture) -> int:
        rows = self._post("getSeatCategories", eventID=departure.booking["eventID"]).get("seatCategories", [])
        return sum(int(first(row, "availableSeats", "avaliableSeats", default=0)) for row in rows)

    def seats(self, departure: SupplierDeparture) -> dict[str, SeatStatus]:
        return {seat.ref: seat.status for seat in self.seat_plan(departure)}

    def seat_plan(self, departure: SupplierDeparture) -> list[SupplierSeat]:
        return map_seats(self._post("getSeatsOnEvent", eventID=departure.booking["eventID"]).get("seats", []))

    def ticket_types(self) -> dict[str, str]:
        return {clean_id(row["ticketTypeID"]): str(row["ticketTypeName"])
                for row in self._post("getTicketType").get("ticketTypes", [])}

    def tariffs(self, program: SupplierProgram, departure: SupplierDeparture | None = None) -> list[SupplierTariff]:
        if departure is None:
            return []
        rows = self._post("getSeatPrices", eventID=departure.booking["eventID"]).get("seatPrices", [])
        return list(map_prices(rows, self.ticket_types()))

    # --- orders --------------------------------------------------------------------------
    def _lines(self, sale: SupplierSale) -> list[dict[str, Any]]:
        return [{"eventID": sale.departure_booking["eventID"], "ticketTypeID": line.booking.get("ticketTypeID"),
                 "priceTypeID": line.booking.get("priceTypeID"), "seatCategoryID": line.booking.get("seatCategoryID"),
                 "seatID": line.seat_ref, "menuID": line.booking.get("menuID"), "quantityOfTickets": 1,
                 "resident": False} for line in sale.lines]

    def register(self, sale: SupplierSale) -> Registration:
        if sale.departure_booking.get("seats") is not None and any(not line.seat_ref for line in sale.lines):
            raise SupplierRejected("a seat of this seated departure has no Astra Marine seat id")
        answer = self._post("registerOrder", sessionID=sale.external_id, orderID=sale.external_id,
                            paymentTypeID="000000001", order=self._lines(sale),
                            customer={"name": sale.customer_name, "email": sale.customer_email,
                                      "phone": sale.customer_phone})
        if not registered(answer):
            raise SupplierRejected(f"Astra Marine refused the order: {answer.get('errorMessage') or answer}",
                                   answer=answer)
        return Registration(supplier_order_id=clean_id(first(answer, "orderID", default=sale.external_id)),
                            codes=map_codes(answer, [line.ticket_id for line in sale.lines]))

    def confirm(self, sale: SupplierSale, registration: Registration) -> Registration:
        answer = self._post("confirmPayment", orderID=sale.external_id, orderConfirm=True)
        if not first(answer, "isPaymentConfirmed", "isPaymentConfirmd", default=False):
            if str(answer.get("orderStatus")) == "expired":
                raise SupplierOrderExpired("Astra Marine let the registration lapse", answer=answer)
            raise SupplierRejected(f"Astra Marine refused the sale: {answer.get('errorMessage') or answer}",
                                   answer=answer)
        codes = map_codes(answer, [line.ticket_id for line in sale.lines]) or registration.codes
        return Registration(registration.supplier_order_id, codes, RemoteOrderStatus.SUCCESS)

    def cancel(self, external_id: str, supplier_order_id: str) -> ReturnResult:
        answer = self._post("returnOrder", orderID=external_id)
        if not first(answer, "isOrderReturned", "isOrderReturnd", default=False):
            raise SupplierRejected(f"Astra Marine refused the return: {answer.get('errorMessage') or answer}",
                                   answer=answer)
        return ReturnResult(fine=rubles(first(answer, "fineAmount", default="0")))

    def status(self, external_id: str, supplier_order_id: str | None) -> RemoteOrderStatus:
        answer = self._post("getOrder", orderID=external_id)
        return ORDER_STATUSES.get(str(first(answer, "orderStatus", "status", default="")), RemoteOrderStatus.UNKNOWN)
