"""The database writer runs in a process of its own. It must never be the reason a write is
lost or reported durable when it is not: a writer that dies fails the writes under way (and a new
one takes over), signals meant for the daemon do not cut its commits short, it ends with the
daemon, and nothing of it outlives ``close``."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ordo_shared.errors import StorageUnavailable
from ordod.storage.database import Database
from ordod.storage.writer import SqliteWriter
from ordod.storage.writer_process import Frames, frame

SCHEMA = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, body TEXT);"


def children() -> set[int]:
    """This process's live child processes (zombies not yet waited for count too)."""
    pids: set[int] = set()
    for task in os.listdir(f"/proc/{os.getpid()}/task"):
        with open(f"/proc/{os.getpid()}/task/{task}/children") as fh:
            pids.update(int(pid) for pid in fh.read().split())
    return pids


def rows(path: Path) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, body FROM t ORDER BY id").fetchall()
    finally:
        conn.close()


def ended(pid: int) -> bool:
    """Gone, or a zombie: dead, only not yet waited for."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


async def wait_until_ended(pid: int, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not ended(pid):
        assert time.monotonic() < deadline, f"process {pid} is still running"
        await asyncio.sleep(0.01)


def test_frames_come_out_whole_however_the_bytes_are_cut() -> None:
    data = frame([("write", 1, [("INSERT", (1, "x"))], False)]) + frame([("close", 2)])
    frames = Frames()
    received = []
    for i in range(len(data)):
        received += frames.feed(data[i:i + 1])
    assert received == [("write", 1, [("INSERT", (1, "x"))], False), ("close", 2)]


async def test_close_commits_what_was_sent_and_leaves_no_process(tmp_path: Path) -> None:
    before = children()
    writer = SqliteWriter(tmp_path / "w.db")
    await writer.open(SCHEMA)
    assert writer.pid in children() - before
    outcomes: list[BaseException | None] = []
    for i in range(50):
        writer.submit([("INSERT INTO t VALUES (?, ?)", (i, "x"))], outcomes.append)
    await writer.close()
    assert outcomes == [None] * 50
    assert len(rows(tmp_path / "w.db")) == 50
    assert children() - before == set()


async def test_a_writer_killed_mid_flight_fails_its_writes_and_a_new_one_takes_over(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "ordo.db")
    try:
        await db.write([("INSERT INTO audit_meta (key, value) VALUES ('before', 'x')", ())])
        first = db.sqlite_writer.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        await wait_until_ended(first)
        # The write that meets the dead process fails (it is never reported durable)...
        with pytest.raises(StorageUnavailable):
            for _ in range(100):  # until the loop has seen the socket close
                await db.write([("INSERT INTO audit_meta (key, value) VALUES ('lost?', 'x')", ())])
                await asyncio.sleep(0.01)
        # ...and the next one is served by a new process, on the same database.
        await db.write([("INSERT INTO audit_meta (key, value) VALUES ('after', 'x')", ())])
        assert db.sqlite_writer.pid not in (None, first)
        keys = [row[0] for row in await db.fetchall("SELECT key FROM audit_meta ORDER BY rowid")]
        assert keys[0] == "before" and keys[-1] == "after"
    finally:
        await db.close()


async def test_signals_for_the_daemon_do_not_end_the_writer(tmp_path: Path) -> None:
    writer = SqliteWriter(tmp_path / "w.db")
    await writer.open(SCHEMA)
    try:
        assert writer.pid is not None
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            os.kill(writer.pid, signum)  # what Ctrl-C or a stop sends to the whole group
        await asyncio.sleep(0.1)
        await writer.transaction([("INSERT INTO t VALUES (1, 'still here')", ())])
    finally:
        await writer.close()
    assert rows(tmp_path / "w.db") == [(1, "still here")]


def test_the_writer_ends_when_its_daemon_is_killed(tmp_path: Path) -> None:
    # A daemon that opens a writer, then is killed -9 without closing anything.
    program = (
        "import asyncio, os, signal, sys\n"
        "from pathlib import Path\n"
        "from ordod.storage.writer import SqliteWriter\n"
        "async def main():\n"
        "    w = SqliteWriter(Path(sys.argv[1]))\n"
        "    await w.open(sys.argv[2])\n"
        "    await w.transaction([('INSERT INTO t VALUES (1, ?)', ('kept',))])\n"
        "    print(w.pid, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "asyncio.run(main())\n"
    )
    daemon = subprocess.run([sys.executable, "-c", program, str(tmp_path / "w.db"), SCHEMA],
                            capture_output=True, text=True, timeout=30)
    assert daemon.returncode == -signal.SIGKILL, daemon.stderr
    writer_pid = int(daemon.stdout.split()[0])
    deadline = time.monotonic() + 5
    while not ended(writer_pid):
        assert time.monotonic() < deadline, "the writer outlived its daemon"
        time.sleep(0.01)
    assert rows(tmp_path / "w.db") == [(1, "kept")]


async def test_a_write_that_cannot_be_sent_fails_alone(tmp_path: Path) -> None:
    writer = SqliteWriter(tmp_path / "w.db")
    await writer.open(SCHEMA)
    try:
        good = asyncio.ensure_future(writer.transaction([("INSERT INTO t VALUES (1, 'a')", ())]))
        bad = asyncio.ensure_future(writer.transaction([("INSERT INTO t VALUES (2, ?)", (lambda: None,))]))
        await good
        with pytest.raises(sqlite3.Error):
            await bad
    finally:
        await writer.close()
    assert rows(tmp_path / "w.db") == [(1, "a")]


async def test_a_database_that_cannot_be_opened_leaves_no_writer_process(tmp_path: Path) -> None:
    before = children()
    with pytest.raises(StorageUnavailable, match="cannot open database"):
        await Database.open(tmp_path)  # a directory
    assert children() - before == set()


async def test_a_new_writer_opens_the_database_only_once_the_old_one_has_gone(tmp_path: Path) -> None:
    # What a daemon restarted at once after a kill -9 meets: its predecessor's writer, still
    # committing what it had been sent. The new daemon must not read its start-up state before.
    old = SqliteWriter(tmp_path / "w.db")
    await old.open(SCHEMA)
    new = SqliteWriter(tmp_path / "w.db")
    opening = asyncio.ensure_future(new.open(SCHEMA))
    try:
        await old.transaction([("INSERT INTO t VALUES (1, 'the old writer''s last commit')", ())])
        await asyncio.sleep(0.3)
        assert not opening.done()  # waiting for the old writer to go
        await old.close()
        await asyncio.wait_for(opening, 5)
        await new.transaction([("INSERT INTO t VALUES (2, 'the new writer')", ())])
    finally:
        await asyncio.wait_for(opening, 15)
        await new.close()
    assert [row[0] for row in rows(tmp_path / "w.db")] == [1, 2]
