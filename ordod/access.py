"""What each role may do: one table, used by every door through the service.

viewer reads; trader also trades (place, cancel, modify) and may turn the kill switch ON, for
the whole desk or one broker, with or without flattening (anyone at the desk may pull the
alarm); only admin may turn it OFF. An op missing from the table needs admin, so a new op
is closed until someone decides who may use it.
"""

from __future__ import annotations

from ordo_shared.errors import Forbidden
from ordo_shared.messages import KillSwitchRequest, Request
from ordod.auth import Principal
from ordod.config import Role

RANK: dict[Role, int] = {"viewer": 0, "trader": 1, "admin": 2}

# The least role each op (or door-level action such as the event stream) needs.
OP_ROLES: dict[str, Role] = {
    "ping": "viewer",
    "health": "viewer",
    "get_order": "viewer",
    "list_orders": "viewer",
    "audit_replay": "viewer",
    "audit_stream": "viewer",
    "kill_switch": "viewer",  # reading it; setting it is decided by required_role
    "place_order": "trader",
    "cancel_order": "trader",
    "modify_order": "trader",
    # The daily broker login (2FA) is done by whoever trades at the desk that morning.
    "login_start": "trader",
    "login_complete": "trader",
}


def op_role(op: str) -> Role:
    return OP_ROLES.get(op, "admin")


def required_role(request: Request) -> Role:
    """The role this particular request needs (it may depend on its fields)."""
    if isinstance(request, KillSwitchRequest) and request.active is not None:
        return "trader" if request.active else "admin"
    return op_role(request.op)


def describe(request: Request) -> str:
    if isinstance(request, KillSwitchRequest) and request.active is not None:
        scope = "" if request.scope == "global" else f" for {request.scope}"
        return f"turning the kill switch{scope} {'on' if request.active else 'off'}"
    return request.op


def check(principal: Principal, needed: Role, action: str) -> None:
    if RANK[principal.role] < RANK[needed]:
        raise Forbidden(f"token {principal.name!r} has role {principal.role}; {action} needs {needed}")
