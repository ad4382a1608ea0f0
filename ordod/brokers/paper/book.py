"""The paper broker's order book: every order it ever accepted, in about 60 bytes an order.

A simulated broker keeps every order, and it lives inside the daemon, so its book is the
daemon's memory: an object per order (~450 bytes with its two dict entries) was most of
the daemon's growth under load. The book keeps columns instead, one array element per
order, and the row is the order id's number less one, so ids need no index at all; tags
are found through ``TagIndex``. The order reference is written to the journal (an
operator can match the files) but not kept: the broker never reads it back.
"""

from __future__ import annotations

import math
from array import array
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from ordo_shared.models import BrokerOrderState, OrderType
from ordod.brokers.base import BrokerOrder, OrderChange
from ordod.brokers.paper.journal import Journal, PaperJournalCorrupt, entries
from ordod.brokers.paper.tag_index import TagIndex

STATES: tuple[BrokerOrderState, ...] = get_args(BrokerOrderState)
ORDER_TYPES: tuple[OrderType, ...] = get_args(OrderType)
_STATE_CODE: dict[str, int] = {state: code for code, state in enumerate(STATES)}
_TYPE_CODE: dict[str, int] = {order_type: code for code, order_type in enumerate(ORDER_TYPES)}
_NO_PRICE = math.nan


@dataclass(frozen=True, slots=True)
class PaperOrder:
    """One order as the book holds it now: a copy read out of the columns."""

    order_id: str
    tag: str
    qty: int
    price: float | None
    state: BrokerOrderState
    order_type: OrderType
    trigger_price: float | None
    placed_at: float


def _price(value: float) -> float | None:
    return None if math.isnan(value) else value


def _stored(value: float | None) -> float:
    return _NO_PRICE if value is None else float(value)


class PaperBook:
    def __init__(self, broker_id: str, journal: Path | None = None) -> None:
        self._id_prefix = broker_id.upper()
        self._tags = TagIndex()
        self._state = bytearray()
        self._type = bytearray()
        self._qty = array("i")  # the wire caps a quantity at 10 million, far inside 32 bits
        self._price = array("d")  # NaN: no price
        self._trigger = array("d")
        self._placed_at = array("d")
        self._journal: Journal | None = None
        if journal is not None:
            for number, entry in entries(journal):
                try:
                    self._replay(entry)
                except (KeyError, TypeError, ValueError, OverflowError) as exc:
                    raise PaperJournalCorrupt(journal, number, f"{type(exc).__name__}: {exc}") from exc
            self._journal = Journal(journal)

    def __len__(self) -> int:
        return len(self._tags)

    def order_id(self, row: int) -> str:
        return f"{self._id_prefix}-{row + 1:08d}"

    def row_of_tag(self, tag: str) -> int | None:
        return self._tags.find(tag)

    def row_of_id(self, order_id: str) -> int | None:
        prefix, _, number = order_id.rpartition("-")
        if prefix != self._id_prefix or not (number.isascii() and number.isdigit()):
            return None
        row = int(number) - 1
        # Only the exact spelling the broker gave out: "FYERS-1" is not "FYERS-00000001".
        return row if 0 <= row < len(self) and self.order_id(row) == order_id else None

    def state(self, row: int) -> BrokerOrderState:
        return STATES[self._state[row]]

    def qty(self, row: int) -> int:
        return self._qty[row]

    def price(self, row: int) -> float | None:
        return _price(self._price[row])

    def placed_at(self, row: int) -> float:
        return self._placed_at[row]

    def view(self, row: int) -> PaperOrder:
        return PaperOrder(
            order_id=self.order_id(row), tag=self._tags.tag_of(row), qty=self._qty[row],
            price=_price(self._price[row]), state=STATES[self._state[row]], order_type=ORDER_TYPES[self._type[row]],
            trigger_price=_price(self._trigger[row]), placed_at=self._placed_at[row],
        )

    def by_tag(self, tag: str) -> PaperOrder | None:
        row = self.row_of_tag(tag)
        return None if row is None else self.view(row)

    def by_id(self, order_id: str) -> PaperOrder | None:
        row = self.row_of_id(order_id)
        return None if row is None else self.view(row)

    def orders(self) -> list[PaperOrder]:
        return [self.view(row) for row in range(len(self))]

    def add(self, order: BrokerOrder, state: BrokerOrderState, placed_at: float) -> int:
        """A new order under a tag the book does not hold yet; returns its row."""
        spec, tag = order.spec, order.tag
        self._write({"op": "add", "order_id": self.order_id(len(self)), "tag": tag,
                     "order_ref": order.order_ref, "qty": spec.qty, "price": spec.price, "state": state,
                     "order_type": spec.order_type, "trigger_price": spec.trigger_price, "placed_at": placed_at})
        return self._append(tag, spec.qty, spec.price, state, spec.order_type, spec.trigger_price, placed_at)

    def note_attempt(self, tag: str, wall_time: float) -> None:
        """Journal when an order attempt started, so tests can prove when attempts stopped."""
        self._write({"op": "attempt", "tag": tag, "ts": wall_time})

    def set_state(self, row: int, state: BrokerOrderState) -> None:
        self._write({"op": "update", "order_id": self.order_id(row), "state": state})
        self._state[row] = _STATE_CODE[state]

    def amend(self, row: int, change: OrderChange, state: BrokerOrderState | None = None) -> None:
        """New terms for an open order, and its new state when the change settles it."""
        changes: dict[str, Any] = {"qty": change.qty, "price": change.price, "trigger_price": change.trigger_price,
                                   "order_type": change.order_type}
        if state is not None:
            changes["state"] = state
        self._write({"op": "update", "order_id": self.order_id(row), **changes})
        self._update(row, changes)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    def _write(self, entry: dict[str, object]) -> None:
        if self._journal is not None:
            self._journal.append(entry)

    def _append(self, tag: str, qty: int, price: float | None, state: str, order_type: str,
                trigger_price: float | None, placed_at: float) -> int:
        state_code, type_code = _STATE_CODE[state], _TYPE_CODE[order_type]
        row = self._tags.append(tag)
        self._state.append(state_code)
        self._type.append(type_code)
        self._qty.append(qty)
        self._price.append(_stored(price))
        self._trigger.append(_stored(trigger_price))
        self._placed_at.append(placed_at)
        return row

    def _update(self, row: int, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            if key == "state":
                self._state[row] = _STATE_CODE[value]
            elif key == "order_type":
                self._type[row] = _TYPE_CODE[value]
            elif key == "qty":
                self._qty[row] = value
            elif key == "price":
                self._price[row] = _stored(value)
            elif key == "trigger_price":
                self._trigger[row] = _stored(value)

    def _replay(self, entry: dict[str, Any]) -> None:
        op = entry.get("op")
        if op == "add":
            if entry["order_id"] != self.order_id(len(self)):
                # Ids are given out in order and rows are derived from them: a gap or a repeat
                # means lost lines, and guessing could hand an id out twice.
                raise ValueError(f"order id {entry['order_id']!r} where {self.order_id(len(self))!r} was next")
            if self.row_of_tag(entry["tag"]) is not None:
                raise ValueError(f"a second order under tag {entry['tag']!r}")
            self._append(entry["tag"], entry["qty"], entry.get("price"), entry.get("state", "open"),
                         entry.get("order_type", "LIMIT"), entry.get("trigger_price"), entry.get("placed_at", 0.0))
        elif op == "update" and (row := self.row_of_id(str(entry.get("order_id", "")))) is not None:
            self._update(row, entry)
