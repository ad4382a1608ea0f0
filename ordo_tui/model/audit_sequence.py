"""Puts the audit stream back in ``seq`` order without holes.

The daemon numbers audit events without gaps, so a jump in ``seq`` means events were missed
(the SUB socket dropped them under load, or the daemon restarted while we were away). Events
above a hole are held back until ``audit_replay`` fills it, so rows always appear in order.
"""

from __future__ import annotations

from ordo_shared.models import Event

GAP_TYPE = "tui.gap"
"""A marker row standing for events the daemon could not give back."""


class AuditSequencer:
    def __init__(self, hold_limit: int = 5000) -> None:
        self.hold_limit = hold_limit
        self.last_seq: int | None = None  # everything up to here has been released
        self.head = 0  # the highest seq known to exist
        self._held: dict[int, Event] = {}

    @property
    def held(self) -> int:
        return len(self._held)

    def baseline(self, head: int, history: int) -> None:
        """Start (or start over) so that the last ``history`` events before ``head`` get fetched."""
        self.last_seq = max(0, head - history)
        self.head = head
        self._held.clear()

    def expect(self, head: int) -> None:
        """Events up to ``head`` exist (the daemon said so): fetch any not seen yet."""
        self.head = max(self.head, head)

    def feed(self, event: Event) -> list[Event]:
        """Take one event; returns the events now ready to show, in order."""
        seq = event.seq
        if seq is None:
            return []
        if self.last_seq is None:
            self.last_seq = seq - 1  # no baseline yet: the stream starts here
        if seq <= self.last_seq or seq in self._held:
            return []  # a duplicate: replay and live stream overlap
        self.head = max(self.head, seq)
        self._held[seq] = event
        released = self._release()
        if len(self._held) > self.hold_limit:
            released += self.skip_gap()
        return released

    def fill(self, events: list[Event]) -> list[Event]:
        released: list[Event] = []
        for event in events:
            released += self.feed(event)
        return released

    def missing(self) -> tuple[int, int] | None:
        """``(since, upto)``: the seqs after ``since`` up to ``upto`` still to fetch."""
        if self.last_seq is None:
            return None
        upto = min(self._held) - 1 if self._held else self.head
        return (self.last_seq, upto) if upto > self.last_seq else None

    def settle_head(self) -> None:
        """The daemon has nothing past ``last_seq`` yet (its head counts uncommitted events)."""
        if not self._held and self.last_seq is not None:
            self.head = self.last_seq

    def skip_gap(self) -> list[Event]:
        """Give up on the hole below the held events; a marker row stands in for it."""
        if not self._held or self.last_seq is None:
            return []
        first = min(self._held)
        marker = Event(seq=None, ts=self._held[first].ts, type=GAP_TYPE,
                       data={"from": self.last_seq + 1, "to": first - 1})
        self.last_seq = first - 1
        return [marker, *self._release()]

    def _release(self) -> list[Event]:
        assert self.last_seq is not None
        released = []
        while (nxt := self.last_seq + 1) in self._held:
            released.append(self._held.pop(nxt))
            self.last_seq = nxt
        return released
