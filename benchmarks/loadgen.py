"""The client side of every benchmark. Each function here is a job that runs in its own worker
process (never the daemon's), with plain REQ/SUB sockets: what a trader's script does.

The same code drives Ordo and its baseline (the echo server, the bare publisher), so the only
difference between the two numbers is what answers.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import uvloop
import zmq
import zmq.asyncio

ORDER: dict[str, Any] = {"symbol": "NSE:SBIN-EQ", "side": "BUY", "qty": 1, "order_type": "LIMIT", "price": 500.5}

_REPLY_TIMEOUT_MS = 60_000

# Refusals the kill-switch figure expects while it flips the switch under load.
_TOLERATED_UNDER_KILL_SWITCH = frozenset({"KILL_SWITCH_ACTIVE"})


def place_order_frame(token: str, key: str, request_id: int) -> bytes:
    request = {"v": 1, "op": "place_order", "id": request_id, "token": token, "idempotency_key": key, "order": ORDER}
    return json.dumps(request, separators=(",", ":")).encode()


@dataclass
class LoadResult:
    """One closed-loop run: every client sends, waits for the answer, sends again."""

    completed: int = 0
    refused: int = 0
    total: int = 0  # orders placed, counted or not (warm-up included): what the daemon holds
    elapsed_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    reply_bytes: int = 0

    @property
    def per_second(self) -> float:
        return self.completed / self.elapsed_s if self.elapsed_s else 0.0


class BenchFailure(RuntimeError):
    """A reply that says Ordo did not do the job: a benchmark must not time failures."""


def check_reply(raw: bytes, sent: bytes, echo: bool, tolerate_kill_switch: bool) -> bool:
    """True for a placed order (or an echo), False for a tolerated refusal; raises otherwise."""
    reply = json.loads(raw)  # parsed in both cases, so the client's own cost is the same
    if echo:
        if raw.startswith(sent):
            return True
        raise BenchFailure(f"echo server answered something else: {raw[:100]!r}")
    if reply.get("ok") and (reply.get("status") == "success" or tolerate_kill_switch):
        return True
    code = (reply.get("error") or {}).get("code")
    if tolerate_kill_switch and code in _TOLERATED_UNDER_KILL_SWITCH:
        return False
    raise BenchFailure(f"unexpected reply: {raw[:300]!r}")


def closed_loop(
    endpoint: str, token: str, clients: int, run_id: str, *, duration_s: float | None = None,
    orders_per_client: int | None = None, warmup_s: float = 0.0, echo: bool = False,
    tolerate_kill_switch: bool = False,
) -> LoadResult:
    """``clients`` concurrent REQ sockets placing orders with distinct keys, for a duration or a
    count. With ``echo`` the peer is the echo baseline, which sends each request back.

    One thread polls every socket: the cheapest a Python client gets (an asyncio client cost
    ~70 us a round trip), so the clients take as little as they can of the CPU they share with
    the daemon on a small machine. Each socket is still a plain REQ: send, wait, send again."""
    ctx = zmq.Context()
    result = LoadResult()
    poller = zmq.Poller()
    # Per socket: [client number, orders sent, the frame in flight, when it was sent]
    inflight: dict[zmq.Socket[bytes], list[Any]] = {}
    measure_from = time.perf_counter() + warmup_s
    stop_at = measure_from + duration_s if duration_s is not None else float("inf")

    def send_next(sock: zmq.Socket[bytes], state: list[Any]) -> bool:
        state[1] += 1
        if orders_per_client is not None and state[1] > orders_per_client:
            return False
        frame = place_order_frame(token, f"{run_id}-{state[0]}-{state[1]}", state[1])
        t0 = time.perf_counter()
        if t0 >= stop_at:
            return False
        sock.send(frame)
        state[2], state[3] = frame, t0
        return True

    try:
        for n in range(clients):
            sock = ctx.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(endpoint)
            inflight[sock] = state = [n, 0, b"", 0.0]
            if send_next(sock, state):
                poller.register(sock, zmq.POLLIN)
        active = len(poller.sockets)
        while active:
            ready = poller.poll(_REPLY_TIMEOUT_MS)
            if not ready:
                raise BenchFailure(f"no reply within {_REPLY_TIMEOUT_MS / 1000:g} s from {endpoint}")
            for sock, _ in ready:
                raw = sock.recv()
                t1 = time.perf_counter()
                state = inflight[sock]
                placed = check_reply(raw, state[2], echo, tolerate_kill_switch)
                result.total += placed
                if measure_from <= t1 <= stop_at:
                    result.reply_bytes = len(raw)
                    if placed:
                        result.completed += 1
                        result.latencies_ms.append((t1 - state[3]) * 1000)
                    else:
                        result.refused += 1
                if not send_next(sock, state):
                    poller.unregister(sock)
                    active -= 1
        result.elapsed_s = max(0.0, min(time.perf_counter(), stop_at) - measure_from)
    finally:
        for sock in inflight:
            sock.close(linger=0)
        ctx.term()
    return result


def pings(endpoint: str, duration_s: float, pause_s: float = 0.005) -> list[float]:
    """An operator's console on an idle daemon: a ``ping`` every few ms, each round trip in ms."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    latencies: list[float] = []
    try:
        end = time.perf_counter() + duration_s
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            sock.send(b'{"v":1,"op":"ping","id":1}')
            if not sock.poll(_REPLY_TIMEOUT_MS):
                raise BenchFailure(f"no pong within {_REPLY_TIMEOUT_MS / 1000:g} s from {endpoint}")
            sock.recv()
            latencies.append((time.perf_counter() - t0) * 1000)
            time.sleep(pause_s)
    finally:
        sock.close(linger=0)
        ctx.term()
    return latencies


