"""One circuit breaker per broker.

closed --(failure_threshold consecutive counted failures)--> open
open --(reset_timeout_s)--> half_open: orders are still skipped, and the adapter's health
probe (never a trader's order) decides: success closes it, failure opens it again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from ordo_shared.models import BreakerState
from ordod.clock import Clock
from ordod.config import BreakerConfig

log = logging.getLogger("ordod.breaker")

Listener = Callable[[str, BreakerState, BreakerState], None]


class CircuitBreaker:
    def __init__(self, broker_id: str, config: BreakerConfig, clock: Clock, on_change: Listener | None = None) -> None:
        self.broker_id = broker_id
        self.config = config
        self._clock = clock
        self._on_change = on_change
        self._state: BreakerState = "closed"
        self._failures = 0
        self._opened_at = 0.0
        self._probing = False

    @property
    def state(self) -> BreakerState:
        """The state, moving open to half_open once the reset timeout has passed."""
        if self._state == "open" and self._clock.monotonic() - self._opened_at >= self.config.reset_timeout_s:
            self._move("half_open")
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def allows_orders(self) -> bool:
        return self.state == "closed"

    def probe_due(self) -> bool:
        return self.state == "half_open" and not self._probing

    def record_success(self) -> None:
        # Only resets the count: a late success from an attempt that started before the
        # breaker opened is not a probe, and only the probe may close an open breaker.
        self._failures = 0

    def record_failure(self) -> None:
        self._failures += 1
        if self._state == "closed" and self._failures >= self.config.failure_threshold:
            self._open()

    async def probe(self, health_probe: Callable[[], Awaitable[None]]) -> bool:
        """Run the half-open probe once; returns whether the broker is back."""
        if not self.probe_due():
            return False
        self._probing = True
        try:
            await health_probe()
        except Exception as exc:
            log.info("breaker probe failed broker=%s error=%s", self.broker_id, type(exc).__name__)
            self._open()
            return False
        finally:
            self._probing = False
        self._failures = 0
        self._move("closed")
        return True

    def _open(self) -> None:
        self._opened_at = self._clock.monotonic()
        self._move("open")

    def _move(self, new: BreakerState) -> None:
        old, self._state = self._state, new
        if old != new:
            log.info("breaker broker=%s %s->%s", self.broker_id, old, new)
            if self._on_change is not None:
                self._on_change(self.broker_id, old, new)
