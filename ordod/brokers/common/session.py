"""One broker's session as Ordo knows it: the access token, its expiry (the JWT's ``exp``)
and whether the broker has declared it dead. The state is computed from the clock, so
``valid`` turns into ``expiring`` and ``expired`` without anyone polling."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from pydantic import SecretStr

from ordod.brokers.base import SessionInfo
from ordod.brokers.common.jwt import jwt_expiry
from ordod.brokers.common.token_store import StoredToken, TokenStore
from ordod.brokers.errors import SessionExpired
from ordod.clock import Clock

log = logging.getLogger("ordod.sessions")


class SessionHolder:
    def __init__(self, broker_id: str, store: TokenStore, clock: Clock, expiry_margin_s: float) -> None:
        self.broker_id = broker_id
        self._store = store
        self._clock = clock
        self._margin = timedelta(seconds=expiry_margin_s)
        self._token: SecretStr | None = None
        self._expires_at: datetime | None = None
        self._dead = False

    async def load(self) -> None:
        """Pick up the token a previous run stored (it may have expired meanwhile)."""
        stored = await self._store.load()
        if stored is not None:
            self._set(stored.access_token)

    async def adopt(self, access_token: str) -> SessionInfo:
        """A fresh token from a login: keep it in memory and, encrypted, on disk."""
        token = SecretStr(access_token)
        await self._store.save(StoredToken(token, self._clock.time()))
        self._set(token)
        log.info("session stored broker=%s expires_at=%s", self.broker_id,
                 self._expires_at.isoformat() if self._expires_at else "unknown")
        return self.info()

    def info(self) -> SessionInfo:
        if self._token is None or self._dead:
            return SessionInfo("login_required", self._expires_at)
        if self._expires_at is not None:
            now = self._clock.now()
            if now >= self._expires_at:
                return SessionInfo("expired", self._expires_at)
            if now >= self._expires_at - self._margin:
                return SessionInfo("expiring", self._expires_at)
        return SessionInfo("valid", self._expires_at)

    def token(self) -> str:
        """The token for the next call; raises ``SessionExpired`` (not sent) when there is none usable."""
        state = self.info().state
        if self._token is None or state in ("login_required", "expired"):
            raise SessionExpired(f"no usable session ({state}); log in to {self.broker_id}", sent=False)
        return self._token.get_secret_value()

    def mark_dead(self) -> None:
        """The broker refused the token: nothing but a new login brings the session back."""
        if not self._dead and self._token is not None:
            log.warning("session refused by the broker broker=%s; login required", self.broker_id)
        self._dead = True

    def _set(self, token: SecretStr) -> None:
        self._token = token
        self._expires_at = jwt_expiry(token.get_secret_value())
        self._dead = False
