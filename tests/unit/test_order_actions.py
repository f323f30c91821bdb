"""The order actions on fakes: the service checks the permission itself and replays a key."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from prichal.domain.errors import Forbidden, NotFound
from prichal.services.order_actions import IdempotencyKeyReused, OrderActions, RefundsUnavailable

ORDER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"


class FakeActor:
    def __init__(self, *permissions: str) -> None:
        self.permissions = set(permissions)
        self.principal = SimpleNamespace(user_id="u1")
        self.address = "10.0.0.1"
        self.user_id, self.name = "u1", "Агент"

    def can(self, permission) -> bool:
        return str(permission) in self.permissions


class FakeUnit:
    def __init__(self, store: dict) -> None:
        self.store = store
        order = SimpleNamespace(id=ORDER_ID, number=7, customer_name="Анна", customer_email=None,
                                customer_phone="+79215551234")
        order = store.setdefault("order", order)

        def update_contact(order_id, values):
            store["contacts"].append(values)
            for field, value in values.items():
                setattr(order, field, value)

        self.card = SimpleNamespace(order=lambda order_id, for_update=False: order if order_id == ORDER_ID else None,
                                    update_contact=update_contact)
        self.log = SimpleNamespace(record=lambda *a, **k: store["log"].append(a[0]))
        self.audit = SimpleNamespace(record=lambda actor, action, *a, **k: store["audit"].append(action))
        self.notes = SimpleNamespace(add=lambda *a: {"id": f"n{len(store['log'])}", "text": a[-1]})
        self.action_keys = SimpleNamespace(lock=lambda key: None, get=lambda key: store["keys"].get(key),
                                           put=lambda key, action, order_id, h, result: store["keys"].__setitem__(
                                               key, SimpleNamespace(action=action, request_hash=h, result=result)))

    def commit(self) -> None:
        self.store["commits"] += 1


@pytest.fixture
def world():
    store = {"contacts": [], "log": [], "audit": [], "keys": {}, "commits": 0}

    @contextmanager
    def uow(tenant_id):
        yield FakeUnit(store)

    actions = OrderActions(uow=uow, relay=SimpleNamespace(publish_pending=lambda t: None), refunds=None,
                           clock=lambda: datetime.now(UTC))
    return actions, store


def test_a_role_without_the_permission_changes_nothing(world):
    actions, store = world
    with pytest.raises(Forbidden):
        actions.correct_contact("t", ORDER_ID, FakeActor("orders.read"), None, name="Мария")
    assert (store["contacts"], store["log"], store["audit"], store["keys"], store["commits"]) == ([], [], [], {}, 0)


def test_a_contact_change_is_logged_audited_and_idempotent(world):
    actions, store = world
    editor = FakeActor("orders.edit")
    first = actions.correct_contact("t", ORDER_ID, editor, "k1", phone="8 921 555 00 00")
    again = actions.correct_contact("t", ORDER_ID, editor, "k1", phone="8 921 555 00 00")
    assert first["changed"] == ["phone"] and not first["replayed"] and again["replayed"]
    assert store["contacts"] == [{"customer_phone": "+79215550000"}]
    assert store["audit"] == ["order.contact_corrected"] and store["log"] == ["order.contact_corrected"]
    with pytest.raises(IdempotencyKeyReused):
        actions.correct_contact("t", ORDER_ID, editor, "k1", phone="8 921 555 00 01")
    same = actions.correct_contact("t", ORDER_ID, editor, None, phone="+7 921 555-00-00")
    assert same["changed"] == [] and len(store["contacts"]) == 1  # setting it again changes nothing


def test_unknown_orders_are_not_found(world):
    actions, _ = world
    with pytest.raises(NotFound):
        actions.add_note("t", "0f8fad5b-d9cb-469f-a165-000000000000", FakeActor("orders.edit"), None, "x")
    with pytest.raises(NotFound):
        actions.add_note("t", "garbage", FakeActor("orders.edit"), None, "x")


def test_without_a_refund_service_the_refund_is_unavailable(world):
    actions, _ = world
    with pytest.raises(RefundsUnavailable):
        actions.refund(None, ORDER_ID, FakeActor("orders.refund"), "k", ticket_ids=None, reason="r")
    with pytest.raises(Forbidden):
        actions.refund(None, ORDER_ID, FakeActor("orders.edit"), "k", ticket_ids=None, reason="r")
