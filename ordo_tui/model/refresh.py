"""Which of the blotter's rows need the daemon's word again, after a batch of audit events.

A new order means the list changed: reload it. A change to an order the desk already knows
(tracking, a cancel, a modify) only needs that order again, which is cheaper than the whole
list; past a handful of them one reload is cheaper again.
"""

from __future__ import annotations

from ordo_shared.models import Event

# Events about an order that already exists: refresh just that row.
ROW_EVENTS = frozenset({"order.updated", "order.reconciled", "order.cancel_completed", "order.modify_completed"})


class BlotterRefresh:
    def __init__(self, max_rows: int = 8) -> None:
        self.max_rows = max_rows
        self.everything = False
        self.refs: set[str] = set()

    def __bool__(self) -> bool:
        return self.everything or bool(self.refs)

    def reload(self) -> None:
        self.everything = True

    def row(self, order_ref: str) -> None:
        self.refs.add(order_ref)

    def note(self, events: list[Event]) -> None:
        for event in events:
            if event.type in ROW_EVENTS and event.order_ref:
                self.row(event.order_ref)
            elif event.type.startswith("order."):
                self.everything = True

    def take(self) -> list[str] | None:
        """The rows to fetch, or ``None`` to reload the whole list; starts over empty."""
        rows = None if self.everything or len(self.refs) > self.max_rows else sorted(self.refs)
        self.everything = False
        self.refs = set()
        return rows
