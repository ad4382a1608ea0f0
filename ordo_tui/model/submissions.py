"""Idempotency keys for the order form: a fresh key for every new order, the same key for
every re-send of an order whose answer never came, so a retry can never place it twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from ordo_shared.models import OrderSpec


def new_key() -> str:
    return f"tui-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Submission:
    key: str
    spec: OrderSpec
    resend: bool = False
    """True when this reuses the key of an earlier send that was never answered."""


class SubmissionTracker:
    """Remembers the one order that was sent and not yet answered for certain."""

    def __init__(self, key_factory: Callable[[], str] = new_key) -> None:
        self._new_key = key_factory
        self.unresolved: Submission | None = None
        self.sending: Submission | None = None

    def prepare(self, spec: OrderSpec) -> Submission:
        """The submission for ``spec``: the unresolved one again if it is the same order."""
        if self.unresolved is not None and self.unresolved.spec == spec:
            return replace(self.unresolved, resend=True)
        return Submission(self._new_key(), spec)

    def sent(self, submission: Submission) -> None:
        # Recorded before the request leaves: if no answer comes, the key is already kept.
        self.sending = submission
        self.unresolved = submission

    def finished(self, submission: Submission) -> None:
        """The request ended, answered or not."""
        if self.sending is not None and self.sending.key == submission.key:
            self.sending = None

    def settled(self, key: str) -> None:
        """The daemon gave a definitive answer for ``key``: the next order gets a new key."""
        if self.unresolved is not None and self.unresolved.key == key:
            self.unresolved = None
