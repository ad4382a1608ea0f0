"""The paper book's rows by client tag, in about 25 bytes an order.

A dict from tag to row would cost ~150 bytes an order (a 30-character str key, an int value,
the entry), and a simulated broker keeps every order a long-running daemon ever placed.
Ordo's tags are "ordo" and 26 hex digits (``client_tag``): 13 bytes once packed. So the
tags are packed into one bytearray, 13 bytes a row, and the index is a hash table of row
numbers in an ``array`` (open addressing, linear probing) that compares the packed bytes.
Any other tag (Ordo makes none, but a journal could hold one) goes to a plain dict.

The table doubles when half full. Its rows move to the new table a few at a time on each
insert, so that no single order pays for moving them all: at half a million orders a full
rehash in Python would hold the event loop for a quarter of a second.
"""

from __future__ import annotations

from array import array

WIDTH = 13  # bytes of one packed tag
_PREFIX = "ordo"
_EMPTY = -1
_FIRST_SIZE = 8
# Rows moved per insert while the table grows: the move of a table of C slots ends within C/8
# inserts, long before the new table (2C slots, a quarter full) is half full in its turn.
_MOVES_PER_INSERT = 8


def pack(tag: str) -> bytes | None:
    """The tag as 13 bytes, or None for a tag not in ``client_tag``'s default shape."""
    if len(tag) != len(_PREFIX) + 2 * WIDTH or not tag.startswith(_PREFIX):
        return None
    digits = tag[len(_PREFIX):]
    try:
        packed = bytes.fromhex(digits)
    except ValueError:
        return None
    # fromhex also takes upper case and spaces; only the exact lower-case spelling round-trips.
    return packed if packed.hex() == digits else None


def _empty_table(size: int) -> array[int]:
    return array("i", [_EMPTY]) * size


class TagIndex:
    """Rows are numbered 0, 1, 2... in the order their tags were appended."""

    def __init__(self) -> None:
        self._packed = bytearray()  # row r's tag at [13 r, 13 r + 13); zeros for a tag kept in _odd
        self._table = _empty_table(_FIRST_SIZE)
        self._in_table = 0
        self._old: array[int] | None = None  # the table being moved out of while it grows
        self._moved = 0  # slots of _old already moved
        self._odd: dict[str, int] = {}
        self._rows = 0

    def __len__(self) -> int:
        return self._rows

    def append(self, tag: str) -> int:
        """Index the next row under ``tag``, which no row has yet; returns that row."""
        row = self._rows
        packed = pack(tag)
        if packed is None:
            self._odd[tag] = row
            self._packed += bytes(WIDTH)
        else:
            self._packed += packed
            if 2 * (self._in_table + 1) > len(self._table):
                self._grow()
            _insert(self._table, packed, row)
            self._in_table += 1
            self._move_some()
        self._rows += 1
        return row

    def find(self, tag: str) -> int | None:
        """The row appended under ``tag``, or None."""
        packed = pack(tag)
        if packed is None:
            return self._odd.get(tag)
        row = self._probe(self._table, packed)
        if row is None and self._old is not None:
            row = self._probe(self._old, packed)
        return row

    def tag_of(self, row: int) -> str:
        if not 0 <= row < self._rows:
            raise IndexError(row)
        for tag, odd_row in self._odd.items():  # almost always empty
            if odd_row == row:
                return tag
        return _PREFIX + self._packed_at(row).hex()

    def _packed_at(self, row: int) -> bytes:
        start = row * WIDTH
        return bytes(self._packed[start : start + WIDTH])

    def _probe(self, table: array[int], packed: bytes) -> int | None:
        mask = len(table) - 1
        # bytes hashing is keyed per process (SipHash): no client can choose keys whose tags crowd one slot.
        slot = hash(packed) & mask
        while (row := table[slot]) != _EMPTY:
            start = row * WIDTH
            if self._packed[start : start + WIDTH] == packed:
                return row
            slot = (slot + 1) & mask
        return None

    def _grow(self) -> None:
        while self._old is not None:  # never two moves at once (cannot happen at 8 a step; cheap to be sure)
            self._move_some()
        self._old, self._table, self._moved = self._table, _empty_table(2 * len(self._table)), 0

    def _move_some(self) -> None:
        old = self._old
        if old is None:
            return
        end = min(self._moved + _MOVES_PER_INSERT, len(old))
        for slot in range(self._moved, end):
            if (row := old[slot]) != _EMPTY:
                _insert(self._table, self._packed_at(row), row)
        self._moved = end
        if end == len(old):
            self._old = None


def _insert(table: array[int], packed: bytes, row: int) -> None:
    mask = len(table) - 1
    slot = hash(packed) & mask
    while table[slot] != _EMPTY:
        slot = (slot + 1) & mask
    table[slot] = row
