"""Group commit keeps every durability promise: a caller hears "written" only once its rows are
committed with WAL and synchronous=FULL, writes queued together share one commit, a bad write
fails alone, and background writes (audit) wait for an order's commit without being lost."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import pytest

from ordo_shared.errors import StorageUnavailable
from ordod.storage.database import Database, Statement
from ordod.storage.writer import SqliteWriter, runs

INSERT_META = "INSERT INTO audit_meta (key, value) VALUES (?, ?)"


def committed_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    """What another connection sees: only committed transactions."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def audit_row(seq: int) -> Statement:
    return ("INSERT INTO audit (seq, ts, type, data_json) VALUES (?, 't', 'test', '{}')", (seq,))


class BackgroundWrite:
    """A write nobody awaits, like an audit batch before anyone flushes it."""

    def __init__(self, statements: list[Statement]) -> None:
        self._statements = statements
        self.done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.urgent = False

    def statements(self) -> Iterable[Statement]:
        return self._statements

    def committed(self) -> None:
        self.done.set_result(None)

    def failed(self, exc: BaseException) -> None:
        self.done.set_exception(exc)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "ordo.db", linger_s=30.0)
    yield database
    await database.close()


async def test_the_writing_connection_is_wal_with_synchronous_full(db: Database) -> None:
    assert await db.sqlite_writer.pragma("journal_mode") == "wal"
    assert await db.sqlite_writer.pragma("synchronous") == 2  # FULL: fsync at every commit


async def test_writes_queued_together_share_commits_and_are_committed_when_awaited(db: Database) -> None:
    before = db.commits
    # The writer process may wake for the first before the other nine are queued; never more.
    await asyncio.gather(*(db.write([audit_row(seq)]) for seq in range(1, 11)))
    assert 1 <= db.commits - before <= 2
    assert [row[0] for row in committed_rows(db.path, "SELECT seq FROM audit ORDER BY seq")] == list(range(1, 11))


async def test_a_write_that_fails_fails_alone(db: Database) -> None:
    await db.write([audit_row(1)])
    results = await asyncio.gather(db.write([audit_row(2)]), db.write([audit_row(1)]), db.write([audit_row(3)]),
                                   return_exceptions=True)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], StorageUnavailable)
    assert [row[0] for row in committed_rows(db.path, "SELECT seq FROM audit ORDER BY seq")] == [1, 2, 3]


async def test_a_failed_write_leaves_none_of_its_statements(db: Database) -> None:
    await db.write([audit_row(1)])
    with pytest.raises(StorageUnavailable):
        await db.write([(INSERT_META, ("first half", 1)), audit_row(1)])
    assert committed_rows(db.path, "SELECT * FROM audit_meta") == []


async def test_a_background_write_waits_for_an_urgent_one_and_shares_its_commit(db: Database) -> None:
    before = db.commits
    background = BackgroundWrite([audit_row(1)])
    db.submit(background)
    await asyncio.sleep(0.05)  # the writer has seen it, and lingers (30 s here)
    assert not background.done.done()
    await db.write([audit_row(2)])
    await background.done
    assert db.commits - before == 1
    assert len(committed_rows(db.path, "SELECT seq FROM audit")) == 2


async def test_a_background_write_alone_is_committed_once_its_linger_is_over(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db", linger_s=0.01)
    try:
        background = BackgroundWrite([audit_row(1)])
        database.submit(background)
        await asyncio.wait_for(background.done, 10)
        assert committed_rows(database.path, "SELECT seq FROM audit") == [(1,)]
    finally:
        await database.close()


async def test_wake_ends_the_linger_at_once(db: Database) -> None:
    background = BackgroundWrite([audit_row(1)])
    db.submit(background)
    await asyncio.sleep(0.01)
    background.urgent = True  # someone now waits for it (an audit flush)
    db.wake()
    await asyncio.wait_for(background.done, 10)  # the linger is 30 s: only the wake-up can do this


async def test_close_commits_every_queued_write_first(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db", linger_s=30.0)
    background = BackgroundWrite([audit_row(1)])
    database.submit(background)
    await database.close()
    assert background.done.done() and background.done.exception() is None
    assert committed_rows(tmp_path / "ordo.db", "SELECT seq FROM audit") == [(1,)]


async def test_a_write_after_close_is_refused(tmp_path: Path) -> None:
    database = await Database.open(tmp_path / "ordo.db")
    await database.close()
    with pytest.raises(StorageUnavailable):
        await database.write([audit_row(1)])


async def test_a_writer_transaction_rolls_back_entirely_on_error(tmp_path: Path) -> None:
    writer = SqliteWriter(tmp_path / "w.db")
    await writer.open("CREATE TABLE t (id INTEGER PRIMARY KEY);")
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await writer.transaction([("INSERT INTO t VALUES (?)", (1,)), ("INSERT INTO t VALUES (?)", (1,))])
        await writer.transaction([("INSERT INTO t VALUES (?)", (2,))])
    finally:
        await writer.close()
    assert committed_rows(tmp_path / "w.db", "SELECT id FROM t") == [(2,)]


def test_runs_merge_only_neighbouring_statements_so_order_is_kept() -> None:
    statements: list[Statement] = [("A", (1,)), ("A", (2,)), ("B", (3,)), ("A", (4,))]
    assert list(runs(statements)) == [("A", [(1,), (2,)]), ("B", [(3,)]), ("A", [(4,)])]
    assert list(runs([])) == []


async def test_a_read_after_a_write_sees_it_even_while_other_reads_overlap(db: Database) -> None:
    busy = True

    async def reader() -> None:
        while busy:
            await db.fetchall("SELECT seq FROM audit")

    readers = [asyncio.create_task(reader()) for _ in range(8)]
    try:
        for seq in range(1, 41):
            await db.write([audit_row(seq)])
            assert await db.fetchall("SELECT seq FROM audit WHERE seq = ?", (seq,)), f"row {seq} not seen"
    finally:
        busy = False
        await asyncio.gather(*readers)


async def test_a_priority_write_commits_alone_ahead_of_the_writes_queued_before_it(db: Database) -> None:
    def meta(key: str) -> list[Statement]:
        return [(INSERT_META, (key, "v"))]

    blocker = sqlite3.connect(db.path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock: the writer process waits on it
    try:
        first = asyncio.ensure_future(db.write(meta("in-progress")))
        await asyncio.sleep(0.2)  # the writer process has taken it and is waiting for the lock
        queued = [asyncio.ensure_future(db.write(meta(f"order-{i}"))) for i in range(3)]
        control = asyncio.ensure_future(db.write(meta("kill-switch"), priority=True))
        await asyncio.sleep(0.05)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    await asyncio.gather(first, control, *queued)
    order = [row[0] for row in committed_rows(db.path, "SELECT key FROM audit_meta ORDER BY rowid")]
    assert order == ["in-progress", "kill-switch", "order-0", "order-1", "order-2"]
