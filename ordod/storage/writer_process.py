"""The process that writes the database, and the frames it exchanges with the daemon.

Why a process and not a thread: Python's sqlite3 lets go of the GIL while SQLite works and takes
it back after every statement. On a thread, each of those ~9 statements an order waited for the
event loop to let go of the GIL, so under load the loop and the writer spent their time handing
it to each other, and the writer (busy 95% of the time) set the pace. A process has a GIL of its
own: the loop pays one ``send`` a loop turn for all the writes it made, the process commits them
in groups on the other core, and answers with one frame a commit.

This file is also the program the process runs (``python -I -S writer_process.py FD``): it uses
the standard library only, so the process starts in ~20 ms and never imports the daemon.

The wire, both ways: frames of a 4-byte big-endian length and a pickled list of messages
(a private socketpair between two processes of the same program, never a network socket).

    daemon -> writer: ("open", call, path, schema, pragmas)  ("pragma", call, name)  ("close", call)
                      ("write", write, statements, priority)
    writer -> daemon: ("reply", call, value, error)  ("done", commits, [(write, error), ...])
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pickle
import signal
import socket
import sqlite3
import struct
import sys
import time
from collections.abc import Iterator, Sequence
from typing import Any

Statement = tuple[str, Sequence[Any]]
Message = tuple[Any, ...]

_HEADER = struct.Struct("!I")
RECV_BYTES = 1 << 18
TAKEOVER_WAIT_S = 10.0


def frame(messages: list[Message]) -> bytes:
    body = pickle.dumps(messages, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(body)) + body


class Frames:
    """Bytes in as they arrive, whole frames' messages out."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        # Reused for every read: a fresh 1 MiB ``recv`` buffer was an mmap and munmap per read,
        # and unmapping memory in a process with threads interrupts every other core.
        self._scratch = bytearray(RECV_BYTES)
        self._view = memoryview(self._scratch)

    def receive(self, sock: socket.socket, flags: int = 0) -> int:
        """Read what ``sock`` has, up to ``RECV_BYTES``; the count read (0: the peer closed)."""
        count = sock.recv_into(self._scratch, RECV_BYTES, flags)
        self._buffer += self._view[:count]
        return count

    def feed(self, data: bytes) -> list[Message]:
        self._buffer += data
        return self.messages()

    def messages(self) -> list[Message]:
        """The messages of every whole frame received so far."""
        messages: list[Message] = []
        start = 0
        end = len(self._buffer)
        while end - start >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buffer, start)
            if end - start - _HEADER.size < size:
                break
            body = memoryview(self._buffer)[start + _HEADER.size:start + _HEADER.size + size]
            messages += pickle.loads(body)  # noqa: S301 -- from the other end of our own socketpair
            body.release()
            start += _HEADER.size + size
        if start:
            del self._buffer[:start]
        return messages


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


def portable(error: BaseException) -> BaseException:
    """``error`` if it survives pickling, else an sqlite3 error that says what it was."""
    try:
        pickle.loads(pickle.dumps(error))  # noqa: S301 -- our own bytes, just made
    except Exception:
        return sqlite3.OperationalError(f"{type(error).__name__}: {error}")
    return error


