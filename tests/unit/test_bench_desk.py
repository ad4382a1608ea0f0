"""Figure 8's logic (never its measurement: `make bench` is not part of the suite): the flood's
pace, the keys it types, and how it decides that a key's effect is on screen."""

from __future__ import annotations

import itertools

import pytest
from rich.segment import Segment
from textual._compositor import ChopsUpdate, LayoutUpdate
from textual.geometry import Region
from textual.strip import Strip

from benchmarks.flood import SeqCount, orders_due, orders_per_second
from benchmarks.tui import BACKSPACE, SYMBOL, FieldWatch, ScreenRow, key_script


def test_the_flood_is_paced_from_the_events_one_order_yields() -> None:
    assert orders_per_second(2000, 4.0) == 500.0
    with pytest.raises(ValueError):
        orders_per_second(2000, 0.0)


def test_an_open_loop_schedule_sends_the_first_order_at_once_and_keeps_its_rate() -> None:
    assert orders_due(0.0, 500) == 1
    assert orders_due(0.0019, 500) == 1
    assert orders_due(0.002, 500) == 2
    assert orders_due(0.9999, 500) == 500  # 500 orders in the first second, not 501
    assert orders_due(-0.1, 500) == 0


def test_the_published_rate_comes_from_the_daemons_seq_numbers() -> None:
    seen = SeqCount()
    assert seen.per_second == 0.0
    seen.see(1000, now=10.0)
    seen.see(1500, now=10.1)  # a SUB socket may skip events: seq still says how many there were
    seen.see(3000, now=11.0)
    assert seen.per_second == 2000.0
    assert seen.events == 3


def test_every_key_changes_the_symbol_field_so_every_key_has_an_effect_to_wait_for() -> None:
    script = key_script(40)
    assert len(script) == 40
    values = [SYMBOL[0]] + [value for _, value in script]
    assert all(a != b for a, b in itertools.pairwise(values))
    assert all(v and SYMBOL.startswith(v) for v in values)  # never empty: an empty field shows its placeholder
    assert script[0] == ("S", "NS")
    assert script[len(SYMBOL) - 2] == ("Q", SYMBOL)  # typed out in full ...
    assert script[len(SYMBOL) - 1] == (BACKSPACE, SYMBOL[:-1])  # ... then taken back
    assert script[2 * len(SYMBOL) - 3] == (BACKSPACE, "N")
    assert script[2 * len(SYMBOL) - 2] == ("S", "NS")


def strip(text: str) -> Strip:
    return Strip([Segment(text)])


def test_a_screen_row_keeps_what_full_and_partial_frames_painted_on_it() -> None:
    row = ScreenRow(y=1, width=12)
    full = LayoutUpdate([[strip("top row     ")], [strip("Symbol "), strip("NS   ")]], Region(0, 0, 12, 2))
    assert row.apply(full)
    assert row.text(7, 5) == "NS   "

    # A frame that repaints only the field, as the compositor does for one changed widget.
    chops: list[dict[int, Strip | None]] = [{0: None}, {0: None, 7: strip("NSE  ")}]
    partial = ChopsUpdate(chops, spans=[(1, 7, 12)], chop_ends=[[12], [7, 12]])
    assert row.apply(partial)
    assert row.text(0, 12) == "Symbol NSE  "

    elsewhere = ChopsUpdate([{0: strip("audit row   ")}, {0: None}], spans=[(0, 0, 12)], chop_ends=[[12], [12]])
    assert not row.apply(elsewhere)
    assert row.text(0, 12) == "Symbol NSE  "


def test_a_value_shows_when_the_field_reads_it_followed_by_the_cursors_blank_cell() -> None:
    watch = FieldWatch(Region(7, 0, 10, 1), screen_width=20)

    def paint(text: str) -> None:
        watch.painted(LayoutUpdate([[strip(text.ljust(20))]], Region(0, 0, 20, 1)))

    watch.expect("NSE")
    paint("Symbol NSE:")  # the previous value: "NSE" is a prefix of it, and still not it
    assert not watch.wait(0)
    paint("Symbol NSE")
    assert watch.wait(0)
    assert watch.frames == 2
