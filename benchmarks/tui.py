"""Figure 8: how soon a key the trader presses shows on the desk, quiet and under an audit flood.

The desk is the real app (``OrdoApp`` on a ``DaemonLink``), connected the way ``ordo up``
connects it: endpoints and token resolved from the daemon's own TOML by ``ClientSettings``. It
runs headless under Textual's ``run_test()`` in a worker process of its own; the daemon is a real
``ordod`` process and the flood comes from real orders placed by yet another process.

The interaction is the first thing a trader does at 9:14: typing a symbol into the order
form. The keys spell ``NSE:SBIN-EQ`` one character at a time, then Backspace takes it back to
``N``, over and over; each key changes what the symbol field shows, and the form validates the
field on every change, as it does for a trader.

What is timed, from one instant to the other, on the same clock:

* **from** just before the key's bytes are handed to Textual's own terminal parser
  (``XTermParser``) on a thread of its own, which passes the resulting ``Key`` event to the
  driver exactly as the Linux driver's input thread does (``Driver.process_message``). So the
  key arrives whenever the UI loop happens to be busy, as a real key does, not politely between
  two of its tasks;
* **to** the end of the first frame the app paints whose symbol row shows the new value. Every
  frame goes through ``App._display``; headless, Textual then skips turning it into terminal
  bytes, so the desk here does that itself (``render_segments``, what the real driver does on the
  UI loop for every frame, minus the write), and applies the frame to a copy of that screen row
  as a terminal would. Only when the row's cells read the new value is the key "on screen".

So the time covers the event's trip into the loop, the Input's handling and the form's
validation, the wait for the screen's next refresh (at most 1/60 s when idle), layout,
rendering and the frame's conversion to bytes: everything on the desk's side except the write
to the terminal. ``await pilot.press()`` is not used: it returns when the process *looks* idle
(``wait_for_idle``), which under a flood it never is, and says nothing about the screen.

Each key waits for the previous one's effect plus a random pause of a few milliseconds (so the
keys never queue behind each other and do not lock step with the 60 Hz refresh).
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import RenderableType
from textual._compositor import ChopsUpdate, CompositorUpdate, LayoutUpdate
from textual._xterm_parser import XTermParser
from textual.geometry import Region
from textual.screen import Screen
from textual.strip import Strip
from textual.widgets import Input

from ordo_shared.client_config import ClientSettings
from ordo_tui.app import TERMINAL, OrdoApp, make_app
from ordo_tui.link import DaemonLink

SYMBOL = "NSE:SBIN-EQ"
BACKSPACE = "\x7f"  # what a terminal sends for the Backspace key
SIZE = (160, 48)  # a desk terminal: the whole screen is laid out and painted at this size


class KeyLost(RuntimeError):
    """A key whose effect never reached the screen: the desk lost it or froze."""


def key_script(presses: int, word: str = SYMBOL) -> list[tuple[str, str]]:
    """``presses`` keys as (what the terminal sends, what the field shows after it), starting
    from a field that holds ``word[0]``: type the rest of ``word``, erase back to its first
    letter, again. Every key changes the field, so every key has an effect to wait for."""
    if len(word) < 2:
        raise ValueError("the word needs at least two characters")
    out: list[tuple[str, str]] = []
    length, growing = 1, True
    while len(out) < presses:
        if growing:
            out.append((word[length], word[: length + 1]))
            length += 1
        else:
            length -= 1
            out.append((BACKSPACE, word[:length]))
        if length in (1, len(word)):
            growing = length == 1
    return out


class ScreenRow:
    """One row of the screen, as a terminal holds it: each frame the app paints overwrites the
    cells it covers (full frames and partial "chops" alike, as their ``render_segments`` would)."""

    def __init__(self, y: int, width: int) -> None:
        self.y = y
        self.cells = [" "] * width

    def _put(self, x: int, strip: Strip) -> None:
        for char in strip.text:  # the desk's own row is ASCII: one character, one cell
            if 0 <= x < len(self.cells):
                self.cells[x] = char
            x += 1

    def apply(self, update: CompositorUpdate) -> bool:
        """Paint ``update``'s part of this row; True if it had one."""
        if isinstance(update, LayoutUpdate):
            index = self.y - update.region.y
            if not 0 <= index < len(update.strips):
                return False
            x = update.region.x
            for strip in update.strips[index]:
                self._put(x, strip)
                x += strip.cell_length
            return True
        if isinstance(update, ChopsUpdate):
            painted = False
            for y, x1, x2 in update.spans:
                if y != self.y:
                    continue
                for end, (x, chop) in zip(update.chop_ends[y], update.chops[y].items(), strict=False):
                    if chop is None or x > x2 or end <= x1:
                        continue
                    inside = x2 > x >= x1 and end <= x2
                    self._put(x, chop if inside else chop.crop(0, min(end, x2) - x))
                    painted = True
            return painted
        return False

    def text(self, x: int, width: int) -> str:
        return "".join(self.cells[x : x + width])


