"""Cancel and modify the order selected in the blotter: each shows which brokers hold it and
in what state, so the trader sees where the request goes before it is sent."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ordo_shared.models import PRICED_TYPES, TRIGGERED_TYPES, OrderRecord
from ordo_tui.model.formatting import describe_order, price
from ordo_tui.model.order_actions import OrderAction, build_modify, holdings, open_holdings
from ordo_tui.model.submissions import Submission
from ordo_tui.screens.confirm_order import ConfirmDialog


def holders_text(record: OrderRecord, targets: tuple[str, ...]) -> Text:
    """One line per broker that took the order; the ones the request goes to are marked."""
    text = Text()
    for h in holdings(record):
        chosen = h.broker_id in targets
        text.append("→ " if chosen else "  ", style="bold")
        text.append(h.describe(), style="bold" if chosen else "dim")
        if not chosen:
            text.append("  (nothing to do there)", style="dim")
        text.append("\n")
    text.rstrip()
    return text


class ConfirmCancel(ConfirmDialog):
    def __init__(self, record: OrderRecord, submission: Submission[OrderAction]) -> None:
        super().__init__()
        self.record = record
        self.submission = submission

    def compose(self) -> ComposeResult:
        action = self.submission.spec
        with Vertical(id="dialog", classes="caution"):
            yield Label(f"CANCEL ORDER {action.order_ref}?", classes="dialog-title")
            yield Static(Text(describe_order(self.record.order), style="bold"))
            yield Static(holders_text(self.record, action.brokers), id="holders")
            yield Static(Text(f"idempotency key {self.submission.key}", style="dim"))
            if self.submission.resend:
                yield Static("Re-sending a cancel that was never confirmed, with the same key: the daemon "
                             "answers from its store if it already ran.", classes="note")
            with Horizontal(classes="buttons"):
                yield Button("Cancel the order (enter)", id="confirm", variant="error")
                yield Button("Keep it (esc)", id="cancel")


class ModifyOrder(ModalScreen[OrderAction | None]):
    """New quantity and prices for an open order; empty fields keep their value. Returns the
    modify to send (to every broker where the order is open), ``None`` on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, record: OrderRecord) -> None:
        super().__init__()
        self.record = record

    def compose(self) -> ComposeResult:
        now = open_holdings(self.record)[0]
        targets = tuple(h.broker_id for h in open_holdings(self.record))
        with Vertical(id="dialog"):
            yield Label(f"MODIFY ORDER {self.record.order_ref}", classes="dialog-title")
            yield Static(Text(describe_order(self.record.order), style="bold"))
            yield Static(holders_text(self.record, targets), id="holders")
            for field, label, value, usable in (
                    ("qty", "Qty", f"{now.qty:,}", True),
                    ("price", "Price", price(now.price), now.order_type in PRICED_TYPES),
                    ("trigger_price", "Trigger", price(now.trigger_price), now.order_type in TRIGGERED_TYPES)):
                with Horizontal(classes="choice"):
                    yield Label(label, classes="choice-label")
                    yield Input(placeholder=f"now {value}", id=f"modify-{field}", restrict=r"[0-9.,_]*",
                                disabled=not usable, compact=True)
            yield Static("", id="modify-error", classes="warning")
            with Horizontal(classes="buttons"):
                yield Button("Modify (enter)", id="confirm", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#modify-qty", Input).focus()

    def _typed(self, field: str) -> str:
        return self.query_one(f"#modify-{field}", Input).value

    @on(Input.Submitted)
    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        result = build_modify(self.record, self._typed("qty"), self._typed("price"), self._typed("trigger_price"))
        if isinstance(result, OrderAction):
            self.dismiss(result)
            return
        self.query_one("#modify-error", Static).update(
            "\n".join(f"{field.replace('_', ' ')}: {message}" if field != "order" else message
                      for field, message in result.items()))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)
