"""Astra Marine's API as a stub: ``POST /{methodName}``, HTTP Basic ``stub:stub``.

Catalog: two piers, one service "Северная Венеция" (a free-seating trip, 40 places)
departing 11:00, 15:00 and 19:00 every day; ids are zero-padded strings, prices rubles.
With the ``seated`` knob also a seated service (``DateTimeSeat``) "Разводные мосты (Астра)" at 21:00
on another ship: 12 seats in two rows, each with its own status (``getSeatsOnEvent``; the
``seat_status`` knob sets event -> seat id -> free | sold | reserved | selected), sold by
``registerOrder`` lines naming the seat (``seatID``): an unknown or taken seat is refused.
"""

from __future__ import annotations

import base64
import time
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, jsonify, request

from .common import stub_app
from .state import StubOrder, StubState, days

SERVICE_ID = "000000002"
PIERS = [
    {"pointID": "000000001", "pointName": "Причал «Адмиралтейская наб., 2»",
     "pointAddress": "Санкт-Петербург, Адмиралтейская наб., 2", "pointCoordinates": "59.937500,30.308600",
     "wheelchairBoarding": True},
    {"pointID": "000000004", "pointName": "Причал «Петропавловская крепость»",
     "pointAddress": "Санкт-Петербург, Заячий остров", "pointCoordinates": "59.949700,30.316700",
     "wheelchairBoarding": False},
]
TIMES = ((11, 0), (15, 0), (19, 0))
TICKET_TYPES = [{"ticketTypeID": "000000001", "ticketTypeName": "Взрослый"},
                {"ticketTypeID": "000000002", "ticketTypeName": "Детский"},
                {"ticketTypeID": "000000003", "ticketTypeName": "Льготный (пенсионный)"}]
