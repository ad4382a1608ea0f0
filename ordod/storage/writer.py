"""The writing side of the database: one sqlite3 connection on a thread of its own, which
commits in groups by itself. Every write handed over while a commit is under way waits in the
thread's queue; when the commit is done, the thread takes everything queued into the next one
at once, without waiting for the event loop. So the disk is never idle while writes wait, N
concurrent orders cost one fsync instead of N, and the loop's only costs are one hand-over per
write and one callback per commit.

aiosqlite, which the daemon uses for reads, sends every statement across on its own; at a few
dozen microseconds a crossing (and far more when the loop is busy), a batch of 64 orders spent
longer travelling than writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any

Statement = tuple[str, Sequence[Any]]
Done = Callable[[BaseException | None], None]

# Durability is the point of this module: every COMMIT is fsynced (WAL, synchronous=FULL)
# before the caller hears "done". Never lower this for speed; batch instead.
DURABLE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")


def runs(statements: Sequence[Statement]) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    """Consecutive statements with the same SQL, merged for one ``executemany``. Only neighbours
    are merged, so the statements still run in exactly the order they were given."""
    sql: str | None = None
    params: list[Sequence[Any]] = []
    for next_sql, next_params in statements:
        if next_sql != sql:
            if sql is not None:
                yield sql, params
            sql, params = next_sql, []
        params.append(next_params)
    if sql is not None:
        yield sql, params


@dataclass(frozen=True)
class _Write:
    statements: Sequence[Statement]
    done: Done


_WAKE = _Write((), lambda error: None)  # a token in the queue: look at the priority lane


@dataclass(frozen=True)
class _Call:
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    future: asyncio.Future[Any]


class SqliteWriter:
    def __init__(self, path: Path, pragmas: Sequence[str] = DURABLE_PRAGMAS) -> None:
        self.path = path
        self._pragmas = tuple(pragmas)
        self.commits = 0  # transactions committed (a group of writes counts once)
        self._jobs: SimpleQueue[_Write | _Call | None] = SimpleQueue()
        # Control writes (the kill switch) skip the queue: they commit on their own, before the
        # group of orders waiting, so an operator's "stop" is never stuck behind the flood it stops.
        self._priority: deque[_Write] = deque()
        self._thread = threading.Thread(target=self._serve, name="ordo-db-writer", daemon=True)
        self._conn: sqlite3.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def open(self, schema: str) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        await self._call(self._open, schema)

    def submit(self, statements: Sequence[Statement], done: Done, priority: bool = False) -> None:
        """Commit ``statements`` in one transaction, possibly together with other writes queued
        at the same time. ``done(None)`` runs on the loop once they are committed and on disk;
        ``done(error)`` once they are rolled back, having failed on their own (a write that fails
        in a group is tried again alone, so it never fails its neighbours).

        A ``priority`` write commits alone in the very next transaction, ahead of the writes
        queued before it; it must not be one whose order relative to them matters."""
        write = _Write(statements, done)
        if priority:
            self._priority.append(write)
            self._jobs.put(_WAKE)  # an idle thread wakes for it; a busy one finds it first
        else:
            self._jobs.put(write)

    async def transaction(self, statements: Sequence[Statement]) -> None:
        """``submit`` for a caller that simply waits; raises ``sqlite3.Error`` on failure."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.submit(statements, lambda error: _settle(future, None, error))
        await future

    async def pragma(self, name: str) -> Any:
        """A setting as the writing connection sees it (tests guard ``synchronous`` with it)."""
        return await self._call(self._pragma, name)

    async def close(self) -> None:
        """Commit what is queued, close the connection and end the thread."""
        if self._thread.is_alive():
            await self._call(self._close)
            self._jobs.put(None)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._jobs.put(_Call(fn, args, future))
        return await future

    # Everything below runs on the writer thread only.

    def _serve(self) -> None:
        job = self._jobs.get()
        while job is not None:
            self._commit_priority()
            if job is _WAKE:
                job = self._jobs.get()
                continue
            if isinstance(job, _Call):
                self._run_call(job)
                job = self._jobs.get()
                continue
            group = [job]
            while True:
                try:
                    job = self._jobs.get_nowait()
                except Empty:
                    self._commit_priority()
                    self._commit(group)
                    job = self._jobs.get()
                    break
                if job is _WAKE:
                    continue
                if not isinstance(job, _Write):  # a call, or the end, comes after this group
                    self._commit_priority()
                    self._commit(group)
                    break
                group.append(job)
        self._commit_priority()

    def _commit_priority(self) -> None:
        while self._priority:
            self._commit([self._priority.popleft()])

    def _run_call(self, call: _Call) -> None:
        try:
            result = call.fn(*call.args)
        except BaseException as exc:
            self._report(_settle, call.future, None, exc)
        else:
            self._report(_settle, call.future, result, None)

    def _commit(self, group: list[_Write]) -> None:
        errors: list[BaseException | None]
        try:
            self._transaction([statement for write in group for statement in write.statements])
            errors = [None] * len(group)
        except sqlite3.Error as exc:
            errors = [exc] if len(group) == 1 else [self._alone(write) for write in group]
        except BaseException as exc:  # not SQLite's doing: the whole group shares the outcome
            errors = [exc] * len(group)
        self._report(_finish, group, errors)

    def _alone(self, write: _Write) -> BaseException | None:
        try:
            self._transaction(write.statements)
        except BaseException as exc:
            return exc
        return None

    def _report(self, fn: Callable[..., None], *args: Any) -> None:
        assert self._loop is not None
        _call_soon(self._loop, fn, *args)

    def _open(self, schema: str) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for pragma in self._pragmas:
                conn.execute(pragma)
            conn.executescript(schema)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the writer is closed")
        return self._conn

    def _pragma(self, name: str) -> Any:
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        return self._connection().execute(f"PRAGMA {name}").fetchone()[0]

    def _transaction(self, statements: Sequence[Statement]) -> None:
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in runs(statements):
                if len(params) == 1:
                    conn.execute(sql, params[0])
                else:
                    conn.executemany(sql, params)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        self.commits += 1

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _finish(group: list[_Write], errors: list[BaseException | None]) -> None:
    for write, error in zip(group, errors, strict=True):
        write.done(error)


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is left to tell
        loop.call_soon_threadsafe(fn, *args)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
