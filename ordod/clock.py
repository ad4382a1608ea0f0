"""Time and randomness are injected so breaker, backoff and expiry tests run instantly."""

from __future__ import annotations

import random
import time
from datetime import UTC, date, datetime, timedelta, timezone
from functools import partial
from typing import Protocol

# NSE and BSE keep Indian Standard Time, which has no daylight saving: a trading day is an IST date.
EXCHANGE_TZ = timezone(timedelta(hours=5, minutes=30))


def trading_day(ts: float) -> date:
    """The exchange's calendar date at unix time ``ts``: day orders end with it."""
    return datetime.fromtimestamp(ts, EXCHANGE_TZ).date()


class Clock(Protocol):
    def monotonic(self) -> float: ...

    def time(self) -> float: ...

    def now(self) -> datetime: ...


class SystemClock:
    # The C functions themselves rather than methods that call them: an order reads the clock
    # some twenty times, and a Python frame costs more than the read.
    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)
    now = staticmethod(partial(datetime.now, UTC))


class ManualClock:
    """A clock tests move by hand."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self._t = start

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def monotonic(self) -> float:
        return self._t

    def time(self) -> float:
        return self._t

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._t, UTC)


def system_random() -> random.Random:
    return random.Random()
