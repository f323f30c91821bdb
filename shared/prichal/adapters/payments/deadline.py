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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

Clock = Callable[[], float]


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
