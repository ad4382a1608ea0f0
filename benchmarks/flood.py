"""Figure 8's audit flood: real orders, paced so the daemon publishes a chosen number of audit
events per second. Runs in a worker process of its own, like every client here.

The pace is arithmetic on one measured number: how many audit events one order yields (four
with two paper brokers: ``order.received``, a ``broker.result`` per broker, ``order.completed``).
A SUB socket in the same process counts what the daemon actually published, by ``seq``, so the
rate reported is the daemon's, not the plan's.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from dataclasses import dataclass
from typing import Any

import uvloop
import zmq
import zmq.asyncio

from benchmarks.loadgen import check_reply, place_order_frame

# Orders in flight at once: enough that a slow reply never holds up the schedule.
SENDERS = 16


def orders_per_second(target_events_per_s: float, events_per_order: float) -> float:
    """The order rate that makes the daemon publish ``target_events_per_s`` audit events."""
    if events_per_order <= 0 or target_events_per_s <= 0:
        raise ValueError("a flood needs a positive event rate and events per order")
    return target_events_per_s / events_per_order


def orders_due(elapsed_s: float, rate: float) -> int:
    """How many orders an open-loop schedule at ``rate`` has sent ``elapsed_s`` after its start
    (the first goes at once). Behind schedule, the difference goes out as soon as it can."""
    return max(0, math.floor(elapsed_s * rate)) + 1 if elapsed_s >= 0 else 0


@dataclass
class SeqCount:
    """Audit events seen on a SUB socket: the first and last ``seq`` and when each arrived."""

    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    first_at: float = 0.0
    last_at: float = 0.0

    def see(self, seq: int, now: float) -> None:
        if self.first_seq is None:
            self.first_seq, self.first_at = seq, now
        self.last_seq, self.last_at = seq, now
        self.events += 1

    @property
    def per_second(self) -> float:
        """Events the daemon numbered between the first and the last one seen, per second."""
        if self.first_seq is None or self.last_seq is None or self.last_at <= self.first_at:
            return 0.0
        return (self.last_seq - self.first_seq) / (self.last_at - self.first_at)


@dataclass
class FloodResult:
    orders: int = 0
    elapsed_s: float = 0.0
    published: SeqCount | None = None

    @property
    def orders_per_s(self) -> float:
        return self.orders / self.elapsed_s if self.elapsed_s else 0.0


def _sub(ctx: zmq.asyncio.Context, pub: str) -> zmq.asyncio.Socket:
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RCVHWM, 1_000_000)
    sock.setsockopt(zmq.SUBSCRIBE, b"audit.")
    sock.setsockopt(zmq.SUBSCRIBE, b"health.")
    sock.connect(pub)
    return sock


async def _count(sock: zmq.asyncio.Socket, into: SeqCount, ready: asyncio.Event) -> None:
    while True:
        topic, body = await sock.recv_multipart()
        if topic.startswith(b"health."):
            ready.set()  # our subscription has reached the publisher
            continue
        into.see(json.loads(body)["seq"], time.perf_counter())


async def _place(ctx: zmq.asyncio.Context, rep: str, token: str, run_id: str, rate: float,
                 stop: asyncio.Event, count: int | None = None) -> FloodResult:
    """Orders at ``rate`` per second through ``SENDERS`` REQ sockets, until ``stop`` (or ``count``)."""
    result = FloodResult()
    idle: asyncio.Queue[zmq.asyncio.Socket] = asyncio.Queue()
    sockets = []
    for _ in range(SENDERS):
        sock = ctx.socket(zmq.REQ)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(rep)
        sockets.append(sock)
        idle.put_nowait(sock)
    failures: list[BaseException] = []

    async def one(sock: zmq.asyncio.Socket, n: int) -> None:
        try:
            frame = place_order_frame(token, f"{run_id}-{n}", n)
            await sock.send(frame)
            check_reply(await sock.recv(), frame, echo=False, tolerate_kill_switch=False)
        except Exception as exc:  # a failed order stops the flood: it must not pass for load
            failures.append(exc)
            stop.set()
        finally:
            idle.put_nowait(sock)

    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()
    sent = 0
    try:
        while not stop.is_set() and (count is None or sent < count):
            due = orders_due(time.perf_counter() - started, rate)
            if sent >= due:
                await asyncio.sleep((sent / rate) - (time.perf_counter() - started))
                continue
            sock = await idle.get()
            sent += 1
            task = asyncio.create_task(one(sock, sent))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        await asyncio.gather(*tasks, return_exceptions=True)
    finally:
        for sock in sockets:
            sock.close(linger=0)
    if failures:
        raise failures[0]
    result.orders = sent
    result.elapsed_s = time.perf_counter() - started
    return result


async def _events_per_order(rep: str, pub: str, token: str, orders: int, settle_s: float) -> float:
    ctx = zmq.asyncio.Context()
    sub = _sub(ctx, pub)
    seen, ready = SeqCount(), asyncio.Event()
    counter = asyncio.create_task(_count(sub, seen, ready))
    try:
        await asyncio.wait_for(ready.wait(), 30)
        await _place(ctx, rep, token, "epo", rate=200.0, stop=asyncio.Event(), count=orders)
        await asyncio.sleep(settle_s)  # audit events are published after their commit
    finally:
        counter.cancel()
        sub.close(linger=0)
        ctx.term()
    return seen.events / orders


def events_per_order(rep: str, pub: str, token: str, orders: int = 50, settle_s: float = 0.5) -> float:
    """Audit events the daemon publishes per order, counted on a SUB socket over ``orders``
    orders placed on an otherwise idle daemon."""
    return uvloop.run(_events_per_order(rep, pub, token, orders, settle_s))


async def _flood(rep: str, pub: str, token: str, run_id: str, rate: float, start: Any, stop: Any) -> FloodResult:
    ctx = zmq.asyncio.Context()
    sub = _sub(ctx, pub)
    published, ready = SeqCount(), asyncio.Event()
    counter = asyncio.create_task(_count(sub, published, ready))
    stopping = asyncio.Event()

    async def watch_stop() -> None:
        # The manager's Event is a blocking call to another process: wait for it off the loop.
        await asyncio.to_thread(stop.wait, 300)
        stopping.set()

    try:
        await asyncio.wait_for(ready.wait(), 30)
        if not await asyncio.to_thread(_started, start, stop):
            return FloodResult(published=published)  # the desk gave up before its flood
        watcher = asyncio.create_task(watch_stop())
        result = await _place(ctx, rep, token, run_id, rate, stopping)
        await watcher
        await asyncio.sleep(0.2)  # the last orders' events
    finally:
        counter.cancel()
        sub.close(linger=0)
        ctx.term()
    result.published = published
    return result


def _started(start: Any, stop: Any, timeout_s: float = 300.0) -> bool:
    """Wait for ``start``; False if ``stop`` comes first."""
    deadline = time.monotonic() + timeout_s
    while not start.wait(0.1):
        if stop.is_set():
            return False
        if time.monotonic() > deadline:
            raise RuntimeError("the flood was never started")
    return True


def flood(rep: str, pub: str, token: str, run_id: str, orders_per_s: float, start: Any, stop: Any) -> FloodResult:
    """From ``start`` until ``stop`` (manager Events), place orders at ``orders_per_s``; count the
    audit events the daemon published meanwhile."""
    return uvloop.run(_flood(rep, pub, token, run_id, orders_per_s, start, stop))
