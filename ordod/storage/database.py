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


class _Wake:
    """Queued by ``wake()``: end a linger now, a background write has become urgent."""


_WAKE = _Wake()
_STOP = None
_Queued = WriteOp | _Wake | None


class Database:
    def __init__(self, conn: aiosqlite.Connection, path: Path, writer: SqliteWriter,
                 linger_s: float = DEFAULT_LINGER_S) -> None:
        self._conn = conn  # reads only
        self.path = path
        self.sqlite_writer = writer
        self.linger_s = linger_s
        self._queue: asyncio.Queue[_Queued] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.commits = 0

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
        db = cls(conn, path, writer, linger_s)
        db._writer = asyncio.create_task(db._write_loop(), name="db-writer")
        return db

    def submit(self, op: WriteOp) -> None:
        """Queue a write; ``op`` learns the outcome through its callbacks."""
        if self._writer is None or self._writer.done():
            op.failed(StorageUnavailable("database is closed"))
            return
        self._queue.put_nowait(op)

    def wake(self) -> None:
        """A queued background write has become urgent (someone now waits for it): commit now."""
        if self._writer is not None and not self._writer.done():
            self._queue.put_nowait(_WAKE)

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
        """Flush every queued write, then close both connections."""
        if self._writer is not None:
            self._queue.put_nowait(_STOP)
            await self._writer
            self._writer = None
        await self.sqlite_writer.close()
        await self._conn.close()

    async def _write_loop(self) -> None:
        stop = False
        while not stop:
            batch, stop = await self._next_batch()
            if batch:
                await self._commit_batch(batch)

    async def _next_batch(self) -> tuple[list[WriteOp], bool]:
        """Everything queued, as one batch (and whether the database is closing). A batch that
        nobody awaits yet lingers for a write that someone does, up to ``linger_s``."""
        loop = asyncio.get_running_loop()
        batch: list[WriteOp] = []
        item = await self._queue.get()
        deadline: float | None = None
        while True:
            while True:
                if item is _STOP:
                    return batch, True
                if item is _WAKE:
                    deadline = loop.time()  # someone flushed: do not linger any longer
                else:
                    assert not isinstance(item, _Wake)
                    batch.append(item)
                if self._queue.empty():
                    break
                item = self._queue.get_nowait()
            if not batch:
                item = await self._queue.get()
                continue
            if deadline is None:
                deadline = loop.time() + self.linger_s
            remaining = deadline - loop.time()
            if remaining <= 0 or any(op.urgent for op in batch):
                return batch, False
            try:
                async with asyncio.timeout(remaining):
                    item = await self._queue.get()
            except TimeoutError:
                return batch, False

    async def _commit_batch(self, batch: list[WriteOp]) -> None:
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
            return
        try:
            await self._transaction(statements)
        except sqlite3.Error as exc:
            if len(ready) == 1:
                self._fail(ready[0], exc)
                return
            # One bad op must not fail its neighbours: retry each alone.
            for op in ready:
                try:
                    await self._transaction(list(op.statements()))
                except sqlite3.Error as single_exc:
                    self._fail(op, single_exc)
                else:
                    op.committed()
            return
        for op in ready:
            op.committed()

    async def _transaction(self, statements: list[Statement]) -> None:
        await self.sqlite_writer.transaction(statements)
        self.commits += 1

    @staticmethod
    def _fail(op: WriteOp, exc: sqlite3.Error) -> None:
        log.error("database write failed: %s", exc)
        op.failed(StorageUnavailable(f"database write failed: {exc}"))
