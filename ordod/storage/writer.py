"""The writing side of the database: one sqlite3 connection that lives on one thread of its own,
so that a whole group-committed transaction (BEGIN, every statement, COMMIT and its fsync)
costs the event loop one hand-over to that thread and one callback back, however many orders
share it.

aiosqlite, which the daemon uses for reads, sends every statement across on its own; at a few
dozen microseconds a crossing, a batch of 64 orders spent longer travelling than writing. A
ThreadPoolExecutor would do one crossing too, but its bookkeeping (and an asyncio future and a
task wake-up on the way back) cost the loop more than the plain queue and callback used here.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from queue import SimpleQueue
from typing import Any

Statement = tuple[str, Sequence[Any]]
Done = Callable[[BaseException | None], None]

# Durability is the point of this module: every COMMIT is fsynced (WAL, synchronous=FULL)
# before the caller hears "done". Never lower this for speed; batch instead.
PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA busy_timeout=5000")


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


class SqliteWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._jobs: SimpleQueue[Callable[[], None] | None] = SimpleQueue()
        self._thread = threading.Thread(target=self._serve, name="ordo-db-writer", daemon=True)
        self._conn: sqlite3.Connection | None = None

    async def open(self, schema: str) -> None:
        self._thread.start()
        await self._call(self._open, schema)

    def submit(self, statements: Sequence[Statement], done: Done) -> None:
        """Run ``statements`` in one transaction on the writer thread; then ``done(None)`` runs on
        the calling loop once it is committed and on disk, or ``done(error)`` with everything
        rolled back."""
        loop = asyncio.get_running_loop()

        def job() -> None:
            error: BaseException | None = None
            try:
                self._transaction(statements)
            except BaseException as exc:  # handed to the loop, which decides
                error = exc
            _call_soon(loop, done, error)

        self._jobs.put(job)

    async def transaction(self, statements: Sequence[Statement]) -> None:
        """``submit`` for a caller that simply waits; raises ``sqlite3.Error`` on failure."""
        await self._call(self._transaction, statements)

    async def pragma(self, name: str) -> Any:
        """A setting as the writing connection sees it (tests guard ``synchronous`` with it)."""
        return await self._call(self._pragma, name)

    async def close(self) -> None:
        if self._thread.is_alive():
            await self._call(self._close)
            self._jobs.put(None)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def job() -> None:
            try:
                result = fn(*args)
            except BaseException as exc:
                _call_soon(loop, _settle, future, None, exc)
            else:
                _call_soon(loop, _settle, future, result, None)

        self._jobs.put(job)
        return await future

    # Everything below runs on the writer thread only.

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            job()

    def _open(self, schema: str) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            for pragma in PRAGMAS:
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

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    try:
        loop.call_soon_threadsafe(fn, *args)
    except RuntimeError:
        pass  # the loop is closed: nobody is left to tell


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
