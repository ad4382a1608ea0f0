"""The two kill-switch dialogs. ON takes a reason, a scope (everything, or one broker to
isolate), an optional flatten, and one confirm; OFF needs an explicit yes for the scope chosen."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ordo_shared.models import KillSwitchState
from ordo_tui.model.formatting import utc_stamp
from ordo_tui.model.kill_switch import GLOBAL, KillSwitchChange, active_scopes


def _engage_text(scope: str, state: KillSwitchState | None) -> str:
    if state is not None and scope in state.isolated:
        return f"{scope} is isolated. Enter asks to release it (an explicit yes follows)."
    if scope != GLOBAL:
        return (f"Isolate {scope}: no new order reaches it; orders still go to the other brokers.\n"
                "Its health shows ISOLATED until it is released.")
    on = state is not None and state.active
    again = "It is already ON: engaging again changes nothing, a flatten still runs.\n" if on else ""
    return f"{again}No new order will reach any broker until it is released."


class EngageKillSwitch(ModalScreen[KillSwitchChange | None]):
    """Returns the change to make, ``None`` on cancel. Choosing a broker that is already
    isolated returns its release (``active=False``), which the app then asks to confirm."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss(None)", "Cancel")]

    def __init__(self, state: KillSwitchState | None, brokers: list[str]) -> None:
        super().__init__()
        self.state = state
        self.brokers = brokers

    def compose(self) -> ComposeResult:
        isolated = self.state.isolated if self.state else {}
        scopes = [("everything (global)", GLOBAL)] + [
            (f"{b}: isolated (release it…)" if b in isolated else f"{b} only (isolate it)", b) for b in self.brokers]
        with Vertical(id="dialog", classes="danger"):
            yield Label("ENGAGE THE KILL SWITCH", classes="dialog-title")
            yield Static(_engage_text(GLOBAL, self.state), id="engage-text")
            yield Input(placeholder="reason, e.g. fat finger on desk 2", id="reason", max_length=500)
            with Horizontal(classes="choice"):
                yield Label("Scope", classes="choice-label")
                yield Select(scopes, value=GLOBAL, allow_blank=False, id="scope", compact=True)
            yield Checkbox("Flatten: also cancel every open order in scope", id="flatten", compact=True)
            with Horizontal(classes="buttons"):
                yield Button("ENGAGE (enter)", id="engage", variant="error")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#reason", Input).focus()

    @property
    def scope(self) -> str:
        return str(self.query_one("#scope", Select).value)

    @property
    def releasing(self) -> bool:
        return self.state is not None and self.scope in self.state.isolated

    @on(Select.Changed, "#scope")
    def _scope_changed(self) -> None:
        self.query_one("#engage-text", Static).update(_engage_text(self.scope, self.state))
        releasing = self.releasing
        self.query_one("#reason", Input).disabled = releasing
        self.query_one("#flatten", Checkbox).disabled = releasing
        engage = self.query_one("#engage", Button)
        engage.label = f"Release {self.scope}… (enter)" if releasing else (
            "ENGAGE (enter)" if self.scope == GLOBAL else f"ISOLATE {self.scope} (enter)")
        engage.variant = "warning" if releasing else "error"

    @on(Input.Submitted, "#reason")
    @on(Button.Pressed, "#engage")
    def _engage(self) -> None:
        if self.releasing:
            self.dismiss(KillSwitchChange(active=False, scope=self.scope))
            return
        self.dismiss(KillSwitchChange(active=True, scope=self.scope,
                                      reason=self.query_one("#reason", Input).value.strip(),
                                      flatten=self.query_one("#flatten", Checkbox).value))

    @on(Button.Pressed, "#cancel")
    def _cancel(self) -> None:
        self.dismiss(None)


def _release_text(scope: str, state: KillSwitchState) -> str:
    if scope == GLOBAL:
        by, at, reason = state.set_by, state.set_at, state.reason
        after = "Once released, new orders flow to the brokers again."
    else:
        iso = state.isolated[scope]
        by, at, reason = iso.set_by, iso.set_at, iso.reason
        after = f"Once released, new orders reach {scope} again."
    return f"It was set by {by or '?'} at {utc_stamp(at)}\nreason: {reason or '(none given)'}\n\n{after}"


class ReleaseKillSwitch(ModalScreen[KillSwitchChange | None]):
    """Returns the release only on an explicit "release"; Enter on the default button keeps it on."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,n", "dismiss(None)", "Keep it on"),
        Binding("y", "release", "Release"),
    ]

    def __init__(self, state: KillSwitchState, scope: str | None = None) -> None:
        super().__init__()
        self.state = state
        self.scopes = active_scopes(state)
        self.initial = scope if scope in self.scopes else self.scopes[0]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="caution"):
            yield Label("RELEASE THE KILL SWITCH?", classes="dialog-title")
            if len(self.scopes) > 1:
                with Horizontal(classes="choice"):
                    yield Label("Scope", classes="choice-label")
                    yield Select([("everything (global)" if s == GLOBAL else f"{s} (isolated)", s)
                                  for s in self.scopes], value=self.initial, allow_blank=False, id="release-scope",
                                 compact=True)
            yield Static(_release_text(self.initial, self.state), id="release-text")
            with Horizontal(classes="buttons"):
                yield Button("Keep it ON (n)", id="keep", variant="primary")
                yield Button("Release (y)", id="release", variant="warning")

    def on_mount(self) -> None:
        self.query_one("#keep", Button).focus()

    @property
    def scope(self) -> str:
        select = self.query("#release-scope")
        return str(select.first(Select).value) if select else self.initial

    @on(Select.Changed, "#release-scope")
    def _scope_changed(self) -> None:
        self.query_one("#release-text", Static).update(_release_text(self.scope, self.state))

    @on(Button.Pressed, "#release")
    def action_release(self) -> None:
        self.dismiss(KillSwitchChange(active=False, scope=self.scope))

    @on(Button.Pressed, "#keep")
    def _keep(self) -> None:
        self.dismiss(None)
