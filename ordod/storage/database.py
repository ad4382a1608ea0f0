"""One SQLite database per daemon, with group commit.

Every write goes through one writer task. Writes that arrive while a commit is running wait
for the next one and then share it, so N concurrent orders cost one fsync instead of N,
while each caller is still told "durable" only after its own rows are on disk
(WAL, ``synchronous=FULL``). A batch crosses to the writer thread once (``SqliteWriter``);
reads go through their own aiosqlite connection, so they never queue behind a commit and
never see a transaction that is not yet committed.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import aiosqlite

from ordo_shared.errors import StorageUnavailable
from ordod.storage.writer import PRAGMAS, SqliteWriter, Statement

log = logging.getLogger("ordod.storage")

__all__ = ["SCHEMA", "Database", "Statement", "WriteOp"]

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
CREATE TABLE IF NOT EXISTS kill_switch (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
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
"""


# A background write waits at most this long for a write that someone awaits, to share its commit.
DEFAULT_LINGER_S = 0.005


class WriteOp(Protocol):
    """One unit of work for the writer: its statements are built at flush time."""

    @property
    def urgent(self) -> bool:
        """True when a caller is waiting for this commit. A batch of background writes only
        (audit events nobody waits for) lingers up to ``linger_s`` for an urgent write, so that
        it never takes an fsync of its own in front of an order's reservation."""
        ...

    def statements(self) -> Iterable[Statement]: ...

    def committed(self) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


class _Statements:
    """A plain list of statements whose caller awaits the commit."""

    urgent = True

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
    """Reads through aiosqlite; writes through the group-commit engine below.

    The engine is driven by callbacks rather than a task: when a commit is done, the next one is
    handed to the writer thread in the same callback, before anyone is woken, so the disk is never
    idle while writes wait and no loop turn is spent between two commits. Batches commit one at a
    time, in the order their writes were queued.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path, writer: SqliteWriter,
                 linger_s: float = DEFAULT_LINGER_S) -> None:
        self._conn = conn  # reads only
        self.path = path
        self.sqlite_writer = writer
        self.linger_s = linger_s
        self.commits = 0
        self._queued: deque[WriteOp] = deque()
        self._alone: deque[WriteOp] = deque()  # from a failed batch: retried one per transaction
        self._committing = False
        self._linger: asyncio.TimerHandle | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._closed = False

    @classmethod
    async def open(cls, path: Path, linger_s: float = DEFAULT_LINGER_S) -> Database:
        writer = SqliteWriter(path)
        try:
            await writer.open(SCHEMA)  # first: it creates the schema and switches the file to WAL
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            await writer.close()
            raise StorageUnavailable(f"cannot open database {path}: {exc}") from None
        try:
            for pragma in PRAGMAS:
                await conn.execute(pragma)
        except sqlite3.Error as exc:
            await conn.close()
            await writer.close()
            raise StorageUnavailable(f"cannot open database {path}: {exc}") from None
        return cls(conn, path, writer, linger_s)

    def submit(self, op: WriteOp) -> None:
        """Queue a write; ``op`` learns the outcome through its callbacks."""
        if self._closed:
            op.failed(StorageUnavailable("database is closed"))
            return
        self._queued.append(op)
        self._idle.clear()
        self._next()

    def wake(self) -> None:
        """A queued background write has become urgent (someone now waits for it): commit now."""
        self._next()

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
        """Commit every queued write (no lingering), then close both connections."""
        if self._closed:
            return
        self._closing = True
        self._next()
        await self._idle.wait()
        self._closed = True
        await self.sqlite_writer.close()
        await self._conn.close()

    def _next(self) -> None:
        """Start the next commit if the writer is free and there is a reason to."""
        if self._committing:
            return  # the commit under way starts the next one when it is done
        if self._alone:
            self._start([self._alone.popleft()])
        elif not self._queued:
            self._idle.set()
        elif self._closing or any(op.urgent for op in self._queued):
            batch = list(self._queued)
            self._queued.clear()
            self._start(batch)
        elif self._linger is None:
            # Nothing here is awaited: give an order's write the chance to carry it.
            self._linger = asyncio.get_running_loop().call_later(self.linger_s, self._linger_over)

    def _linger_over(self) -> None:
        self._linger = None
        if not self._committing and self._queued:
            batch = list(self._queued)
            self._queued.clear()
            self._start(batch)

    def _start(self, batch: list[WriteOp]) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        statements: list[Statement] = []
        ready: list[WriteOp] = []
        for op in batch:
            try:
                statements.extend(op.statements())
            except Exception as exc:  # a bug building one op's rows must not stop the writer
                log.exception("building a write failed")
                op.failed(StorageUnavailable(f"database write could not be prepared: {exc}"))
            else:
                ready.append(op)
        if not ready:
            self._next()
            return
        self._committing = True
        self.sqlite_writer.submit(statements, lambda error: self._done(ready, error))

    def _done(self, batch: list[WriteOp], error: BaseException | None) -> None:
        self._committing = False
        if error is None:
            self.commits += 1
        elif len(batch) > 1 and isinstance(error, sqlite3.Error):
            # One bad op must not fail its neighbours: each is retried alone, before anything newer.
            self._alone.extendleft(reversed(batch))
            batch = []
        self._next()  # the disk gets its next commit before anyone is woken
        for op in batch:
            if error is None:
                op.committed()
            else:
                self._fail(op, error)

    @staticmethod
    def _fail(op: WriteOp, exc: BaseException) -> None:
        log.error("database write failed: %s", exc)
        op.failed(StorageUnavailable(f"database write failed: {exc}"))
