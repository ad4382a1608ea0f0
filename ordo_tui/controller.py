"""All of the desk's daemon traffic. Each call to ordod runs in an async worker on the app
(never on the UI's message loop), and each result goes to the main screen as a message.

Failures: the supervisor treats an unreachable daemon as a state (the header shows it and
it reconnects with backoff). Workers that act for the trader wrap failures in ``TuiError``s
for the app's single handler (``OrdoApp.on_worker_state_changed``); a background refresh
that fails is simply redone at the next reconnect.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from pydantic import ValidationError
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential, wait_random
from textual.app import App
from textual.message import Message
from textual.worker import Worker

from ordo_shared.client import DaemonUnreachable, RemoteError
from ordo_shared.models import Event, HealthSnapshot, KillSwitchState, OrderRecord, OrderSpec
from ordo_tui.errors import (
    ActionRefused,
    ActionUnconfirmed,
    BadReply,
    KillSwitchNotChanged,
    LoginNotDone,
    OrderRefused,
    OrderUnconfirmed,
    TuiError,
)
from ordo_tui.link import DeskLink, LoginAnswer
from ordo_tui.messages import (
    ActionAnswered,
    ActionSending,
    AuditBatch,
    Flattened,
    HealthReceived,
    KillSwitchPending,
    KillSwitchReceived,
    LinkChanged,
    LoginCompleted,
    LoginRefused,
    LoginStarted,
    OrderAnswered,
    OrderRefreshed,
    OrderResolved,
    OrderSending,
    OrdersLoaded,
)
from ordo_tui.model.audit_sequence import AuditSequencer
from ordo_tui.model.kill_switch import KillSwitchChange
from ordo_tui.model.link_status import LinkStatus
from ordo_tui.model.order_actions import OrderAction
from ordo_tui.model.refresh import BlotterRefresh
from ordo_tui.model.submissions import OrderSubmission, Submission, SubmissionTracker, new_key

# The daemon answered this, so nothing was placed yet; the order is still being worked on.
_STILL_IN_FLIGHT = "IDEMPOTENCY_KEY_IN_FLIGHT"
_REPLAY_PAGE = 1000
S = TypeVar("S")
R = TypeVar("R")


@dataclass(frozen=True)
class DeskOptions:
    heartbeat_s: float = 1.0
    """How often the daemon is asked for health (and so how soon an outage is noticed)."""
    backoff_initial_s: float = 0.25
    backoff_max_s: float = 5.0
    audit_cap: int = 1000
    """Audit rows kept on screen; older ones fall off."""
    audit_history: int = 200
    """Audit events fetched at first contact, so the stream does not start empty."""
    flush_s: float = 0.1
    """Live events are handed to the screen in batches this often."""
    blotter_cap: int = 200
    orders_min_interval_s: float = 0.25
    """Blotter refreshes triggered by the stream (a reload, or the orders that changed) are at
    most this frequent."""
    orders_flood_rate: float = 20.0
    """Orders changing per second beyond which the stream counts as a flood ..."""
    orders_flood_interval_s: float = 1.0
    """... and then the blotter is refreshed at most this often (see ``model.refresh``); the
    trader's own order shows at once in the order panel either way."""
    key_factory: Callable[[], str] = new_key
    tune_gc: bool = False
    """Freeze start-up objects out of the garbage collector's sight once the desk is up (see
    ``ordo_tui.runtime``): what a terminal session wants, not a test run of many apps."""


