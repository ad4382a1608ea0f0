"""The one seam where resilience wraps a broker adapter: kill-switch and breaker checks
before every attempt, a per-call timeout and an overall deadline per order, retries with
backoff (tenacity), the lookup by tag after an ambiguous failure, and the statistics the
health panel shows.

``place`` never raises: whatever happens becomes a ``BrokerResult``.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base

from ordo_shared.errors import BrokerErrorCode
from ordo_shared.models import BrokerResult
from ordod.breaker import CircuitBreaker
from ordod.brokers.base import BrokerAdapter, BrokerOrder, PlacedOrder
from ordod.brokers.errors import BrokerError, BrokerTimeout, OrderRejected, OutcomeUnknown
from ordod.clock import Clock
from ordod.config import RetryConfig
from ordod.deadlines import Deadlines
from ordod.metrics import OrdoMetrics
from ordod.retry import Backoff, NotFoundAfterLookup, counts_against_breaker, is_ambiguous, should_retry

log = logging.getLogger("ordod.gateway")

Sleep = Callable[[float], Awaitable[None]]
IsHalted = Callable[[], bool]


class _Halted(Exception):
    """Raised inside the retry loop to stop before an attempt; never retried."""

    def __init__(self, code: BrokerErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _StopAtDeadline(stop_base):
    """No new attempt once the order's deadline has passed or would pass while waiting for it."""

    def __init__(self, clock: Clock, deadline: float) -> None:
        self._clock = clock
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._clock.monotonic() + (retry_state.upcoming_sleep or 0.0) >= self._deadline


@dataclass
class _Run:
    """One order's way through the attempts at one broker."""

    attempts: int = 0
    last_error: BrokerError | None = None


@dataclass
class BrokerStats:
    """Recent behaviour, for the health panel."""

    window: deque[bool] = field(default_factory=lambda: deque(maxlen=50))
    last_latency_ms: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    attempts: int = 0

    @property
    def error_rate(self) -> float:
        return 0.0 if not self.window else self.window.count(False) / len(self.window)


