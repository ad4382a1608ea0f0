"""Broker-call deadlines kept by one coarse ticker behave like asyncio.timeout: an overrun call
gets TimeoutError (at most one step late), a call in time is untouched, and a cancellation
from elsewhere stays a cancellation."""

from __future__ import annotations

import asyncio

import pytest

from ordod.deadlines import Deadline, Deadlines

STEP_S = 0.01


async def test_a_call_that_overruns_its_deadline_gets_timeout_error_about_on_time() -> None:
    deadlines = Deadlines(STEP_S)
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(TimeoutError):
        async with deadlines.after(0.05):
            await asyncio.sleep(10)
    assert 0.05 <= loop.time() - started < 2  # generous: a busy CI machine is slow, never early
    assert deadlines.running == 0


async def test_a_call_in_time_is_untouched_and_the_task_is_not_left_cancelled() -> None:
    deadlines = Deadlines(STEP_S)
    async with deadlines.after(5.0):
        await asyncio.sleep(0)
    await asyncio.sleep(STEP_S * 3)  # a stray cancellation would land here
    assert asyncio.current_task().cancelling() == 0  # type: ignore[union-attr]


async def test_the_ticker_stops_when_no_call_is_running() -> None:
    deadlines = Deadlines(STEP_S)
    async with deadlines.after(5.0):
        await asyncio.sleep(STEP_S * 2)
        assert deadlines._ticker is not None
    await asyncio.sleep(STEP_S * 3)
    assert deadlines._ticker is None


async def test_concurrent_calls_expire_each_at_their_own_deadline() -> None:
    deadlines = Deadlines(STEP_S)

    async def call(deadline_s: float, takes_s: float) -> str:
        try:
            async with deadlines.after(deadline_s):
                await asyncio.sleep(takes_s)
        except TimeoutError:
            return "timeout"
        return "answered"

    results = await asyncio.gather(call(0.03, 10), call(5.0, 0.06), call(0.03, 0))
    assert results == ["timeout", "answered", "answered"]


async def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    deadlines = Deadlines(STEP_S)
    entered = asyncio.Event()

    async def call() -> None:
        async with deadlines.after(5.0):
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert deadlines.running == 0


async def test_a_shutdown_cancelling_a_call_as_it_expires_is_still_a_cancellation() -> None:
    deadlines = Deadlines(STEP_S)
    entered = asyncio.Event()
    held: list[Deadline] = []

    async def call() -> None:
        async with deadlines.after(5.0) as deadline:
            held.append(deadline)
            entered.set()
            await asyncio.sleep(10)

    task = asyncio.create_task(call())
    await entered.wait()
    task.cancel()  # the daemon shuts down...
    held[0].expire()  # ...in the same loop turn as the deadline passes
    with pytest.raises(asyncio.CancelledError):
        await task
