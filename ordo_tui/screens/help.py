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
| `ctrl+k` or click the banner | kill switch: engage (asks a reason) / release (asks to confirm) |
| `ctrl+o` | jump to order entry |
| `enter` in a field, `ctrl+s` | check the order and show the confirmation with its fan-out |
| `ctrl+f` | filter the audit stream (event types, comma-separated) |
| `ctrl+r` | reconnect now and reload orders |
| `ctrl+l` | broker login: start it, then enter the OTP (HDFC) or the auth code / address (Fyers) |
| `ctrl+p` | command palette |
| `?` / `f1` | this help · `ctrl+q` quit |

**Kill switch**: red when on, with reason, who and when; no new order reaches any broker.
**Brokers**: session, circuit breaker (closed / half-open / open), last latency, error rate, last error.
**Order entry**: price and trigger are enabled only for order types that use them; problems are
marked at the field before anything is sent. A re-send after a timeout reuses the idempotency key.
**Orders**: the daemon's recent orders, newest first, with each broker's result.
**Audit**: every audit event, newest at the bottom, capped; missed events are fetched again.

All times are UTC.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark,f1", "dismiss(None)", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog", classes="help"):
            yield Markdown(HELP)
