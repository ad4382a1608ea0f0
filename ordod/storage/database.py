"""One SQLite database per daemon, with group commit.

Every write goes through one writer task. Writes that arrive while a commit is running wait
for the next one and then share it, so N concurrent orders cost one fsync instead of N,
while each caller is still told "durable" only after its own rows are on disk
(WAL, ``synchronous=FULL``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from ordo_shared.errors import StorageUnavailable

log = logging.getLogger("ordod.storage")

Statement = tuple[str, Sequence[Any]]

SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    order_ref       TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    state           TEXT NOT NULL,
    principal       TEXT NOT NULL,
    brokers_json    TEXT NOT NULL,
    order_json      TEXT NOT NULL,
    reply_json      TEXT,
    created_at      REAL NOT NULL,
    completed_at    REAL
);
CREATE INDEX IF NOT EXISTS orders_by_key ON orders (idempotency_key);
CREATE INDEX IF NOT EXISTS orders_in_flight ON orders (state) WHERE state = 'in_flight';
CREATE TABLE IF NOT EXISTS idempotency_keys (
    key         TEXT PRIMARY KEY,
    order_ref   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_orders (
    order_ref     TEXT NOT NULL,
    broker_id     TEXT NOT NULL,
    order_id      TEXT NOT NULL,
    state         TEXT NOT NULL,
    order_type    TEXT NOT NULL,
    qty           INTEGER NOT NULL,
    price         REAL,
    trigger_price REAL,
    filled_qty    INTEGER NOT NULL DEFAULT 0,
    average_price REAL,
    message       TEXT NOT NULL DEFAULT '',
    placed_at     REAL NOT NULL,
    updated_at    REAL NOT NULL,
    PRIMARY KEY (order_ref, broker_id)
);
CREATE INDEX IF NOT EXISTS broker_orders_open ON broker_orders (state)
    WHERE state IN ('open', 'partially_filled');
CREATE TABLE IF NOT EXISTS order_actions (
    key         TEXT PRIMARY KEY,
    action      TEXT NOT NULL,
    order_ref   TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    reply_json  TEXT NOT NULL,
    expires_at  REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS unresolved (
    order_ref TEXT NOT NULL,
    broker_id TEXT NOT NULL,
    since     REAL NOT NULL,
    PRIMARY KEY (order_ref, broker_id)
);
CREATE TABLE IF NOT EXISTS kill_switches (
    scope   TEXT PRIMARY KEY,
    active  INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    set_by  TEXT NOT NULL,
    set_at  TEXT
);
CREATE TABLE IF NOT EXISTS audit (
    seq       INTEGER PRIMARY KEY,
    ts        TEXT NOT NULL,
    type      TEXT NOT NULL,
    order_ref TEXT,
    broker_id TEXT,
    data_json TEXT NOT NULL
);
-- archived_through: the highest seq exported by retention and deleted from the audit table,
-- so seq continues after it even when every older row is gone.
CREATE TABLE IF NOT EXISTS audit_meta (
    key   TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""


class WriteOp(Protocol):
    """One unit of work for the writer: its statements are built at flush time."""

    def statements(self) -> Iterable[Statement]: ...

    def committed(self) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


class _Statements:
    """A plain list of statements whose caller awaits the commit."""

    def __init__(self, statements: list[Statement], future: asyncio.Future[None]) -> None:
        self._statements = statements
        self._future = future

    def statements(self) -> Iterable[Statement]:
        return self._statements

    def committed(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def failed(self, exc: BaseException) -> None:
        if not self._future.done():
            self._future.set_exception(exc)


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path
        self._queue: asyncio.Queue[WriteOp | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = 2000) -> Database:
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
            await conn.execute("PRAGMA journal_mode=WAL")
            await conn.execute("PRAGMA synchronous=FULL")
            await conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            await conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"cannot open database {path}: {exc}") from None
        db = cls(conn, path)
        db._writer = asyncio.create_task(db._write_loop(), name="db-writer")
        return db

    def submit(self, op: WriteOp) -> None:
        """Queue a write; ``op`` learns the outcome through its callbacks."""
        if self._writer is None or self._writer.done():
            op.failed(StorageUnavailable("database is closed"))
            return
        self._queue.put_nowait(op)

    async def write(self, statements: list[Statement]) -> None:
        """Run statements in a group-committed transaction; return once they are on disk."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.submit(_Statements(statements, future))
        await future

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            async with self._conn.execute(sql, params) as cur:
                return list(await cur.fetchall())
        except sqlite3.Error as exc:
            raise StorageUnavailable(f"database read failed: {exc}") from None

    async def fetchone(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        rows = await self.fetchall(sql, params)
        return rows[0] if rows else None

    async def close(self) -> None:
        """Flush every queued write, then close the connection."""
        if self._writer is not None:
            self._queue.put_nowait(None)
            await self._writer
            self._writer = None
        await self._conn.close()

    async def _write_loop(self) -> None:
        while True:
            first = await self._queue.get()
            batch: list[WriteOp] = []
            stop = first is None
            if first is not None:
                batch.append(first)
            while not self._queue.empty():
                item = self._queue.get_nowait()
                if item is None:
                    stop = True
                else:
                    batch.append(item)
            if batch:
                await self._commit_batch(batch)
            if stop:
                return

    async def _commit_batch(self, batch: list[WriteOp]) -> None:
        try:
            await self._run_transaction(batch)
        except sqlite3.Error as exc:
            if len(batch) == 1:
                self._fail(batch[0], exc)
                return
            # One bad op must not fail its neighbours: retry each alone.
            for op in batch:
                try:
                    await self._run_transaction([op])
                except sqlite3.Error as single_exc:
                    self._fail(op, single_exc)
                else:
                    op.committed()
            return
        for op in batch:
            op.committed()

    async def _run_transaction(self, ops: list[WriteOp]) -> None:
        await self._conn.execute("BEGIN IMMEDIATE")
        try:
            for op in ops:
                for sql, params in op.statements():
                    await self._conn.execute(sql, params)
            await self._conn.execute("COMMIT")
            self.commits += 1
        except BaseException:
            with contextlib.suppress(sqlite3.Error):  # a failed COMMIT may have rolled back already
                await self._conn.execute("ROLLBACK")
            raise

    @staticmethod
    def _fail(op: WriteOp, exc: sqlite3.Error) -> None:
        log.error("database write failed: %s", exc)
        op.failed(StorageUnavailable(f"database write failed: {exc}"))
