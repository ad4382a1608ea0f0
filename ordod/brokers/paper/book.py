"""The paper broker's order book, journalled to the state directory.

A real broker keeps its book when Ordo dies; so does this one, so that crash recovery and
reconciliation are exercised against simulated brokers too. Each change is one JSON line
appended with a single ``write`` on an O_APPEND descriptor: it reaches the OS before the
order is acknowledged, so it survives the daemon being killed (not a power cut, which a
simulation need not survive), and it costs microseconds, not an fsync.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ordo_shared.models import BrokerOrderState


@dataclass(slots=True)
class PaperOrder:
    order_id: str
    tag: str
    order_ref: str
    qty: int
    price: float | None
    state: BrokerOrderState = "open"
    order_type: str = "LIMIT"
    trigger_price: float | None = None
    placed_at: float = 0.0


class PaperBook:
    def __init__(self, journal: Path | None = None) -> None:
        self._by_tag: dict[str, PaperOrder] = {}
        self._by_id: dict[str, PaperOrder] = {}
        self._fd: int | None = None
        if journal is not None:
            journal.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._replay(journal)
            self._fd = os.open(journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    def __len__(self) -> int:
        return len(self._by_tag)

    @property
    def next_number(self) -> int:
        return len(self._by_id) + 1

    def by_tag(self, tag: str) -> PaperOrder | None:
        return self._by_tag.get(tag)

    def by_id(self, order_id: str) -> PaperOrder | None:
        return self._by_id.get(order_id)

    def orders(self) -> list[PaperOrder]:
        return list(self._by_id.values())

    def add(self, order: PaperOrder) -> None:
        self._journal({"op": "add", **asdict(order)})
        self._index(order)

    def note_attempt(self, tag: str, wall_time: float) -> None:
        """Journal when an order attempt started, so tests can prove when attempts stopped."""
        self._journal({"op": "attempt", "tag": tag, "ts": wall_time})

    def update(self, order: PaperOrder, **changes: object) -> None:
        self._journal({"op": "update", "order_id": order.order_id, **changes})
        for key, value in changes.items():
            setattr(order, key, value)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _index(self, order: PaperOrder) -> None:
        self._by_tag[order.tag] = order
        self._by_id[order.order_id] = order

    def _journal(self, entry: dict[str, object]) -> None:
        if self._fd is not None:
            os.write(self._fd, (json.dumps(entry, separators=(",", ":")) + "\n").encode())

    def _replay(self, journal: Path) -> None:
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line torn by a crash mid-write never acknowledged anything
            op = entry.pop("op", None)
            if op == "add":
                self._index(PaperOrder(**entry))
            elif op == "update" and (order := self._by_id.get(entry.pop("order_id", ""))) is not None:
                for key, value in entry.items():
                    setattr(order, key, value)
