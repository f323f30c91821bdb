"""One deadline for every provider call a function invocation makes.

A function has ``exec_timeout`` seconds (stack.yml) to answer; the provider calls it makes
(attempts, and the waits between them) must end early enough to leave time for the rest,
so the caller can still answer "the provider did not answer" instead of being cut off by
the gateway. ``provider_deadline(seconds)`` opens that budget for a block (a request, a
cron run); every ``YooKassaClient`` call inside shares it (a call outside any block gets a
budget of its own). Nested blocks never extend the outer one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

Clock = Callable[[], float]
T = TypeVar("T")

# No tenant's provider calls get less than this of a cron run (if the run has it left): one
# call with its retries fits (three fast answers and 1.5 s of backoff); a dead provider
# costs at most this.
FAIR_SHARE_FLOOR_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class Deadline:
    expires: float
    clock: Clock = time.monotonic

    @classmethod
    def after(cls, seconds: float, clock: Clock = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    def remaining(self) -> float:
        return max(0.0, self.expires - self.clock())


_current: ContextVar[Deadline | None] = ContextVar("provider_deadline", default=None)


def current_deadline() -> Deadline | None:
    return _current.get()


@contextmanager
def provider_deadline(seconds: float, clock: Clock = time.monotonic) -> Iterator[Deadline]:
    """Every provider call inside the block ends within ``seconds`` from now, all together."""
    deadline = Deadline.after(seconds, clock)
    outer = _current.get()
    if outer is not None and outer.remaining() <= deadline.remaining():
        deadline = outer
    token = _current.set(deadline)
    try:
        yield deadline
    finally:
        _current.reset(token)


def fair_turns(items: Sequence[T], budget: Deadline, turn: int, floor: float) -> Iterator[tuple[T, float]]:
    """``items`` (a cron run's tenants) starting at ``turn`` (modulo their number), each with
    its share of the seconds ``budget`` has left when its turn comes: what is left over the
    items still to go, at least ``floor``; time one does not use passes on to the ones after
    it. Open ``provider_deadline(share, budget.clock)`` for each: one tenant's dead or slow
    provider then spends its share, not the others' time, and with another first each run
    (``turn``: the minute), none is always last."""
    if not items:
        return
    start = turn % len(items)
    queue = [*items[start:], *items[:start]]
    for position, item in enumerate(queue):
        yield item, max(budget.remaining() / (len(queue) - position), floor)
