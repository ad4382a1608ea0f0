"""The writing side of the database, as the event loop sees it: one sqlite3 connection in a
process of its own (``writer_process.py``, which says why a process), which commits in groups by
itself. The loop's costs are one ``send`` a loop turn for all the writes it made (or at once,
for a write someone waits for while the process is idle), and one callback a write when its
commit is on disk.

aiosqlite, which the daemon uses for reads, sends every statement across on its own; at a few
dozen microseconds a crossing (and far more when the loop is busy), a batch of 64 orders spent
longer travelling than writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ordod.storage import writer_process
from ordod.storage.writer_process import RECV_BYTES, Frames, Message, Statement, frame, runs

__all__ = ["DURABLE_PRAGMAS", "Done", "SqliteWriter", "Statement", "runs"]

log = logging.getLogger("ordod.storage")

Done = Callable[[BaseException | None], None]

# Durability is the point of this module: every COMMIT is fsynced (WAL, synchronous=FULL)
# before the caller hears "done". Never lower this for speed; batch instead.
DURABLE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL")

_EXIT_WAIT_S = 10.0


class _Link:
    """One writer process and the socket to it. Messages sent in one loop turn go in one frame."""

    def __init__(self, on_messages: Callable[[list[Message]], None], on_end: Callable[[], None],
                 on_unsendable: Callable[[Message, BaseException], None]) -> None:
        parent, child = socket.socketpair()
        try:
            # -I -S: the standard library only, no site-packages, no PYTHON* variables.
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-S", writer_process.__file__, str(child.fileno())],
                pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
            )
        except OSError as exc:
            parent.close()
            raise sqlite3.OperationalError(f"cannot start the database writer process: {exc}") from None
        finally:
            child.close()
        parent.setblocking(False)
        self._sock: socket.socket | None = parent
        self._loop = asyncio.get_running_loop()
        self._on_messages = on_messages
        self._on_end = on_end
        self._on_unsendable = on_unsendable
        self._frames = Frames()
        self._outbox: list[Message] = []
        self._unsent = bytearray()
        self._flush_due = False
        self._loop.add_reader(parent.fileno(), self._readable)

    def send(self, message: Message, at_once: bool = False) -> None:
        """Queue ``message`` for the frame sent at the end of this loop turn, or, ``at_once``,
        send it now with whatever is queued before it."""
        self._outbox.append(message)
        if at_once:
            self._flush()
        elif not self._flush_due:
            self._flush_due = True
            self._loop.call_soon(self._turn_ended)

    def close(self) -> None:
        """Stop talking to the process (it ends once it sees the socket closed)."""
        sock, self._sock = self._sock, None
        if sock is not None:
            self._loop.remove_reader(sock.fileno())
            self._loop.remove_writer(sock.fileno())
            sock.close()

    async def wait(self) -> int:
        """The process's exit code, once it has ended (killed if it will not)."""
        deadline = self._loop.time() + _EXIT_WAIT_S
        # Polled, not waited for on a thread: the process ends within milliseconds of the socket
        # closing, and a waiting thread would outlive the daemon's own shutdown.
        while (code := self.process.poll()) is None:
            if self._loop.time() > deadline:
                log.error("database writer process %s did not end; killing it", self.process.pid)
                self.process.kill()
                deadline = float("inf")
            await asyncio.sleep(0.002)
        return code

    def _turn_ended(self) -> None:
        self._flush_due = False
        self._flush()

    def _flush(self) -> None:
        messages, self._outbox = self._outbox, []
        if self._sock is None or not messages:
            return
        try:
            data = frame(messages)
        except Exception:  # one message does not pickle: send the others, refuse it alone
            data = b"".join(self._framed_alone(message) for message in messages)
        if self._unsent:
            self._unsent += data
            return
        try:
            sent = self._sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the process is gone: the reader sees the end and reports it
        if sent < len(data):
            self._unsent += memoryview(data)[sent:]
            self._loop.add_writer(self._sock.fileno(), self._writable)

    def _framed_alone(self, message: Message) -> bytes:
        try:
            return frame([message])
        except Exception as exc:
            self._on_unsendable(message, exc)
            return b""

    def _writable(self) -> None:
        if self._sock is None:
            return
        try:
            sent = self._sock.send(self._unsent)
        except BlockingIOError:
            return
        except OSError:
            sent = len(self._unsent)  # gone: the reader reports it
        del self._unsent[:sent]
        if not self._unsent:
            self._loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        ended = False
        while self._sock is not None:
            try:
                count = self._frames.receive(self._sock)
            except BlockingIOError:
                break
            except OSError:
                count = 0
            if not count:
                ended = True
                break
            if count < RECV_BYTES:
                break  # drained a moment ago; the loop calls again when more comes
        messages = self._frames.messages()
        if messages:
            self._on_messages(messages)
        if ended:
            self.close()
            self._on_end()


