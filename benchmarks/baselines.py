"""The physical limits Ordo is compared with, each a process of its own like the daemon:

* a bare pyzmq asyncio ROUTER echo server on uvloop (what a ZeroMQ round trip costs at all),
* a raw aiosqlite loop of one-row transactions in WAL with ``synchronous=FULL`` (what one
  durable commit costs on this disk),
* a bare pyzmq PUB socket flooding events of Ordo's size (what a subscriber can take at all).
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import sqlite3
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from pathlib import Path

import aiosqlite
import uvloop
import zmq
import zmq.asyncio

from benchmarks.daemon import free_port


async def _echo(endpoint: str, reply_size: int) -> None:
    ctx = zmq.asyncio.Context()
    sock = ctx.socket(zmq.ROUTER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.bind(endpoint)
    while True:
        *envelope, body = await sock.recv_multipart()
        # Pad to the size of Ordo's reply, so both directions carry the same bytes as Ordo's.
        await sock.send_multipart([*envelope, body.ljust(reply_size)])


def _run_echo(endpoint: str, reply_size: int) -> None:
    uvloop.run(_echo(endpoint, reply_size))


class EchoServer:
    """The echo server in its own process, for as long as the ``with`` block lasts."""

    def __init__(self, reply_size: int) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self._reply_size = reply_size
        self._proc: SpawnProcess | None = None

    def __enter__(self) -> EchoServer:
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_run_echo, args=(self.endpoint, self._reply_size), daemon=True, name="echo-server")
        self._proc.start()
        _wait_until_answers(self.endpoint)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.join(10)


def _wait_until_answers(endpoint: str, timeout_s: float = 30.0) -> None:
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.setsockopt(zmq.RECONNECT_IVL, 5)
    sock.connect(endpoint)
    try:
        sock.send(b"{}")
        if not sock.poll(int(timeout_s * 1000)):
            raise RuntimeError(f"echo server at {endpoint} did not answer")
        sock.recv()
    finally:
        sock.close(linger=0)


@dataclass
class CommitResult:
    commits: int
    elapsed_s: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.commits / self.elapsed_s


async def _raw_commits(path: Path, duration_s: float, row_bytes: int) -> CommitResult:
    conn = await _open_raw(path)
    try:
        body = "x" * row_bytes
        latencies: list[float] = []
        started = time.perf_counter()
        deadline = started + duration_s
        while (t0 := time.perf_counter()) < deadline:
            await _one_row_commit(conn, body)
            latencies.append((time.perf_counter() - t0) * 1000)
        return CommitResult(len(latencies), time.perf_counter() - started, latencies)
    finally:
        await conn.close()


async def _one_row_commit(conn: aiosqlite.Connection, body: str) -> None:
    # aiosqlite's own idiom: the INSERT opens the transaction, commit() ends it (fsync).
    await conn.execute("INSERT INTO t (body) VALUES (?)", (body,))
    await conn.commit()


async def _open_raw(path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path)
    await conn.execute("PRAGMA journal_mode=WAL")
    await conn.execute("PRAGMA synchronous=FULL")
    await conn.execute("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    await conn.commit()
    return conn


def raw_commits(directory: str, duration_s: float, row_bytes: int) -> CommitResult:
    """One-row transactions, one after the other, each on disk before the next starts."""
    path = Path(directory) / f"raw-{os.getpid()}-{time.monotonic_ns()}.db"
    try:
        return uvloop.run(_raw_commits(path, duration_s, row_bytes))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


async def _durable_floor(path: Path, sleep_s: float, count: int, row_bytes: int) -> list[float]:
    conn = await _open_raw(path)
    try:
        body = "x" * row_bytes
        latencies = []
        for _ in range(count):
            t0 = time.perf_counter()
            await _one_row_commit(conn, body)  # the reservation
            await asyncio.sleep(sleep_s)  # the slowest broker
            await _one_row_commit(conn, body)  # the result
            latencies.append((time.perf_counter() - t0) * 1000)
        return latencies
    finally:
        await conn.close()


def durable_floor(directory: str, sleep_s: float, count: int, row_bytes: int) -> list[float]:
    """The least any durable router can take for one order: a commit, the slowest broker, a commit."""
    path = Path(directory) / f"floor-{os.getpid()}-{time.monotonic_ns()}.db"
    try:
        return uvloop.run(_durable_floor(path, sleep_s, count, row_bytes))
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def sqlite_settings_check(directory: str) -> dict[str, object]:
    """What the raw loop really ran with (so the JSON proves it was WAL and FULL)."""
    path = Path(directory) / "settings-check.db"
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        return {"journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
                "synchronous": conn.execute("PRAGMA synchronous").fetchone()[0],
                "sqlite_version": sqlite3.sqlite_version}
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def _run_publisher(endpoint: str, count: int, event_bytes: int) -> None:
    ctx = zmq.Context()
    sock = ctx.socket(zmq.XPUB)  # XPUB tells us when the subscriber is really there
    sock.setsockopt(zmq.LINGER, 5000)
    sock.setsockopt(zmq.SNDHWM, 0)  # never drop: the subscriber's pace is what we measure
    sock.bind(endpoint)
    while not sock.recv().startswith(b"\x01audit."):
        pass
    template = json.dumps({"seq": 0, "pad": ""}, separators=(",", ":"))
    pad = "x" * max(0, event_bytes - len(template) - 12)
    for seq in range(1, count + 1):
        sock.send_multipart([b"audit.order.completed", f'{{"seq":{seq},"pad":"{pad}"}}'.encode()])
    sock.close()
    ctx.term()


class BarePublisher:
    """Publishes ``count`` events as fast as libzmq takes them, once a subscriber has joined."""

    def __init__(self, count: int, event_bytes: int) -> None:
        self.endpoint = f"tcp://127.0.0.1:{free_port()}"
        self._args = (self.endpoint, count, event_bytes)
        self._proc: SpawnProcess | None = None

    def __enter__(self) -> BarePublisher:
        self._proc = multiprocessing.get_context("spawn").Process(
            target=_run_publisher, args=self._args, daemon=True, name="bare-publisher")
        self._proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.join(30)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5)
