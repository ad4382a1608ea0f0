"""Secrets by reference, never inline: the config names where a secret lives.

``credential:NAME``  a systemd credential (``LoadCredential=NAME:/etc/ordo/credentials/NAME``),
                     read from ``$CREDENTIALS_DIRECTORY/NAME``;
``file:/abs/path``   a file only the daemon's user can read;
``env:VARIABLE``     an environment variable (for development; systemd units should use credentials).

Errors name the reference, never the secret's content.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

_SCHEMES = ("credential:", "file:", "env:")


class CredentialError(Exception):
    """A secret reference that cannot be resolved; the message names the reference only."""


def credentials_directory(environ: Mapping[str, str] | None = None) -> Path | None:
    env = os.environ if environ is None else environ
    raw = env.get("CREDENTIALS_DIRECTORY")
    return Path(raw) if raw else None


def credential_file(name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """The file systemd placed for credential ``name``, or None when there is none."""
    directory = credentials_directory(environ)
    if directory is None or "/" in name or name in ("", ".", ".."):
        return None
    path = directory / name
    return path if path.is_file() else None


def is_reference(value: str) -> bool:
    return value.startswith(_SCHEMES)


def resolve_secret(reference: str, environ: Mapping[str, str] | None = None) -> SecretStr:
    """Read the secret a reference points at (surrounding whitespace stripped)."""
    env = os.environ if environ is None else environ
    scheme, _, target = reference.partition(":")
    if scheme == "credential":
        directory = credentials_directory(env)
        if directory is None:
            raise CredentialError(
                f"{reference}: $CREDENTIALS_DIRECTORY is not set (add LoadCredential={target}:... to the unit)"
            )
        path = credential_file(target, env)
        if path is None:
            raise CredentialError(f"{reference}: no credential {target!r} in {directory}")
        return _read(reference, path)
    if scheme == "file":
        path = Path(target)
        if not path.is_absolute():
            raise CredentialError(f"{reference}: the path must be absolute")
        return _read(reference, path)
    if scheme == "env":
        value = env.get(target, "").strip()
        if not value:
            raise CredentialError(f"{reference}: environment variable {target} is unset or empty")
        return SecretStr(value)
    # Not echoed: a value without a scheme is most likely the secret itself pasted in.
    raise CredentialError(f"the value (not shown) is not a secret reference; start it with {', '.join(_SCHEMES)}")


def _read(reference: str, path: Path) -> SecretStr:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CredentialError(f"{reference}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialError(f"{reference}: {path} is not UTF-8 text") from None
    if not value:
        raise CredentialError(f"{reference}: {path} is empty")
    return SecretStr(value)
