"""Reads the secrets a config's ``SecretRef`` points at: a file, an environment variable or
a systemd credential ($CREDENTIALS_DIRECTORY/<name>). Errors name where the secret was
looked for, never what it is."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from ordod.brokers.common.config import SecretRef
from ordod.config_base import ConfigError


class CredentialError(ConfigError):
    """A configured secret cannot be read."""


def read_secret(ref: SecretRef, what: str, environ: Mapping[str, str] | None = None) -> SecretStr:
    """The secret ``ref`` points at; ``what`` names it in errors (e.g. "brokers.fyers.app_secret")."""
    env = os.environ if environ is None else environ
    if ref.env is not None:
        value = env.get(ref.env)
        if value is None:
            raise CredentialError(f"{what}: environment variable {ref.env} is not set")
        return _non_empty(value, what, ref)
    if ref.file is not None:
        return _non_empty(_read(ref.file, what), what, ref)
    directory = env.get("CREDENTIALS_DIRECTORY")
    if not directory:
        raise CredentialError(f"{what}: systemd credential {ref.credential} asked for, "
                              "but $CREDENTIALS_DIRECTORY is not set (LoadCredential= in the unit)")
    assert ref.credential is not None
    return _non_empty(_read(Path(directory) / ref.credential, what), what, ref)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CredentialError(f"{what}: cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialError(f"{what}: {path} is not UTF-8 text") from None


def _non_empty(value: str, what: str, ref: SecretRef) -> SecretStr:
    value = value.strip()
    if not value:
        raise CredentialError(f"{what}: {ref.describe()} is empty")
    return SecretStr(value)
