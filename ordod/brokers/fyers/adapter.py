"""The Fyers adapter: places, modifies and cancels through ``/orders/sync``, finds orders by
their ``orderTag`` in the order book, and runs the daily auth-code login."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets

from pydantic import SecretStr

from ordo_shared.errors import LoginFailed
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
from ordod.brokers.errors import BrokerUnavailable, OrderNotFound, OrderRejected, SessionExpired
from ordod.brokers.fyers import mapping
from ordod.brokers.fyers.config import FyersConfig
from ordod.brokers.fyers.errors import rejection_for
from ordod.brokers.fyers.http import FyersHttp
from ordod.brokers.fyers.schemas import CancelOrderBody, OrderReply, ValidateAuthCodeBody
from ordod.clock import Clock

log = logging.getLogger("ordod.brokers.fyers")


class FyersAdapter(HttpBrokerAdapter[FyersConfig]):
    kind = "fyers"

    def __init__(
        self,
        broker_id: str,
        config: FyersConfig,
        app_secret: SecretStr,
        store: TokenStore,
        clock: Clock,
        call_timeout_s: float,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__(broker_id, config, store, clock, sleep)
        self._app_secret = app_secret
        self._http = FyersHttp(broker_id, config, self.sessions, self.limiter, call_timeout_s)

    async def start(self) -> None:
        await self._http.start()
        await self.sessions.load()

    async def close(self) -> None:
        await self._http.close()

    # Orders

    async def place_order(self, order: BrokerOrder) -> PlacedOrder:
        mapping.check_symbol(order.spec.symbol)
        await self._before_sending(order.spec)
        reply = await self._http.place_order(mapping.place_body(order, self.config.offline_order), order.halted)
        return PlacedOrder(_order_id(reply, "place"), broker_code=_code(reply), broker_message=reply.message)

    async def cancel_order(self, order_id: str) -> None:
        reply = await self._http.cancel_order(CancelOrderBody(id=order_id))
        _order_id(reply, "cancel")

    async def modify_order(self, order_id: str, change: OrderChange) -> None:
        reply = await self._http.modify_order(mapping.modify_body(order_id, change))
        _order_id(reply, "modify")

    async def order_status(self, order_id: str) -> BrokerOrderStatus:
        book = await self._http.orders({"id": order_id}, kind="background")  # polled by the tracker
        for row in book.orderBook:
            if row.id == order_id:
                return mapping.status_of(row)
        raise OrderNotFound(f"Fyers has no order {order_id}", broker_message="order not found")

    async def find_order_by_tag(self, order: BrokerOrder) -> str | None:
        book = await self._http.orders({"order_tag": mapping.order_tag_query(order.tag)})
        rows = mapping.rows_with_tag(book.orderBook, order.tag)
        if len(rows) > 1:
            log.error("broker=%s has %d orders tagged %s (order_ref=%s)", self.broker_id, len(rows), order.tag,
                      order.order_ref)
        live = [row for row in rows if row.status != mapping.REJECTED]
        if live:
            return live[0].id
        if rows:
            raise rejection_for(None, rows[0].message or "rejected")
        return None

    # Session (state, refresh and verification come from HttpBrokerAdapter)

    async def _probe(self, kind: CallKind) -> None:
        await self._http.profile(kind)

    async def login_start(self, given: LoginInput) -> LoginChallenge:
        state = secrets.token_urlsafe(24)
        self._start_login(state, self.config.login_timeout_s)
        return LoginChallenge(
            step="open_url",
            prompt="Open the login URL in a browser and log in to Fyers. When the redirect URI is this "
                   "daemon's, the login completes by itself; otherwise call login_complete with the auth_code "
                   "from the address the browser lands on.",
            login_url=self._http.login_url(state),
            expires_in_s=self.config.login_timeout_s,
        )

    async def login_complete(self, answer: LoginAnswer) -> SessionInfo:
        if not answer.auth_code:
            raise LoginFailed("Fyers login needs the auth_code from the redirect")
        self._check_state(answer.state)
        body = ValidateAuthCodeBody(grant_type="authorization_code", appIdHash=self._app_id_hash(),
                                    code=answer.auth_code)
        try:
            reply = await self._http.validate_authcode(body)
        except (OrderRejected, SessionExpired) as exc:  # an answer, not a transport fault
            raise LoginFailed(f"Fyers refused the auth code ({exc.broker_code}): {exc.broker_message}") from None
        if not reply.access_token:
            raise LoginFailed("Fyers accepted the auth code but sent no access token")
        return await self._adopt_verified(reply.access_token, "Fyers")

    def _check_state(self, state: str | None) -> None:
        """The state a redirect carries must be the one this daemon handed out (no CSRF
        login into someone else's account). A caller typing the code in may omit it."""
        if state is None:
            return
        pending = self._login_in_progress("Fyers")
        if not secrets.compare_digest(state, pending.handle):
            raise LoginFailed("the login's state does not match the one this daemon started")

    def _app_id_hash(self) -> str:
        material = f"{self.config.app_id}:{self._app_secret.get_secret_value()}"
        return hashlib.sha256(material.encode()).hexdigest()

    async def _available_funds(self) -> float:
        available = mapping.available_funds(await self._http.funds())
        if available is None:
            raise BrokerUnavailable("Fyers' funds reply has no available balance row", sent=False)
        return available


def _order_id(reply: OrderReply, what: str) -> str:
    if not reply.id:
        # s == "ok" yet no id: we cannot tell which order it is about.
        raise BrokerUnavailable(f"Fyers accepted the {what} but returned no order id", sent=True,
                                broker_code=_code(reply), broker_message=reply.message)
    return reply.id


def _code(reply: OrderReply) -> str | None:
    return None if reply.code is None else str(reply.code)
