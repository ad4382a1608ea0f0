"""The orders blotter: newest first, overall status and what each broker said."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ordo_shared.models import OrderRecord
from ordo_tui.model.blotter import BlotterBook
from ordo_tui.model.formatting import price, results_summary, utc_time

STATUS_STYLE = {"success": "green", "partial_success": "bold yellow", "failed": "bold red", None: "cyan"}
SIDE_STYLE = {"BUY": "bold green", "SELL": "bold red"}


def blotter_cells(r: OrderRecord) -> tuple[str | Text, ...]:
    status = (r.status or "in flight").replace("_", " ")
    return (
        utc_time(r.created_at),
        r.order_ref,
        Text(r.order.side, style=SIDE_STYLE[r.order.side]),
        f"{r.order.qty:,}",
        r.order.symbol,
        r.order.order_type,
        price(r.order.price),
        Text(status, style=STATUS_STYLE.get(r.status, "")),
        results_summary(r.results) if r.results else ", ".join(r.order.brokers or []),
    )


class Blotter(DataTable[str | Text]):
    def __init__(self, cap: int, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self.book = BlotterBook(cap)

    def on_mount(self) -> None:
        self.border_title = "Orders"
        self.add_columns("Time UTC", "Order", "Side", "Qty", "Symbol", "Type", "Price", "Status", "Brokers")

    def show_all(self, records: list[OrderRecord]) -> None:
        self.book.replace(records)
        self._draw()

    def upsert(self, record: OrderRecord) -> None:
        self.book.upsert(record)
        self._draw()

    def _draw(self) -> None:
        self.clear()
        for record in self.book.rows():
            self.add_row(*blotter_cells(record), key=record.order_ref)
