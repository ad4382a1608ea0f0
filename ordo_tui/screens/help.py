"""``?``: what each key does and what each panel shows."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Ordo trading desk

| key | action |
|---|---|
| `ctrl+k` or click the banner | kill switch: engage (reason, scope, flatten) / release (asks to confirm) |
| `ctrl+o` | jump to order entry |
| `enter` in a field, `ctrl+s` | check the order and show the confirmation with its fan-out |
| `ctrl+b` | jump to the orders blotter (arrows select an order) |
| `delete` / `ctrl+x` in the blotter | cancel the selected order at every broker where it is open (asks to confirm) |
| `ctrl+e` in the blotter | modify the selected order: new quantity, price or trigger |
| `ctrl+f` | filter the audit stream (event types, comma-separated) |
| `ctrl+r` | reconnect now and reload orders |
| `ctrl+l` | broker login: start it, then enter the OTP (HDFC) or the auth code / address (Fyers) |
| `ctrl+p` | command palette (also: engage / isolate / flatten, release a broker, cancel, modify) |
| `?` / `f1` | this help · `ctrl+q` quit |

**Kill switch**: red when on, with reason, who and when; no new order reaches any broker.
Its dialog also isolates one broker (scope), and **flatten** cancels every open order in scope;
the flatten's results show under *Last action* and in a notice. Pick an isolated broker in the
same dialog to release it (an explicit `y` follows).
**Brokers**: session, circuit breaker (closed / half-open / open / isolated), last latency, error rate, last error.
**Order entry**: price and trigger are enabled only for order types that use them; problems are
marked at the field before anything is sent. A re-send after a timeout reuses the idempotency key.
An isolated broker cannot be chosen until it is released.
**Orders**: the daemon's recent orders, newest first (the ref coloured by how placement went),
with each broker's live state on its own line: open, partially filled, filled (quantity @ average
price), cancelled, rejected with the broker's reason, expired. Cancels and modifies get their own
idempotency key, reused if the answer never came.
**Audit**: every audit event, newest at the bottom, capped; missed events are fetched again.

All times are UTC.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="help"):
            yield Markdown(HELP)
