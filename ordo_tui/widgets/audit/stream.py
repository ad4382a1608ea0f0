"""The live audit stream, newest at the bottom, filterable by event type and broker.

Rows arrive in batches (the controller flushes a few times a second); the log renders only
the rows in view, so a flood costs what the screen shows, not what arrives. The cap bounds
memory and rows.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Select

from ordo_shared.models import Event
from ordo_tui.model.audit_sequence import GAP_TYPE
from ordo_tui.model.audit_view import AuditView
from ordo_tui.model.formatting import audit_summary
from ordo_tui.widgets.audit.log import AuditLog

_ERROR_TYPES = frozenset({"order.rejected", GAP_TYPE})


def event_style(event: Event) -> str:
    if event.type in _ERROR_TYPES or event.data.get("status") in ("error", "failed"):
        return "red"
    if event.type == "kill_switch.changed":
        return "bold red" if event.data.get("active") else "bold green"
    if event.type in ("breaker.changed", "session.changed") or event.data.get("status") == "partial_success":
        return "yellow"
    return ""


def audit_line(event: Event) -> Text:
    seq = "" if event.seq is None else str(event.seq)
    stamp = event.ts.strftime("%H:%M:%S.%f")[:-3]
    return Text(f"{seq:>7} {stamp} {event.type:<19} {event.broker_id or '':<8} {event.order_ref or '':<23} "
                f"{audit_summary(event)}", style=event_style(event), no_wrap=True, end="")


class AuditStream(Vertical):
    def __init__(self, cap: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view = AuditView(cap)
        self.batches = 0
        self._broker_ids: list[str] = []

    def compose(self) -> ComposeResult:
        with Horizontal(id="audit-filters"):
            yield Input(placeholder="filter types: order, breaker, kill…", id="audit-types", compact=True)
            yield Select([], prompt="all brokers", id="audit-broker", compact=True)
        yield AuditLog(self.view.cap, audit_line, id="audit-log")

    def on_mount(self) -> None:
        self.border_title = "Audit"
        self._count()

    @property
    def log_widget(self) -> AuditLog:
        return self.query_one("#audit-log", AuditLog)

    def add_batch(self, events: list[Event], restart: bool = False) -> None:
        if restart:
            self.view.clear()
            self.log_widget.clear()
        self.batches += 1
        shown = self.view.add(events)
        if shown:
            self.log_widget.append(shown)
        self._count()

    def set_brokers(self, broker_ids: list[str]) -> None:
        if broker_ids == self._broker_ids:
            return
        self._broker_ids = list(broker_ids)
        select = self.query_one("#audit-broker", Select)
        current = select.value
        select.set_options([(b, b) for b in broker_ids])
        if current in broker_ids:
            select.value = current

    @on(Input.Changed, "#audit-types")
    @on(Select.Changed, "#audit-broker")
    def _refilter(self) -> None:
        broker = self.query_one("#audit-broker", Select).value
        self.view.set_filter(self.query_one("#audit-types", Input).value,
                             None if broker is Select.NULL else str(broker))
        self.log_widget.replace(self.view.visible())
        self._count()

    def _count(self) -> None:
        subtitle = f"kept {len(self.view.events)}/{self.view.cap}"
        if str(self.border_subtitle) != subtitle:  # setting it repaints the whole panel, even unchanged
            self.border_subtitle = subtitle
