"""Neva Travel's API as a stub: GET catalog, POST orders, key ``stub-key`` in ``X-API-KEY``
(or the older ``auth_key`` query parameter).

Catalog: one pier, one ship, one program "Ночная Нева" departing 13:00 and 21:00 every
day; prices in kopecks; availability only as a bucket.
"""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from typing import Any

from flask import Flask, jsonify, request

from .common import stub_app
from .state import StubOrder, StubState, days

PROGRAM_ID = "7"
PRICE_ID = "71"
PIERS = [{"id": "5", "name": "Причал «Эрмитаж»", "address": "Санкт-Петербург, Дворцовая наб., 38",
          "lat": 59.941900, "lng": 30.315200}]
SHIPS = [{"id": "3", "name": "Теплоход «Нева Травел-3»", "capacity": 40}]
TIMES = ((13, 0), (21, 0))
PRICES = {"full": 150000, "child": 90000, "infant": 0, "privileged": 120000}
OURS = {"full": "adult", "child": "child", "infant": "infant", "privileged": "concession"}


def cruise_id(day: date, index: int) -> str:
    return f"{day:%Y%m%d}{index}"


def bucket(free: int) -> str:
    if free <= 0:
        return "none"
    if free < 3:
        return "less_than_3"
    if free < 10:
        return "less_than_10"
    return "many"


def create_app(state: StubState) -> Flask:  # noqa: PLR0915 - one route per API method
    def authorized() -> bool:
        return "stub-key" in (request.headers.get("X-API-KEY"), request.args.get("auth_key"))

    app = stub_app("neva", state, authorized)

    def prices() -> dict[str, dict[str, int]]:
        found = {}
        for category, price in PRICES.items():
            override = state.knobs.prices.get(OURS[category])
            found[category] = {"price": round(float(override) * 100) if override else price}
        return found

    @app.get("/get_api_status")
    def status() -> Any:
        return jsonify({"status": "ok"})

    @app.get("/get_piers_info")
    def piers() -> Any:
        return jsonify(PIERS)

    @app.get("/get_ships_info")
    def ships() -> Any:
        return jsonify(SHIPS)

    @app.get("/get_programs_info")
    def programs() -> Any:
        return jsonify([{"id": PROGRAM_ID, "name": "Ночная Нева", "description": "Развод мостов с воды.",
                         "duration": 120, "vat": "vat22",
                         "prices_table": [{"program_price_id": PRICE_ID, "default_price": prices()}]}])

    @app.get("/get_cruises_info")
    def cruises() -> Any:
        found = []
        for day in days(request.args.get("departure_date") or date.today().isoformat(), None):
            for index, (hour, minute) in enumerate(TIMES):
                ref = cruise_id(day, index)
                if ref in state.knobs.drop:
                    continue
                departs = datetime(day.year, day.month, day.day, hour, minute)
                arrives = departs + timedelta(minutes=120)
                key = "avaliable_seats" if state.knobs.misspell else "available_seats"
                found.append({
                    "id": ref, "program_id": PROGRAM_ID, "ship_id": SHIPS[0]["id"], "pier_id": PIERS[0]["id"],
                    "departure_date": departs.strftime("%Y-%m-%d %H:%M:%S"),
                    "default_arrival": {"arrival_date": arrives.strftime("%Y-%m-%d %H:%M:%S"),
                                        "pier_id": PIERS[0]["id"],
                                        "prices_table": [{key: bucket(state.free(ref)), "program_price_id": PRICE_ID}]},
                    "back_cruises": [], "is_canceled": ref in state.knobs.cancel})
        return jsonify(found)

    @app.get("/get_schedule")
    def schedule() -> Any:
        return jsonify([{"program_id": PROGRAM_ID, "times": [f"{h:02d}:{m:02d}" for h, m in TIMES]}])

    @app.get("/get_combos_info")
    def combos() -> Any:
        return jsonify([])

    @app.post("/request_ticket_order")
    def request_order() -> Any:
        given = request.get_json(force=True, silent=True) or {}
        external = str(given.get("external_order_id") or "")
        with state.lock:
            state.expire()
            known = state.orders.get(external) if external else None
            if known and known.status in ("pending", "success"):
                return jsonify({"order_id": known.order_id, "status": known.status})
            tickets = given.get("ticket_list") or []
            if not tickets:
                return jsonify({"error": "empty ticket_list"})
            departure = str(tickets[0].get("cruise_id") or "")
            quantity = sum(int(t.get("qty", 1)) for t in tickets)
            if quantity > state.free(departure):
                return jsonify({"error": "not enough seats"})
            order_id = f"NT{len(state.orders) + 1:06d}"
            codes = [{"barcode": state.next_code("NV"), "ticket_number": f"{order_id}-{n + 1}"}
                     for n in range(quantity)]
            state.orders[external or order_id] = StubOrder(external or order_id, order_id, departure, quantity,
                                                           tickets, codes, time.monotonic())
        return jsonify({"order_id": order_id, "status": "pending"})

    def _by_supplier_id(order_id: str) -> StubOrder | None:
        return next((o for o in state.orders.values() if o.order_id == order_id), None)

    @app.post("/approve_order")
    def approve() -> Any:
        with state.lock:
            state.expire()
            order = _by_supplier_id(request.args.get("order_id", ""))
            if order is None:
                return jsonify({"status": "reject", "error": "order not found"})
            if order.status == "pending" and state.take("reject_next"):
                order.status = "reject"
            if order.status in ("reject", "expired"):
                return jsonify({"status": order.status, "error": "Заказ отклонён оператором"})
            order.status = "success"
            return jsonify({"status": "success", "order_id": order.order_id, "tickets": order.codes})

    @app.post("/cancel_order")
    def cancel() -> Any:
        given = request.get_json(force=True, silent=True) or {}
        with state.lock:
            order = _by_supplier_id(str(given.get("order_id", "")))
            if order is None:
                return jsonify({"error": "order not found"})
            fine = 0 if order.status == "returned" else 10000
            order.status = "returned"
        return jsonify({"status": "canceled", "fine_amount": fine})

    @app.get("/get_order_info")
    def order_info() -> Any:
        with state.lock:
            state.expire()
            order = _by_supplier_id(request.args.get("order_id", ""))
            if order is None:
                return jsonify({"error": "order not found"}), 404
            status = state.knobs.order_status.get(order.external_id) or \
                ("canceled" if order.status == "returned" else order.status)
            return jsonify({"order_id": order.order_id, "status": status, "external_order_id": order.external_id})

    @app.post("/comment_order")
    def comment() -> Any:
        return jsonify({"status": "ok"})

    return app
