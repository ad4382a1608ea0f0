"""Who is asking: tokens checked in constant time, mapped to a named principal.

The token never leaves this module: audit events and logs name the principal instead.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ordo_shared.errors import Unauthorized
from ordod.credentials import credentials_directory

Role = Literal["viewer", "trader", "admin"]


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


ANONYMOUS = Principal("anonymous", "viewer")


def ensure_token_file(path: Path) -> str:
    """Read the token, creating the file (mode 0600) with a fresh random token if missing."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        return token
    if not token:
        raise ValueError(f"token file {path} is empty")
    if path.stat().st_mode & 0o077 and not is_systemd_credential(path):
        # Like ssh with a private key: a token others can read is not a secret any more.
        raise PermissionError(f"token file {path} is readable by others; run: chmod 600 {path}")
    return token


def is_systemd_credential(path: Path) -> bool:
    """systemd hands credentials over read-only in a directory private to the unit, often
    granting the service user read access by an ACL, which shows as group bits in the mode:
    there, the mode says nothing about who else can read the file."""
    directory = credentials_directory()
    return directory is not None and path.resolve().parent == directory.resolve()


class TokenAuthenticator:
    def __init__(self, tokens: dict[str, Principal]) -> None:
        self._tokens = [(t.encode(), p) for t, p in tokens.items()]

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("a token is required for this op")
        presented = token.encode("utf-8", "surrogatepass")
        found: Principal | None = None
        for known, principal in self._tokens:
            # Compare against every token, always: timing says nothing about which matched.
            if hmac.compare_digest(presented, known):
                found = principal
        if found is None:
            raise Unauthorized("invalid token")
        return found
