"""What became of the last order sent: per-broker results, or why there are none."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ordo_shared.models import BrokerResult, OrderRecord, PlaceOrderReply
from ordo_tui.errors import OrderRefused, OrderUnconfirmed
from ordo_tui.model.formatting import describe_order
from ordo_tui.model.submissions import Submission

STATUS_STYLE = {"success": "bold green", "partial_success": "bold black on yellow", "failed": "bold white on red",
                "error": "red", "skipped": "yellow"}


def results_table(results: list[BrokerResult]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    for r in results:
        detail = Text(r.order_id or "placed") if r.status == "success" else Text(r.error_code or "ERROR", style="bold")
        tries = f"{r.attempts} attempt{'s' if r.attempts != 1 else ''}"
        detail.append(f"\n{tries} · {r.latency_ms:,.1f} ms" if r.attempts else f"\n{r.message}", style="dim")
        table.add_row(Text(r.broker_id, style="bold"), Text(r.status, style=STATUS_STYLE[r.status]), detail)
    return table


class OrderResults(Static):
    def on_mount(self) -> None:
        self.border_title = "Last order"
        self.state = "idle"
        self.headline = ""
        self.update(Text("No order sent yet.", style="dim"))

    def _show(self, state: str, headline: Text, *parts: RenderableType) -> None:
        self.state = state
        self.headline = headline.plain.strip()
        for name in ("sending", "answered", "unconfirmed", "refused"):
            self.set_class(state == name, f"-{name}")
        self.update(Group(headline, *parts))

    def sending(self, submission: Submission) -> None:
        again = " (re-send, same key)" if submission.resend else ""
        brokers = ", ".join(submission.spec.brokers or [])
        self._show("sending", Text(f"Sending{again}…", style="bold"),
                   Text(f"{describe_order(submission.spec)} → {brokers}"))

    def answered(self, submission: Submission, reply: PlaceOrderReply) -> None:
        status = reply.status.replace("_", " ").upper()
        head = Text.assemble((f" {status} ", STATUS_STYLE[reply.status]), f"  {reply.order_ref}")
        parts: list[RenderableType] = [Text(f"{describe_order(submission.spec)} · HTTP {reply.http_status}",
                                            style="dim"), results_table(reply.results)]
        if reply.replayed:
            parts.append(Text("answer replayed from the daemon's store: no new order was placed", style="italic"))
        self._show("answered", head, *parts)

    def resolved(self, record: OrderRecord) -> None:
        status = (record.status or "in_flight").replace("_", " ").upper()
        self._show("answered", Text.assemble((f" {status} ", STATUS_STYLE.get(record.status or "", "")),
                                             f"  {record.order_ref}  (answer found after reconnecting)"),
                   Text(describe_order(record.order), style="dim"), results_table(record.results))

    def unconfirmed(self, error: OrderUnconfirmed) -> None:
        self._show("unconfirmed", Text("NOT CONFIRMED", style="bold black on yellow"),
                   Text(describe_order(error.submission.spec), style="dim"), Text(error.message))

    def refused(self, error: OrderRefused) -> None:
        self._show("refused", Text.assemble((" REFUSED ", "bold white on red"), f"  {error.code}"),
                   Text(describe_order(error.submission.spec), style="dim"),
                   Text(f"{error.message.split(': ', 1)[-1]} — nothing was sent to any broker."))
