"""A fixed-window rate limiter in Redis (one round trip per check)."""

from __future__ import annotations

import redis


class RateLimiter:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._redis = client
        self._prefix = prefix

    def hit(self, scope: str, key: str, limit: int, window_seconds: int, now_s: int) -> int | None:
        """Count one hit; ``None`` when allowed, else the seconds until the window resets."""
        window = now_s // window_seconds
        redis_key = f"{self._prefix}rl:{scope}:{key}:{window}"
        pipe = self._redis.pipeline(transaction=False)
        pipe.incr(redis_key)
        pipe.expire(redis_key, window_seconds + 1)
        count, _ = pipe.execute()
        if count > limit:
            return max(1, (window + 1) * window_seconds - now_s)
        return None
