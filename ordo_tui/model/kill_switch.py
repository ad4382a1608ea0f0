"""Kill-switch requests as the desk words them, and what a flatten did, in a sentence."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from ordo_shared.models import FlattenResult, KillSwitchState

GLOBAL = "global"


@dataclass(frozen=True)
class KillSwitchChange:
    """One request to the switch: on or off, for everything (``global``) or one broker."""

    active: bool
    scope: str = GLOBAL
    reason: str = ""
    flatten: bool = False
    """Also cancel every open order in scope (only with ``active``)."""

    def fields(self) -> dict[str, Any]:
        """The ``kill_switch`` request's fields. Off is only ever sent after the trader said yes."""
        if not self.active:
            return {"active": False, "scope": self.scope, "confirm": True}
        return {"active": True, "scope": self.scope, "reason": self.reason, "flatten": self.flatten}

    @property
    def pending(self) -> str:
        """What the banner says while the daemon has not answered."""
        if not self.active:
            return "releasing" if self.scope == GLOBAL else f"releasing {self.scope}"
        verb = "engaging" if self.scope == GLOBAL else f"isolating {self.scope}"
        return f"{verb} + flattening" if self.flatten else verb


def active_scopes(state: KillSwitchState | None) -> list[str]:
    """Scopes that are on now, global first: what a release can turn off."""
    if state is None:
        return []
    return ([GLOBAL] if state.active else []) + sorted(state.isolated)


def flatten_summary(results: list[FlattenResult]) -> str:
    """``3 of 4 open orders cancelled; 1 failed at hdfc`` (one line for a notification)."""
    if not results:
        return "no open orders to cancel"
    orders = len({r.order_ref for r in results})
    done = sum(r.status == "success" for r in results)
    text = f"{done} of {len(results)} cancels done ({orders} order{'s' if orders != 1 else ''})"
    failed = Counter(r.broker_id for r in results if r.status != "success")
    if failed:
        text += "; failed at " + ", ".join(f"{b} ×{n}" if n > 1 else b for b, n in sorted(failed.items()))
    return text
