"""Keeps every broker's session usable: checks it before an order and refreshes it when it
has expired or is about to, and tells listeners (audit, health) when a state changes."""

from __future__ import annotations

import logging
from collections.abc import Callable

from ordo_shared.models import SessionState
from ordod.brokers.base import BrokerAdapter, SessionInfo
from ordod.brokers.errors import BrokerError

log = logging.getLogger("ordod.sessions")

Listener = Callable[[str, SessionState, SessionState], None]


class SessionManager:
    def __init__(self, adapters: dict[str, BrokerAdapter], on_change: Listener | None = None) -> None:
        self._adapters = adapters
        self._on_change = on_change
        self._known: dict[str, SessionState] = {}

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
