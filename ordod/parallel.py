"""Run coroutines side by side and collect their results in order: ``asyncio.gather`` for the
order pipeline's broker fan-out, at half its cost.

gather's bookkeeping is Python (a gathering future, a done-callback closure run per child):
~7.6 us for two coroutines against ~3.8 us for two tasks awaited in turn, on a path run for
every order. What the fan-out relies on is kept: every coroutine is a task before any result is
awaited, so they all run at once; results come in the order given; and when the caller is
cancelled, every one of them is cancelled and finishes before the caller's cancellation goes on,
as with gather. Unlike gather, an exception is raised once the coroutines given before the one
that raised have finished, and the ones still running are then cancelled (the fan-out's never
raise: a broker's failure is a result, and each call has a deadline).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")


async def all_results(coros: Iterable[Coroutine[Any, Any, T]]) -> list[T]:
    loop = asyncio.get_running_loop()
    tasks = [loop.create_task(coro) for coro in coros]
    try:
        return [await task for task in tasks]
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.wait(tasks)
        raise
