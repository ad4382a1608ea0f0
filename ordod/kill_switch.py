"""The kill switch: once on, no new order reaches any broker.

Turning it on takes effect in memory at once, before the durable write, so that attempts
already under way stop at their next check; turning it off is persisted first. Either way
the caller is answered only once the state is on disk, and it survives a restart.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ordo_shared.models import KillSwitchState
from ordod.clock import Clock
from ordod.storage.database import Database

log = logging.getLogger("ordod.kill_switch")

Listener = Callable[[KillSwitchState, KillSwitchState], None]


class KillSwitchStore(Protocol):
    async def load(self) -> KillSwitchState: ...

    async def save(self, state: KillSwitchState) -> None: ...


class SqliteKillSwitchStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def load(self) -> KillSwitchState:
        row = await self._db.fetchone("SELECT active, reason, set_by, set_at FROM kill_switch WHERE id = 1")
        if row is None:
            return KillSwitchState(active=False)
        return KillSwitchState(
            active=bool(row[0]),
            reason=row[1],
            set_by=row[2],
            set_at=datetime.fromisoformat(row[3]) if row[3] else None,
        )

    async def save(self, state: KillSwitchState) -> None:
        await self._db.write(
            [
                (
                    "INSERT INTO kill_switch (id, active, reason, set_by, set_at) VALUES (1, ?, ?, ?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET active = excluded.active, reason = excluded.reason, "
                    "set_by = excluded.set_by, set_at = excluded.set_at",
                    (int(state.active), state.reason, state.set_by, state.set_at.isoformat() if state.set_at else None),
                )
            ]
        )


class KillSwitch:
    def __init__(self, store: KillSwitchStore, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._state = KillSwitchState(active=False)
        self._listeners: list[Listener] = []

    async def start(self) -> None:
        self._state = await self._store.load()

    @property
    def state(self) -> KillSwitchState:
        return self._state

    @property
    def active(self) -> bool:
        return self._state.active

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def set(self, active: bool, reason: str, set_by: str) -> KillSwitchState:
        """Set the switch; returns once the new state is durable."""
        new = KillSwitchState(active=active, reason=reason, set_by=set_by, set_at=self._clock.now())
        old = self._state
        if active:
            self._apply(old, new)  # stop new risk now; the write below only records it
            await self._store.save(new)
        else:
            await self._store.save(new)
            self._apply(old, new)
        return new

    def _apply(self, old: KillSwitchState, new: KillSwitchState) -> None:
        self._state = new
        for listener in self._listeners:
            try:
                listener(old, new)
            except Exception:
                log.exception("kill switch listener failed")
