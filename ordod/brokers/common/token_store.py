"""Session tokens at rest: one file per broker in the state directory, encrypted with
Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``), mode 0600, replaced atomically.

The key comes from the broker's ``token_key`` reference (a key file or a systemd
credential). Without one, a key is generated once into the state directory: that still
keeps tokens out of backups of the token folder alone and out of casual reads, and the
operator can move the key to a systemd credential at any time.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr

from ordod.config_base import ConfigError

log = logging.getLogger("ordod.tokens")

_KDF_INFO = b"ordo session token store v1"


@dataclass(frozen=True)
class StoredToken:
    access_token: SecretStr
    saved_at: float


def fernet_from_material(material: SecretStr) -> Fernet:
    """A Fernet key as-is, or any other key material of at least 32 bytes stretched with HKDF
    (so `systemd-creds` random bytes work too)."""
    raw = material.get_secret_value().strip()
    try:
        if len(base64.urlsafe_b64decode(raw.encode())) == 32:
            return Fernet(raw.encode())
    except (binascii.Error, ValueError):
        pass
    if len(raw.encode()) < 32:
        raise ValueError("token key material is shorter than 32 bytes")
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_KDF_INFO).derive(raw.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def generated_key(path: Path) -> SecretStr:
    """The key in ``path``, created 0600 with a fresh Fernet key if it does not exist."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return SecretStr(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(Fernet.generate_key().decode() + "\n")
    log.warning("generated token key %s; set token_key to a systemd credential to keep it apart from the tokens",
                path)
    return SecretStr(path.read_text().strip())


class TokenStore:
    """One broker's token file. Reads and writes run in a thread: the loop never blocks on disk."""

    def __init__(self, path: Path, fernet: Fernet) -> None:
        self.path = path
        self._fernet = fernet

    async def load(self) -> StoredToken | None:
        return await asyncio.to_thread(self._load)

    async def save(self, token: StoredToken) -> None:
        await asyncio.to_thread(self._save, token)

    async def clear(self) -> None:
        await asyncio.to_thread(self.path.unlink, True)

    def _load(self) -> StoredToken | None:
        try:
            blob = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            data = json.loads(self._fernet.decrypt(blob))
            return StoredToken(SecretStr(str(data["access_token"])), float(data["saved_at"]))
        except (InvalidToken, ValueError, KeyError, TypeError):
            # Another key, or a damaged file: the session is simply gone; log in again.
            log.warning("stored token %s cannot be decrypted with the configured key; ignoring it", self.path.name)
            return None

    def _save(self, token: StoredToken) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        blob = self._fernet.encrypt(json.dumps(
            {"access_token": token.access_token.get_secret_value(), "saved_at": token.saved_at}).encode())
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a stale tmp file may have been created with other bits
        with os.fdopen(fd, "wb") as fh:
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)


def token_store_for(broker_id: str, key: SecretStr | None, state_dir: Path) -> TokenStore:
    """The store of one broker's token under ``<state_dir>/sessions/``, with the configured
    key or the generated one."""
    material = key if key is not None else generated_key(state_dir / "sessions" / "token.key")
    try:
        fernet = fernet_from_material(material)
    except ValueError as exc:
        raise ConfigError(f"brokers.{broker_id}.token_key: {exc}") from None
    return TokenStore(state_dir / "sessions" / f"{broker_id}.token", fernet)
