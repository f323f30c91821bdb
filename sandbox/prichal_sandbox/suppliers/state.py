"""What both stubs share: the knobs of the control endpoint, the orders, the clock."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any


@dataclass
class Knobs:
    reject_next: int = 0
    fail_next: int = 0
    slow_next: int = 0
    slow_seconds: float = 2.0
    misspell: bool = False
    expire_after_seconds: float = 900.0
    down: bool = False
    drop: set[str] = field(default_factory=set)
    cancel: set[str] = field(default_factory=set)
    prices: dict[str, str] = field(default_factory=dict)
    available: dict[str, int] = field(default_factory=dict)
    order_status: dict[str, str] = field(default_factory=dict)
    seated: bool = False  # Astra: also a seated (DateTimeSeat) service with a seat plan
    seat_status: dict[str, dict[str, str]] = field(default_factory=dict)  # event -> seat id -> status


@dataclass
class StubOrder:
    external_id: str
    order_id: str
    departure: str
    quantity: int
    lines: list[dict[str, Any]]
    codes: list[dict[str, str]]
    created: float
    status: str = "pending"  # pending | success | reject | expired | returned


class StubState:
    def __init__(self, capacity: int = 40) -> None:
        self.lock = threading.RLock()
        self.capacity = capacity
        self.knobs = Knobs()
        self.orders: dict[str, StubOrder] = {}  # by external id
        self.calls: dict[str, int] = {}
        self.sequence = 0

    def reset(self) -> None:
        with self.lock:
            self.knobs, self.orders, self.calls = Knobs(), {}, {}

    def control(self, body: dict[str, Any]) -> None:
        with self.lock:
            if body.get("reset"):
                self.reset()
            for name in ("reject_next", "fail_next", "slow_next"):
                if name in body:
                    setattr(self.knobs, name, int(body[name]))
            for name in ("slow_seconds", "expire_after_seconds"):
                if name in body:
                    setattr(self.knobs, name, float(body[name]))
            for name in ("misspell", "down", "seated"):
                if name in body:
                    setattr(self.knobs, name, bool(body[name]))
            for name in ("drop", "cancel"):
                if name in body:
                    getattr(self.knobs, name).update(str(ref) for ref in body[name])
            for name in ("prices", "available", "order_status"):
                if name in body:
                    getattr(self.knobs, name).update(body[name])
            for event, statuses in (body.get("seat_status") or {}).items():
                self.knobs.seat_status.setdefault(str(event), {}).update(statuses)

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            self.expire()
            return {"knobs": {k: (sorted(v) if isinstance(v, set) else v) for k, v in vars(self.knobs).items()},
                    "calls": dict(self.calls),
                    "orders": {k: {**vars(o)} for k, o in self.orders.items()}}

    def take(self, name: str) -> bool:
        """Consume one of a counted knob (``reject_next``...)."""
        with self.lock:
            left = getattr(self.knobs, name)
            if left > 0:
                setattr(self.knobs, name, left - 1)
                return True
            return False

    def count(self, method: str) -> None:
        with self.lock:
            self.calls[method] = self.calls.get(method, 0) + 1

    def expire(self) -> None:
        now = time.monotonic()
        for order in self.orders.values():
            if order.status == "pending" and now - order.created > self.knobs.expire_after_seconds:
                order.status = "expired"

    def sold(self, departure: str) -> int:
        with self.lock:
            self.expire()
            return sum(o.quantity for o in self.orders.values()
                       if o.departure == departure and o.status in ("pending", "success"))

    def free(self, departure: str) -> int:
        with self.lock:
            capacity = int(self.knobs.available.get(departure, self.capacity))
            return max(0, capacity - self.sold(departure))

    def next_code(self, prefix: str) -> str:
        with self.lock:
            self.sequence += 1
            return f"{prefix}{int(time.time()) % 100000:05d}{self.sequence:05d}"


def days(date_from: str, date_to: str | None) -> list[date]:
    first = date.fromisoformat(date_from[:10])
    last = date.fromisoformat((date_to or date_from)[:10])
    span = min((last - first).days, 400)
    return [first + timedelta(days=n) for n in range(span + 1)]
