"""The SQLite database: group commit, and one bad write failing only its own caller."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from ordo_shared.errors import StorageUnavailable
from ordod.storage.database import Database, Statement

CREATE = ("CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)", ())


def insert(note_id: int, body: str | None = "x") -> list[Statement]:
    return [("INSERT INTO notes (id, body) VALUES (?, ?)", (note_id, body))]


async def note_ids(db: Database) -> list[int]:
    return [row[0] for row in await db.fetchall("SELECT id FROM notes ORDER BY id")]


async def test_a_write_is_readable_once_it_returns(db: Database) -> None:
    await db.write([CREATE, *insert(1, "hello")])
    row = await db.fetchone("SELECT body FROM notes WHERE id = 1")
    assert row is not None and row[0] == "hello"


async def test_concurrent_writes_share_commits(db: Database) -> None:
    await db.write([CREATE])
    before = db.commits
    await asyncio.gather(*(db.write(insert(i)) for i in range(50)))
    assert await note_ids(db) == list(range(50))
    assert 1 <= db.commits - before < 50


async def test_sequential_writes_commit_one_by_one(db: Database) -> None:
    await db.write([CREATE])
    before = db.commits
    for i in range(3):
        await db.write(insert(i))
    assert db.commits - before == 3


async def test_a_failing_statement_in_a_batch_fails_only_its_own_caller(db: Database) -> None:
    await db.write([CREATE, *insert(7)])
    writes = [db.write(insert(i)) for i in range(5)]
    writes.insert(2, db.write(insert(7)))  # primary key clash
    writes.insert(4, db.write(insert(99, None)))  # NOT NULL violation
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    failed = [i for i, outcome in enumerate(outcomes) if outcome is not None]
    assert failed == [2, 4]
    assert all(isinstance(outcomes[i], StorageUnavailable) for i in failed)
    assert await note_ids(db) == [0, 1, 2, 3, 4, 7]


async def test_a_failed_write_leaves_none_of_its_own_statements_behind(db: Database) -> None:
    await db.write([CREATE, *insert(1)])
    with pytest.raises(StorageUnavailable, match="database write failed"):
        await db.write([*insert(2), *insert(1)])  # the second clashes: the first must roll back too
    assert await note_ids(db) == [1]


async def test_close_flushes_writes_still_queued(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    await db.write([CREATE])
    pending = [asyncio.ensure_future(db.write(insert(i))) for i in range(10)]
    await asyncio.sleep(0)  # every write is queued, none awaited
    await db.close()
    await asyncio.gather(*pending)
    reopened = await Database.open(tmp_path / "ordo.db")
    try:
        assert await note_ids(reopened) == list(range(10))
    finally:
        await reopened.close()


async def test_a_write_after_close_is_storage_unavailable(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    await db.close()
    with pytest.raises(StorageUnavailable, match="closed"):
        await db.write([CREATE])


async def test_a_bad_read_is_storage_unavailable(db: Database) -> None:
    with pytest.raises(StorageUnavailable, match="read failed"):
        await db.fetchall("SELECT * FROM no_such_table")


def threads_left_behind(before: set[threading.Thread], wait_s: float = 1.0) -> list[threading.Thread]:
    """Threads started since ``before`` that are still running after a short grace period."""
    deadline = time.monotonic() + wait_s
    for thread in set(threading.enumerate()) - before:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [t for t in set(threading.enumerate()) - before if t.is_alive()]


async def test_opening_a_directory_is_storage_unavailable_and_leaves_no_thread(tmp_path: Path) -> None:
    before = set(threading.enumerate())
    with pytest.raises(StorageUnavailable, match="cannot open database"):
        await Database.open(tmp_path)
    await asyncio.sleep(0.01)  # let aiosqlite's own stop() hand its future back to this loop
    assert threads_left_behind(before) == []


async def test_opening_a_file_that_is_not_a_database_leaves_no_connection_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not an SQLite file " * 200)
    opened: list[aiosqlite.Connection] = []
    real_connect = aiosqlite.connect

    def recording_connect(*args: Any, **kwargs: Any) -> aiosqlite.Connection:
        opened.append(real_connect(*args, **kwargs))
        return opened[-1]

    monkeypatch.setattr(aiosqlite, "connect", recording_connect)
    before = set(threading.enumerate())
    try:
        with pytest.raises(StorageUnavailable, match="file is not a database"):
            await Database.open(junk)
        assert threads_left_behind(before, wait_s=0.3) == []
    finally:
        for conn in opened:  # the leak must not spill a ResourceWarning into a later test
            with contextlib.suppress(Exception):
                await conn.close()


async def test_the_schema_is_created_and_the_journal_is_wal(db: Database) -> None:
    tables = {row[0] for row in await db.fetchall("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"orders", "idempotency_keys", "audit"} <= tables
    mode = await db.fetchone("PRAGMA journal_mode")
    assert mode is not None and mode[0] == "wal"


class _ExplodingOp:
    """A write op whose statements cannot even be built (e.g. audit data that is not JSON)."""

    def __init__(self, future: asyncio.Future[None]) -> None:
        self.future = future

    def statements(self) -> Iterable[Statement]:
        raise TypeError("Object of type datetime is not JSON serializable")

    def committed(self) -> None:
        self.future.set_result(None)

    def failed(self, exc: BaseException) -> None:
        self.future.set_exception(exc)


async def test_an_op_that_cannot_build_its_statements_fails_alone_and_the_writer_survives(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    db.submit(_ExplodingOp(future))
    neighbour = asyncio.ensure_future(db.write([CREATE]))
    try:
        done, _ = await asyncio.wait({future}, timeout=0.5)
        assert future in done, "the caller was never answered"
        assert future.exception() is not None
        await asyncio.wait_for(neighbour, 0.5)
        await asyncio.wait_for(db.write(insert(1)), 0.5)
        assert await note_ids(db) == [1]
    finally:
        neighbour.cancel()
        try:
            await db.close()
        except TypeError:
            await db._conn.close()  # the dead writer re-raises in close(); still release the connection
