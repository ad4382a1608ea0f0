"""What a SIGHUP may change while orders are flowing, as a pure function of two configs.

Safe at run time: risk limits, breaker and retry settings (global and per broker) and audit
retention. They are plain values read at each order or sweep, so swapping them cannot tear
an order in half. Everything else (endpoints, state directory, brokers and their adapters,
auth) is wired into sockets, files and sessions at start: a change there is reported as
needing a restart and is not applied, so the running daemon never half-adopts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ordod.config import Config

# Values of these keys go into the audit event; they hold no secrets by construction.
_RELOADABLE_TOP = ("limits", "breaker", "retry")
_RELOADABLE_BROKER = ("breaker", "retry")
_RELOADABLE_AUDIT = ("retention_days", "sweep_interval_s")


@dataclass(frozen=True)
class ReloadPlan:
    effective: Config
    """The config the daemon runs with after the reload."""
    applied: dict[str, tuple[Any, Any]]
    """Dotted key -> (old, new) for every reloadable value that changed."""
    restart_required: list[str]
    """Dotted keys that changed in the file but only take effect after a restart."""

    @property
    def changed(self) -> bool:
        return bool(self.applied or self.restart_required)


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    brokers = {}
    for broker_id, running in old.brokers.items():
        wanted = new.brokers.get(broker_id)
        brokers[broker_id] = running if wanted is None else running.model_copy(
            update={key: getattr(wanted, key) for key in _RELOADABLE_BROKER}
        )
    audit = old.audit.model_copy(update={key: getattr(new.audit, key) for key in _RELOADABLE_AUDIT})
    effective = old.model_copy(
        update={**{key: getattr(new, key) for key in _RELOADABLE_TOP}, "brokers": brokers, "audit": audit}
    )
    before, after, wanted_flat = flatten(old), flatten(effective), flatten(new)
    applied = {key: (before.get(key), after.get(key)) for key in sorted(before.keys() | after.keys())
               if before.get(key) != after.get(key)}
    restart = sorted(key for key in after.keys() | wanted_flat.keys() if after.get(key) != wanted_flat.get(key))
    return ReloadPlan(effective, applied, restart)


def flatten(config: Config) -> dict[str, Any]:
    """Dotted keys to JSON values: ``{"brokers.fyers.retry.max_attempts": 3, ...}``."""
    out: dict[str, Any] = {}
    _walk(config.model_dump(mode="json"), "", out)
    return out


def _walk(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            _walk(item, f"{prefix}.{key}" if prefix else str(key), out)
    else:
        out[prefix] = value
