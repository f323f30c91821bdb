"""Provider retries stay inside the function's time: one deadline for all attempts of a
request (item 18). A fake session that hangs (each attempt uses its whole timeout) on an
injected clock: attempts are counted and the clock is read, nothing really waits."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from prichal.adapters.payments.base import PaymentUnavailable
from prichal.adapters.payments.deadline import provider_deadline
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

