"""The audit rows on screen, rendered only when they are in view.

A ``RichLog`` renders every line when it is written. Under a flood of 2,000 events a second
that was most of the desk's work, done in one block per batch, and a key pressed meanwhile
waited behind it (figure 8 of ``make bench``: p99 from key to screen 350 ms). Here a batch only
appends events; each frame renders the dozen rows it shows, and a row's rendering is kept until
it leaves the cache.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ordo_shared.models import Event


class AuditLog(ScrollView, can_focus=True):
    """Up to ``cap`` events, newest at the bottom, following the newest as they come."""

    DEFAULT_CSS = """
    AuditLog {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        &:focus { background-tint: $foreground 5%; }
    }
    """

    def __init__(self, cap: int, line: Callable[[Event], Text], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.cap = cap
        self._line = line
        self._events: deque[Event] = deque(maxlen=cap)
        # The rows lately in view, so a repaint or a scroll by a row or two renders only what
        # is new. Small on purpose: each strip carries a dozen caches of its own, all of them
        # objects the garbage collector walks on every full collection.
        self._strips: LRUCache[int, tuple[Event, Strip]] = LRUCache(128)

    @property
    def row_count(self) -> int:
        return len(self._events)

    def append(self, events: Iterable[Event]) -> None:
        self._events.extend(events)
        self._resized()
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    def replace(self, events: Iterable[Event]) -> None:
        self._events.clear()
        self.append(events)

    def clear(self) -> None:
        self._events.clear()
        self._resized()

    def on_resize(self) -> None:
        self._resized()

    def _resized(self) -> None:
        """New rows change what can be scrolled, never the log's own size (its height is set by
        the layout and its scrollbar is always there), so the scrollbars are updated without
        laying out the whole screen again, which setting ``virtual_size`` does: under a flood
        that was a full layout per batch."""
        size = Size(self.scrollable_content_region.width, len(self._events))
        if size != self.virtual_size:
            self.set_reactive(AuditLog.virtual_size, size)
            self._scroll_update(size)
        self.refresh()

    def _strip(self, event: Event) -> Strip:
        cached = self._strips.get(id(event))
        if cached is not None and cached[0] is event:
            return cached[1]
        strip = Strip(self._line(event).render(self.app.console))
        self._strips[id(event)] = (event, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        index = scroll_y + y
        if index >= len(self._events):
            return Strip.blank(width, self.rich_style)
        strip = self._strip(self._events[index])
        return strip.crop_extend(scroll_x, scroll_x + width, self.rich_style).apply_style(self.rich_style)