@dataclass
class ProbeResult:
    ping_ms: list[float] = field(default_factory=list)
    kill_switch_ms: list[float] = field(default_factory=list)


async def _probe(endpoint: str, token: str, duration_s: float, start_after_s: float, pause_s: float) -> ProbeResult:
    """An operator's console under load: ping, switch on, switch off, over and over."""
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    result = ProbeResult()

    async def timed(request: dict[str, Any]) -> float:
        t0 = time.perf_counter()
        await sock.send(json.dumps(request).encode())
        reply = json.loads(await sock.recv())
        elapsed = (time.perf_counter() - t0) * 1000
        if not reply.get("ok"):
            raise BenchFailure(f"probe refused: {reply}")
        return elapsed

    try:
        await asyncio.sleep(start_after_s)
        deadline = time.perf_counter() + duration_s
        while time.perf_counter() < deadline:
            result.ping_ms.append(await timed({"v": 1, "op": "ping", "id": 1}))
            await asyncio.sleep(pause_s)
            for active in (True, False):
                request = {"v": 1, "op": "kill_switch", "id": 2, "token": token, "active": active, "reason": "bench"}
                if not active:
                    request["confirm"] = True  # switching it off is confirmed on purpose
                result.kill_switch_ms.append(await timed(request))
                await asyncio.sleep(pause_s)
    finally:
        sock.close(linger=0)
        ctx.term()
    return result


def probe(endpoint: str, token: str, duration_s: float, start_after_s: float, pause_s: float = 0.005) -> ProbeResult:
    return uvloop.run(_probe(endpoint, token, duration_s, start_after_s, pause_s))


@dataclass
class SubscriberResult:
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    missing: int = 0
    out_of_order: int = 0
    elapsed_s: float = 0.0
    event_bytes: int = 0

    @property
    def per_second(self) -> float:
        return self.events / self.elapsed_s if self.elapsed_s else 0.0


def subscribe(endpoint: str, ready: Any, idle_s: float = 0.5, deadline_s: float = 60.0,
              expected: int | None = None) -> SubscriberResult:
    """Count audit events until the flood stops, checking that ``seq`` has no gap.

    A plain blocking socket drained without waiting between events: the fastest a Python
    subscriber can go, so the baseline measures the transport, not this loop."""
    ctx = zmq.Context()
    sock = ctx.socket(zmq.SUB)
    sock.setsockopt(zmq.LINGER, 0)
    # A subscriber that keeps up needs no queue; a deep one makes "none missing" about Ordo.
    sock.setsockopt(zmq.RCVHWM, 1_000_000)
    sock.setsockopt(zmq.SUBSCRIBE, b"audit.")
    sock.setsockopt(zmq.SUBSCRIBE, b"health.")
    sock.connect(endpoint)
    result = SubscriberResult()
    first_at = last_at = 0.0
    give_up = time.perf_counter() + deadline_s
    try:
        while time.perf_counter() < give_up:
            if not sock.poll(int(idle_s * 1000)):
                if result.events:
                    break  # the flood is over
                continue
            while True:
                try:
                    topic, body = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                if topic.startswith(b"health."):
                    if not ready.is_set():
                        ready.set()  # our subscription has reached the publisher
                    continue
                seq = json.loads(body)["seq"]
                now = time.perf_counter()
                if result.last_seq is None:
                    result.first_seq, first_at = seq, now
                elif seq != result.last_seq + 1:
                    if seq <= result.last_seq:
                        result.out_of_order += 1
                        continue
                    result.missing += seq - result.last_seq - 1
                result.last_seq, last_at = seq, now
                result.events += 1
                result.event_bytes = len(body)
            if expected is not None and result.events >= expected:
                break
    finally:
        sock.close(linger=0)
        ctx.term()
    result.elapsed_s = last_at - first_at
    return result


async def _sleep_latency(seconds: float, count: int) -> list[float]:
    samples = []
    for _ in range(count):
        t0 = time.perf_counter()
        await asyncio.sleep(seconds)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def sleep_latency(seconds: float, count: int) -> list[float]:
    """The fan-out floor: the slowest broker's latency as a bare sleep on the same loop type."""
    return uvloop.run(_sleep_latency(seconds, count))
