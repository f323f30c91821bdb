"""Operators' recorded payloads (tests/fixtures/suppliers, in the handbook's shapes, quirks
included) mapped to our piers, vessels, programs, departures, tariffs and codes; the
circuit breaker's states. No I/O."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from prichal.adapters.suppliers import astra_marine as astra
from prichal.adapters.suppliers import neva_travel as neva
from prichal.adapters.suppliers.http import CircuitBreaker
from prichal.adapters.suppliers.mapping import OPERATOR_ZONE, clean_id, kopecks, padded, rubles, vat_rate
from prichal.domain.suppliers import (
    BUCKET_PLACES,
    AvailabilityBucket,
    RemoteOrderStatus,
    SeatStatus,
    SupplierUnavailable,
    places_for_sale,
)
from prichal.domain.vat import VatRate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "suppliers"
ASTRA = json.loads((FIXTURES / "astra_marine.json").read_text())
NEVA = json.loads((FIXTURES / "neva_travel.json").read_text())


def test_ids_lose_their_padding_and_spaces_and_get_the_padding_back():
    assert clean_id("000000002") == "2" and clean_id("1\u00a0234\u00a0567") == "1234567" and clean_id(5) == "5"
    assert clean_id("NT000042") == "NT000042"
    assert padded("2") == "000000002" and padded("NT1") == "NT1"


def test_money_in_rubles_and_kopecks_is_decimal():
    assert rubles("1 200,00") == Decimal("1200.00") and rubles(950.5) == Decimal("950.50") and rubles(800) == 800
    assert kopecks(150000) == Decimal("1500.00") and kopecks("90000") == Decimal("900.00")
    assert kopecks(120050) == Decimal("1200.50")
    for bad in ("-1", "12.5", True, "x"):
        with pytest.raises(ValueError):
            kopecks(bad)
    with pytest.raises(ValueError):
        rubles("-5")


def test_vat_fields_of_both_operators():
    assert vat_rate("НДС 22%") is VatRate.VAT22 and vat_rate("vat10") is VatRate.VAT10
    assert vat_rate("Без НДС") is VatRate.NONE and vat_rate("20") is VatRate.VAT22  # 425-FZ since 2026
    assert vat_rate(None) is None and vat_rate("something") is None  # the tenant's rate applies


def test_astra_services_points_and_events():
    services = [astra.map_service(row) for row in ASTRA["getServices"]["services"]]
    assert [(s.ref, s.name, s.seating, s.barcode_required) for s in services] == [
        ("2", "Северная Венеция", "free", True), ("15", "Метеор в Петергоф", "assigned", False)]
    [pier] = [astra.map_point(row) for row in ASTRA["getRouteStartEndPoints"]["points"]]
    assert (pier.ref, pier.latitude, pier.longitude, pier.wheelchair) == ("1", Decimal("59.937500"),
                                                                          Decimal("30.308600"), True)
    events = [astra.map_event(row) for row in ASTRA["getEvents"]["events"]]
    assert [e.ref for e in events] == ["3350", "3351", "3352"]
    assert events[0].departs_at == datetime(2026, 12, 2, 11, 0, tzinfo=OPERATOR_ZONE)
    assert events[0].booking["eventID"] == "000003350" and events[0].places == 37
    assert events[1].departs_at.hour == 15 and events[1].places == 0  # avaliableSeats, but eventNoSeats
    assert events[2].canceled and events[2].places == 0 and events[2].departs_at.utcoffset().total_seconds() == 10800


def test_astra_prices_by_ticket_type_in_rubles_with_their_booking_ids():
    types = {clean_id(r["ticketTypeID"]): r["ticketTypeName"] for r in ASTRA["getTicketType"]["ticketTypes"]}
    tariffs = {t.ticket_type: t for t in astra.map_prices(ASTRA["getSeatPrices"]["seatPrices"], types)}
    assert set(tariffs) == {"adult", "child", "concession"}
    assert (tariffs["adult"].price, tariffs["adult"].vat_rate) == (Decimal("1200.00"), VatRate.VAT22)  # first category
    assert (tariffs["child"].price, tariffs["child"].vat_rate) == (Decimal("800.00"), VatRate.NONE)
    assert (tariffs["concession"].price, tariffs["concession"].vat_rate) == (Decimal("950.50"), None)
    assert tariffs["concession"].name == "Пенсионный"
    assert tariffs["adult"].booking == {"ticketTypeID": "000000001", "priceTypeID": "000000003",
                                        "seatCategoryID": "000000001", "menuID": None}


def test_astra_seat_statuses_orders_and_quirks():
    seats = {row["seatID"]: astra.SEAT_STATUSES[row["seatStatus"]] for row in ASTRA["getSeatsOnEvent"]["seats"]}
    assert list(seats.values()) == [SeatStatus.SOLD, SeatStatus.RESERVED, SeatStatus.SELECTED, SeatStatus.FREE]
    assert [s.taken for s in seats.values()] == [True, True, True, False]
    answer = ASTRA["registerOrder"]
    assert astra.registered(answer) and not astra.registered(ASTRA["registerOrder_refused"])
    assert astra.registered({"isOrderRegistered": True})  # should they ever fix the spelling
    assert clean_id(answer["orderID"]) == "1234567"
    codes = astra.map_codes(answer, ["t1", "t2"])
    assert [(c.ticket_id, c.barcode) for c in codes] == [("t1", "4600000000011"), ("t2", "4600000000028")]
    assert astra.ORDER_STATUSES[ASTRA["getOrder"]["orderStatus"]] is RemoteOrderStatus.REJECT
    assert rubles(ASTRA["returnOrder"]["fineAmount"]) == Decimal("150.00")
    assert [astra.ticket_type(n) for n in ("Взрослый", "Детский", "Льготный", "Сопровождающий")] == [
        "adult", "child", "concession", "attendant"]


def test_neva_catalog_prices_in_kopecks_and_categories():
    [program] = [neva.map_program(row) for row in NEVA["get_programs_info"]]
    tariffs = {t.ticket_type: t for t in program.tariffs}
    assert set(tariffs) == {"adult", "child", "infant", "concession", "attendant"}  # vip_lounge is not ours
    assert tariffs["adult"].price == Decimal("1500.00") and tariffs["child"].price == Decimal("900.00")
    assert tariffs["concession"].price == Decimal("1200.50") and tariffs["infant"].price == 0
    assert {t.vat_rate for t in tariffs.values()} == {VatRate.VAT10}
    assert tariffs["concession"].booking == {"program_price_id": "71", "ticket_category": "privileged",
                                             "purchase_price": 120050}
    [pier] = [neva.map_pier(r) for r in NEVA["get_piers_info"]]
    assert (pier.ref, pier.latitude) == ("5", Decimal("59.9419"))
    assert [neva.map_ship(r).ref for r in NEVA["get_ships_info"]] == ["3"]


def test_neva_cruises_with_buckets_misspelled_keys_and_cancellations():
    cruises = [neva.map_cruise(row) for row in NEVA["get_cruises_info"]]
    assert [(c.ref, c.bucket, c.places, c.duration_minutes) for c in cruises] == [
        ("202612020", AvailabilityBucket.LESS_THAN_10, BUCKET_PLACES[AvailabilityBucket.LESS_THAN_10], 120),
        ("202612021", AvailabilityBucket.MANY, BUCKET_PLACES[AvailabilityBucket.MANY], 150),
        ("202612022", AvailabilityBucket.NONE, 0, 60)]  # an unknown bucket sells nothing
    assert cruises[0].booking == {"cruise_id": "202612020", "departure_point_id": "5", "program_price_ids": ["71"],
                                  "back_cruises": ["202612029"]}
    assert cruises[2].canceled and cruises[2].vessel_ref is None
    assert cruises[0].departs_at == datetime(2026, 12, 2, 13, 0, tzinfo=OPERATOR_ZONE)


def test_neva_codes_statuses_and_fine():
    codes = neva.map_tickets(NEVA["approve_order"], ["a", "b"])
    assert [(c.ticket_id, c.barcode, c.ticket_number) for c in codes] == [
        ("a", "NV0000100001", "NT000042-1"), ("b", "NV0000100002", "NT000042-2")]
    assert kopecks(NEVA["cancel_order"]["fine_amount"]) == Decimal("150.50")
    assert neva.ORDER_STATUSES["canceled"] is RemoteOrderStatus.RETURNED


def test_bucket_floors_and_exact_counts():
    assert places_for_sale(7, AvailabilityBucket.MANY) == 7  # a count wins
    assert places_for_sale(None, AvailabilityBucket.LESS_THAN_3) == 1
    assert places_for_sale(-2, None) == 0 and places_for_sale(None, None) == 0


def test_the_circuit_breaker_opens_rejects_tries_once_and_closes():
    now = [0.0]
    breaker = CircuitBreaker("astra_marine", threshold=2, open_seconds=10, clock=lambda: now[0])
    breaker.failure()
    breaker.before()  # still closed
    breaker.failure()
    assert breaker.state == "open"
    with pytest.raises(SupplierUnavailable):
        breaker.before()
    now[0] = 10.0
    assert breaker.state == "half_open"
    breaker.before()  # the one trial
    with pytest.raises(SupplierUnavailable):
        breaker.before()  # nobody else while it runs
    breaker.failure()  # the trial failed: open again
    assert breaker.state == "open"
    now[0] = 20.0
    breaker.before()
    breaker.success()
    assert breaker.state == "closed"


def test_astra_seats_become_a_seat_map_with_their_ids_kept_for_the_order_lines():
    from prichal.domain import seat_map_editor as e
    from prichal.domain.suppliers import SupplierSeat
    from prichal.services.supplier_seating import plan_of, same_layout

    seats = astra.map_seats(ASTRA["getSeatsOnEvent"]["seats"])  # no rows or numbers: numbered in order
    assert [(s.ref, s.row, s.number, s.status) for s in seats] == [
        ("000000001", "1", 1, SeatStatus.SOLD), ("000000002", "1", 2, SeatStatus.RESERVED),
        ("000000003", "1", 3, SeatStatus.SELECTED), ("000000004", "1", 4, SeatStatus.FREE)]
    plan = plan_of(seats)
    assert plan.refs == {"main-1-1": "000000001", "main-1-2": "000000002", "main-1-3": "000000003",
                         "main-1-4": "000000004"}
    assert plan.taken == {"main-1-1", "main-1-2", "main-1-3"}
    assert not e.validate(plan.document, e.Pricing(any_category=True))

    rows = [{"seatID": "000000501", "seatRow": "Ряд 2", "seatNumber": "000000007", "seatStatus": "Свободно"},
            {"seatID": "000000502", "seatRow": "1", "seatNumber": 7, "seatStatus": "Продано"}]
    plan = plan_of(astra.map_seats(rows))
    assert plan.refs == {"main-Ряд2-7": "000000501", "main-1-7": "000000502"} and plan.taken == {"main-1-7"}
    clash = plan_of([SupplierSeat("a", "1", 1, SeatStatus.FREE), SupplierSeat("b", "1", 1, SeatStatus.FREE)])
    assert clash.refs == {"main-1-1": "a", "main-1-2": "b"}  # one id twice: numbered in the operator's order
    assert plan_of([]) is None
    reordered = plan_of(list(reversed(astra.map_seats(rows))))
    assert same_layout(plan.document, reordered.document)  # statuses and order are no layout change
