"""The kill switch, always in view: calm when off, loud red when on, and clickable."""

from __future__ import annotations

from rich.text import Text
from textual.events import Click
from textual.message import Message
from textual.widgets import Static

from ordo_shared.models import KillSwitchState
from ordo_tui.model.formatting import utc_stamp
from ordo_tui.widgets.text import same_text


class KillSwitchBanner(Static):
    class Toggle(Message):
        """The trader clicked the banner."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state: KillSwitchState | None = None
        self.pending: str | None = None
        """What was asked and not yet answered ("isolating hdfc"), for the banner to say."""
        self.stale = True
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self._draw()

    def on_click(self, event: Click) -> None:
        self.post_message(self.Toggle())

    def show(self, state: KillSwitchState) -> None:
        """The daemon's latest word: a reply, an audit event or a health snapshot."""
        self.state = state
        self._draw()

    def set_pending(self, pending: str | None) -> None:
        self.pending = pending
        self._draw()

    def set_stale(self, stale: bool) -> None:
        self.stale = stale
        self._draw()

    def _draw(self) -> None:
        state = self.state
        self.set_class(state is not None and state.active, "-on")
        self.set_class(state is not None and not state.active, "-off")
        self.set_class(state is None, "-unknown")
        if state is None:
            text = Text("KILL SWITCH: state unknown (not connected yet)")
        elif state.active:
            text = Text.assemble(("■ KILL SWITCH ON ■", "bold"), "  no new order reaches any broker\n",
                                 f"reason: {state.reason or '(none given)'}   ·   set by {state.set_by or '?'} "
                                 f"at {utc_stamp(state.set_at)}   ·   ctrl+k or click to release")
        else:
            text = Text.assemble(("KILL SWITCH OFF", "bold"), "  orders flow to the brokers   ·   "
                                 "ctrl+k or click to engage")
            if state.set_by:
                text.append(f"   ·   released by {state.set_by} at {utc_stamp(state.set_at)}", style="dim")
        if state is not None and state.isolated:
            isolated = ", ".join(f"{b} ({i.reason or 'no reason'})" for b, i in sorted(state.isolated.items()))
            text.append(f"   ·   isolated: {isolated}", style="bold")
        if self.pending is not None:
            text.append(f"   [{self.pending}…]", style="bold blink")
        if self.stale and state is not None:
            text.append("   (last known: daemon not reachable)", style="italic")
        if not same_text(text, self._shown):
            # Every health snapshot lands here, and an update lays the whole screen out again.
            self._shown = text
            self.update(text)
