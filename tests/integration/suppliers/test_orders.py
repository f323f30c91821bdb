"""Sales of operators' sailings pushed through the stub servers over HTTP: register and
confirm with their codes on our tickets; a rejection after payment refunds and flags; a
timeout after the operator did the work is retried without a second registration; the
circuit opens and closes; a refund returns the sale there; reconciliation finds a planted
mismatch."""

from __future__ import annotations

import json
import time
import uuid
from decimal import Decimal

import pytest

from prichal.adapters.suppliers.http import breaker_for, reset_breakers
from prichal.adapters.suppliers.registry import policy_from
from prichal.domain.suppliers import Supplier, SupplierUnavailable
from prichal.services.supplier_orders import SupplierCodesPending, SupplierSaleRefused, check_codes_ready
from tests.supplier_support import (
    order_log,
    paid_event,
    paid_order,
    refunded_event,
    supplier_order,
    supplier_sailings,
    sync,
)
from tests.support import call, internal

ASTRA, NEVA = Supplier.ASTRA_MARINE, Supplier.NEVA_TRAVEL


def _sold(suppliers, supplier: Supplier, types=("adult", "child")):
    c, tenant = suppliers.container, suppliers.tenant
    sync(c, tenant, supplier)
    return paid_order(c, tenant, supplier_sailings(c, tenant, supplier)[0].id, types=types)


@pytest.mark.parametrize("supplier", [ASTRA, NEVA])
def test_a_paid_order_is_registered_and_confirmed_with_the_operators_codes(suppliers, supplier):
    c, tenant = suppliers.container, suppliers.tenant
    order = _sold(suppliers, supplier)
    with c.uow(tenant.id) as uow, pytest.raises(SupplierCodesPending):
        check_codes_ready(uow, order.id, order.sailing_id)  # the e-tickets wait

    outcome = c.supplier_orders.on_event(paid_event(order))
    assert outcome["outcome"] == "confirmed" and outcome["codes"] == 2
    record = supplier_order(c, tenant, order.id)
    assert (record.status, record.external_id, record.attempts) == ("confirmed", order.id, 1)
    with c.uow(tenant.id) as uow:
        codes = check_codes_ready(uow, order.id, order.sailing_id)
    assert set(codes) == {item.ticket_id for item in order.items} and all(code for code, _ in codes.values())
    assert {"supplier.registered", "supplier.confirmed"} <= set(order_log(c, tenant, order.id))

    stub = suppliers.astra if supplier is ASTRA else suppliers.neva
    assert c.supplier_orders.on_event(paid_event(order))["outcome"] == "confirmed"  # a redelivery
    orders = stub.control()["orders"]
    assert len(orders) == 1 and next(iter(orders.values()))["status"] == "success"
    assert next(iter(orders.values()))["quantity"] == 2


