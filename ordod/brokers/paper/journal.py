"""The paper book's journal in the state directory: one JSON line per change.

A real broker keeps its book when Ordo dies; so does this one, so that crash recovery and
reconciliation are exercised against simulated brokers too. Each change is one line on an
O_APPEND descriptor. Inside the event loop, the lines of one loop turn go out in a single
``write`` at the end of that turn (a syscall per order and broker was a fifth of the daemon's
time under load). That is still before the order's outcome is stored or anyone is answered,
which take later turns: a daemon killed before the write dies before anything could rely on
the order, exactly as if the broker had never received it. It survives the daemon being
killed (not a power cut, which a simulation need not survive), and costs no fsync.

Lines, unchanged since the first version (older and newer daemons read each other's):
``{"op":"add","order_id":..,"tag":..,"order_ref":..,"qty":..,"price":..,"state":..,
"order_type":..,"trigger_price":..,"placed_at":..}``, ``{"op":"update","order_id":..,
<changed fields>}`` and ``{"op":"attempt","tag":..,"ts":..}``.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic_core import to_json

from ordo_shared.errors import InternalError


class PaperJournalCorrupt(InternalError):
    """A whole line of the journal that cannot be applied: the book it describes cannot be
    restored, and a broker that forgot an order could take it a second time."""

    def __init__(self, path: Path, line: int, problem: str) -> None:
        super().__init__(f"{path}:{line}: {problem}; the paper book cannot be restored "
                         "(move the file away to start this paper broker with an empty book)")


def entries(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Each whole line of the journal, numbered from 1; none if there is no journal yet."""
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return
    with fh:
        for number, line in enumerate(fh, 1):
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write never acknowledged anything
            if not isinstance(entry, dict):
                raise PaperJournalCorrupt(path, number, "not a journal entry")
            yield number, entry


class Journal:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._fd: int | None = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        self._pending: list[bytes] = []
        size = os.fstat(self._fd).st_size
        if size and os.pread(self._fd, 1, size - 1) != b"\n":
            # End a torn last line, or the next entry would be glued to it and lost with it.
            os.write(self._fd, b"\n")

    def append(self, entry: dict[str, object]) -> None:
        if self._fd is None:
            return
        # pydantic-core's encoder, at a fraction of the json module's cost: the same bytes for
        # these ASCII entries (non-ASCII would be UTF-8 instead of escapes, which json reads alike).
        self._pending.append(to_json(entry) + b"\n")
        if len(self._pending) > 1:
            return  # the write at the end of this loop turn is already scheduled
        try:
            asyncio.get_running_loop().call_soon(self.flush)
        except RuntimeError:  # no loop (a tool reading or fixing a book): write at once
            self.flush()

    def flush(self) -> None:
        """Everything appended so far, handed to the OS in one write."""
        if self._fd is None or not self._pending:
            return
        data = b"".join(self._pending)
        self._pending.clear()
        while data:
            data = data[os.write(self._fd, data):]

    def close(self) -> None:
        if self._fd is not None:
            self.flush()
            os.close(self._fd)
            self._fd = None