class Writer:
    """The process's one connection. Writes that arrive while a commit is under way wait in the
    socket; after the commit, everything that is there forms the next group, so N concurrent
    orders cost one fsync, and the disk is never idle while writes wait."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._frames = Frames()
        self._conn: sqlite3.Connection | None = None
        self._commits = 0
        self._group: list[tuple[int, Sequence[Statement]]] = []
        # Control writes (the kill switch) commit alone, ahead of the group waiting with them.
        self._urgent: list[tuple[int, Sequence[Statement]]] = []

    def serve(self) -> None:
        while True:
            messages, ended = self._receive()
            for message in messages:
                if not self._handle(message):
                    return
            self._commit_waiting()
            if ended:  # the daemon is gone: what it sent is committed above; nobody is left to tell
                self._close()
                return

    def _receive(self) -> tuple[list[Message], bool]:
        """Wait for something, then take everything else already there without waiting."""
        count = self._frames.receive(self._sock)
        # Less than asked for: the socket was drained a moment ago (a syscall saved per commit).
        while count == RECV_BYTES:
            try:
                count = self._frames.receive(self._sock, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
        return self._frames.messages(), count == 0

    def _handle(self, message: Message) -> bool:
        kind = message[0]
        if kind == "write":
            _, write_id, statements, priority = message
            (self._urgent if priority else self._group).append((write_id, statements))
            return True
        # A call comes after every write sent before it.
        self._commit_waiting()
        if kind == "close":
            self._close()
            self._send([("reply", message[1], None, None)])
            return False
        try:
            value = self._call(kind, *message[2:])
        except BaseException as exc:
            self._send([("reply", message[1], None, portable(exc))])
        else:
            self._send([("reply", message[1], value, None)])
        return True

    def _call(self, kind: str, *args: Any) -> Any:
        if kind == "open":
            return self._open(*args)
        if kind == "pragma":
            (name,) = args
            if not name.isidentifier():
                raise ValueError(f"not a pragma name: {name!r}")
            return self._connection().execute(f"PRAGMA {name}").fetchone()[0]
        raise ValueError(f"unknown call {kind!r}")

    def _open(self, path: str, schema: str, pragmas: Sequence[str]) -> None:
        _take_over(path + "-writer.lock")
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for pragma in pragmas:
                conn.execute(pragma)
            conn.executescript(schema)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise sqlite3.ProgrammingError("the database writer is not open")
        return self._conn

    def _commit_waiting(self) -> None:
        while self._urgent:
            self._commit([self._urgent.pop(0)])
        if self._group:
            group, self._group = self._group, []
            self._commit(group)

    def _commit(self, group: list[tuple[int, Sequence[Statement]]]) -> None:
        errors: list[BaseException | None]
        try:
            self._transaction([statement for _, statements in group for statement in statements])
            errors = [None] * len(group)
        except sqlite3.Error as exc:
            # A write that fails in a group is tried again alone, so it never fails its neighbours.
            errors = [exc] if len(group) == 1 else [self._alone(statements) for _, statements in group]
        except Exception as exc:  # not SQLite's doing: the whole group shares the outcome
            errors = [exc] * len(group)
        outcome = [(write_id, None if error is None else portable(error))
                   for (write_id, _), error in zip(group, errors, strict=True)]
        self._send([("done", self._commits, outcome)])

    def _alone(self, statements: Sequence[Statement]) -> BaseException | None:
        try:
            self._transaction(statements)
        except Exception as exc:
            return exc
        return None

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
        self._commits += 1

    def _send(self, messages: list[Message]) -> None:
        with contextlib.suppress(OSError):  # the daemon is gone; the next receive sees the end
            self._sock.sendall(frame(messages))

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _take_over(lock_path: str) -> None:
    """Hold the database's writer lock for the life of this process, once the writer before it
    has gone. A daemon killed -9 leaves its writer committing what it had been sent, for a few
    milliseconds; a new daemon must not read its start-up state (the orders left in flight)
    until those commits are in, so its writer waits here, and the database opens after it."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    deadline = time.monotonic() + TAKEOVER_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return  # the descriptor stays open: the lock goes when this process does
        except BlockingIOError:
            if time.monotonic() > deadline:
                os.close(fd)
                raise sqlite3.OperationalError(
                    f"another database writer still holds {lock_path} after {TAKEOVER_WAIT_S:g} s") from None
            time.sleep(0.005)


def main() -> None:
    # The daemon decides when this process ends (by closing the socket, after its last write):
    # a Ctrl-C in the terminal or a stop signal to the whole group must not cut a commit short.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    sock = socket.socket(fileno=int(sys.argv[1]))
    try:
        Writer(sock).serve()
    finally:
        sock.close()
    os._exit(0)  # nothing else to flush; skip interpreter teardown


if __name__ == "__main__":
    main()