def test_a_sale_the_operator_rejects_after_payment_is_refunded_and_flagged(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    order = _sold(suppliers, NEVA)
    suppliers.neva.control(reject_next=1)
    outcome = c.supplier_orders.on_event(paid_event(order))
    assert outcome["outcome"] == "rejected" and outcome["refunded"] is True
    assert suppliers.reversal.refunds == [(tenant.id, order.id, suppliers.reversal.refunds[0][2],
                                           f"supplier-{order.id}")]
    assert "attention.supplier_rejected" in order_log(c, tenant, order.id)
    with c.uow(tenant.id) as uow:
        assert uow.orders.get(order.id).needs_attention  # the reason (or, with the crm queue, its detail)
        with pytest.raises(SupplierSaleRefused):
            check_codes_ready(uow, order.id, order.sailing_id)  # no e-tickets for it
    assert c.supplier_orders.on_event(paid_event(order))["outcome"] == "rejected"  # redelivery: no second refund
    assert len(suppliers.reversal.refunds) == 1


def test_a_refund_that_fails_leaves_the_order_flagged_for_an_agent(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    order = _sold(suppliers, ASTRA)
    suppliers.astra.control(reject_next=1)
    suppliers.reversal.fail = True
    assert c.supplier_orders.on_event(paid_event(order))["refunded"] is False
    assert {"attention.supplier_rejected", "attention.refund_failed"} <= set(order_log(c, tenant, order.id))


def test_a_timeout_after_the_operator_registered_is_retried_without_a_second_registration(suppliers):
    c = suppliers.container
    order = _sold(suppliers, ASTRA)
    suppliers.astra.control(slow_next=1, slow_seconds=1.0)  # registerOrder is done, the answer comes late
    assert c.supplier_orders.on_event(paid_event(order))["outcome"] == "confirmed"
    state = suppliers.astra.control()
    assert state["calls"]["registerOrder"] == 2 and len(state["orders"]) == 1


def test_a_registration_the_operator_let_lapse_is_registered_again_and_confirmed(suppliers):
    c = suppliers.container
    order = _sold(suppliers, ASTRA)
    # unconfirmed orders lapse after 0.3 s; the registration's answer takes 0.4 s to come back
    suppliers.astra.control(expire_after_seconds=0.3, slow_next=1, slow_seconds=0.4)
    assert c.supplier_orders.on_event(paid_event(order))["outcome"] == "confirmed"
    state = suppliers.astra.control()
    assert state["calls"]["registerOrder"] == 2 and state["calls"]["confirmPayment"] == 2
    assert next(iter(state["orders"].values()))["status"] == "success"


def test_an_operator_down_beyond_the_attempts_refunds_and_flags(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    c.settings.supplier_push_max_attempts = 2
    c.__dict__.pop("supplier_orders", None)
    order = _sold(suppliers, NEVA)
    suppliers.neva.control(fail_next=100)
    with pytest.raises(SupplierUnavailable):
        c.supplier_orders.on_event(paid_event(order))  # 503: the event comes again
    assert supplier_order(c, tenant, order.id).status == "pending"
    assert suppliers.reversal.refunds == []
    reset_breakers()
    outcome = c.supplier_orders.on_event(paid_event(order))
    assert (outcome["outcome"], outcome["refunded"]) == ("failed", True)
    assert "attention.supplier_failed" in order_log(c, tenant, order.id)


def test_the_circuit_opens_on_a_dead_operator_and_closes_when_it_answers_again(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    c.settings.supplier_circuit_open_seconds = 0.5
    reset_breakers()
    c.__dict__.pop("_supplier_clients", None)
    suppliers.astra.control(down=True)
    for _ in range(3):
        assert sync(c, tenant, ASTRA).status == "failed"
    breaker = breaker_for("astra_marine", suppliers.astra.url, policy_from(c.settings))
    assert breaker.state == "open"
    calls = sum(suppliers.astra.control()["calls"].values())
    started = time.monotonic()
    assert "circuit is open" in sync(c, tenant, ASTRA).errors[0]
    assert time.monotonic() - started < 0.3 and sum(suppliers.astra.control()["calls"].values()) == calls
    assert sync(c, tenant, NEVA).status == "succeeded"  # another operator's sales go on

    suppliers.astra.control(down=False)
    time.sleep(0.55)
    assert breaker.state == "half_open"
    assert sync(c, tenant, ASTRA).status == "succeeded"
    assert breaker.state == "closed"


@pytest.mark.parametrize(("supplier", "fine"), [(NEVA, Decimal("100.00")), (ASTRA, None)])
def test_a_refund_returns_the_sale_at_the_operator_with_its_fine(suppliers, supplier, fine):
    c, tenant = suppliers.container, suppliers.tenant
    order = _sold(suppliers, supplier)
    c.supplier_orders.on_event(paid_event(order))
    outcome = c.supplier_orders.on_event(refunded_event(order))
    assert outcome["outcome"] == "returned"
    record = supplier_order(c, tenant, order.id)
    assert record.status == "returned" and record.returned_at is not None
    if fine is not None:
        assert record.fine_amount == fine
    assert "supplier.returned" in order_log(c, tenant, order.id)
    assert c.supplier_orders.on_event(refunded_event(order))["outcome"] == "returned"  # once
    stub = suppliers.astra if supplier is ASTRA else suppliers.neva
    assert next(iter(stub.control()["orders"].values()))["status"] == "returned"


def test_reconciliation_finds_a_planted_mismatch_and_an_unpushed_sale(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    good, planted = _sold(suppliers, ASTRA), _sold(suppliers, ASTRA, types=("adult",))
    for order in (good, planted):
        c.supplier_orders.on_event(paid_event(order))
    unpushed = _sold(suppliers, ASTRA, types=("child",))
    suppliers.astra.control(order_status={planted.id: "reject"})

    [result] = [r for r in c.supplier_reconciliation.run([tenant.id]) if r["supplier"] == "astra_marine"]
    assert (result["checked"], result["mismatches"]) == (2, 2)
    with c.uow(tenant.id) as uow:
        rows = {(m["order_id"], m["kind"], m["theirs"]) for m in uow.suppliers.mismatches(result["run_id"])}
    assert rows == {(planted.id, "sold_here_not_there", "reject"), (unpushed.id, "not_pushed", "none")}
    assert "attention.supplier_mismatch" in order_log(c, tenant, planted.id)
    assert "attention.supplier_mismatch" not in order_log(c, tenant, good.id)


def test_the_functions_take_events_and_cron_calls(suppliers):
    c, tenant = suppliers.container, suppliers.tenant
    sync_answer = call("supplier-sync", "POST", "/", headers=internal())
    assert sync_answer.status == 200, sync_answer.json
    runs = [r for r in sync_answer.json["runs"] if r["tenant"] == tenant.id]
    assert {r["supplier"] for r in runs} == {"astra_marine", "neva_travel"}
    order = paid_order(c, tenant, supplier_sailings(c, tenant, NEVA)[0].id, types=("adult",))
    event = paid_event(order)
    answer = call("supplier-orders", "POST", "/", raw=json.dumps(event["data"]).encode(), headers={
        **internal(), "ce-id": str(uuid.uuid4()), "ce-type": "order.paid", "ce-source": "prichal/outbox",
        "ce-specversion": "1.0", "ce-tenant": tenant.id})
    assert answer.status == 200 and answer.json["outcome"] == "confirmed", answer.json
    assert call("supplier-orders", "POST", "/", body=event, headers=internal()).json["outcome"] == "confirmed"
    suppliers.neva.control(fail_next=100)
    other = paid_order(c, tenant, supplier_sailings(c, tenant, NEVA)[0].id, types=("adult",))
    assert call("supplier-orders", "POST", "/", body=paid_event(other), headers=internal()).status == 503
    for bad in ({**event, "tenant": "not-a-uuid"}, {**event, "data": {**event["data"], "order_id": "1"}}):
        refused = call("supplier-orders", "POST", "/", body=bad, headers=internal())
        assert refused.status == 422, refused.json
