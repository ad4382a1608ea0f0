"""Broker sessions: checked before each order, refreshed when expired, changes announced."""

from __future__ import annotations

from ordo_shared.models import SessionState
from ordod.brokers.base import SessionInfo
from ordod.brokers.errors import BrokerUnavailable
from ordod.brokers.paper.adapter import PaperBroker, PaperKnobs
from ordod.clock import ManualClock
from ordod.session_manager import SessionManager

Change = tuple[str, SessionState, SessionState]


class SessionBroker(PaperBroker):
    """A paper broker whose session state the test sets, and whose refresh can fail."""

    def __init__(self, broker_id: str, state: SessionState, refreshed: SessionState | None = "valid") -> None:
        super().__init__(broker_id, PaperKnobs(latency_ms=0), ManualClock())
        self.state = state
        self.refreshed = refreshed  # None: the refresh call itself fails
        self.refreshes = 0

    def session(self) -> SessionInfo:
        return SessionInfo(self.state)

    async def refresh_session(self) -> SessionInfo:
        self.refreshes += 1
        if self.refreshed is None:
            raise BrokerUnavailable("login server down")
        self.state = self.refreshed
        return SessionInfo(self.state)


def manager(*brokers: SessionBroker, changes: list[Change] | None = None) -> SessionManager:
    listener = (lambda b, old, new: changes.append((b, old, new))) if changes is not None else None
    return SessionManager({b.broker_id: b for b in brokers}, listener)


async def test_a_valid_session_needs_nothing() -> None:
    broker = SessionBroker("fyers", "valid")
    assert await manager(broker).ensure_valid(["fyers"]) == {"fyers": None}
    assert broker.refreshes == 0


async def test_an_expired_session_is_refreshed_before_the_order() -> None:
    broker = SessionBroker("fyers", "expired")
    assert await manager(broker).ensure_valid(["fyers"]) == {"fyers": None}
    assert broker.refreshes == 1


async def test_an_expiring_session_is_refreshed_but_usable_even_if_refresh_keeps_it_expiring() -> None:
    broker = SessionBroker("fyers", "expiring", refreshed="expiring")
    assert await manager(broker).ensure_valid(["fyers"]) == {"fyers": None}
    assert broker.refreshes == 1


async def test_a_failed_refresh_asks_for_a_login_naming_the_broker() -> None:
    broker = SessionBroker("hdfc", "expired", refreshed=None)
    problems = await manager(broker).ensure_valid(["hdfc"])
    assert problems == {"hdfc": "session login_required: log in to hdfc again"}


async def test_a_refresh_that_stays_expired_is_reported() -> None:
    broker = SessionBroker("hdfc", "expired", refreshed="expired")
    assert await manager(broker).ensure_valid(["hdfc"]) == {"hdfc": "session expired: log in to hdfc again"}


async def test_each_broker_is_judged_on_its_own() -> None:
    good, bad = SessionBroker("fyers", "valid"), SessionBroker("hdfc", "login_required")
    problems = await manager(good, bad).ensure_valid(["fyers", "hdfc"])
    assert problems["fyers"] is None and problems["hdfc"] is not None
    assert bad.refreshes == 0  # login_required needs a human, not a refresh


async def test_listeners_hear_changes_but_not_the_first_sighting() -> None:
    changes: list[Change] = []
    broker = SessionBroker("fyers", "valid")
    sessions = manager(broker, changes=changes)
    await sessions.ensure_valid(["fyers"])
    assert changes == []
    sessions.note("fyers", "login_required")
    sessions.note("fyers", "login_required")
    await sessions.ensure_valid(["fyers"])
    assert changes == [("fyers", "valid", "login_required"), ("fyers", "login_required", "valid")]


async def test_state_reads_the_adapter_without_a_call() -> None:
    broker = SessionBroker("fyers", "expiring")
    assert manager(broker).state("fyers") == SessionInfo("expiring")
    assert broker.refreshes == 0
