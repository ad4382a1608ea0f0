"""Messages the desk's workers post to the main screen: every result of daemon I/O
reaches the widgets this way, on the UI's message loop."""

from __future__ import annotations

from textual.message import Message

from ordo_shared.messages import LoginCompleteReply, LoginStartReply
from ordo_shared.models import (
    Event,
    FlattenResult,
    HealthSnapshot,
    KillSwitchState,
    OrderActionReply,
    OrderRecord,
    PlaceOrderReply,
)
from ordo_tui.errors import TuiError
from ordo_tui.model.kill_switch import KillSwitchChange
from ordo_tui.model.link_status import LinkStatus
from ordo_tui.model.order_actions import OrderAction
from ordo_tui.model.submissions import OrderSubmission, Submission


class LinkChanged(Message):
    def __init__(self, status: LinkStatus) -> None:
        super().__init__()
        self.status = status


class HealthReceived(Message):
    def __init__(self, health: HealthSnapshot) -> None:
        super().__init__()
        self.health = health


class KillSwitchReceived(Message):
    """A kill-switch state from a reply or the audit stream (health snapshots carry it too)."""

    def __init__(self, state: KillSwitchState) -> None:
        super().__init__()
        self.state = state


class KillSwitchPending(Message):
    """A change was requested and not answered yet (``None``: no longer pending)."""

    def __init__(self, change: KillSwitchChange | None) -> None:
        super().__init__()
        self.change = change


class Flattened(Message):
    """The daemon's report of a flatten: one result per open order and broker."""

    def __init__(self, change: KillSwitchChange, results: list[FlattenResult]) -> None:
        super().__init__()
        self.change = change
        self.results = results


class OrdersLoaded(Message):
    def __init__(self, orders: list[OrderRecord]) -> None:
        super().__init__()
        self.orders = orders


class OrderSending(Message):
    def __init__(self, submission: OrderSubmission) -> None:
        super().__init__()
        self.submission = submission


class OrderAnswered(Message):
    def __init__(self, submission: OrderSubmission, reply: PlaceOrderReply) -> None:
        super().__init__()
        self.submission = submission
        self.reply = reply


class ActionSending(Message):
    """A cancel or modify went out and is waiting for its per-broker answer."""

    def __init__(self, submission: Submission[OrderAction]) -> None:
        super().__init__()
        self.submission = submission


class ActionAnswered(Message):
    def __init__(self, submission: Submission[OrderAction], reply: OrderActionReply) -> None:
        super().__init__()
        self.submission = submission
        self.reply = reply


class OrderRefreshed(Message):
    """One order as the daemon has it now (its tracking changed, or it was cancelled or modified)."""

    def __init__(self, record: OrderRecord) -> None:
        super().__init__()
        self.record = record


class OrderResolved(Message):
    """An order whose answer was lost, found in the daemon's store after reconnecting."""

    def __init__(self, record: OrderRecord) -> None:
        super().__init__()
        self.record = record


class AuditBatch(Message):
    def __init__(self, events: list[Event], restart: bool = False) -> None:
        super().__init__()
        self.events = events
        self.restart = restart
        """True when the sequence started over: the rows shown so far belong to another history."""


class ActionFailed(Message):
    def __init__(self, error: TuiError) -> None:
        super().__init__()
        self.error = error


class LoginStarted(Message):
    """The broker's answer to ``login_start``: open a URL, or type the OTP it sent."""

    def __init__(self, reply: LoginStartReply) -> None:
        super().__init__()
        self.reply = reply


class LoginCompleted(Message):
    def __init__(self, reply: LoginCompleteReply) -> None:
        super().__init__()
        self.reply = reply


class LoginRefused(Message):
    """A login step that did not go through; the dialog stays open for another try."""

    def __init__(self, error: TuiError) -> None:
        super().__init__()
        self.error = error
