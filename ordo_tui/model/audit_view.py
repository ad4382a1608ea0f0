"""The audit rows the desk keeps: a capped window, filtered by event type and broker."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from ordo_shared.models import Event


class AuditView:
    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.events: deque[Event] = deque(maxlen=cap)
        self.types: tuple[str, ...] = ()
        self.broker: str | None = None
        self.received = 0

    def set_filter(self, types: str, broker: str | None) -> None:
        """``types``: comma-separated parts of event types ("order, breaker"); empty shows all."""
        self.types = tuple(part.strip().lower() for part in types.split(",") if part.strip())
        self.broker = broker or None

    def matches(self, event: Event) -> bool:
        if self.broker is not None and event.broker_id != self.broker:
            return False
        return not self.types or any(part in event.type.lower() for part in self.types)

    def add(self, events: Iterable[Event]) -> list[Event]:
        """Keep ``events`` (the oldest fall off past the cap); returns the new rows to show."""
        batch = list(events)
        self.received += len(batch)
        self.events.extend(batch)
        return [e for e in batch[-self.cap :] if self.matches(e)]

    def visible(self) -> list[Event]:
        return [e for e in self.events if self.matches(e)]

    def clear(self) -> None:
        self.events.clear()
