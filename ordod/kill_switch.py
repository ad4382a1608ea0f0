"""The kill switch: once on, no new order reaches any broker.

It has a global scope and one scope per broker (isolating a single broker by hand). Turning
a scope on takes effect in memory at once, before the durable write, so that attempts
already under way stop at their next check; turning it off is persisted first, needs an
explicit confirmation and is refused during a minimum hold after it went on, so a stray
keypress cannot undo it. Every state survives a restart; nothing resumes by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from ordo_shared.errors import KillSwitchHold, ValidationFailed
from ordo_shared.models import Isolation, KillSwitchState
from ordod.clock import Clock
from ordod.storage.database import Database

log = logging.getLogger("ordod.kill_switch")

GLOBAL = "global"

# scope, old, new, and the name of the principal who changed it
Listener = Callable[[str, Isolation | None, Isolation | None, str], None]


class KillSwitchStore(Protocol):
    async def load(self) -> dict[str, Isolation]:
        """Every active scope, with who set it, why and when."""
        ...

    async def save(self, scope: str, active: Isolation | None) -> None: ...


class SqliteKillSwitchStore:
    """The switch's rows in ``db`` (the daemon gives it control.db). ``legacy``: where an older
    daemon kept them (ordo.db); read once, while ``db`` has never held a row, and carried over."""

    def __init__(self, db: Database, legacy: Database | None = None) -> None:
        self._db = db
        self._legacy = legacy

    async def load(self) -> dict[str, Isolation]:
        active = await _active_rows(self._db)
        if self._legacy is None or await self._db.fetchone("SELECT 1 FROM kill_switches LIMIT 1") is not None:
            return active
        carried = await _active_rows(self._legacy)
        for scope, isolation in carried.items():
            await self.save(scope, isolation)
        if carried:
            log.warning("kill switch carried over from the order database: %s", ", ".join(sorted(carried)))
        return carried

    async def save(self, scope: str, active: Isolation | None) -> None:
        state = active or Isolation()
        # Priority: the acknowledgement an operator waits for must not queue behind anything
        # (the in-memory switch has flipped already; this only records it).
        await self._db.write(
            [
                (
                    "INSERT INTO kill_switches (scope, active, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?) "
                    "ON CONFLICT (scope) DO UPDATE SET active = excluded.active, reason = excluded.reason, "
                    "set_by = excluded.set_by, set_at = excluded.set_at",
                    (scope, int(active is not None), state.reason, state.set_by,
                     state.set_at.isoformat() if state.set_at else None),
                )
            ],
            priority=True,
        )


async def _active_rows(db: Database) -> dict[str, Isolation]:
    rows = await db.fetchall("SELECT scope, reason, set_by, set_at FROM kill_switches WHERE active = 1")
    return {
        row[0]: Isolation(reason=row[1], set_by=row[2], set_at=datetime.fromisoformat(row[3]) if row[3] else None)
        for row in rows
    }


class KillSwitch:
    def __init__(self, store: KillSwitchStore, clock: Clock, min_hold_s: float = 60.0) -> None:
        self._store = store
        self._clock = clock
        self.min_hold_s = min_hold_s
        self._active: dict[str, Isolation] = {}
        self._pending_off: set[str] = set()  # scopes whose OFF is being written
        self._listeners: list[Listener] = []

    async def start(self) -> None:
        self._active = await self._store.load()

    @property
    def active(self) -> bool:
        """The global switch."""
        return GLOBAL in self._active

    def blocks(self, broker_id: str) -> bool:
        """May no new order reach this broker? Checked before every attempt."""
        return GLOBAL in self._active or broker_id in self._active

    def isolated(self, broker_id: str) -> bool:
        return broker_id in self._active

    @property
    def state(self) -> KillSwitchState:
        glob = self._active.get(GLOBAL)
        isolated = {scope: iso for scope, iso in self._active.items() if scope != GLOBAL}
        if glob is None:
            return KillSwitchState(active=False, isolated=isolated)
        return KillSwitchState(active=True, reason=glob.reason, set_by=glob.set_by, set_at=glob.set_at,
                               isolated=isolated)

    def on_change(self, listener: Listener) -> None:
        self._listeners.append(listener)

    async def turn_on(self, scope: str, reason: str, set_by: str) -> KillSwitchState:
        """Returns once the new state is durable. Already on: nothing changes (the hold keeps its start)."""
        if scope in self._pending_off:
            # An OFF is being written: cancel it and write ON again after it, so ON wins on disk too.
            self._pending_off.discard(scope)
            await self._store.save(scope, self._active[scope])
            return self.state
        if scope in self._active:
            return self.state
        new = Isolation(reason=reason, set_by=set_by, set_at=self._clock.now())
        self._apply(scope, new, set_by)  # stop new risk now; the write below only records it
        await self._store.save(scope, new)
        return self.state

    async def turn_off(self, scope: str, set_by: str, confirm: bool) -> KillSwitchState:
        if not confirm:
            raise ValidationFailed("turning the kill switch off needs confirm: true", field="confirm")
        current = self._active.get(scope)
        if current is None:
            return self.state
        if current.set_at is not None:
            held = self._clock.time() - current.set_at.timestamp()
            if held < self.min_hold_s:
                raise KillSwitchHold(
                    f"the kill switch ({scope}) went on {held:.0f} s ago and stays on for at least "
                    f"{self.min_hold_s:.0f} s; try again in {self.min_hold_s - held:.0f} s"
                )
        self._pending_off.add(scope)
        try:
            await self._store.save(scope, None)
        except BaseException:
            self._pending_off.discard(scope)
            raise
        if scope not in self._pending_off:
            return self.state  # an ON arrived while this OFF was being written, and it wins
        self._pending_off.discard(scope)
        self._apply(scope, None, set_by)
        log.info("kill switch off scope=%s by=%s", scope, set_by)
        return self.state

    def _apply(self, scope: str, new: Isolation | None, by: str) -> None:
        old = self._active.get(scope)
        if new is None:
            self._active.pop(scope, None)
        else:
            self._active[scope] = new
        for listener in self._listeners:
            try:
                listener(scope, old, new, by)
            except Exception:
                log.exception("kill switch listener failed")
