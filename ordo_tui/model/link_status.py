"""What the header says about the daemon connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

LinkState = Literal["connecting", "connected", "down"]


@dataclass(frozen=True)
class LinkStatus:
    state: LinkState
    endpoint: str
    version: str | None = None
    detail: str = ""
    """Why we are down, or what happened on the way up ("daemon restarted")."""
    attempt: int = 0
    retry_in_s: float | None = None
