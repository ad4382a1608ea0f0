"""In-process fan-out of the events the PUB socket sends, for consumers inside the daemon
(the HTTP event stream) that should not need a ZeroMQ SUB socket of their own.

Publishing never waits: each subscriber has a bounded queue, and one that falls behind is
dropped (its stream ends) rather than slowing the daemon or growing without bound. Audit
events carry ``seq``, so a dropped subscriber resumes from the store where it left off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ordo_shared.models import Event

log = logging.getLogger("ordod.fanout")

DEFAULT_QUEUE_SIZE = 2048


class Subscription:
    def __init__(self, fanout: EventFanout, accept: Callable[[Event], bool], max_queue: int) -> None:
        self._fanout = fanout
        self._accept = accept
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(max_queue)
        self.closed = False
        self.dropped = False

    def _offer(self, event: Event) -> None:
        if self.closed or not self._accept(event):
            return
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped = True
            self.close()

    async def get(self, timeout_s: float | None = None) -> Event | None:
        """The next event; ``None`` once the subscription is closed. Raises ``TimeoutError``."""
        if self.closed and self._queue.empty():
            return None
        async with asyncio.timeout(timeout_s):
            return await self._queue.get()

    def close(self) -> None:
        """Stop receiving; a waiting ``get`` wakes with ``None``. Undelivered events are
        discarded (their ``seq`` can be replayed from the store)."""
        if self.closed:
            return
        self.closed = True
        self._fanout._remove(self)
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(None)


class EventFanout:
    def __init__(self, max_queue: int = DEFAULT_QUEUE_SIZE) -> None:
        self._max_queue = max_queue
        self._subscribers: list[Subscription] = []
        self.dropped = 0

    def subscribe(self, accept: Callable[[Event], bool] = lambda event: True) -> Subscription:
        sub = Subscription(self, accept, self._max_queue)
        self._subscribers.append(sub)
        return sub

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def publish(self, event: Event) -> None:
        for sub in list(self._subscribers):
            sub._offer(event)
            if sub.dropped:
                self.dropped += 1
                log.warning("event subscriber dropped: %d events behind", self._max_queue)

    def close(self) -> None:
        for sub in list(self._subscribers):
            sub.close()

    def _remove(self, sub: Subscription) -> None:
        if sub in self._subscribers:
            self._subscribers.remove(sub)
