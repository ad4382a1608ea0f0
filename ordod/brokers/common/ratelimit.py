"""Client-side rate limiting: each broker call waits its turn, up to a bound.

Each limit is a bucket of N tokens where every token spent comes back exactly W seconds
later. That holds any window of W seconds to at most N calls, which is how brokers state
their limits ("10 per second, 200 per minute"); a classic refill-at-a-steady-rate bucket
would let up to twice that through across a window's edge. Time comes from the injected
clock and waiting from the injected sleep, so tests run in virtual time.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Literal

from ordod.brokers.common.config import RateLimitConfig
from ordod.brokers.errors import ClientRateLimited
from ordod.clock import Clock

Sleep = Callable[[float], Awaitable[None]]
# "background": calls nobody waits on (status polls, session checks). They never wait for a
# slot and never take more than their share of a window, so they cannot delay an order.
CallKind = Literal["order", "request", "background"]


@dataclass
class WindowBucket:
    """At most ``capacity`` admissions in any ``window_s`` seconds."""

    capacity: int
    window_s: float
    _admitted: deque[float] = field(default_factory=deque)

    def earliest(self, now: float) -> float:
        """The earliest time a new call fits (admissions are kept in time order)."""
        while self._admitted and self._admitted[0] <= now - self.window_s:
            self._admitted.popleft()
        if len(self._admitted) < self.capacity:
            # Never before the last admission: keeps the log ordered (first come, first served).
            return max(now, self._admitted[-1]) if self._admitted else now
        return max(self._admitted[-self.capacity] + self.window_s, self._admitted[-1])

    def admit(self, at: float) -> None:
        self._admitted.append(at)


class RateLimiter:
    """The buckets a broker's calls pass through: every call takes from the request
    buckets, an order call from the order bucket as well."""

    def __init__(self, config: RateLimitConfig, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self.max_wait_s = config.max_wait_s
        self._clock = clock
        self._sleep = sleep
        requests = [WindowBucket(n, w) for n, w in ((config.requests_per_second, 1.0),
                                                    (config.requests_per_minute, 60.0)) if n > 0]
        orders = [WindowBucket(config.orders_per_second, 1.0)] if config.orders_per_second > 0 else []
        background = [WindowBucket(max(1, int(b.capacity * config.background_share)), b.window_s) for b in requests]
        self._buckets: dict[CallKind, list[WindowBucket]] = {
            "request": requests, "order": orders + requests, "background": background + requests}
        self._paused_until = 0.0
        self.on_wait: Callable[[float], None] | None = None  # told every admitted call's wait (metrics)

    def pause(self, seconds: float) -> None:
        """The broker said to back off (a 429 with Retry-After): nothing goes before then."""
        self._paused_until = max(self._paused_until, self._clock.monotonic() + seconds)

    async def acquire(self, kind: CallKind) -> float:
        """Wait for this call's turn and return the (monotonic) time it was admitted at.
        Raises ``RateLimitExceeded`` (not sent) when the turn is further away than the bound."""
        now = self._clock.monotonic()
        buckets = self._buckets[kind]
        at = max([now, self._paused_until, *(b.earliest(now) for b in buckets)])
        wait = at - now
        if wait > (0.0 if kind == "background" else self.max_wait_s):
            raise ClientRateLimited(
                f"client-side rate limit: next slot in {wait:.2f}s, longer than a {kind} call may wait; not sent",
                retry_after_s=wait, sent=False,
            )
        # Reserve before sleeping so calls arriving meanwhile queue behind this one.
        for bucket in buckets:
            bucket.admit(at)
        if self.on_wait is not None:
            self.on_wait(wait)
        if wait > 0:
            await self._sleep(wait)
        return at
