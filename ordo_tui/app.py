"""The trading-desk TUI: the App, its key bindings and palette commands, and the one place
worker failures are handled. Daemon traffic lives in ``controller``, widgets in ``widgets/``."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import PurePath
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import ModalScreen, Screen
from textual.worker import Worker, WorkerState

from ordo_shared.client_config import ClientSettings
from ordo_shared.models import OrderRecord
from ordo_tui.controller import DeskController, DeskOptions
from ordo_tui.errors import TuiError, describe
from ordo_tui.link import DaemonLink, DeskLink
from ordo_tui.messages import ActionFailed
from ordo_tui.model.kill_switch import KillSwitchChange, active_scopes
from ordo_tui.model.order_actions import OrderAction, cancel_of, holdings, open_holdings
from ordo_tui.model.submissions import Submission
from ordo_tui.runtime import tune_for_latency
from ordo_tui.screens.confirm_order import ConfirmOrder
from ordo_tui.screens.help import HelpScreen
from ordo_tui.screens.kill_switch import EngageKillSwitch, ReleaseKillSwitch
from ordo_tui.screens.login import LoginScreen
from ordo_tui.screens.main import MainScreen
from ordo_tui.screens.order_action import ConfirmCancel, ModifyOrder
from ordo_tui.widgets.blotter.table import Blotter
from ordo_tui.widgets.kill_switch.banner import KillSwitchBanner
from ordo_tui.widgets.order_entry.form import OrderForm

log = logging.getLogger("ordo_tui")


class OrdoApp(App[int]):
    TITLE = "Ordo"
    CSS_PATH: ClassVar[list[str | PurePath]] = ["styles/desk.tcss", "styles/dialogs.tcss"]
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+k", "kill_switch", "Kill switch", priority=True),
        Binding("ctrl+s", "send_order", "Send", priority=True),
        Binding("ctrl+o", "focus_order", "Order", priority=True),
        Binding("ctrl+b", "focus_blotter", "Orders", priority=True),
        Binding("ctrl+f", "focus_filter", "Filter", priority=True),
        Binding("ctrl+r", "reconnect", "Reconnect", priority=True),
        Binding("ctrl+l", "login", "Login", priority=True, show=False),  # in help and the palette
        Binding("f1", "help", "Help"),
        Binding("question_mark", "help", "Help", show=False),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, link: DeskLink, options: DeskOptions | None = None) -> None:
        super().__init__()
        self.options = options or DeskOptions()
        self.controller = DeskController(self, link, self.options)

    def get_default_screen(self) -> Screen[None]:
        return MainScreen(self.options.audit_cap, self.options.blotter_cap)

    @property
    def desk(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    def on_ready(self) -> None:
        if self.options.tune_gc:
            tune_for_latency()
        self.controller.start(self.desk.post_message)

    # -- the one place worker failures land -------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR or event.worker.error is None:
            return
        error = describe(event.worker.error)
        if not isinstance(event.worker.error, TuiError) and event.worker.group in ("orders", "replay", "stream"):
            # Background refreshes: the header already says the daemon is down, and the
            # next reconnect redoes them. Not worth a pop-up each.
            log.info("%s worker failed: %s", event.worker.group, error.message)
            return
        self.notify(error.message, title=error.title, severity=error.severity, timeout=8)
        self.desk.post_message(ActionFailed(error))

    # -- actions ----------------------------------------------------------------------

    def action_kill_switch(self) -> None:
        """The emergency key: release when the global switch is on, engage otherwise."""
        state = self.desk.banner.state
        if state is not None and state.active:
            self.action_release_kill_switch()
        else:
            self.action_engage_kill_switch()

    def action_engage_kill_switch(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return  # one dialog at a time
        snapshot = self.desk.health.snapshot
        brokers = [b.broker_id for b in snapshot.brokers] if snapshot else []
        self.push_screen(EngageKillSwitch(self.desk.banner.state, brokers), self._engage_chosen)

    def action_release_kill_switch(self, scope: str | None = None) -> None:
        state = self.desk.banner.state
        if isinstance(self.screen, ModalScreen) or state is None:
            return
        if not active_scopes(state):
            self.notify("The kill switch is off and no broker is isolated.", title="Nothing to release")
            return
        self.push_screen(ReleaseKillSwitch(state, scope), self._release_chosen)

    def _engage_chosen(self, change: KillSwitchChange | None) -> None:
        if change is not None and change.active:
            self.controller.set_kill_switch(change)
        elif change is not None:
            # An isolated broker picked in the engage dialog: its release still needs the
            # explicit yes of the release dialog, once this one is gone.
            self.call_later(self.action_release_kill_switch, change.scope)

    def _release_chosen(self, change: KillSwitchChange | None) -> None:
        if change is not None:
            self.controller.set_kill_switch(change)

    def on_kill_switch_banner_toggle(self, message: KillSwitchBanner.Toggle) -> None:
        self.action_kill_switch()

    def on_order_form_send_requested(self, message: OrderForm.SendRequested) -> None:
        self.action_send_order()

    def action_send_order(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        spec = self.desk.form.validate_all()
        if spec is None:
            self.notify("Fix the marked fields first.", title="Order not sent", severity="warning")
            return
        if self.controller.tracker.sending is not None:
            self.notify("The previous order is still waiting for its answer.", severity="warning")
            return
        submission = self.controller.tracker.prepare(spec)
        state = self.desk.banner.state

        def confirmed(ok: bool | None) -> None:
            if ok and not self.controller.submit(submission):
                self.notify("The previous order is still waiting for its answer.", severity="warning")

        self.push_screen(ConfirmOrder(submission, state is not None and state.active), confirmed)

    def action_focus_order(self) -> None:
        self.desk.form.query_one("#symbol").focus()

    def action_focus_blotter(self) -> None:
        self.desk.blotter.focus()

    # -- cancel and modify the order selected in the blotter ----------------------------

    def on_blotter_action_requested(self, message: Blotter.ActionRequested) -> None:
        if message.kind == "cancel":
            self.action_cancel_order()
        else:
            self.action_modify_order()

    def _selected_open_order(self, verb: str) -> OrderRecord | None:
        """The blotter's selected order if something can be done with it; else says why not."""
        if isinstance(self.screen, ModalScreen):
            return None
        record = self.desk.blotter.selected()
        if record is None:
            self.notify("Select an order in the blotter first (ctrl+b).", title=f"Nothing to {verb}")
        elif not open_holdings(record):
            states = ", ".join(f"{h.state} at {h.broker_id}" for h in holdings(record)) or "no broker accepted it"
            self.notify(f"{record.order_ref} is not open at any broker ({states}).", title=f"Nothing to {verb}")
        elif self.controller.actions.sending is not None:
            self.notify("The previous cancel or modify is still waiting for its answer.", severity="warning")
        else:
            return record
        return None

    def action_cancel_order(self) -> None:
        record = self._selected_open_order("cancel")
        action = cancel_of(record) if record is not None else None
        if record is None or action is None:
            return
        submission = self.controller.actions.prepare(action)
        self.push_screen(ConfirmCancel(record, submission), lambda ok: self._act(submission) if ok else None)

    def action_modify_order(self) -> None:
        record = self._selected_open_order("modify")
        if record is not None:
            self.push_screen(ModifyOrder(record), self._modified)

    def _modified(self, action: OrderAction | None) -> None:
        if action is not None:
            self._act(self.controller.actions.prepare(action))

    def _act(self, submission: Submission[OrderAction]) -> None:
        if not self.controller.act(submission):
            self.notify("The previous cancel or modify is still waiting for its answer.", severity="warning")

    def action_focus_filter(self) -> None:
        self.desk.audit.query_one("#audit-types").focus()

    def action_reconnect(self) -> None:
        self.controller.reconnect()

    def action_login(self) -> None:
        if isinstance(self.screen, ModalScreen):
            return
        snapshot = self.desk.health.snapshot
        self.push_screen(LoginScreen(snapshot.brokers if snapshot else [], self.controller))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield SystemCommand("Kill switch", "Engage or release the kill switch", self.action_kill_switch)
        yield SystemCommand("Kill switch: engage, isolate or flatten",
                            "Stop everything or one broker; optionally cancel every open order in scope",
                            self.action_engage_kill_switch)
        yield SystemCommand("Kill switch: release", "Release the global switch or an isolated broker",
                            self.action_release_kill_switch)
        yield SystemCommand("Cancel order", "Cancel the order selected in the blotter at every broker holding it",
                            self.action_cancel_order)
        yield SystemCommand("Modify order", "Change the quantity or price of the order selected in the blotter",
                            self.action_modify_order)
        yield SystemCommand("Orders blotter", "Jump to the orders blotter to select an order",
                            self.action_focus_blotter)
        yield SystemCommand("Send order", "Check the order form and confirm the fan-out", self.action_send_order)
        yield SystemCommand("Order entry", "Jump to the order form", self.action_focus_order)
        yield SystemCommand("Filter audit", "Filter the audit stream by type", self.action_focus_filter)
        yield SystemCommand("Reconnect", "Reconnect to ordod now and reload orders", self.action_reconnect)
        yield SystemCommand("Broker login", "The daily login: start it, then enter the OTP or auth code",
                            self.action_login)
        yield SystemCommand("Help", "Key bindings and what each panel shows", self.action_help)
        yield from super().get_system_commands(screen)


def make_app(link: DeskLink, options: DeskOptions | None = None) -> OrdoApp:
    """The app on any link: ``DaemonLink`` in production, an in-process daemon or a scripted
    link in tests."""
    return OrdoApp(link, options)


TERMINAL = DeskOptions(tune_gc=True)
"""The options of the desk in a terminal (``ordo up``, ``ordo tui``)."""


def run_tui(settings: ClientSettings) -> int:
    link = DaemonLink(settings)
    try:
        return make_app(link, TERMINAL).run() or 0
    finally:
        link.close()