class BrokerGateway:
    def __init__(
        self,
        adapter: BrokerAdapter,
        breaker: CircuitBreaker,
        retry: RetryConfig,
        backoff: Backoff,
        clock: Clock,
        sleep: Sleep = asyncio.sleep,
        metrics: OrdoMetrics | None = None,
        deadlines: Deadlines | None = None,
    ) -> None:
        self.adapter = adapter
        self.breaker = breaker
        self.retry = retry
        self.backoff = backoff
        self._clock = clock
        self._sleep = sleep
        self._metrics = metrics or OrdoMetrics()
        self._deadlines = deadlines or Deadlines()
        self.stats = BrokerStats()

    @property
    def broker_id(self) -> str:
        return self.adapter.broker_id

    async def place(self, order: BrokerOrder, halted: IsHalted) -> BrokerResult:
        """Place ``order`` at this broker; ``halted`` is the kill switch, checked before every attempt."""
        order = order.halted_by(halted)
        started = self._clock.monotonic()
        deadline = started + self.retry.order_deadline_s
        run = _Run()
        try:
            placed = await self._attempts(order, halted, deadline, run)
        except _Halted as halt:
            last_error = run.last_error
            if halt.code is BrokerErrorCode.KILL_SWITCH_ACTIVE:
                # Whatever the earlier attempts said, what stopped this order is the switch.
                before = f" (last attempt: {last_error.code.value})" if last_error is not None else ""
                return self._result("error", started, run.attempts, error_code=halt.code,
                                    message=halt.message + before)
            if last_error is None:
                return self._result("skipped", started, run.attempts, error_code=halt.code, message=halt.message)
            return self._error_result(last_error, started, run.attempts, suffix=f"; stopped retrying: {halt.message}")
        except BrokerError as exc:
            return self._error_result(exc, started, run.attempts)
        except Exception as exc:  # an adapter bug must not lose the order's record
            log.exception("adapter %s raised unexpectedly", self.broker_id)
            return self._result(
                "error", started, run.attempts, error_code=BrokerErrorCode.OUTCOME_UNKNOWN,
                message=f"internal error in the {self.adapter.kind} adapter ({type(exc).__name__}); check the broker",
            )
        return self._result(
            "success", started, run.attempts, order_id=placed.order_id,
            broker_code=placed.broker_code, broker_message=placed.broker_message,
        )

    async def _attempts(self, order: BrokerOrder, halted: IsHalted, deadline: float, run: _Run) -> PlacedOrder:
        """The first attempt runs on its own: most orders need no other, and tenacity's
        bookkeeping costs more than a fast broker's whole answer. Only a failure hands over to
        tenacity, as tenacity's own first attempt, so that stop, wait and retry decide exactly
        as if tenacity had made it."""
        try:
            return await self._one_attempt(order, halted, deadline, run)
        except BrokerError as exc:
            if not should_retry(exc) or self.retry.max_attempts <= 1:
                raise
            first_failure: BrokerError | None = exc
        async for attempt in self._retrying(should_retry, deadline):
            with attempt:
                if first_failure is not None:
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._one_attempt(order, halted, deadline, run)
        raise AssertionError("tenacity stopped without an outcome")  # reraise=True makes this unreachable

    async def _one_attempt(self, order: BrokerOrder, halted: IsHalted, deadline: float, run: _Run) -> PlacedOrder:
        self._check_may_send(halted, run.attempts)
        run.attempts += 1
        try:
            return await self._attempt(order, deadline)
        except BrokerError as exc:
            run.last_error = exc
            raise

    async def amend(self, order_id: str, call: Callable[[], Awaitable[None]]) -> BrokerResult:
        """Cancel or modify an accepted order. Unlike a placement, repeating one is harmless
        (cancelling twice, or setting the same absolute terms twice, changes nothing), so
        ambiguous failures are retried too; and neither the kill switch nor the breaker stops
        it, since removing risk must always be possible."""
        started = self._clock.monotonic()
        attempts = 0
        try:
            async for attempt in self._retrying(lambda exc: should_retry(exc) or (
                    isinstance(exc, BrokerError) and is_ambiguous(exc))):
                with attempt:
                    attempts += 1
                    t0 = self._clock.monotonic()
                    try:
                        await asyncio.wait_for(call(), self.retry.call_timeout_s)
                    except TimeoutError as exc:
                        error = exc if isinstance(exc, BrokerError) else BrokerTimeout(
                            f"no answer within {self.retry.call_timeout_s:g}s")
                        self._observe(t0, error)
                        raise error from None
                    except BrokerError as exc:
                        self._observe(t0, exc)
                        raise
                    self._observe(t0, None)
        except BrokerError as exc:
            return self._error_result(exc, started, attempts, order_id=order_id)
        except Exception as exc:
            log.exception("adapter %s raised unexpectedly", self.broker_id)
            return self._result("error", started, attempts, order_id=order_id,
                                error_code=BrokerErrorCode.OUTCOME_UNKNOWN,
                                message=f"internal error in the {self.adapter.kind} adapter ({type(exc).__name__})")
        return self._result("success", started, attempts, order_id=order_id)

    def _retrying(self, retryable: Callable[[BaseException], bool], deadline: float | None = None) -> AsyncRetrying:
        stop = stop_after_attempt(self.retry.max_attempts)
        return AsyncRetrying(
            stop=stop if deadline is None else stop | _StopAtDeadline(self._clock, deadline),
            wait=self.backoff,
            retry=retry_if_exception(retryable),
            sleep=self._sleep,
            reraise=True,
        )

    def _check_may_send(self, halted: IsHalted, attempts: int) -> None:
        if halted():
            raise _Halted(BrokerErrorCode.KILL_SWITCH_ACTIVE, "kill switch is active; not sent")
        if not self.breaker.allows_orders():
            raise _Halted(BrokerErrorCode.CIRCUIT_OPEN, f"circuit breaker is {self.breaker.state}")

    async def _attempt(self, order: BrokerOrder, deadline: float) -> PlacedOrder:
        t0 = self._clock.monotonic()
        self.stats.attempts += 1
        # The order's deadline caps the last attempt; a tiny floor keeps the timeout meaningful.
        timeout_s = max(min(self.retry.call_timeout_s, deadline - t0), 0.001)
        try:
            try:
                # Not wait_for (a task and a loop turn per call), nor asyncio.timeout (a loop
                # timer per call): a shared coarse ticker (ordod/deadlines.py).
                async with self._deadlines.after(timeout_s):
                    placed = await self.adapter.place_order(order)
            except TimeoutError as exc:
                if isinstance(exc, BrokerError):
                    raise
                raise BrokerTimeout(f"no answer within {timeout_s:g}s") from None
        except BrokerError as exc:
            self._observe(t0, exc)
            if is_ambiguous(exc):
                return await self._resolve_ambiguous(order, exc)
            raise
        self._observe(t0, None)
        return placed

    async def _resolve_ambiguous(self, order: BrokerOrder, error: BrokerError) -> PlacedOrder:
        """The broker may hold the order: look it up by tag before anything else."""
        if self.retry.lookup_delay_ms > 0:
            # A broker still booking the order would answer "not found" to an immediate lookup.
            await self._sleep(self.retry.lookup_delay_ms / 1000)
        try:
            async with self._deadlines.after(self.retry.call_timeout_s):
                order_id = await self.adapter.find_order_by_tag(order)
        except OrderRejected as rejected:
            # The broker has the order and rejected it: that is the outcome, not an unknown.
            rejected.message = f"{error.message}; found by tag, rejected: {rejected.message}"
            raise rejected from None
        except (BrokerError, TimeoutError) as exc:
            raise OutcomeUnknown(
                f"{error.message}; the order may be at the broker and the lookup failed ({type(exc).__name__})",
                http_status=error.http_status, broker_code=error.broker_code, broker_message=error.broker_message,
            ) from None
        if order_id is not None:
            return PlacedOrder(order_id, broker_message=f"found by tag after: {error.message}")
        raise NotFoundAfterLookup(error)

    def _observe(self, t0: float, error: BrokerError | None) -> None:
        elapsed = self._clock.monotonic() - t0
        self.stats.last_latency_ms = elapsed * 1000
        self._metrics.broker_call(self.broker_id, elapsed, None if error is None else error.code.value)
        if error is None:
            self.stats.window.append(True)
            self.breaker.record_success()
            return
        self.stats.window.append(False)
        self.stats.last_error = error.code.value
        self.stats.last_error_at = self._clock.now()
        if counts_against_breaker(error):
            self.breaker.record_failure()
        else:
            self.breaker.record_success()

    def _error_result(
        self, exc: BrokerError, started: float, attempts: int, suffix: str = "", order_id: str | None = None
    ) -> BrokerResult:
        return self._result(
            "error", started, attempts, order_id=order_id, error_code=exc.code, message=exc.message + suffix,
            broker_code=exc.broker_code, broker_message=exc.broker_message,
        )

    def _result(
        self,
        status: str,
        started: float,
        attempts: int,
        *,
        order_id: str | None = None,
        error_code: BrokerErrorCode | None = None,
        message: str = "",
        broker_code: str | None = None,
        broker_message: str | None = None,
    ) -> BrokerResult:
        return BrokerResult.model_validate(
            {
                "broker_id": self.broker_id,
                "status": status,
                "order_id": order_id,
                "error_code": error_code.value if error_code else None,
                "message": message,
                "attempts": attempts,
                "latency_ms": round((self._clock.monotonic() - started) * 1000, 3),
                "broker_code": broker_code,
                "broker_message": broker_message,
            }
        )
