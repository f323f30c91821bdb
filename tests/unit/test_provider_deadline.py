"""Provider retries stay inside the function's time: one deadline for all attempts of a
request (item 18). A fake session that hangs (each attempt uses its whole timeout) on an
injected clock: attempts are counted and the clock is read, nothing really waits."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from prichal.adapters.payments.base import PaymentUnavailable
from prichal.adapters.payments.deadline import fair_turns, provider_deadline
from prichal.adapters.payments.yookassa import MIN_ATTEMPT_SECONDS, YooKassaClient


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


class HangingSession:
    """Every request hangs until its timeout runs out, then times out."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.timeouts: list[float] = []

    def request(self, method: str, url: str, *, timeout: float, **_: object) -> requests.Response:
        self.timeouts.append(timeout)
        self.clock.now += timeout
        raise requests.Timeout("read timed out")


def client(clock: Clock, session: HangingSession, **limits: float) -> YooKassaClient:
    return YooKassaClient("https://yookassa.example.test/v3", "shop", "secret", session=session,  # type: ignore[arg-type]
                          sleep=clock.sleep, clock=clock, **limits)


def create(c: YooKassaClient) -> None:
    c.create_payment(amount=Decimal("100.00"), description="d", return_url="https://x.test/", metadata={},
                     receipt=None, idempotence_key="key-1")


def test_the_old_limits_outlast_a_15_second_function() -> None:
    """What create-order did before: three 5 s timeouts and 1.5 s of backoff, 16.5 s."""
    clock = Clock()
    session = HangingSession(clock)
    with pytest.raises(PaymentUnavailable):
        create(client(clock, session, timeout=5.0, max_attempts=3, budget=60.0))
    assert len(session.timeouts) == 3 and clock.now - 1000.0 == pytest.approx(16.5)


def test_all_attempts_and_waits_end_within_the_budget() -> None:
    clock = Clock()
    session = HangingSession(clock)
    with pytest.raises(PaymentUnavailable, match="after 2 attempt"):
        create(client(clock, session, timeout=5.0, max_attempts=3, budget=10.0))
    assert session.timeouts == [5.0, 4.5]  # the second attempt gets only what is left after the backoff
    assert clock.now - 1000.0 <= 10.0


def test_no_attempt_starts_without_time_for_it() -> None:
    clock = Clock()
    session = HangingSession(clock)
    with pytest.raises(PaymentUnavailable):
        create(client(clock, session, timeout=5.0, max_attempts=3, budget=5.2))
    assert session.timeouts == [5.0]  # 0.2 s left: below MIN_ATTEMPT_SECONDS, no backoff, no second try
    assert 5.2 - 5.0 < MIN_ATTEMPT_SECONDS


def test_calls_of_one_request_share_one_deadline() -> None:
    """The webhook's re-read and the refund it sets off, or an expiry run's many re-reads:
    once the block's time is spent, a further call gives up without trying."""
    clock = Clock()
    session = HangingSession(clock)
    c = client(clock, session, timeout=5.0, max_attempts=3, budget=60.0)
    with provider_deadline(8.0, clock):
        with pytest.raises(PaymentUnavailable):
            c.get_payment("p-1")
        with pytest.raises(PaymentUnavailable, match="used up"):
            c.get_payment("p-2")
    assert clock.now - 1000.0 <= 8.0 and len(session.timeouts) == 2  # 5 s, 0.5 s wait, 2.5 s


def test_an_inner_block_never_extends_the_outer_one() -> None:
    clock = Clock()
    with provider_deadline(3.0, clock) as outer, provider_deadline(30.0, clock) as inner:
        assert inner is outer and inner.remaining() == 3.0



# --- order expiry: the run's provider time shared fairly between tenants -----------------

def test_each_tenant_gets_its_share_of_what_is_left_and_another_leads_each_minute():
    from prichal.adapters.payments.deadline import Deadline

    clock = Clock()
    budget = Deadline.after(12.0, clock)
    used = {"a": 12.0, "b": 0.0, "c": 0.0}  # a's provider is dead: it spends whatever it is given
    turns = []
    for tenant, share in fair_turns(["a", "b", "c"], budget, turn=0, floor=2.0):
        turns.append((tenant, share))
        with provider_deadline(share, clock) as deadline:
            clock.sleep(min(used[tenant], deadline.remaining()))
    assert turns == [("a", 4.0), ("b", 4.0), ("c", 8.0)]  # b used nothing: c gets it

    assert [t for t, _ in fair_turns(["a", "b", "c"], Deadline.after(12.0, clock), turn=1, floor=2.0)] == [
        "b", "c", "a"]
    assert next(t for t, _ in fair_turns(["a", "b", "c"], Deadline.after(12.0, clock), turn=29_411_521,
                                       floor=2.0)) == "b"  # minutes since the epoch, modulo 3
    assert list(fair_turns([], Deadline.after(1.0, clock), turn=5, floor=2.0)) == []


