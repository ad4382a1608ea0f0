"""The desk: kill switch across the top, order entry on the left, health, blotter and the
audit stream on the right. Worker results arrive here as messages and go to their widget."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer

from ordo_tui.errors import ActionRefused, ActionUnconfirmed, OrderRefused, OrderUnconfirmed
from ordo_tui.messages import (
    ActionAnswered,
    ActionFailed,
    ActionSending,
    AuditBatch,
    Flattened,
    HealthReceived,
    KillSwitchPending,
    KillSwitchReceived,
    LinkChanged,
    OrderAnswered,
    OrderRefreshed,
    OrderResolved,
    OrderSending,
    OrdersLoaded,
)
from ordo_tui.model.kill_switch import flatten_summary
from ordo_tui.widgets.audit.stream import AuditStream
from ordo_tui.widgets.blotter.table import Blotter
from ordo_tui.widgets.header.connection_bar import ConnectionBar
from ordo_tui.widgets.health.panel import BrokerHealthPanel
from ordo_tui.widgets.kill_switch.banner import KillSwitchBanner
from ordo_tui.widgets.order_entry.form import OrderForm
from ordo_tui.widgets.order_entry.results import OrderResults


class MainScreen(Screen[None]):
    AUTO_FOCUS = "#symbol"

    def __init__(self, audit_cap: int, blotter_cap: int) -> None:
        super().__init__()
        self._audit_cap = audit_cap
        self._blotter_cap = blotter_cap

    def compose(self) -> ComposeResult:
        yield ConnectionBar(id="link")
        yield KillSwitchBanner(id="kill")
        with Horizontal(id="desk"):
            with Vertical(id="left"):
                yield OrderForm(id="order-form")
                yield OrderResults(id="order-results")
            with Vertical(id="right"):
                yield BrokerHealthPanel(id="health")
                yield Blotter(self._blotter_cap, id="blotter")
                yield AuditStream(self._audit_cap, id="audit")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#health").border_title = "Brokers"

    @property
    def banner(self) -> KillSwitchBanner:
        return self.query_one(KillSwitchBanner)

    @property
    def form(self) -> OrderForm:
        return self.query_one(OrderForm)

    @property
    def results(self) -> OrderResults:
        return self.query_one(OrderResults)

    @property
    def blotter(self) -> Blotter:
        return self.query_one(Blotter)

    @property
    def audit(self) -> AuditStream:
        return self.query_one(AuditStream)

    @property
    def health(self) -> BrokerHealthPanel:
        return self.query_one(BrokerHealthPanel)

    def on_link_changed(self, message: LinkChanged) -> None:
        self.query_one(ConnectionBar).show(message.status)
        self.banner.set_stale(message.status.state != "connected")

    def on_health_received(self, message: HealthReceived) -> None:
        health = message.health
        self.health.show(health)
        self.banner.show(health.kill_switch)
        self.form.set_brokers(health.brokers, frozenset(health.kill_switch.isolated))
        self.audit.set_brokers([b.broker_id for b in health.brokers])

    def on_kill_switch_received(self, message: KillSwitchReceived) -> None:
        self.banner.show(message.state)

    def on_kill_switch_pending(self, message: KillSwitchPending) -> None:
        self.banner.set_pending(message.change.pending if message.change else None)

    def on_flattened(self, message: Flattened) -> None:
        self.results.flattened(message.change, message.results)
        failed = any(r.status != "success" for r in message.results)
        scope = "every broker" if message.change.scope == "global" else message.change.scope
        self.notify(flatten_summary(message.results), title=f"Flatten at {scope}",
                    severity="warning" if failed else "information", timeout=10)

    def on_orders_loaded(self, message: OrdersLoaded) -> None:
        self.blotter.show_all(message.orders)

    def on_order_sending(self, message: OrderSending) -> None:
        self.results.sending(message.submission)

    def on_order_answered(self, message: OrderAnswered) -> None:
        self.results.answered(message.submission, message.reply)

    def on_order_refreshed(self, message: OrderRefreshed) -> None:
        self.blotter.upsert(message.record)

    def on_action_sending(self, message: ActionSending) -> None:
        self.results.action_sending(message.submission)

    def on_action_answered(self, message: ActionAnswered) -> None:
        self.results.action_answered(message.submission, message.reply)

    def on_order_resolved(self, message: OrderResolved) -> None:
        self.results.resolved(message.record)
        self.blotter.upsert(message.record)

    def on_audit_batch(self, message: AuditBatch) -> None:
        self.audit.add_batch(message.events, message.restart)

    def on_action_failed(self, message: ActionFailed) -> None:
        error = message.error
        if isinstance(error, OrderUnconfirmed):
            self.results.unconfirmed(error)
        elif isinstance(error, OrderRefused):
            self.results.refused(error)
            self.form.show_remote_error(error.field, error.message)
        elif isinstance(error, ActionUnconfirmed):
            self.results.action_unconfirmed(error)
        elif isinstance(error, ActionRefused):
            self.results.action_refused(error)