PRICES = {"000000001": "1200.00", "000000002": "800.00", "000000003": "1000.00"}
TYPE_NAMES = {"000000001": "adult", "000000002": "child", "000000003": "concession"}
EPOCH = date(2026, 1, 1)
SEAT_WORDS = {"free": "Свободно", "sold": "Продано", "reserved": "Бронь", "selected": "Выбрано"}
SEATED_SERVICE_ID = "000000003"
SEATED_INDEX = 3  # event_id(day, 3): the seated service's departure of the day
SEATED_TIME = (21, 0)
# the seated ship's seats: the operator's own ids (not their numbers), two rows of six
SEAT_PLAN = [{"seatID": f"{500 + n:09d}", "seatRow": str(1 + (n - 1) // 6), "seatNumber": 1 + (n - 1) % 6}
             for n in range(1, 13)]


def seat_ref(row: int, number: int) -> str:
    """The operator's id of a seat of the seated ship (row 1..2, number 1..6)."""
    return f"{500 + (row - 1) * 6 + number:09d}"


def _seated_sold(state: StubState, ref: str) -> set[str]:
    return {str(line.get("seatID")) for o in state.orders.values()
            if o.departure == ref and o.status in ("pending", "success") for line in o.lines}


def seat_statuses(state: StubState, ref: str) -> dict[str, str]:
    """The seated departure's seats: sold by orders, else the knob's status, else free."""
    with state.lock:
        state.expire()
        sold = _seated_sold(state, ref)
        knob = state.knobs.seat_status.get(ref, {})
        return {seat["seatID"]: "sold" if seat["seatID"] in sold else knob.get(seat["seatID"], "free")
                for seat in SEAT_PLAN}


def event_id(day: date, index: int) -> str:
    return f"{(day - EPOCH).days * 10 + index:09d}"


def _event(state: StubState, day: date, index: int) -> dict[str, Any] | None:
    ref = event_id(day, index)
    if ref in state.knobs.drop:
        return None
    hour, minute = TIMES[index]
    key = "avaliableSeats" if state.knobs.misspell else "availableSeats"
    return {"eventID": ref, "serviceID": SERVICE_ID, "eventDateTime": f"{day.isoformat()}T{hour:02d}:{minute:02d}:00",
            "pierID": PIERS[0]["pointID"], "endPointID": PIERS[1]["pointID"], "eventDuration": 90,
            key: state.free(ref), "eventFreeSeating": True, "eventNoSeats": state.free(ref) == 0,
            "statusRequestBuyer": False, "shipID": "000000011", "shipName": "Теплоход «Смольный»",
            "eventCanceled": ref in state.knobs.cancel}


def _seated_event(state: StubState, day: date) -> dict[str, Any] | None:
    ref = event_id(day, SEATED_INDEX)
    if ref in state.knobs.drop:
        return None
    free = sum(1 for status in seat_statuses(state, ref).values() if status == "free")
    key = "avaliableSeats" if state.knobs.misspell else "availableSeats"
    return {"eventID": ref, "serviceID": SEATED_SERVICE_ID,
            "eventDateTime": f"{day.isoformat()}T{SEATED_TIME[0]:02d}:{SEATED_TIME[1]:02d}:00",
            "pierID": PIERS[0]["pointID"], "endPointID": PIERS[0]["pointID"], "eventDuration": 120,
            key: free, "eventFreeSeating": False, "eventNoSeats": free == 0, "statusRequestBuyer": False,
            "shipID": "000000012", "shipName": "Теплоход «Адмирал»", "eventCanceled": ref in state.knobs.cancel}


def _seated(ref: str) -> bool:
    return ref.isdigit() and int(ref) % 10 == SEATED_INDEX


def _day_of(ref: str) -> date:
    return EPOCH + timedelta(days=int(ref) // 10)


def create_app(state: StubState) -> Flask:  # noqa: PLR0915 - one route per API method
    def authorized() -> bool:
        header = request.headers.get("Authorization", "")
        return header == "Basic " + base64.b64encode(b"stub:stub").decode()

    app = stub_app("astra", state, authorized)

    def body() -> dict[str, Any]:
        return request.get_json(force=True, silent=True) or {}

    @app.post("/getServices")
    def services() -> Any:
        found = [{"serviceID": SERVICE_ID, "serviceName": "Северная Венеция",
                  "serviceDescription": "Реки и каналы исторического центра.",
                  "serviceType": "DateTime", "barcodeType": "EAN13", "serviceDuration": 90}]
        if state.knobs.seated:
            found.append({"serviceID": SEATED_SERVICE_ID, "serviceName": "Разводные мосты (Астра)",
                          "serviceDescription": "Разводка мостов с местами в салоне.",
                          "serviceType": "DateTimeSeat", "barcodeType": "EAN13", "serviceDuration": 120})
        return jsonify({"services": found})

    @app.post("/getRouteStartEndPoints")
    def points() -> Any:
        return jsonify({"points": PIERS})

    @app.post("/getEvents")
    def events() -> Any:
        given = body()
        found = []
        for day in days(given.get("dateFrom") or date.today().isoformat(), given.get("dateTo")):
            for index in range(len(TIMES)):
                event = _event(state, day, index)
                if event and (not given.get("serviceID") or given["serviceID"] == SERVICE_ID):
                    found.append(event)
            seated = _seated_event(state, day) if state.knobs.seated else None
            if seated and (not given.get("serviceID") or given["serviceID"] == SEATED_SERVICE_ID):
                found.append(seated)
        return jsonify({"events": found})

    @app.post("/getSeatCategories")
    def categories() -> Any:
        ref = str(body().get("eventID"))
        free = sum(1 for s in seat_statuses(state, ref).values() if s == "free") if _seated(ref) else state.free(ref)
        return jsonify({"seatCategories": [{"seatCategoryID": "000000001", "seatCategoryName": "Основная палуба",
                                            "availableSeats": free}]})

    @app.post("/getSeatsOnEvent")
    def seats() -> Any:
        ref = str(body().get("eventID"))
        if _seated(ref):
            statuses = seat_statuses(state, ref)
            return jsonify({"seats": [{**seat, "seatStatus": SEAT_WORDS[statuses[seat["seatID"]]]}
                                      for seat in SEAT_PLAN]})
        sold = state.sold(ref)
        rows = []
        for number in range(1, state.capacity + 1):
            status = "sold" if number <= sold else "reserved" if number == state.capacity else \
                "selected" if number == state.capacity - 1 else "free"
            rows.append({"seatID": f"{number:09d}", "seatNumber": number, "seatStatus": SEAT_WORDS[status]})
        return jsonify({"seats": rows})

    @app.post("/getTicketType")
    def ticket_types() -> Any:
        return jsonify({"ticketTypes": TICKET_TYPES})

    @app.post("/getSeatPrices")
    def prices() -> Any:
        rows = []
        for type_id, default in PRICES.items():
            price = state.knobs.prices.get(TYPE_NAMES[type_id], default)
            rows.append({"priceTypeID": "000000003", "priceTypeName": "Розничная", "ticketTypeID": type_id,
                         "seatCategoryID": "000000001", "priceTypeValue": price, "residentPrice": price,
                         "menuID": None, "vatRate": "none"})
        return jsonify({"seatPrices": rows})

    @app.post("/bookingSeat")
    def booking_seat() -> Any:
        return jsonify({"isSeatBooked": True})

    @app.post("/registerOrder")
    def register() -> Any:
        given = body()
        external = str(given.get("orderID", "")).replace("\u00a0", "").replace(" ", "")
        key = "isOrderRegistred"  # sic, as the real API spells it
        with state.lock:
            state.expire()
            known = state.orders.get(external)
            if known and known.status in ("pending", "success"):
                return jsonify({key: True, "orderID": known.order_id, "orderedSeats": [
                    {"eventID": known.departure, "barCodes": [c["barcode"] for c in known.codes]}]})
            lines = given.get("order") or []
            if not lines:
                return jsonify({key: False, "errorMessage": "empty order"})
            departure = str(lines[0].get("eventID"))
            quantity = sum(int(line.get("quantityOfTickets", 1)) for line in lines)
            if _seated(departure):
                statuses = seat_statuses(state, departure)
                wanted = [str(line.get("seatID")) for line in lines]
                if any(statuses.get(seat) != "free" for seat in wanted) or len(set(wanted)) != len(wanted):
                    return jsonify({key: False, "errorMessage": f"Место недоступно: {wanted}"})
            elif quantity > state.free(departure):
                return jsonify({key: False, "errorMessage": "Недостаточно свободных мест"})
            codes = [{"barcode": state.next_code("46")} for _ in range(quantity)]
            state.orders[external] = StubOrder(external, external, departure, quantity, lines, codes,
                                               time.monotonic())
        return jsonify({key: True, "orderID": external, "orderedSeats": [
            {"eventID": departure, "barCodes": [c["barcode"] for c in codes]}]})

    @app.post("/confirmPayment")
    def confirm() -> Any:
        external = str(body().get("orderID", "")).replace("\u00a0", "")
        with state.lock:
            state.expire()
            order = state.orders.get(external)
            if order is None:
                return jsonify({"isPaymentConfirmed": False, "errorMessage": "order not found"})
            if order.status == "expired":
                return jsonify({"isPaymentConfirmed": False, "orderStatus": "expired"})
            if order.status == "pending" and state.take("reject_next"):
                order.status = "reject"
            if order.status == "reject":
                return jsonify({"isPaymentConfirmed": False, "orderStatus": "reject",
                                "errorMessage": "Рейс закрыт для продажи"})
            order.status = "success"
        return jsonify({"isPaymentConfirmed": True, "orderStatus": "success"})

    @app.post("/returnOrder")
    def return_order() -> Any:
        external = str(body().get("orderID", "")).replace("\u00a0", "")
        with state.lock:
            order = state.orders.get(external)
            if order is None:
                return jsonify({"isOrderReturned": False, "errorMessage": "order not found"})
            first_return = order.status != "returned"
            order.status = "returned"
            departs = datetime.combine(_day_of(order.departure), datetime.min.time())
            fine = "150.00" if first_return and departs - datetime.now() < timedelta(days=1) else "0.00"
        return jsonify({"isOrderReturned": True, "fineAmount": fine})

    @app.post("/getOrder")
    def get_order() -> Any:
        external = str(body().get("orderID", "")).replace("\u00a0", "")
        with state.lock:
            state.expire()
            order = state.orders.get(external)
            status = state.knobs.order_status.get(external) or (order.status if order else "not_found")
            shown = f"{int(external):,}".replace(",", "\u00a0") if external.isdigit() else external
        return jsonify({"orderID": shown, "orderStatus": status})

    @app.post("/getCustomerOrders")
    def customer_orders() -> Any:
        with state.lock:
            return jsonify({"orders": [{"orderID": o.order_id, "orderStatus": o.status}
                                       for o in state.orders.values()]})

    return app
