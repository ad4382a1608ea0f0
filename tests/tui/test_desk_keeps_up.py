"""What keeps the desk responsive under an audit flood (figure 8 of ``make bench``): work in
proportion to what the screen shows, no redraw of what did not change, no garbage left for the
collector's full passes. Behaviour only; the timing is the benchmark's business."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Callable

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import Input, Label

from ordo_shared.models import Event, OrderRecord
from ordo_tui.runtime import FULL_COLLECTION_EVERY
from ordo_tui.widgets.audit.log import AuditLog
from ordo_tui.widgets.audit.stream import audit_line
from ordo_tui.widgets.blotter.table import Blotter
from ordo_tui.widgets.text import same_text
from tests.tui.helpers import SIZE, connected, desk
from tests.tui.scripted_link import ScriptedLink, audit_event, ok, order


class _LogApp(App[None]):
    CSS = "AuditLog { height: 10; }"

    def __init__(self, line: Callable[[Event], Text]) -> None:
        super().__init__()
        self.line = line

    def compose(self) -> ComposeResult:
        yield AuditLog(1000, self.line, id="log")


async def test_the_audit_log_renders_only_the_rows_in_view_and_follows_the_newest() -> None:
    rendered: list[int] = []

    def line(event: Event) -> Text:
        rendered.append(event.seq or 0)
        return audit_line(event)

    app = _LogApp(line)
    async with app.run_test(size=(100, 12)) as pilot:
        log = app.query_one(AuditLog)
        log.append([audit_event(seq, "load.tick", n=seq) for seq in range(1, 1501)])
        await pilot.pause()
        assert log.row_count == 1000  # the cap: the oldest fell off
        assert sorted(set(rendered)) == list(range(1491, 1501))  # 1,500 arrived, the 10 in view were drawn
        assert log.render_line(9).text.lstrip().startswith("1500 ")

        rendered.clear()
        log.append([audit_event(1501, "load.tick", n=1501)])
        await pilot.pause()
        assert rendered == [1501]  # a row or two more: the rest still in view is not drawn again
        log.replace([audit_event(7, "order.rejected")])
        await pilot.pause()
        assert log.row_count == 1 and "order.rejected" in log.render_line(0).text


class _BlotterApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Blotter(200, id="blotter")


async def test_a_blotter_reload_leaves_nothing_for_the_collectors_full_pass() -> None:
    def orders(first: int) -> list[OrderRecord]:
        return [order(f"ORD-{n:06d}", f"k-{n}", n, [ok("fyers", n), ok("hdfc", n)]) for n in range(first, first + 200)]

    app = _BlotterApp()
    async with app.run_test(size=SIZE) as pilot:
        blotter = app.query_one(Blotter)
        blotter.show_all(orders(0))
        await pilot.pause()
        gc.collect()
        blotter.show_all(orders(200))  # every row new, as in a flood
        await pilot.pause()
        # Cleared as Textual clears them, the table's caches left ~10,500 objects in cycles (13,300
        # in all); what is left is the frame's own strips, which Textual builds self-referencing.
        assert gc.collect() < 6000
        assert blotter.row_count == 200 and blotter.selected() is not None


async def test_a_field_is_marked_while_typed_and_unmarked_once_fixed() -> None:
    app = desk(ScriptedLink())
    async with app.run_test(size=SIZE) as pilot:
        await connected(pilot)
        form = app.desk.form
        row, error = form.query_one("#row-symbol"), form.query_one("#symbol-error", Label)
        await pilot.click("#symbol")
        await pilot.press(*"sbin")
        assert row.has_class("-invalid") and error.has_class("-shown")
        assert "NSE:SBIN-EQ" in str(error.content)
        form.query_one("#symbol", Input).value = ""
        await pilot.press(*"NSE:SBIN")
        assert not row.has_class("-invalid") and not error.has_class("-shown")
        await pilot.press("backspace", "backspace", "backspace", "backspace", "backspace")  # "NSE"
        assert row.has_class("-invalid") and error.has_class("-shown")
        await pilot.press(*":SBIN")
        assert not row.has_class("-invalid") and str(error.content) == ""


def test_two_texts_are_the_same_only_with_the_same_characters_and_styles() -> None:
    assert same_text(Text("OPEN", style="bold"), Text("OPEN", style="bold"))
    assert not same_text(Text("OPEN", style="bold"), Text("OPEN", style="dim"))  # Text's own == says equal
    assert not same_text(Text("OPEN"), "OPEN")
    assert same_text("4.2 ms", "4.2 ms") and not same_text("4.2 ms", "4.3 ms")


def test_the_terminal_desk_freezes_start_up_and_keeps_the_collector_on() -> None:
    # In a child process: the test runner's own collector settings stay untouched.
    code = ("import gc; from ordo_tui.runtime import tune_for_latency; tune_for_latency(); "
            "print(gc.isenabled(), gc.get_threshold()[2], gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["True", str(FULL_COLLECTION_EVERY), "True"]
