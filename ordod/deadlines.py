"""Deadlines for broker calls, kept by one coarse ticker instead of a loop timer per call.

``asyncio.timeout`` arms a timer on the loop for every call and disarms it afterwards, ~4 us a
call on uvloop (two calls an order with two brokers), for calls that nearly always answer long
before their deadline; this costs ~1 us. Here a call only joins a set. While the set is not empty, a ticker
runs every ``resolution_s`` and cancels the calls that have overrun; the caller then sees
``TimeoutError`` exactly as with ``asyncio.timeout`` (same cancellation bookkeeping), only up to
one resolution step late. Broker timeouts are seconds long, so a 10 ms step is noise.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

DEFAULT_RESOLUTION_S = 0.01


class Deadlines:
    """One per event loop (the daemon shares it between its broker gateways)."""

    def __init__(self, resolution_s: float = DEFAULT_RESOLUTION_S) -> None:
        self.resolution_s = resolution_s
        self._running: set[Deadline] = set()
        self._ticker: asyncio.TimerHandle | None = None

    def after(self, delay_s: float) -> Deadline:
        """``async with deadlines.after(5.0): await call()`` raises TimeoutError past 5 s."""
        return Deadline(self, delay_s)

    @property
    def running(self) -> int:
        return len(self._running)

    def _join(self, deadline: Deadline) -> None:
        self._running.add(deadline)
        if self._ticker is None:
            self._ticker = asyncio.get_running_loop().call_later(self.resolution_s, self._tick)

    def _leave(self, deadline: Deadline) -> None:
        self._running.discard(deadline)

    def _tick(self) -> None:
        loop = asyncio.get_running_loop()
        now = loop.time()
        for deadline in [d for d in self._running if d.when <= now]:
            deadline.expire()
        self._ticker = loop.call_later(self.resolution_s, self._tick) if self._running else None


class Deadline:
    __slots__ = ("_cancelling", "_delay_s", "_owner", "_task", "expired", "when")

    def __init__(self, owner: Deadlines, delay_s: float) -> None:
        self._owner = owner
        self._delay_s = delay_s
        self._task: asyncio.Task[object] | None = None
        self._cancelling = 0
        self.when = 0.0
        self.expired = False

    async def __aenter__(self) -> Deadline:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline must be used inside a task")
        self._task = task
        self._cancelling = task.cancelling()
        self.when = asyncio.get_running_loop().time() + self._delay_s
        self._owner._join(self)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._owner._leave(self)
        # As asyncio.timeout does: our own cancellation becomes TimeoutError; anyone else's
        # (a shutdown cancelling the task as well) stays a cancellation.
        if self.expired and exc_type is asyncio.CancelledError and self._task is not None \
                and self._task.uncancel() <= self._cancelling:
            raise TimeoutError from exc

    def expire(self) -> None:
        if not self.expired and self._task is not None:
            self.expired = True
            self._task.cancel()
