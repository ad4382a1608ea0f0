"""Per-token order rate limit: a token bucket per token name, checked before an order
reaches the idempotency store, so a runaway script is refused without touching the disk.

A refused request is answered at once (``RATE_LIMITED`` with the wait in ``retry_after_s``)
rather than queued: a trader's script should see back-pressure, not orders that go out late.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ordo_shared.errors import RateLimited
from ordod.clock import Clock
from ordod.config import RateLimitConfig


@dataclass
class TokenBucket:
    rate_per_s: float
    burst: int
    tokens: float
    updated_at: float

    def take(self, now: float) -> float:
        """Take one token; returns 0.0 on success, else the seconds until one is available."""
        self.tokens = min(float(self.burst), self.tokens + (now - self.updated_at) * self.rate_per_s)
        self.updated_at = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate_per_s


class OrderRateLimiter:
    def __init__(self, limits: Mapping[str, RateLimitConfig], default: RateLimitConfig, clock: Clock) -> None:
        self._limits = dict(limits)
        self._default = default
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self.refused = 0

    def take(self, principal_name: str) -> None:
        """Count one order for this token; raises ``RateLimited`` when its bucket is empty."""
        limit = self._limits.get(principal_name, self._default)
        if limit.orders_per_s <= 0:
            return
        now = self._clock.monotonic()
        bucket = self._buckets.get(principal_name)
        if bucket is None:
            bucket = self._buckets[principal_name] = TokenBucket(limit.orders_per_s, limit.burst, limit.burst, now)
        wait_s = bucket.take(now)
        if wait_s > 0:
            self.refused += 1
            raise RateLimited(
                f"token {principal_name!r} is limited to {limit.orders_per_s:g} orders/s (burst {limit.burst}); "
                f"retry in {wait_s:.3f} s",
                retry_after_s=wait_s,
            )