class SqliteWriter:
    def __init__(self, path: Path, pragmas: Sequence[str] = DURABLE_PRAGMAS) -> None:
        self.path = path
        self._pragmas = tuple(pragmas)
        self.commits = 0  # transactions committed (a group of writes counts once)
        self._schema: str | None = None
        self._link: _Link | None = None
        self._ended: list[_Link] = []  # processes gone or going, to be waited for
        self._ids = itertools.count(1)
        self._writes: dict[int, Done] = {}
        self._calls: dict[int, asyncio.Future[Any]] = {}
        self._closing = False

    @property
    def pid(self) -> int | None:
        """The writer process's pid while it runs."""
        return None if self._link is None else self._link.process.pid

    async def open(self, schema: str) -> None:
        self._schema = schema
        self._link = self._start()
        await self._call("open", str(self.path), schema, self._pragmas)

    def submit(self, statements: Sequence[Statement], done: Done, priority: bool = False,
               awaited: bool = True) -> None:
        """Commit ``statements`` in one transaction, possibly together with other writes queued
        at the same time. ``done(None)`` runs on the loop once they are committed and on disk;
        ``done(error)`` once they are rolled back, having failed on their own (a write that fails
        in a group is tried again alone, so it never fails its neighbours).

        A ``priority`` write commits alone in the very next transaction, ahead of the writes
        queued before it; it must not be one whose order relative to them matters.

        ``awaited``: someone waits for this write. If the process is idle it goes at once
        (after an idle spell, waiting for the end of the loop turn cost ~0.1 ms); otherwise,
        and for writes nobody waits for, the loop turn's writes go together in one frame."""
        try:
            link = self._running_link()
        except sqlite3.Error as exc:
            asyncio.get_running_loop().call_soon(done, exc)
            return
        write_id = next(self._ids)
        at_once = awaited and not self._writes
        self._writes[write_id] = done
        link.send(("write", write_id, list(statements), priority), at_once)

    async def transaction(self, statements: Sequence[Statement]) -> None:
        """``submit`` for a caller that simply waits; raises ``sqlite3.Error`` on failure."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.submit(statements, lambda error: _settle(future, None, error))
        await future

    async def pragma(self, name: str) -> Any:
        """A setting as the writing connection sees it (tests guard ``synchronous`` with it)."""
        return await self._call("pragma", name)

    async def close(self) -> None:
        """Commit what is queued, close the connection and wait for the process to end."""
        if self._closing:
            return
        self._closing = True
        if self._link is not None:
            with contextlib.suppress(sqlite3.Error):  # it ended on its own meanwhile; _ended has it
                await self._call("close")
            if self._link is not None:
                self._link.close()
                self._ended.append(self._link)
                self._link = None
        self._fail_waiting(sqlite3.ProgrammingError("the database writer is closed"))
        ended, self._ended = self._ended, []
        for link in ended:
            await link.wait()

    def _running_link(self) -> _Link:
        if self._closing:
            raise sqlite3.ProgrammingError("the database writer is closed")
        if self._link is None:
            if self._schema is None:
                raise sqlite3.ProgrammingError("the database writer is not open")
            # The process ended under us (killed, out of memory): a new one takes over. SQLite
            # rolled back whatever it had not committed; what it had is on disk.
            self._link = self._start()
            reopened: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
            reopened.add_done_callback(_log_reopen)
            self._link.send(("open", self._call_id(reopened), str(self.path), self._schema, self._pragmas))
        return self._link

    def _start(self) -> _Link:
        return _Link(self._received, self._lost, self._unsendable)

    def _unsendable(self, message: Message, exc: BaseException) -> None:
        error = sqlite3.InterfaceError(f"the write cannot be handed to the database writer: {exc}")
        if message[0] == "write":
            done = self._writes.pop(message[1], None)
            if done is not None:
                _run(done, error)
        else:
            future = self._calls.pop(message[1], None)
            if future is not None:
                _settle(future, None, error)

    async def _call(self, kind: str, *args: Any) -> Any:
        if self._link is None:
            raise sqlite3.ProgrammingError("the database writer is not running")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._link.send((kind, self._call_id(future), *args))
        return await future

    def _call_id(self, future: asyncio.Future[Any]) -> int:
        call_id = next(self._ids)
        self._calls[call_id] = future
        return call_id

    def _received(self, messages: list[Message]) -> None:
        for message in messages:
            if message[0] == "done":
                self.commits = message[1]
                for write_id, error in message[2]:
                    done = self._writes.pop(write_id, None)
                    if done is not None:
                        _run(done, error)
            else:
                _, call_id, value, error = message
                future = self._calls.pop(call_id, None)
                if future is not None:
                    _settle(future, value, error)

    def _lost(self) -> None:
        link, self._link = self._link, None
        if link is None:
            return
        self._ended.append(link)
        if not self._closing:
            log.error("database writer process %s ended unexpectedly (exit code %s)", link.process.pid,
                      link.process.poll())
        # Its writes under way may or may not have committed; the callers hear that they failed
        # (the daemon never reports such a write as durable, and refuses the order instead).
        self._fail_waiting(sqlite3.OperationalError("the database writer process ended during the write"))

    def _fail_waiting(self, error: sqlite3.Error) -> None:
        writes, self._writes = self._writes, {}
        calls, self._calls = self._calls, {}
        for done in writes.values():
            _run(done, error)
        for future in calls.values():
            _settle(future, None, error)


def _run(done: Done, error: BaseException | None) -> None:
    try:
        done(error)
    except Exception:  # one caller's bug must not stop the others hearing about their writes
        log.exception("a database write's callback failed")


def _log_reopen(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("database writer could not reopen the database: %s", future.exception())


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)
