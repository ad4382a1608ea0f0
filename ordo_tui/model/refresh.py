"""Which of the blotter's rows need the daemon's word again, after a batch of audit events.

A new order means the list changed: reload it. A change to an order the desk already knows
(tracking, a cancel, a modify) only needs that order again, which is cheaper than the whole
list; past a handful of them one reload is cheaper again.

And how often: a few times a second while orders come at a pace a trader can follow; once a
second in a flood (hundreds of orders a second from scripts), when every refresh would redraw
the whole blotter for rows nobody can read before they scroll away. Each such redraw costs the
desk's loop tens of milliseconds and a heap of garbage to collect, and keys wait behind both.
"""

from __future__ import annotations

from ordo_shared.models import Event

# Events about an order that already exists: refresh just that row.
ROW_EVENTS = frozenset({"order.updated", "order.reconciled", "order.cancel_completed", "order.modify_completed"})


class BlotterRefresh:
    def __init__(self, max_rows: int = 8, calm_s: float = 0.25, flood_s: float = 1.0,
                 flood_rate: float = 20.0) -> None:
        self.max_rows = max_rows
        self.calm_s = calm_s
        self.flood_s = flood_s
        self.flood_rate = flood_rate
        self.everything = False
        self.refs: set[str] = set()
        self._orders: set[str] = set()  # the orders events were about since the last pause
        self._since: float | None = None

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
            if event.order_ref and event.type.startswith("order."):
                self._orders.add(event.order_ref)

    def pause(self, now: float) -> float:
        """Seconds to wait after a refresh before the next: ``flood_s`` while orders changed
        faster than ``flood_rate`` a second since the previous call, else ``calm_s``."""
        elapsed = None if self._since is None else now - self._since
        flooded = elapsed is not None and elapsed > 0 and len(self._orders) / elapsed > self.flood_rate
        self._orders = set()
        self._since = now
        return self.flood_s if flooded else self.calm_s

    def take(self) -> list[str] | None:
        """The rows to fetch, or ``None`` to reload the whole list; starts over empty."""
        rows = None if self.everything or len(self.refs) > self.max_rows else sorted(self.refs)
        self.everything = False
        self.refs = set()
        return rows
