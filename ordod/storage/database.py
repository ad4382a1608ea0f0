"""One SQLite database per daemon, with group commit.

Writes that arrive while a commit is running wait for the next one and then share it, so N
concurrent orders cost one fsync instead of N, while each caller is still told "durable" only
after its own rows are on disk (WAL, ``synchronous=FULL``). The grouping happens on the writer
process (``SqliteWriter``); this module decides when each write is handed over. Reads go through
their own aiosqlite connection, so they never queue behind a commit and never see a
transaction that is not yet committed.
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
from ordod.storage.writer import DURABLE_PRAGMAS, SqliteWriter, Statement

log = logging.getLogger("ordod.storage")

__all__ = ["CONTROL_SCHEMA", "SCHEMA", "Database", "Statement", "WriteOp"]

KILL_SWITCHES_TABLE = """
CREATE TABLE IF NOT EXISTS kill_switches (
    scope   TEXT PRIMARY KEY,
    active  INTEGER NOT NULL,
    reason  TEXT NOT NULL,
    set_by  TEXT NOT NULL,
    set_at  TEXT
);
"""

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
""" + KILL_SWITCHES_TABLE  # before control.db existed, the switch lived here: read once, to carry it over


# control.db: the kill switch, in a database of its own with a writer of its own, so that its
# acknowledgement never waits for an order's group commit, and it can be set even when
# ordo.db is locked or full.
CONTROL_SCHEMA = KILL_SWITCHES_TABLE

# A background write waits at most this long for a write that someone awaits, to share its commit.
DEFAULT_LINGER_S = 0.005


class WriteOp(Protocol):
    """One unit of work for the writer: its statements are built when it is handed over.

    An op may also have ``urgent`` (a bool, True when absent): True when a caller is waiting for
    the commit. A background write (audit events nobody waits for yet) is held until the next
    urgent write and rides in its commit, or goes alone after ``linger_s``: it never takes an
    fsync of its own in front of an order. An op with ``priority`` (False when absent) commits
    alone, ahead of the urgent writes queued before it (see ``SqliteWriter.submit``).
    """

    def statements(self) -> Iterable[Statement]: ...

    def committed(self) -> None: ...

    def failed(self, exc: BaseException) -> None: ...


def _urgent(op: WriteOp) -> bool:
    return bool(getattr(op, "urgent", True))


class _Statements:
    """A plain list of statements whose caller awaits the commit."""

    urgent = True

    def __init__(self, statements: list[Statement], future: asyncio.Future[None], priority: bool) -> None:
        self._statements = statements
        self._future = future
        self.priority = priority

    def statements(self) -> Iterable[Statement]:
        return self._statements

    def committed(self) -> None:
        if not self._future.done():
            self._future.set_result(None)

    def failed(self, exc: BaseException) -> None:
        if not self._future.done():
            self._future.set_exception(exc)


class Database:
    """Reads through aiosqlite; writes through the writer process, which groups them into commits.

    An urgent write (someone awaits it) is handed over at once. Background writes (audit events
    nobody waits for) are held back and handed over just before the next urgent write, so they
    ride in its commit; with no urgent write for ``linger_s``, or on ``wake()``, they go alone.
    Background writes are handed over one hand-over at a time: the audit log numbers its events
    when they are handed over, and only the latest numbered batch can give its numbers back.
    Writes commit in the order they were handed over.
    """

    def __init__(self, conn: aiosqlite.Connection, path: Path, writer: SqliteWriter,
                 linger_s: float = DEFAULT_LINGER_S) -> None:
        self._conn = conn  # reads only
        self.path = path
        self.sqlite_writer = writer
        self.linger_s = linger_s
        self._held: deque[WriteOp] = deque()  # background writes not yet handed over
        self._background_out = 0  # background writes handed over, not yet done
        self._out = 0  # all writes handed over, not yet done
        self._linger: asyncio.TimerHandle | None = None
        self._due = False  # held writes go as soon as the writer takes background writes again
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._closed = False

    @property
    def commits(self) -> int:
        """Transactions committed so far (many writes share one)."""
        return self.sqlite_writer.commits

    @classmethod
    async def open(cls, path: Path, busy_timeout_ms: int = 2000, linger_s: float = DEFAULT_LINGER_S,
                   schema: str = SCHEMA) -> Database:
        pragmas = (*DURABLE_PRAGMAS, f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        writer = SqliteWriter(path, pragmas)
        try:
            await writer.open(schema)  # first: it creates the schema and switches the file to WAL
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            await writer.close()
            raise StorageUnavailable(f"cannot open database {path}: {exc}") from None
        try:
            for pragma in pragmas:
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
        self._idle.clear()
        if _urgent(op):
            self._release_held()
            self._hand_over(op, background=False)
            return
        self._held.append(op)
        if self._closing:
            self._release_held(now=True)
        elif self._linger is None:
            self._linger = asyncio.get_running_loop().call_later(self.linger_s, self._linger_over)

    def wake(self) -> None:
        """A held background write has become urgent (someone now waits for it): send it now."""
        if any(_urgent(op) for op in self._held):
            self._release_held(now=True)

    async def write(self, statements: list[Statement], priority: bool = False) -> None:
        """Run statements in a group-committed transaction; return once they are on disk.
        ``priority``: commit alone, ahead of every write already queued (control state only:
        nothing queued before it may need to be on disk first)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.submit(_Statements(statements, future, priority))
        await future

    async def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            # One crossing that runs the statement to its end: a statement left open between two
            # crossings would hold its read snapshot, and reads overlapping it would not see
            # commits made since (a repeat of a just-completed order would find no reply).
            return list(await self._conn.execute_fetchall(sql, params))
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
        self._release_held(now=True)
        await self._idle.wait()
        self._closed = True
        await self.sqlite_writer.close()
        await self._conn.close()

    def _linger_over(self) -> None:
        self._linger = None
        self._release_held(now=True)

    def _release_held(self, now: bool = False) -> None:
        """Hand the held background writes over, unless earlier ones are still out (then as soon
        as they are back, if ``now``)."""
        if now:
            self._due = True
        if not self._held:
            return
        if self._background_out:
            return
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        self._due = False
        while self._held:
            self._hand_over(self._held.popleft(), background=True)

    def _hand_over(self, op: WriteOp, background: bool) -> None:
        try:
            statements = list(op.statements())
        except Exception as exc:  # a bug building one op's rows must not stop the others
            log.exception("building a write failed")
            op.failed(StorageUnavailable(f"database write could not be prepared: {exc}"))
            self._settle_idle()
            return
        self._out += 1
        self._background_out += background
        self.sqlite_writer.submit(statements, lambda error: self._done(op, background, error),
                                  priority=bool(getattr(op, "priority", False)), awaited=not background)

    def _done(self, op: WriteOp, background: bool, error: BaseException | None) -> None:
        self._out -= 1
        if background:
            self._background_out -= 1
            if self._due or self._closing:
                self._release_held(now=True)
            elif self._held and self._linger is None:
                self._linger = asyncio.get_running_loop().call_later(self.linger_s, self._linger_over)
        if error is None:
            op.committed()
        else:
            self._fail(op, error)
        self._settle_idle()

    def _settle_idle(self) -> None:
        if not self._out and not self._held:
            self._idle.set()

    @staticmethod
    def _fail(op: WriteOp, exc: BaseException) -> None:
        log.error("database write failed: %s", exc)
        op.failed(StorageUnavailable(f"database write failed: {exc}"))
