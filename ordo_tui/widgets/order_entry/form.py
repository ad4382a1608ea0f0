"""Order entry: every field checked where it is typed, before anything is sent."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Checkbox, Input, Label, RadioButton, RadioSet, Select

from ordo_shared.models import BrokerHealth, OrderSpec
from ordo_tui.model.order_form import (
    FIELDS,
    FieldErrors,
    FormValues,
    build_order,
    field_error,
    needs_price,
    needs_trigger,
)

ORDER_TYPES = ("MARKET", "LIMIT", "SL", "SL-M")
PRODUCTS = ("INTRADAY", "CNC", "MARGIN")
VALIDITIES = ("DAY", "IOC")
_TYPED = ("symbol", "qty", "price", "trigger_price")


def _row(label: str, field: str, control: Widget) -> ComposeResult:
    with Horizontal(classes="field", id=f"row-{field}"):
        yield Label(label, classes="field-label")
        yield control
    yield Label("", classes="field-error", id=f"{field}-error")


class OrderForm(Vertical):
    class SendRequested(Message):
        """Enter in a field, or the Send button: the app validates and asks to confirm."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._marks: dict[str, str | None] = {}
        """The message each field shows now (absent: none yet)."""

    def compose(self) -> ComposeResult:
        yield from _row("Symbol", "symbol", Input(placeholder="NSE:SBIN-EQ", id="symbol", compact=True))
        yield from _row("Side", "side", RadioSet(RadioButton("BUY", value=True, id="side-buy"),
                                                 RadioButton("SELL", id="side-sell"), id="side"))
        yield from _row("Qty", "qty", Input(placeholder="10", id="qty", restrict=r"[0-9,_]*", compact=True))
        yield from _row("Type", "order_type", Select([(t, t) for t in ORDER_TYPES], value="MARKET",
                                                     allow_blank=False, id="order_type", compact=True))
        yield from _row("Price", "price", Input(placeholder="limit price", id="price", restrict=r"[0-9.,_]*",
                                                disabled=True, compact=True))
        yield from _row("Trigger", "trigger_price", Input(placeholder="trigger price", id="trigger_price",
                                                          restrict=r"[0-9.,_]*", disabled=True, compact=True))
        yield from _row("Product", "product", Select([(p, p) for p in PRODUCTS], value="INTRADAY",
                                                     allow_blank=False, id="product", compact=True))
        yield from _row("Validity", "validity", Select([(v, v) for v in VALIDITIES], value="DAY",
                                                       allow_blank=False, id="validity", compact=True))
        yield from _row("Brokers", "brokers", Horizontal(id="brokers"))
        yield Button("Send BUY", id="send", variant="success", compact=True)

    def on_mount(self) -> None:
        self.border_title = "Order entry"
        self.add_class("-buy")

    # -- reading the form ---------------------------------------------------------------

    def values(self) -> FormValues:
        side = self.query_one("#side", RadioSet).pressed_button
        return FormValues(
            symbol=self.query_one("#symbol", Input).value,
            side="SELL" if side is not None and side.id == "side-sell" else "BUY",
            qty=self.query_one("#qty", Input).value,
            order_type=str(self.query_one("#order_type", Select).value),
            price=self.query_one("#price", Input).value,
            trigger_price=self.query_one("#trigger_price", Input).value,
            product=str(self.query_one("#product", Select).value),
            validity=str(self.query_one("#validity", Select).value),
            brokers=tuple(str(box.name) for box in self.query("#brokers Checkbox").results(Checkbox)
                          if box.value and not box.disabled),
        )

    def validate_all(self) -> OrderSpec | None:
        """The order, or ``None`` with every problem marked at its field."""
        result = build_order(self.values())
        if isinstance(result, OrderSpec):
            self.show_errors({})
            return result
        self.show_errors(result)
        return None

    def show_errors(self, errors: FieldErrors) -> None:
        for field in FIELDS:
            self._mark(field, errors.get(field))
        if "order" in errors:
            self._mark("symbol", errors["order"])

    def show_remote_error(self, field: str | None, message: str) -> None:
        """A refusal naming a field (``order.qty``) is shown at that field."""
        if field and field.startswith("order."):
            self._mark(field.removeprefix("order.").split(".")[0], message)

    def _mark(self, field: str, message: str | None) -> None:
        if self._marks.get(field) == message:
            # Every key lands here. Updating a label lays the whole screen out again, so only
            # a message that changes does it.
            return
        self._marks[field] = message
        row = self.query(f"#row-{field}")
        if row:
            row.first().set_class(message is not None, "-invalid")
        error = self.query(f"#{field}-error")
        if error:
            error.first(Label).update(message or "")
            error.first().set_class(message is not None, "-shown")

    # -- brokers come from the daemon ---------------------------------------------------

    def set_brokers(self, brokers: list[BrokerHealth], isolated: frozenset[str] = frozenset()) -> None:
        """Default: route to every enabled broker. A disabled broker cannot be chosen, nor an
        isolated one (the kill switch would refuse it) until it is released."""
        box = self.query_one("#brokers", Horizontal)
        have = {str(c.name): c for c in box.query(Checkbox).results(Checkbox)}
        for b in brokers:
            closed = not b.enabled or b.broker_id in isolated
            if b.broker_id not in have:
                box.mount(Checkbox(b.broker_id, value=b.enabled, name=b.broker_id, disabled=closed,
                                   id=f"broker-{b.broker_id}", compact=True))
            elif have[b.broker_id].disabled != closed:
                have[b.broker_id].disabled = closed

    # -- live behaviour -----------------------------------------------------------------

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        field = event.input.id or ""
        if field in _TYPED:
            self._mark(field, field_error(self.values(), field))

    @on(Select.Changed, "#order_type")
    def _type_changed(self, event: Select.Changed) -> None:
        order_type = str(event.value)
        self.query_one("#price", Input).disabled = not needs_price(order_type)
        self.query_one("#trigger_price", Input).disabled = not needs_trigger(order_type)
        self._mark("price", None)
        self._mark("trigger_price", None)

    @on(RadioSet.Changed, "#side")
    def _side_changed(self, event: RadioSet.Changed) -> None:
        sell = event.pressed.id == "side-sell"
        self.set_class(sell, "-sell")
        self.set_class(not sell, "-buy")
        send = self.query_one("#send", Button)
        send.label = "Send SELL" if sell else "Send BUY"
        send.variant = "error" if sell else "success"

    @on(Checkbox.Changed)
    def _brokers_changed(self, event: Checkbox.Changed) -> None:
        self._mark("brokers", None if self.values().brokers else "route to at least one broker")

    @on(Input.Submitted)
    @on(Button.Pressed, "#send")
    def _send(self, event: Input.Submitted | Button.Pressed) -> None:
        event.stop()
        self.post_message(self.SendRequested())
