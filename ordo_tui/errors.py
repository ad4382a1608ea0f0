"""The TUI's errors: one root with a title for display, and the one function that turns
whatever a worker raised into something a trader can read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from ordo_shared.client import DaemonUnreachable, RemoteError

if TYPE_CHECKING:
    from ordo_tui.model.kill_switch import KillSwitchChange
    from ordo_tui.model.order_actions import OrderAction
    from ordo_tui.model.submissions import OrderSubmission, Submission

Severity = Literal["information", "warning", "error"]


class TuiError(Exception):
    title = "Error"
    severity: Severity = "error"

    def __init__(self, message: str, title: str | None = None, severity: Severity | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.title = title or self.title
        self.severity = severity or self.severity


class BadReply(TuiError):
    title = "Unexpected reply"

    def __init__(self, op: str, exc: ValidationError) -> None:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        super().__init__(f"the daemon's answer to {op} does not match this client ({where}: {first['msg']})")


class OrderUnconfirmed(TuiError):
    """No answer: the order may or may not be at the brokers. The key is kept for a re-send."""

    title = "Order not confirmed"
    severity = "warning"

    def __init__(self, submission: OrderSubmission, cause: str) -> None:
        super().__init__(f"{cause}. The order may or may not have been placed: send it again to "
                         "re-send with the same idempotency key (it is never placed twice).")
        self.submission = submission


class OrderRefused(TuiError):
    """The daemon answered with a request-level error: nothing reached any broker."""

    title = "Order refused"

    def __init__(self, submission: OrderSubmission, error: RemoteError) -> None:
        super().__init__(f"{error.remote_code}: {error.message}")
        self.submission = submission
        self.code = error.remote_code
        self.field = error.field


class ActionUnconfirmed(TuiError):
    """No answer to a cancel or modify: the key is kept, so doing it again re-sends it as is."""

    severity = "warning"

    def __init__(self, submission: Submission[OrderAction], cause: str) -> None:
        kind = submission.spec.kind
        super().__init__(f"{cause}. The {kind} may or may not have reached the brokers: {kind} again to re-send "
                         "it with the same idempotency key (a repeat gets the daemon's stored answer).",
                         f"{kind.capitalize()} not confirmed")
        self.submission = submission


class ActionRefused(TuiError):
    """The daemon refused the cancel or modify as a whole: nothing reached any broker."""

    def __init__(self, submission: Submission[OrderAction], error: RemoteError) -> None:
        super().__init__(f"{error.remote_code}: {error.message}", f"{submission.spec.kind.capitalize()} refused")
        self.submission = submission
        self.code = error.remote_code


class KillSwitchNotChanged(TuiError):
    """The daemon refused the change, or (``confirmed=False``) never answered."""

    def __init__(self, change: KillSwitchChange, cause: str, confirmed: bool = True) -> None:
        title = "Kill switch NOT changed" if confirmed else "Kill switch change unconfirmed"
        where = "" if change.scope == "global" else f" for {change.scope}"
        super().__init__(f"turning it {'ON' if change.active else 'OFF'}{where}: {cause}", title)
        self.change = change


class LoginNotDone(TuiError):
    """A login step the daemon (or the broker behind it) refused, or never answered."""

    title = "Login not done"

    def __init__(self, broker_id: str, step: str, cause: str) -> None:
        super().__init__(f"{broker_id}: {step}: {cause}")
        self.broker_id = broker_id


def describe(exc: BaseException) -> TuiError:
    """Any worker failure as a ``TuiError``; unexpected ones keep their type name."""
    if isinstance(exc, TuiError):
        return exc
    if isinstance(exc, DaemonUnreachable):
        return TuiError(str(exc), "Daemon unreachable", "warning")
    if isinstance(exc, RemoteError):
        return TuiError(exc.message, f"Refused: {exc.remote_code}")
    return TuiError(f"{type(exc).__name__}: {exc}", "Unexpected error")
