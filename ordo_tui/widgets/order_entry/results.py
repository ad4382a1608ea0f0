"""What became of the last order sent, or the last cancel, modify or flatten: per-broker
results, or why there are none."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ordo_shared.models import BrokerResult, FlattenResult, OrderActionReply, OrderRecord, PlaceOrderReply
from ordo_tui.errors import ActionRefused, ActionUnconfirmed, OrderRefused, OrderUnconfirmed
from ordo_tui.model.formatting import describe_order
from ordo_tui.model.kill_switch import GLOBAL, KillSwitchChange, flatten_summary
from ordo_tui.model.order_actions import OrderAction
from ordo_tui.model.submissions import OrderSubmission, Submission

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


def flatten_table(results: list[FlattenResult]) -> Table:
    """One entry per order and broker: the cancel's outcome, then which order it was."""
    table = Table(box=None, show_header=False, padding=(0, 1), expand=False)
    for r in results:
        if r.status == "success":
            detail = Text(r.order_id)
            detail.append(f"\n{r.order_ref}", style="dim")
        else:
            detail = Text(r.error_code or "ERROR", style="bold")
            detail.append(f"\n{r.order_ref} · {r.order_id}" + (f"\n{r.message}" if r.message else ""), style="dim")
        table.add_row(Text(r.broker_id, style="bold"), Text(r.status, style=STATUS_STYLE[r.status]), detail)
    return table


class OrderResults(Static):
    def on_mount(self) -> None:
        self.border_title = "Last order"
        self.state = "idle"
        self.headline = ""
        self.update(Text("No order sent yet.", style="dim"))

    def _show(self, state: str, headline: Text, *parts: RenderableType, title: str = "Last order") -> None:
        self.border_title = title
        self.state = state
        self.headline = headline.plain.strip()
        for name in ("sending", "answered", "unconfirmed", "refused"):
            self.set_class(state == name, f"-{name}")
        self.update(Group(headline, *parts))

    def sending(self, submission: OrderSubmission) -> None:
        again = " (re-send, same key)" if submission.resend else ""
        brokers = ", ".join(submission.spec.brokers or [])
        self._show("sending", Text(f"Sending{again}…", style="bold"),
                   Text(f"{describe_order(submission.spec)} → {brokers}"))

    def answered(self, submission: OrderSubmission, reply: PlaceOrderReply) -> None:
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

    # -- cancel, modify and the kill switch's flatten -----------------------------------

    def action_sending(self, submission: Submission[OrderAction]) -> None:
        again = " (re-send, same key)" if submission.resend else ""
        self._show("sending", Text(f"Sending {submission.spec.kind}{again}…", style="bold"),
                   Text(submission.spec.describe()), title="Last action")

    def action_answered(self, submission: Submission[OrderAction], reply: OrderActionReply) -> None:
        status = f"{reply.action} {reply.status.replace('_', ' ')}".upper()
        head = Text.assemble((f" {status} ", STATUS_STYLE[reply.status]), f"  {reply.order_ref}")
        parts: list[RenderableType] = [Text(f"{submission.spec.describe()} · HTTP {reply.http_status}", style="dim"),
                                       results_table(reply.results)]
        if reply.replayed:
            parts.append(Text("answer replayed from the daemon's store: nothing was sent again", style="italic"))
        self._show("answered", head, *parts, title="Last action")

    def action_unconfirmed(self, error: ActionUnconfirmed) -> None:
        self._show("unconfirmed", Text(f"{error.submission.spec.kind.upper()} NOT CONFIRMED",
                                       style="bold black on yellow"),
                   Text(error.submission.spec.describe(), style="dim"), Text(error.message), title="Last action")

    def action_refused(self, error: ActionRefused) -> None:
        self._show("refused", Text.assemble((f" {error.submission.spec.kind.upper()} REFUSED ", "bold white on red"),
                                            f"  {error.code}"),
                   Text(error.submission.spec.describe(), style="dim"),
                   Text(f"{error.message.split(': ', 1)[-1]} — nothing was sent to any broker."), title="Last action")

    def flattened(self, change: KillSwitchChange, results: list[FlattenResult]) -> None:
        scope = "every broker" if change.scope == GLOBAL else change.scope
        failed = any(r.status != "success" for r in results)
        head = Text.assemble((" FLATTENED ", "bold black on yellow" if failed else "bold green"), f"  {scope}")
        self._show("answered", head, Text(flatten_summary(results)), flatten_table(results),
                   title="Last action: kill switch")
