"""Keeps every broker's session usable and visible: checks it before an order, proves it
with a round trip on a schedule (the adapter's health probe), drives the daily login, and
tells listeners (audit, health) when a state changes.

Brokers' sessions die daily (Fyers and InvestRight both require a fresh 2FA login), so
"refresh" usually means "someone must log in": the state says so (``login_required``) and
the login ops (``login_start`` / ``login_complete``) bring it back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ordo_shared.errors import LoginFailed, NotFound, OrdoError
from ordo_shared.models import SessionState
from ordod.brokers.base import BrokerAdapter, LoginAnswer, LoginChallenge, LoginInput, SessionInfo
from ordod.brokers.errors import BrokerError

log = logging.getLogger("ordod.sessions")

Listener = Callable[[str, SessionState, SessionState], None]
# (broker_id, event, data): "login_started", "login_completed", "login_failed"; data never holds secrets.
EventListener = Callable[[str, str, dict[str, Any]], None]


class SessionManager:
    def __init__(
        self,
        adapters: dict[str, BrokerAdapter],
        on_change: Listener | None = None,
        on_event: EventListener | None = None,
    ) -> None:
        self._adapters = adapters
        self._on_change = on_change
        self._on_event = on_event
        self._known: dict[str, SessionState] = {b: a.session().state for b, a in adapters.items()}

    def state(self, broker_id: str) -> SessionInfo:
        return self._adapters[broker_id].session()

    async def ensure_valid(self, broker_ids: list[str]) -> dict[str, str | None]:
        """For each broker, None when its session can take an order, else why not."""
        problems: dict[str, str | None] = {}
        for broker_id in broker_ids:
            problems[broker_id] = await self._ensure_one(broker_id)
        return problems

    async def _ensure_one(self, broker_id: str) -> str | None:
        adapter = self._adapters[broker_id]
        info = adapter.session()
        if info.state in ("expired", "expiring"):
            try:
                info = await adapter.refresh_session()
            except BrokerError as exc:
                log.warning("session refresh failed broker=%s code=%s", broker_id, exc.code.value)
                info = SessionInfo("login_required")
        self.note(broker_id, info.state)
        if info.state in ("valid", "expiring"):
            return None
        return f"session {info.state}: log in to {broker_id} again"

    def note(self, broker_id: str, state: SessionState) -> None:
        """Record a state seen anywhere (e.g. a SESSION_EXPIRED mid-order) and announce changes."""
        old = self._known.get(broker_id)
        self._known[broker_id] = state
        if old is not None and old != state and self._on_change is not None:
            self._on_change(broker_id, old, state)

    # Proving sessions

    async def verify_all(self) -> None:
        """Prove every session with a round trip; announce what changed (expiry included)."""
        for broker_id, adapter in self._adapters.items():
            try:
                info = await adapter.verify_session()
            except Exception:  # a check must never take the loop down; the next one retries
                log.exception("session check failed broker=%s", broker_id)
                continue
            self.note(broker_id, info.state)

    async def run(self, interval_s: float) -> None:
        """Forever: check at once (a restart may have left stale tokens), then every interval."""
        while True:
            await self.verify_all()
            await asyncio.sleep(interval_s)

    # The daily login

    async def login_start(self, broker_id: str, given: LoginInput, actor: str) -> LoginChallenge:
        adapter = self._adapter(broker_id)
        try:
            challenge = await adapter.login_start(given)
        except (OrdoError, BrokerError) as exc:
            raise self._failed(broker_id, "login_start", exc, actor) from None
        self._event(broker_id, "login_started", {"by": actor, "step": challenge.step})
        return challenge

    async def login_complete(self, broker_id: str, answer: LoginAnswer, actor: str) -> SessionInfo:
        adapter = self._adapter(broker_id)
        try:
            info = await adapter.login_complete(answer)
        except (OrdoError, BrokerError) as exc:
            raise self._failed(broker_id, "login_complete", exc, actor) from None
        self.note(broker_id, info.state)
        self._event(broker_id, "login_completed", {
            "by": actor, "session": info.state,
            "expires_at": info.expires_at.isoformat() if info.expires_at else None})
        return info

    def _adapter(self, broker_id: str) -> BrokerAdapter:
        adapter = self._adapters.get(broker_id)
        if adapter is None:
            raise NotFound(f"no broker {broker_id!r}; known: {', '.join(sorted(self._adapters))}", field="broker_id")
        return adapter

    def _failed(self, broker_id: str, step: str, exc: OrdoError | BrokerError, actor: str) -> OrdoError:
        code = exc.code.value
        self._event(broker_id, "login_failed", {"by": actor, "step": step, "code": code, "message": exc.message})
        log.warning("login failed broker=%s step=%s code=%s", broker_id, step, code)
        if isinstance(exc, OrdoError):
            return exc
        return LoginFailed(f"{broker_id}: {step} failed ({code}): {exc.message}")

    def _event(self, broker_id: str, event: str, data: dict[str, Any]) -> None:
        if self._on_event is not None:
            self._on_event(broker_id, event, data)