def test_many_tenants_still_get_the_floor_and_the_run_never_overruns():

    clock = Clock()
    given = []
    with provider_deadline(10.0, clock) as budget:  # the run's, as payments.deadline() opens it
        for _, share in fair_turns([f"t{i}" for i in range(20)], budget, turn=0, floor=2.0):
            with provider_deadline(share, clock) as deadline:  # every tenant's provider is dead
                given.append(deadline.remaining())
                clock.sleep(deadline.remaining())
    assert given[:5] == [2.0] * 5 and given[5:] == [0.0] * 15  # the rest waits for the next run, led by others
    assert budget.remaining() == 0.0


class _Uow:
    def __init__(self, due: dict[str, list], tenant_id: str) -> None:
        self.orders = type("Orders", (), {"due_for_expiry": lambda _, now, limit: due[tenant_id]})()
        self.payments = type("Payments", (), {"for_order": lambda _, order_id, for_update=False: due["payments"][
            order_id]})()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def commit(self) -> None:
        pass


class _DeadOrSlowProviders:
    """Payments of tenant "a" go to a provider that hangs: it waits out whatever deadline the
    call has (on the fake clock) and gives no answer; "b"'s answers at once, also no answer,
    so that both stay unpaid. Records the time each call was given."""

    def __init__(self, clock: Clock, budget: float) -> None:
        self.clock, self.budget, self.given = clock, budget, []

    def deadline(self):
        return provider_deadline(self.budget, self.clock)

    def reread(self, payment):
        from prichal.adapters.payments.deadline import current_deadline

        left = current_deadline().remaining()
        self.given.append((payment.account.shop_id, left))
        if payment.account.shop_id == "a":
            self.clock.sleep(left)
        raise PaymentUnavailable("no answer")


def test_one_tenant_s_dead_provider_leaves_the_others_their_time(monkeypatch):
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from prichal.domain.orders import Payment, PaymentAccount, PaymentStatus
    from prichal.services import order_expiry

    def payment(order_id: str, shop: str) -> Payment:
        return Payment(order_id, order_id, PaymentAccount("yookassa", shop_id=shop), f"pay-{order_id}",
                       PaymentStatus.PENDING, Decimal("100.00"), "RUB", order_id)

    due = {"a": ["a1", "a2"], "b": ["b1"], "payments": {"a1": payment("a1", "a"), "a2": payment("a2", "a"),
                                                         "b1": payment("b1", "b")}}
    clock = Clock()
    providers = _DeadOrSlowProviders(clock, budget=10.0)
    relay = SimpleNamespace(publish_pending=lambda tenant_id: None)
    tenants = [SimpleNamespace(id="a"), SimpleNamespace(id="b")]
    monday_0000 = datetime(2026, 12, 7, tzinfo=UTC)  # minute number even: "a" leads
    run = order_expiry.expire_unpaid_orders(tenants, lambda tenant_id: _Uow(due, tenant_id), None, providers,
                                            relay, monday_0000)
    # a's hanging provider got half the run; its second order was not asked (the account is down);
    # b was still asked, with the other half
    assert providers.given == [("a", 5.0), ("b", 5.0)] and run.deferred == 3


def test_refund_reconciliation_shares_the_run_too():
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from prichal.adapters.payments.deadline import current_deadline
    from prichal.services.refunds import RefundService

    clock = Clock()
    given = []

    class Payments:
        def deadline(self):
            return provider_deadline(10.0, clock)

        def send_refund(self, tenant, refund_id):
            with self.deadline():  # as PaymentService's calls nest theirs
                left = current_deadline().remaining()
                given.append((tenant.id, refund_id, left))
                if tenant.id == "a":
                    clock.sleep(left)  # a's provider hangs until the call's deadline

    class Uow:
        def __init__(self, tenant_id):
            self.refunds = SimpleNamespace(
                unsettled=lambda before, limit: [SimpleNamespace(id=f"{tenant_id}-r1", status="requested")],
                email_due=lambda limit: [], running_cancellations=lambda: [])

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            pass

    service = RefundService(Uow, None, None, Payments(), None, notify=None,
                            clock=lambda: datetime(2026, 12, 7, tzinfo=UTC))
    total = service.reconcile_all([SimpleNamespace(id="a"), SimpleNamespace(id="b")], before=None)
    assert given == [("a", "a-r1", 5.0), ("b", "b-r1", 5.0)] and total["sent"] == 2