class FieldWatch:
    """Waits for a field's screen cells to read a value; filled in from the UI loop's frames,
    waited on by the key thread."""

    def __init__(self, region: Region, screen_width: int) -> None:
        self.region = region
        self.row = ScreenRow(region.y, screen_width)
        self.frames = 0
        self._expected: str | None = None
        self._shown = threading.Event()
        self.shown_at = 0.0

    def expect(self, value: str) -> None:
        self._shown.clear()
        self._expected = value

    def painted(self, update: CompositorUpdate) -> None:
        self.frames += 1
        if not self.row.apply(update) or self._expected is None:
            return
        # The value, then the blank cell the cursor sits on: so "NSE" is not taken for "NSE:".
        if self.row.text(self.region.x, len(self._expected) + 1) == self._expected + " ":
            self.shown_at = time.perf_counter()
            self._expected = None
            self._shown.set()

    def wait(self, timeout_s: float) -> bool:
        return self._shown.wait(timeout_s)


def paint_like_a_terminal(app: OrdoApp, watch: FieldWatch) -> None:
    """Have every frame ``app`` paints turned into terminal bytes (what the real driver does on
    the UI loop, and headless skips) and applied to ``watch``'s copy of the screen. The app itself
    is the one ``make_app`` builds; only this instance's ``_display`` is wrapped."""
    display = app._display

    def display_and_watch(screen: Screen[Any], renderable: RenderableType | None) -> None:
        display(screen, renderable)
        if isinstance(renderable, CompositorUpdate) and not app._batch_count:
            renderable.render_segments(app.console)
            watch.painted(renderable)

    app._display = display_and_watch  # type: ignore[method-assign]


class Keyboard:
    """The terminal's input thread: bytes through Textual's parser into the driver."""

    def __init__(self, app: OrdoApp, watch: FieldWatch, gap_ms: tuple[float, float], seed: int,
                 timeout_s: float = 10.0) -> None:
        self.app = app
        self.watch = watch
        self.gap_ms = gap_ms
        self.timeout_s = timeout_s
        self._parser = XTermParser()
        self._random = random.Random(seed)

    def type(self, keys: Iterable[tuple[str, str]]) -> list[float]:
        """Press each key, wait for its effect on screen; milliseconds from key to screen."""
        driver = self.app._driver
        assert driver is not None
        latencies = []
        for data, value in keys:
            self.watch.expect(value)
            t0 = time.perf_counter()
            for event in self._parser.feed(data):
                driver.process_message(event)
            if not self.watch.wait(self.timeout_s):
                shown = self.watch.row.text(self.watch.region.x, self.watch.region.width).rstrip()
                raise KeyLost(f"{data!r} never showed {value!r} on screen within {self.timeout_s} s "
                              f"(the field at {self.watch.region} shows {shown!r})")
            latencies.append((self.watch.shown_at - t0) * 1000)
            time.sleep(self._random.uniform(*self.gap_ms) / 1000)
        return latencies


