"""Fyers' endpoints over the shared JSON client: the ``APP_ID:ACCESS_TOKEN`` header, the
``version: 3`` header the official SDK sends, and every reply judged by ``errors``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlencode

from pydantic import BaseModel, ValidationError

from ordod.brokers.common.http import JsonHttp
from ordod.brokers.common.ratelimit import CallKind, RateLimiter
from ordod.brokers.common.session import SessionHolder
from ordod.brokers.errors import BrokerUnavailable
from ordod.brokers.fyers.config import FyersConfig
from ordod.brokers.fyers.errors import error_from_reply
from ordod.brokers.fyers.schemas import (
    CancelOrderBody,
    Envelope,
    FundsReply,
    ModifyOrderBody,
    OrderBookReply,
    OrderReply,
    PlaceOrderBody,
    TokenReply,
    ValidateAuthCodeBody,
)

R = TypeVar("R", bound=BaseModel)

ORDERS_SYNC = "/orders/sync"


class FyersHttp:
    def __init__(self, broker_id: str, config: FyersConfig, session: SessionHolder, limiter: RateLimiter,
                 call_timeout_s: float) -> None:
        self._config = config
        self._session = session
        self._http = JsonHttp(broker_id, config.base_url, limiter, connect_timeout_s=config.connect_timeout_s,
                              call_timeout_s=call_timeout_s, default_headers={"version": "3"})

    async def start(self) -> None:
        await self._http.start()

    async def close(self) -> None:
        await self._http.close()

    def login_url(self, state: str) -> str:
        query = urlencode({"client_id": self._config.app_id, "redirect_uri": self._config.redirect_uri,
                           "response_type": "code", "state": state})
        return f"{self._http.base_url}/generate-authcode?{query}"

    async def place_order(self, body: PlaceOrderBody, halted: Callable[[], bool]) -> OrderReply:
        return await self._call("POST", ORDERS_SYNC, OrderReply, kind="order", json_body=body.model_dump(),
                                halted=halted)

    async def modify_order(self, body: ModifyOrderBody) -> OrderReply:
        return await self._call("PATCH", ORDERS_SYNC, OrderReply, kind="order", json_body=body.model_dump())

    async def cancel_order(self, body: CancelOrderBody) -> OrderReply:
        return await self._call("DELETE", ORDERS_SYNC, OrderReply, kind="order", json_body=body.model_dump())

    async def orders(self, params: dict[str, str] | None = None, kind: CallKind = "request") -> OrderBookReply:
        return await self._call("GET", "/orders", OrderBookReply, kind=kind, params=params)

    async def profile(self, kind: CallKind = "request") -> Envelope:
        return await self._call("GET", "/profile", Envelope, kind=kind)

    async def funds(self) -> FundsReply:
        return await self._call("GET", "/funds", FundsReply)

    async def validate_authcode(self, body: ValidateAuthCodeBody) -> TokenReply:
        return await self._call("POST", "/validate-authcode", TokenReply, json_body=body.model_dump(), token=False)

    async def _call(self, method: str, path: str, model: type[R], *, kind: CallKind = "request",
                    params: dict[str, str] | None = None, json_body: Any = None, token: bool = True,
                    halted: Callable[[], bool] | None = None) -> R:
        headers = {"Authorization": f"{self._config.app_id}:{self._session.token()}"} if token else None
        reply = await self._http.request(method, path, kind=kind, params=params, json_body=json_body,
                                         headers=headers, halted=halted)
        what = f"{method} {path}"
        self._http.raise_judged(error_from_reply(reply, what, order_call=kind == "order"),
                                self._session if token else None)
        try:
            return model.model_validate(reply.body)
        except ValidationError:
            raise BrokerUnavailable(f"{what}: Fyers' reply does not have the documented shape", sent=True,
                                    http_status=reply.status, broker_message=reply.snippet) from None
