"""Who is asking: tokens checked in constant time, mapped to a named principal with a role.

Only the SHA-256 digest of each token is kept in memory after start, and the token never
leaves this module: audit events and logs name the principal instead.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ordo_shared.errors import Unauthorized
from ordod.config import ConfigError, Role
from ordod.credentials import credentials_directory

__all__ = ["ANONYMOUS", "Principal", "Role", "TokenAuthenticator", "TokenFileError", "ensure_token_file"]


class TokenFileError(ConfigError):
    """A token file cannot be used (unreadable, empty, or readable by others)."""


class TokenFileEmpty(TokenFileError, ValueError):
    pass


class TokenFileExposed(TokenFileError, PermissionError):
    """Like ssh with a private key: a token others can read is not a secret any more."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role


ANONYMOUS = Principal("anonymous", "viewer")


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def ensure_token_file(path: Path) -> str:
    """Read the token, creating the file (mode 0600) with a fresh random token if missing.

    An existing file that group or others may read is refused, as ssh does with keys: a
    token anyone on the host can read is no access control at all.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(token + "\n")
        return token
    except OSError as exc:
        raise TokenFileError(f"cannot read token file {path}: {exc.strerror}") from None
    with os.fdopen(fd, "r", encoding="utf-8") as fh:
        mode = stat.S_IMODE(os.fstat(fh.fileno()).st_mode)
        token = fh.read().strip()
    if not token:
        raise TokenFileEmpty(f"token file {path} is empty")
    if mode & 0o077 and not is_systemd_credential(path):
        raise TokenFileExposed(f"token file {path} has mode {mode:04o}: readable by others; run: chmod 600 {path}")
    return token


def is_systemd_credential(path: Path) -> bool:
    """systemd hands credentials over read-only in a directory private to the unit, often
    granting the service user read access by an ACL, which shows as group bits in the mode:
    there, the mode says nothing about who else can read the file."""
    directory = credentials_directory()
    return directory is not None and path.resolve().parent == directory.resolve()


class TokenAuthenticator:
    def __init__(self, tokens: Mapping[str, Principal] | None = None,
                 digests: Mapping[bytes, Principal] | None = None) -> None:
        entries = {token_digest(t): p for t, p in (tokens or {}).items()}
        entries.update(digests or {})
        self._entries = list(entries.items())

    @property
    def principals(self) -> list[Principal]:
        return [principal for _, principal in self._entries]

    def authenticate(self, token: str | None) -> Principal:
        if not token:
            raise Unauthorized("a token is required for this op")
        presented = token_digest(token)
        found: Principal | None = None
        for known, principal in self._entries:
            # Compare against every digest, always: timing says nothing about which matched.
            if hmac.compare_digest(presented, known):
                found = principal
        if found is None:
            raise Unauthorized("invalid token")
        return found
