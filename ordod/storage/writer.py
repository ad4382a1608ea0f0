"""The writing side of the database: one sqlite3 connection that lives on one thread, so that a
whole group-committed transaction (BEGIN, every statement, COMMIT and its fsync) costs the event
loop a single hop to that thread and back, however many orders share it.

aiosqlite, which the daemon uses for reads, sends every statement across on its own; at a
few dozen microseconds a hop, a batch of 64 orders spent far longer travelling than writing.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

Statement = tuple[str, Sequence[Any]]

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
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ordo-db-writer")
        self._conn: sqlite3.Connection | None = None

    async def open(self, schema: str) -> None:
        await self._run(self._open, schema)

    async def transaction(self, statements: Sequence[Statement]) -> None:
        """Run ``statements`` in one transaction; return once it is committed and on disk.
        Raises ``sqlite3.Error`` with everything rolled back."""
        await self._run(self._transaction, statements)

    async def close(self) -> None:
        try:
            await self._run(self._close)
        finally:
            self._executor.shutdown(wait=True)

    async def pragma(self, name: str) -> Any:
        """A setting as the writing connection sees it (tests guard ``synchronous`` with it)."""
        return await self._run(self._pragma, name)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    # Everything below runs on the writer thread only.

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

    def _pragma(self, name: str) -> Any:
        if not name.isidentifier():
            raise ValueError(f"not a pragma name: {name!r}")
        conn = self._connection()
        return conn.execute(f"PRAGMA {name}").fetchone()[0]

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the writer is closed")
        return self._conn

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