@dataclass
class DeskResult:
    quiet_ms: list[float] = field(default_factory=list)
    flood_ms: list[float] = field(default_factory=list)
    flood_s: float = 0.0
    shown_events: int = 0
    """Audit events that reached the desk's audit stream while the flood's keys were pressed."""
    frames: int = 0

    @property
    def shown_per_s(self) -> float:
        return self.shown_events / self.flood_s if self.flood_s else 0.0


def _chunks(script: list[tuple[str, str]], *sizes: int) -> Iterator[list[tuple[str, str]]]:
    start = 0
    for size in sizes:
        yield script[start : start + size]
        start += size


async def _until(predicate: Any, what: str, timeout_s: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout_s
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"the desk never got {what}")
        await asyncio.sleep(0.05)


async def _desk_keys(config: Path, presses: int, warmup: int, gap_ms: tuple[float, float], seed: int,
                     flood_on: Any, flood_off: Any, flood_ramp_s: float) -> DeskResult:
    settings = ClientSettings.resolve(config=config)
    link = DaemonLink(settings)
    app = make_app(link, TERMINAL)  # as run_tui builds it
    result = DeskResult()
    try:
        async with app.run_test(size=SIZE, notifications=True):
            await _until(lambda: app.controller.status.state == "connected" and app.desk.health.snapshot,
                         "connected with broker health")
            audit = app.desk.audit.view
            await _until(lambda: audit.received > 0, "its audit history")
            symbol = app.desk.form.query_one("#symbol", Input)
            symbol.focus()
            symbol.value = SYMBOL[0]
            await asyncio.sleep(0.3)  # the first blotter load lands; the warm-up keys absorb the rest
            watch = FieldWatch(symbol.content_region, SIZE[0])
            paint_like_a_terminal(app, watch)
            keyboard = Keyboard(app, watch, gap_ms, seed)
            # The script continues across the phases, so the field never jumps.
            script = key_script(warmup + 2 * presses)
            warm, quiet, flooded = _chunks(script, warmup, presses, presses)
            # The first keys pay for code paths and caches warming up, in Python and Textual.
            await asyncio.to_thread(keyboard.type, warm)
            result.quiet_ms = await asyncio.to_thread(keyboard.type, quiet)

            await asyncio.to_thread(flood_on.set)
            before = audit.received
            await _until(lambda: audit.received - before > 100, "the flood", timeout_s=10)
            await asyncio.sleep(flood_ramp_s)  # the blotter reloads and the stream settle into the flood
            shown, started = audit.received, time.perf_counter()
            result.flood_ms = await asyncio.to_thread(keyboard.type, flooded)
            result.flood_s = time.perf_counter() - started
            result.shown_events = audit.received - shown
            result.frames = watch.frames
            await asyncio.to_thread(flood_off.set)
    finally:
        flood_off.set()
        link.close()
    return result


def desk_keys(config: str, presses: int, warmup: int, gap_ms: tuple[float, float], seed: int,
              flood_on: Any, flood_off: Any, flood_ramp_s: float = 0.5) -> DeskResult:
    """One repetition of figure 8 in this (worker) process: ``presses`` keys on a quiet desk,
    then ``flood_on`` is set (a manager Event the flood process waits on) and ``presses`` more
    keys under the flood; ``flood_off`` ends the flood."""
    return asyncio.run(_desk_keys(Path(config), presses, warmup, gap_ms, seed, flood_on, flood_off, flood_ramp_s))


def warm(hold_s: float) -> None:
    """Import the desk in a pool worker before anything is timed (the desk is imported above;
    holding the worker a while makes the pool hand the other warm-ups to the other workers)."""
    time.sleep(hold_s)
