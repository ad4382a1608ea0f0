"""Idempotency keys for what the desk sends: a fresh key for every new order (or cancel, or
modify), the same key for every re-send of one whose answer never came, so a retry can never
place an order twice or act on it twice."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from ordo_shared.models import OrderSpec

S = TypeVar("S")


def new_key() -> str:
    return f"tui-{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Submission(Generic[S]):
    key: str
    spec: S
    """What is sent under ``key``: an ``OrderSpec``, or an action on an order."""
    resend: bool = False
    """True when this reuses the key of an earlier send that was never answered."""


OrderSubmission = Submission[OrderSpec]


class SubmissionTracker(Generic[S]):
    """Remembers the one request that was sent and not yet answered for certain."""

    def __init__(self, key_factory: Callable[[], str] = new_key) -> None:
        self._new_key = key_factory
        self.unresolved: Submission[S] | None = None
        self.sending: Submission[S] | None = None

    def prepare(self, spec: S) -> Submission[S]:
        """The submission for ``spec``: the unresolved one again if it is the same request."""
        if self.unresolved is not None and self.unresolved.spec == spec:
            return replace(self.unresolved, resend=True)
        return Submission(self._new_key(), spec)

    def sent(self, submission: Submission[S]) -> None:
        # Recorded before the request leaves: if no answer comes, the key is already kept.
        self.sending = submission
        self.unresolved = submission

    def finished(self, submission: Submission[S]) -> None:
        """The request ended, answered or not."""
        if self.sending is not None and self.sending.key == submission.key:
            self.sending = None

    def settled(self, key: str) -> None:
        """The daemon gave a definitive answer for ``key``: the next request gets a new key."""
        if self.unresolved is not None and self.unresolved.key == key:
            self.unresolved = None
