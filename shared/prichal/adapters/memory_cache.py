"""A tiny thread-safe in-process TTL cache for hot, slowly changing reads (tenants,
sailings, seat maps). Each function process has its own; entries age out quickly."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
_MISSING = object()


class TtlCache(Generic[V]):
    def __init__(self, ttl_seconds: float, max_entries: int = 4096) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get_or_load(self, key: Hashable, load: Callable[[], V]) -> V:
        now = time.monotonic()
        entry = self._data.get(key, _MISSING)
        if entry is not _MISSING and entry[0] > now:  # type: ignore[index]
            return entry[1]  # type: ignore[index]
        value = load()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        with self._lock:
            if len(self._data) >= self._max:
                self._data.clear()
            self._data[key] = (time.monotonic() + self._ttl, value)

    def clear(self) -> None:
        """Forget everything (after a change this process made itself)."""
        with self._lock:
            self._data.clear()

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)
