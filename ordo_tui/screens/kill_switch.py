"""The two kill-switch dialogs: ON takes a reason and one confirm; OFF needs an explicit yes."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from ordo_shared.models import KillSwitchState
from ordo_tui.model.formatting import utc_stamp


class EngageKillSwitch(ModalScreen[str | None]):
    """Returns the reason (possibly empty) on confirm, ``None`` on cancel."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger"):
            yield Label("ENGAGE THE KILL SWITCH", classes="dialog-title")
            yield Static("No new order will reach any broker until it is released.\n"
                         "Orders already at the brokers are not cancelled.")
            yield Input(placeholder="reason, e.g. fat finger on desk 2", id="reason", max_length=500)
            with Horizontal(classes="buttons"):
                yield Button("ENGAGE (enter)", id="engage", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#engage")
    def _engage(self) -> None:
        self.dismiss(self.query_one("#reason", Input).value.strip())

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


class ReleaseKillSwitch(ModalScreen[bool]):
    """Returns True only on an explicit "release"; Enter on the default button keeps it on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(False)", "Keep it on"),
        Binding("y", "dismiss(True)", "Release"),
    ]

    def __init__(self, state: KillSwitchState) -> None:
        super().__init__()
        self.state = state

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="caution"):
            yield Label("RELEASE THE KILL SWITCH?", classes="dialog-title")
            yield Static(f"It was set by {self.state.set_by or '?'} at {utc_stamp(self.state.set_at)}\n"
                         f"reason: {self.state.reason or '(none given)'}\n\n"
                         "Once released, new orders flow to the brokers again.")
            with Horizontal(classes="buttons"):
                yield Button("Keep it ON (n)", id="keep", variant="primary")
                yield Button("Release (y)", id="release", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @on(Button.Pressed, "#release")
    def _release(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#keep")
    def _keep(self) -> None:
        self.dismiss(False)
