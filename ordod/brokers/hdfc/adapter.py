"""The HDFC InvestRight adapter: maps symbols through the security master, places with an
``external_reference_number`` derived from the idempotency key, finds orders by it in the
order book, and runs the daily password + OTP login."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from pydantic import SecretStr

from ordo_shared.errors import BadRequest, LoginFailed
from ordod.brokers.base import (
    BrokerOrder,
    BrokerOrderStatus,
    LoginAnswer,
    LoginChallenge,
    LoginInput,
    OrderChange,
    PlacedOrder,
    SessionInfo,
)
from ordod.brokers.common.adapter import HttpBrokerAdapter
from ordod.brokers.common.ratelimit import CallKind, Sleep
from ordod.brokers.common.token_store import TokenStore
from ordod.brokers.errors import BrokerError, OrderNotFound, OutcomeUnknown
from ordod.brokers.hdfc import mapping
from ordod.brokers.hdfc.config import HdfcConfig
from ordod.brokers.hdfc.errors import rejection_for
from ordod.brokers.hdfc.http import HdfcHttp
from ordod.brokers.hdfc.security_master import SecurityMasterCache
from ordod.clock import Clock

log = logging.getLogger("ordod.brokers.hdfc")


class HdfcAdapter(HttpBrokerAdapter[HdfcConfig]):
    kind = "hdfc"

    def __init__(
        self,
        broker_id: str,
        config: HdfcConfig,
        *,
        api_key: SecretStr,
        api_secret: SecretStr,
        password: SecretStr | None,
        store: TokenStore,
        state_dir: Path,
        clock: Clock,
        call_timeout_s: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(broker_id, config, store, clock, sleep)
        self._api_secret = api_secret
        self._password = password
        self._http = HdfcHttp(broker_id, config, api_key, self.sessions, self.limiter, call_timeout_s)
        self.master = SecurityMasterCache(state_dir / "brokers" / broker_id / "security-master.csv",
                                          self._http.security_master, clock, config.security_master_max_age_h * 3600)
        self._warm: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._http.start()
        await self.sessions.load()
        # Load the master in the background; the first order waits for it if it is not ready.
        self._warm = asyncio.create_task(self._warm_master(), name=f"{self.broker_id}-security-master")

    async def close(self) -> None:
        if self._warm is not None:
            self._warm.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._warm
        await self._http.close()

    async def _warm_master(self) -> None:
        try:
            await self.master.get()
        except BrokerError as exc:
            log.warning("security master not loaded at start broker=%s: %s", self.broker_id, exc.message)

    # Orders

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        instrument = (await self.master.get()).resolve(order.spec.symbol)
        await self._before_sending(order.spec)
        placed = await self._http.place_order(mapping.place_body(order, instrument, self.config.amo), order.halted)
        return PlacedOrder(placed.order_id, broker_code="success")  # InvestRight answers a status, no code

    async def cancel_order(self, order_id: str) -> None:
        await self._http.cancel_order(order_id)

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        await self._http.modify_order(order_id, mapping.modify_body(change))

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        for row in await self._http.order(order_id, kind="background"):  # polled by the tracker
            if row.order_id == order_id:
                return mapping.status_of(row)
        raise OrderNotFound(f"HDFC has no order {order_id}", broker_message="order not found")

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        reference = mapping.reference_number(order)
        rows = await self._http.orders()
        ours = mapping.rows_with_reference(rows, reference)
        live = [row for row in ours if not mapping.is_rejected(row)]
        if live:
            return live[0].order_id
        if ours:
            raise rejection_for(None, ours[0].status_message or "rejected")
        instrument = (await self.master.get()).resolve(order.spec.symbol)
        lookalikes = mapping.unechoed_lookalikes(rows, order, instrument)
        if lookalikes:
            raise OutcomeUnknown(
                f"HDFC's book has {len(lookalikes)} order(s) for the same instrument, side and quantity without "
                f"our reference (e.g. {lookalikes[0].order_id}); cannot tell whether one is this order")
        return None

    # Session (state, refresh and verification come from HttpBrokerAdapter)

    async def _probe(self, kind: CallKind) -> None:
        await self._http.margins(kind)

    async def login_start(self, given: LoginInput) -> LoginChallenge:
        username = given.username or self.config.username
        password = given.password or self._password
        if not username or password is None:
            raise BadRequest(f"HDFC login needs a username and password: give them to login_start or set "
                             f"brokers.{self.broker_id}.username and .password")
        token_id = str((await self._http.token_id())["tokenId"])
        reply = await self._http.validate_login(token_id, username, password)
        self._start_login(token_id, self.config.login_timeout_s)
        return LoginChallenge(step="enter_otp", prompt=_question(reply), expires_in_s=self.config.login_timeout_s)

    async def login_complete(self, answer: LoginAnswer) -> SessionInfo:
        if not answer.otp:
            raise LoginFailed("HDFC login needs the OTP")
        token_id = self._login_in_progress("HDFC").handle
        reply = await self._http.validate_otp(token_id, answer.otp)
        authorised = await self._http.authorise(token_id, str(reply["requestToken"]))
        request_token = str(authorised.get("requestToken") or reply["requestToken"])
        return await self._adopt_verified(await self._http.access_token(request_token, self._api_secret), "HDFC")

    async def _available_funds(self) -> float:
        return mapping.available_funds(await self._http.margins())


def _question(reply: dict[str, object]) -> str:
    twofa = reply.get("twofa")
    questions = twofa.get("questions") if isinstance(twofa, dict) else None
    if isinstance(questions, list) and questions and isinstance(questions[0], dict):
        text = questions[0].get("question")
        if isinstance(text, str) and text:
            return text
    return "Enter the OTP HDFC Securities sent to your registered mobile or email"