class DeskController:
    def __init__(self, app: App[Any], link: DeskLink, options: DeskOptions) -> None:
        self.app = app
        self.link = link
        self.options = options
        self.tracker: SubmissionTracker[OrderSpec] = SubmissionTracker(options.key_factory)
        self.actions: SubmissionTracker[OrderAction] = SubmissionTracker(options.key_factory)
        self.sequencer = AuditSequencer()
        self.status = LinkStatus("connecting", link.endpoint)
        self._post: Callable[[Message], object] = lambda message: None
        self._started_at: datetime | None = None
        self._lag_mark: int | None = None
        self._pending_events: list[Event] = []
        self._stream_health: HealthSnapshot | None = None
        self._restart_audit = False
        self._replaying = False
        self._refresh = BlotterRefresh(calm_s=options.orders_min_interval_s, flood_s=options.orders_flood_interval_s,
                                       flood_rate=options.orders_flood_rate)
        self._orders_running = False

    def start(self, post: Callable[[Message], object]) -> None:
        self._post = post
        self._post(LinkChanged(self.status))
        self._run(self._supervise(), "link", exclusive=True)
        self.app.set_interval(self.options.flush_s, self.flush)

    def _run(self, work: Coroutine[Any, Any, None], group: str, exclusive: bool = False) -> Worker[None]:
        return self.app.run_worker(work, name=group, group=group, exclusive=exclusive, exit_on_error=False)

    # -- connection -------------------------------------------------------------------

    async def _supervise(self) -> None:
        retrying = AsyncRetrying(
            # A reply we cannot read (another protocol) also leaves the desk unable to work.
            retry=retry_if_exception_type((DaemonUnreachable, RemoteError, BadReply)),
            wait=wait_exponential(multiplier=self.options.backoff_initial_s, max=self.options.backoff_max_s)
            + wait_random(0, self.options.backoff_initial_s),
            before_sleep=self._went_down,
            reraise=True,
        )
        while True:
            health: HealthSnapshot = await retrying(self.link.health)
            self._heard(health)
            await asyncio.sleep(self.options.heartbeat_s)

    def _went_down(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RemoteError) and exc.remote_code == "UNAUTHORIZED":
            detail = "the daemon rejected our token (check --token-file / ORDO_TOKEN)"
        else:
            detail = str(exc) if exc else "no answer"
        delay = state.next_action.sleep if state.next_action else None
        self._set_status(LinkStatus("down", self.link.endpoint, self.status.version, detail,
                                    state.attempt_number, delay))

    def _heard(self, health: HealthSnapshot) -> None:
        restarted = self._started_at is not None and health.started_at != self._started_at
        self._started_at = health.started_at
        if restarted or self.status.state != "connected":
            detail = "daemon restarted; resynced" if restarted else ""
            self._set_status(LinkStatus("connected", self.link.endpoint, health.version, detail))
            self._resync()
        self._post(HealthReceived(health))
        self._check_audit_head(health.audit_seq)

    def _set_status(self, status: LinkStatus) -> None:
        self.status = status
        self._post(LinkChanged(status))

    def _resync(self) -> None:
        """After (re)connecting: a fresh SUB socket, the blotter, and any audit we missed."""
        self._run(self._stream(), "stream", exclusive=True)
        self.orders_dirty()

    def reconnect(self) -> None:
        self._set_status(LinkStatus("connecting", self.link.endpoint, self.status.version))
        self._run(self._supervise(), "link", exclusive=True)

    # -- event stream -----------------------------------------------------------------

    async def _stream(self) -> None:
        received = 0
        async for event in self.link.events():
            received += 1
            if received % 64 == 0:
                await asyncio.sleep(0)  # a ready socket never suspends: let the UI breathe
            if event.seq is not None:
                self._pending_events += self.sequencer.feed(event)
                if self.sequencer.held:
                    self._fill_gaps()
            elif event.type == "health.snapshot":
                try:
                    self._stream_health = HealthSnapshot.model_validate(event.data, strict=False)
                except ValidationError:
                    continue  # from a newer daemon, perhaps: the heartbeat still brings health

    def flush(self) -> None:
        """On the UI loop, every ``flush_s``: hand what the stream gathered to the screen."""
        if self._stream_health is not None:
            self._post(HealthReceived(self._stream_health))
            self._stream_health = None
        if not self._pending_events and not self._restart_audit:
            return
        events, self._pending_events = self._pending_events, []
        self._post(AuditBatch(events, restart=self._restart_audit))
        self._restart_audit = False
        for event in events:
            if event.type == "kill_switch.changed":
                state = _kill_switch_from(event)
                if state is not None:
                    self._post(KillSwitchReceived(state))
        self._refresh.note(events)
        self._refresh_blotter()

    def _check_audit_head(self, head: int) -> None:
        seq = self.sequencer
        if seq.last_seq is None or head < seq.last_seq:
            # First contact, or a daemon with another history: show its latest events afresh.
            self._restart_audit = seq.last_seq is not None
            self._pending_events.clear()
            seq.baseline(head, self.options.audit_history)
        elif self._lag_mark is not None and seq.last_seq < self._lag_mark:
            # Events that existed a heartbeat ago never arrived live: fetch them.
            seq.expect(self._lag_mark)
        self._lag_mark = head
        self._fill_gaps()

    def _fill_gaps(self) -> None:
        if not self._replaying and self.sequencer.missing() is not None:
            self._replaying = True
            self._run(self._replay(), "replay")

    async def _replay(self) -> None:
        try:
            while (gap := self.sequencer.missing()) is not None:
                since, upto = gap
                reply = await self.link.audit_replay(since, min(_REPLAY_PAGE, upto - since))
                fresh = [e for e in reply.events if e.seq is not None and e.seq > since]
                if fresh:
                    self._pending_events += self.sequencer.fill(fresh)
                elif self.sequencer.held:
                    self._pending_events += self.sequencer.skip_gap()  # the daemon no longer has them
                else:
                    self.sequencer.settle_head()  # counted but not yet committed: they will come live
        finally:
            self._replaying = False

    # -- orders -----------------------------------------------------------------------

    def orders_dirty(self, order_ref: str | None = None) -> None:
        """Reload the blotter (or just ``order_ref``'s row) soon."""
        if order_ref is None:
            self._refresh.reload()
        else:
            self._refresh.row(order_ref)
        self._refresh_blotter()

    def _refresh_blotter(self) -> None:
        if self._refresh and not self._orders_running:
            self._orders_running = True
            self._run(self._refresh_orders(), "orders")

    async def _refresh_orders(self) -> None:
        try:
            while self._refresh:
                refs = self._refresh.take()
                if refs is None:
                    orders = await self.link.list_orders(self.options.blotter_cap)
                    self._post(OrdersLoaded(orders))
                else:
                    orders = []
                    for ref in refs:
                        try:
                            orders.append(await self.link.get_order(ref))
                        except RemoteError:
                            continue  # NOT_FOUND: nothing to show for it
                        self._post(OrderRefreshed(orders[-1]))
                self._settle_from(orders)
                await asyncio.sleep(self._refresh.pause(asyncio.get_running_loop().time()))
        finally:
            self._orders_running = False

    def _settle_from(self, orders: list[OrderRecord]) -> None:
        """An order sent without an answer shows up completed: that is its answer."""
        unresolved = self.tracker.unresolved
        if unresolved is None or self.tracker.sending is not None:
            return
        for record in orders:
            if record.idempotency_key == unresolved.key and record.state == "completed":
                self.tracker.settled(unresolved.key)
                self._post(OrderResolved(record))
                return

    def submit(self, submission: OrderSubmission) -> bool:
        """Send the order; False if another one is still waiting for its answer."""
        if self.tracker.sending is not None:
            return False
        self.tracker.sent(submission)
        self._post(OrderSending(submission))
        self._run(self._place(submission), "submit")
        return True

    async def _place(self, submission: OrderSubmission) -> None:
        reply = await self._answer(self.tracker, submission, self.link.place_order(submission.key, submission.spec),
                                   lambda cause: OrderUnconfirmed(submission, cause),
                                   lambda exc: OrderRefused(submission, exc))
        self._post(OrderAnswered(submission, reply))
        self.orders_dirty()

    def act(self, submission: Submission[OrderAction]) -> bool:
        """Send a cancel or modify; False if another one is still waiting for its answer."""
        if self.actions.sending is not None:
            return False
        self.actions.sent(submission)
        self._post(ActionSending(submission))
        self._run(self._act(submission), "action")
        return True

    async def _act(self, submission: Submission[OrderAction]) -> None:
        reply = await self._answer(self.actions, submission, self.link.act_on_order(submission.key, submission.spec),
                                   lambda cause: ActionUnconfirmed(submission, cause),
                                   lambda exc: ActionRefused(submission, exc))
        self._post(ActionAnswered(submission, reply))
        self.orders_dirty(reply.order_ref)

    @staticmethod
    async def _answer(tracker: SubmissionTracker[S], submission: Submission[S], call: Awaitable[R],
                      unconfirmed: Callable[[str], TuiError], refused: Callable[[RemoteError], TuiError]) -> R:
        """The reply to a keyed request. Without one (no answer, or the daemon still busy with
        the key) the key stays unresolved, so doing the same again re-sends it as is."""
        try:
            reply = await call
        except DaemonUnreachable as exc:
            raise unconfirmed(str(exc)) from None
        except RemoteError as exc:
            if exc.remote_code == _STILL_IN_FLIGHT:
                raise unconfirmed("the daemon is still working on it") from None
            tracker.settled(submission.key)
            raise refused(exc) from None
        finally:
            tracker.finished(submission)
        tracker.settled(submission.key)
        return reply

    # -- kill switch ------------------------------------------------------------------

    def set_kill_switch(self, change: KillSwitchChange) -> None:
        self._post(KillSwitchPending(change))
        self._run(self._kill(change), "kill")

    async def _kill(self, change: KillSwitchChange) -> None:
        try:
            reply = await self.link.set_kill_switch(change)
        except DaemonUnreachable as exc:
            later = "; a flatten's results show in the audit stream (kill_switch.flattened)" if change.flatten else ""
            raise KillSwitchNotChanged(change, f"no answer ({exc}); watch the banner for the daemon's state{later}",
                                       confirmed=False) from None
        except RemoteError as exc:
            raise KillSwitchNotChanged(change, str(exc)) from None
        finally:
            self._post(KillSwitchPending(None))
        self._post(KillSwitchReceived(reply.kill_switch))
        if change.flatten:
            self._post(Flattened(change, reply.flatten or []))

    # -- the daily broker login ------------------------------------------------------

    def login_start(self, broker_id: str, deliver: Callable[[Message], object]) -> None:
        """Ask for a broker's login; ``deliver`` (the login dialog) gets ``LoginStarted``."""
        self._run(self._login_start(broker_id, deliver), "login", exclusive=True)

    def login_complete(self, broker_id: str, answer: LoginAnswer, deliver: Callable[[Message], object]) -> None:
        self._run(self._login_complete(broker_id, answer, deliver), "login", exclusive=True)

    async def _login_start(self, broker_id: str, deliver: Callable[[Message], object]) -> None:
        try:
            reply = await self.link.login_start(broker_id)
        except (DaemonUnreachable, RemoteError) as exc:
            raise self._login_refused(broker_id, "start", exc, deliver) from None
        deliver(LoginStarted(reply))

    async def _login_complete(self, broker_id: str, answer: LoginAnswer, deliver: Callable[[Message], object]) -> None:
        try:
            reply = await self.link.login_complete(broker_id, answer)
        except (DaemonUnreachable, RemoteError) as exc:
            raise self._login_refused(broker_id, "complete", exc, deliver) from None
        deliver(LoginCompleted(reply))

    @staticmethod
    def _login_refused(broker_id: str, step: str, exc: DaemonUnreachable | RemoteError,
                       deliver: Callable[[Message], object]) -> LoginNotDone:
        """The dialog shows why, so the trader can try again there; the app's handler raises
        the notification like any other failure."""
        if isinstance(exc, RemoteError):
            cause = f"{exc.remote_code}: {exc.message}"
        else:
            cause = f"no answer ({exc}); the health panel shows the session"
        error = LoginNotDone(broker_id, step, cause)
        deliver(LoginRefused(error))
        return error


def _kill_switch_from(event: Event) -> KillSwitchState | None:
    """The global switch from its audit event; a broker's isolation comes with the next
    health snapshot, which carries the whole state."""
    if event.data.get("scope", "global") != "global":
        return None
    fields = {k: v for k, v in event.data.items() if k in ("active", "reason", "set_by", "set_at")}
    try:
        return KillSwitchState.model_validate(fields, strict=False)
    except ValidationError:
        return None
