"""The orders blotter: newest first, overall status, and each broker's live state (open,
filled, rejected with the broker's reason, …) as tracking reports it. ``delete`` / ``ctrl+x``
cancel the selected order, ``ctrl+e`` modifies it."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist

from ordo_shared.models import OrderRecord
from ordo_tui.model.blotter import BlotterBook
from ordo_tui.model.formatting import price, tracking_phrase, utc_time
from ordo_tui.model.order_actions import ActionKind

# The order ref carries the placement's overall status; each broker's line says the rest.
STATUS_STYLE = {"success": "green", "partial_success": "bold yellow", "failed": "bold red", None: "cyan"}
SIDE_STYLE = {"BUY": "bold green", "SELL": "bold red"}
STATE_STYLE = {"open": "cyan", "partially_filled": "bold yellow", "filled": "bold green", "cancelled": "dim",
               "rejected": "bold red", "expired": "dim"}
RESULT_STYLE = {"success": "green", "error": "red", "skipped": "yellow"}
PHRASE_WIDTH = 32
COLUMNS = (("time", "Time UTC"), ("order", "Order"), ("side", "Side"), ("qty", "Qty"), ("symbol", "Symbol"),
           ("type", "Type"), ("price", "Price"), ("brokers", "At the brokers"))


def brokers_cell(r: OrderRecord) -> Text:
    """One line per broker: its tracked state (``filled 10 @ 500.50``, ``rejected: margin
    shortfall``), or what it answered when there is nothing to track (an error, or an
    acceptance tracking has not reported yet)."""
    if not r.results:
        return Text(f"in flight → {', '.join(r.order.brokers or [])}", style=STATUS_STYLE[None])
    tracked = {v.broker_id: v for v in r.tracking}
    width = max(len(result.broker_id) for result in r.results)
    lines = []
    for result in r.results:
        line = Text(result.broker_id.ljust(width + 1), style="bold")
        view = tracked.get(result.broker_id)
        if view is not None:
            phrase = tracking_phrase(view)
            if (view.qty, view.price) != (r.order.qty, r.order.price):
                phrase += f" · now {view.qty:,}" + (f" @ {price(view.price)}" if view.price is not None else "")
            if len(phrase) > PHRASE_WIDTH:
                phrase = phrase[: PHRASE_WIDTH - 1] + "…"
            line.append(phrase, style=STATE_STYLE.get(view.state, ""))
        elif result.status == "success":
            line.append("✓", style=RESULT_STYLE["success"])
        else:
            line.append(f"{'✗' if result.status == 'error' else '–'} {result.error_code or result.status}",
                        style=RESULT_STYLE[result.status])
        lines.append(line)
    return Text("\n").join(lines)


def row_height(r: OrderRecord) -> int:
    return max(1, len(r.results))


def blotter_cells(r: OrderRecord) -> tuple[str | Text, ...]:
    return (
        utc_time(r.created_at),
        Text(r.order_ref, style=STATUS_STYLE.get(r.status, "")),
        Text(r.order.side, style=SIDE_STYLE[r.order.side]),
        f"{r.order.qty:,}",
        r.order.symbol,
        r.order.order_type,
        price(r.order.price),
        brokers_cell(r),
    )


class Blotter(DataTable[str | Text]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,ctrl+x", "request('cancel')", "Cancel order"),
        Binding("ctrl+e", "request('modify')", "Modify order"),
    ]

    class ActionRequested(Message):
        """The trader asked to cancel or modify the selected order."""

        def __init__(self, kind: ActionKind) -> None:
            super().__init__()
            self.kind = kind

    def __init__(self, cap: int, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.book = BlotterBook(cap)

    def _clear_caches(self) -> None:
        """DataTable drops its render caches on every ``clear()``, i.e. on every reload. Textual's
        ``LRUCache`` keeps its entries in a circular linked list, so a cleared cache leaves all of
        them as cyclic garbage (some 11,000 objects for 200 rows) that only the collector's next
        full pass frees, pausing the desk for it. Unlinked first, they go at once."""
        for cache in (self._row_render_cache, self._cell_render_cache, self._row_renderable_cache,
                      self._line_cache, self._offset_cache, self._ordered_row_cache):
            for link in cache._cache.values():  # [prev, next, key, value]
                link.clear()
        super()._clear_caches()

    def on_mount(self) -> None:
        self.border_title = "Orders"
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def selected(self) -> OrderRecord | None:
        """The order under the cursor."""
        if not self.row_count:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except CellDoesNotExist:
            return None
        return self.book.get(str(key.value))

    def action_request(self, kind: ActionKind) -> None:
        self.post_message(self.ActionRequested(kind))

    def show_all(self, records: list[OrderRecord]) -> None:
        self.book.replace(records)
        self._draw()

    def upsert(self, record: OrderRecord) -> None:
        """One order changed: its row is updated where it stands, so the cursor stays put."""
        known = self.book.get(record.order_ref)
        self.book.upsert(record)
        if known is not None and row_height(known) == row_height(record):
            for (key, _), cell in zip(COLUMNS, blotter_cells(record), strict=True):
                self.update_cell(record.order_ref, key, cell, update_width=True)
        else:
            self._draw()

    def _draw(self) -> None:
        chosen = self.selected()
        self.clear()
        for record in self.book.rows():
            self.add_row(*blotter_cells(record), key=record.order_ref, height=row_height(record))
        if chosen is not None and chosen.order_ref in self.rows:
            # A reload must not move the trader's selection to another order.
            self.move_cursor(row=self.get_row_index(chosen.order_ref), animate=False, scroll=False)
