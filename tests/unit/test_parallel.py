"""all_results, the broker fan-out's gather: concurrent, in order, and cancelled as a whole."""

from __future__ import annotations

import asyncio

import pytest

from ordod.parallel import all_results


async def test_results_come_in_the_order_given_whichever_finishes_first() -> None:
    async def after(turns: int, value: str) -> str:
        for _ in range(turns):
            await asyncio.sleep(0)
        return value

    assert await all_results([after(3, "slow"), after(0, "fast"), after(1, "middle")]) == ["slow", "fast", "middle"]


async def test_every_coroutine_is_under_way_before_any_is_waited_for() -> None:
    started: list[str] = []
    release = asyncio.Event()

    async def broker(name: str) -> str:
        started.append(name)
        await release.wait()
        return name

    running = asyncio.ensure_future(all_results([broker("fyers"), broker("hdfc")]))
    for _ in range(3):
        await asyncio.sleep(0)
    assert started == ["fyers", "hdfc"]  # the second started while the first still waits
    release.set()
    assert await running == ["fyers", "hdfc"]


async def test_cancelling_the_caller_cancels_every_coroutine_and_waits_for_them() -> None:
    finished: list[str] = []
    never = asyncio.Event()

    async def broker(name: str) -> str:
        try:
            await never.wait()
        finally:
            await asyncio.sleep(0)  # some unwinding of its own
            finished.append(name)
        return name

    running = asyncio.ensure_future(all_results([broker("fyers"), broker("hdfc")]))
    for _ in range(3):
        await asyncio.sleep(0)  # both are waiting inside their call
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    assert sorted(finished) == ["fyers", "hdfc"]


async def test_a_coroutine_that_raises_is_reported_and_the_ones_still_running_are_cancelled() -> None:
    cancelled: list[str] = []

    async def answers() -> str:
        await asyncio.sleep(0)
        return "fyers"

    async def fails() -> str:
        raise ValueError("adapter bug")

    async def waits() -> str:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append("waits")
            raise
        return "never"

    with pytest.raises(ValueError, match="adapter bug"):
        await all_results([answers(), fails(), waits()])
    assert cancelled == ["waits"]


async def test_nothing_to_run_is_an_empty_list() -> None:
    assert await all_results([]) == []
