"""What every HTTP broker adapter shares: the session holder, the client-side rate limiter,
the optional funds pre-check, the login in progress, and the session methods. Neither
broker Ordo speaks to can renew a session without a human, so "refresh" reports the state
and only a login brings a session back."""

from __future__ import annotations

import logging
from abc import abstractmethod
from dataclasses import dataclass
from typing import Generic, TypeVar

from ordo_shared.errors import LoginFailed
from ordo_shared.models import OrderSpec
from ordod.brokers.base import BrokerAdapter, SessionInfo
from ordod.brokers.common.config import RealBrokerTable
from ordod.brokers.common.funds import FundsCheck
from ordod.brokers.common.ratelimit import CallKind, RateLimiter, Sleep
from ordod.brokers.common.session import SessionHolder
from ordod.brokers.common.token_store import TokenStore
from ordod.brokers.errors import BrokerError, SessionExpired
from ordod.clock import Clock

log = logging.getLogger("ordod.brokers")

C = TypeVar("C", bound=RealBrokerTable)


@dataclass(frozen=True)
class PendingLogin:
    """A login waiting for its second step: what the broker handed out, and until when."""

    handle: str
    deadline: float


class HttpBrokerAdapter(BrokerAdapter, Generic[C]):
    def __init__(self, broker_id: str, config: C, store: TokenStore, clock: Clock, sleep: Sleep) -> None:
        super().__init__(broker_id)
        self.config = config
        self._clock = clock
        self.sessions = SessionHolder(broker_id, store, clock, config.expiry_margin_s)
        self.limiter = RateLimiter(config.rate_limit, clock, sleep)
        self._funds = (FundsCheck(broker_id, self._available_funds, clock, config.funds_cache_s)
                       if config.funds_check else None)
        self._pending: PendingLogin | None = None

    @abstractmethod
    async def _available_funds(self) -> float:
        """The broker's available funds, for the pre-trade check."""

    @abstractmethod
    async def _probe(self, kind: CallKind) -> None:
        """The harmless call that proves the session and the broker (profile or funds)."""

    async def health_probe(self) -> None:
        await self._probe("request")

    async def _before_sending(self, spec: OrderSpec) -> None:
        """No session or not enough funds: refused here, before anything is sent."""
        self.sessions.token()
        if self._funds is not None:
            await self._funds.check(spec)

    def session(self) -> SessionInfo:
        return self.sessions.info()

    async def refresh_session(self) -> SessionInfo:
        return self.sessions.info()

    async def verify_session(self) -> SessionInfo:
        if self.sessions.info().state in ("login_required", "expired"):
            return self.sessions.info()
        try:
            await self._probe("background")
        except SessionExpired:
            pass  # the HTTP layer has marked the session dead already
        except BrokerError as exc:
            log.info("session check inconclusive broker=%s code=%s", self.broker_id, exc.code.value)
        return self.sessions.info()

    def _start_login(self, handle: str, timeout_s: float) -> None:
        self._pending = PendingLogin(handle, self._clock.monotonic() + timeout_s)

    def _login_in_progress(self, broker_name: str) -> PendingLogin:
        pending = self._pending
        if pending is None or self._clock.monotonic() > pending.deadline:
            raise LoginFailed(f"no {broker_name} login is in progress (or it timed out); call login_start again")
        return pending

    async def _adopt_verified(self, access_token: str, broker_name: str) -> SessionInfo:
        """Keep the new token, then prove it with a round trip."""
        self._pending = None
        await self.sessions.adopt(access_token)
        info = await self.verify_session()
        if info.state == "login_required":
            raise LoginFailed(f"{broker_name} issued a token but refuses it")
        return info
