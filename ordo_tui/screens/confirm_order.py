"""Confirm before sending: the order, and exactly which brokers it fans out to."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from ordo_tui.model.formatting import describe_order
from ordo_tui.model.submissions import OrderSubmission


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question whose yes is the focused button (``#confirm``, Enter) and whose no is
    ``#cancel`` or Esc. Subclasses compose the question and both buttons."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(False)", "Cancel")]

    def on_mount(self) -> None:
        self.query_one("#confirm", Button).focus()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(False)


class ConfirmOrder(ConfirmDialog):
    def __init__(self, submission: OrderSubmission, kill_switch_on: bool) -> None:
        super().__init__()
        self.submission = submission
        self.kill_switch_on = kill_switch_on

    def compose(self) -> ComposeResult:
        spec = self.submission.spec
        brokers = spec.brokers or []
        side_class = "sell" if spec.side == "SELL" else "buy"
        with Vertical(id="dialog", classes=side_class):
            yield Label(f"SEND {spec.side} ORDER?", classes="dialog-title")
            yield Static(Text(describe_order(spec), style="bold"))
            yield Static(f"fan-out → {', '.join(brokers)}  ({len(brokers)} order{'s' if len(brokers) != 1 else ''},"
                         " one per broker)", id="fan-out")
            yield Static(Text(f"idempotency key {self.submission.key}", style="dim"))
            if self.submission.resend:
                yield Static("Re-sending an order that was never confirmed, with the same key: "
                             "a broker that already has it will not get a second one.", classes="note")
            if self.kill_switch_on:
                yield Static("The kill switch is ON: the daemon will refuse this order.", classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Send (enter)", id="confirm", variant="error" if spec.side == "SELL" else "success")
                yield Button("Cancel (esc)", id="cancel")
