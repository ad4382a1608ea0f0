"""InvestRight's endpoints over the shared JSON client: the bare token in ``Authorization``,
the mandatory ``User-Agent``, ``api_key`` on every query, and every reply judged by
``errors``. The login steps answer bare JSON (no status envelope) and are judged apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, SecretStr, ValidationError

from ordo_shared.errors import LoginFailed
from ordod.brokers.common.http import HttpReply, JsonHttp
from ordod.brokers.common.ratelimit import CallKind, RateLimiter
from ordod.brokers.common.session import SessionHolder
from ordod.brokers.errors import BrokerUnavailable
from ordod.brokers.hdfc.config import HdfcConfig
from ordod.brokers.hdfc.errors import error_from_reply, message_of
from ordod.brokers.hdfc.schemas import (
    AccessTokenBody,
    Envelope,
    LoginBody,
    Margins,
    ModifyOrderBody,
    OrderIdData,
    OrderRow,
    PlaceOrderBody,
    TwoFaBody,
)

R = TypeVar("R", bound=BaseModel)

V1 = "/oapi/v1"
ORDERS_REGULAR = V1 + "/orders/regular"


class HdfcHttp:
    def __init__(self, broker_id: str, config: HdfcConfig, api_key: SecretStr, session: SessionHolder,
                 limiter: RateLimiter, call_timeout_s: float) -> None:
        self._api_key = api_key
        self._session = session
        self._http = JsonHttp(broker_id, config.base_url, limiter, connect_timeout_s=config.connect_timeout_s,
                              call_timeout_s=call_timeout_s, default_headers={"User-Agent": config.user_agent})

    async def start(self) -> None:
        await self._http.start()

    async def close(self) -> None:
        await self._http.close()

    # Orders

    async def place_order(self, body: PlaceOrderBody, halted: Callable[[], bool]) -> OrderIdData:
        reply = await self._call("POST", ORDERS_REGULAR, kind="order", json_body=body.model_dump(exclude_none=True),
                                 halted=halted)
        return _data(reply, OrderIdData, "POST orders/regular")

    async def modify_order(self, order_id: str, body: ModifyOrderBody) -> OrderIdData:
        reply = await self._call("PUT", f"{ORDERS_REGULAR}/{order_id}", kind="order", json_body=body.model_dump())
        return _data(reply, OrderIdData, "PUT orders/regular")

    async def cancel_order(self, order_id: str) -> OrderIdData:
        reply = await self._call("DELETE", f"{ORDERS_REGULAR}/{order_id}", kind="order")
        return _data(reply, OrderIdData, "DELETE orders/regular")

    async def orders(self) -> list[OrderRow]:
        return _rows(await self._call("GET", V1 + "/orders"))

    async def order(self, order_id: str, kind: CallKind = "request") -> list[OrderRow]:
        return _rows(await self._call("GET", f"{V1}/orders/{order_id}", kind=kind))

    async def margins(self, kind: CallKind = "request") -> Margins:
        return _data(await self._call("GET", V1 + "/user/margins", kind=kind), Margins, "GET user/margins")

    async def security_master(self) -> str:
        """The CSV; unauthenticated, no api_key."""
        reply = await self._http.request("GET", V1 + "/security-master")
        if reply.status != 200 or not reply.text.startswith("exchange,"):
            raise BrokerUnavailable(f"GET security-master: HDFC answered HTTP {reply.status} without the CSV",
                                    http_status=reply.status, sent=False)
        return reply.text

    # Login (each step's reply is bare JSON)

    async def token_id(self) -> dict[str, Any]:
        return await self._login_step("GET", V1 + "/login", "tokenId")

    async def validate_login(self, token_id: str, username: str, password: SecretStr) -> dict[str, Any]:
        body = LoginBody(username=username, password=password.get_secret_value())
        return await self._login_step("POST", V1 + "/login/validate", None, {"token_id": token_id},
                                      body.model_dump())

    async def validate_otp(self, token_id: str, otp: str) -> dict[str, Any]:
        return await self._login_step("POST", V1 + "/twofa/validate", "requestToken", {"token_id": token_id},
                                      TwoFaBody(answer=otp).model_dump())

    async def authorise(self, token_id: str, request_token: str) -> dict[str, Any]:
        return await self._login_step("GET", V1 + "/authorise", None,
                                      {"token_id": token_id, "consent": "true", "request_token": request_token})

    async def access_token(self, request_token: str, api_secret: SecretStr) -> str:
        body = await self._login_step("POST", V1 + "/access-token", None, {"request_token": request_token},
                                      AccessTokenBody(apiSecret=api_secret.get_secret_value()).model_dump())
        data = body.get("data")
        nested: dict[str, Any] = data if isinstance(data, dict) else {}
        token = body.get("accessToken") or nested.get("accessToken")
        if not isinstance(token, str) or not token:
            raise LoginFailed("HDFC's access-token reply carries no accessToken")
        return token

    async def _login_step(self, method: str, path: str, expect: str | None, params: dict[str, str] | None = None,
                          json_body: Any = None) -> dict[str, Any]:
        reply = await self._http.request(method, path, params={"api_key": self._api_key.get_secret_value(),
                                                               **(params or {})}, json_body=json_body)
        body = reply.body if isinstance(reply.body, dict) else {}
        if reply.status >= 400 or body.get("status") == "error" or (expect is not None and not body.get(expect)):
            step = path.removeprefix(V1 + "/")
            raise LoginFailed(f"HDFC refused the login at {step} (HTTP {reply.status}): "
                              f"{message_of(body) or 'no reason given'}")
        return body

    async def _call(self, method: str, path: str, *, kind: CallKind = "request", json_body: Any = None,
                    halted: Callable[[], bool] | None = None) -> HttpReply:
        token = self._session.token()
        reply = await self._http.request(method, path, kind=kind, params={"api_key": self._api_key.get_secret_value()},
                                         json_body=json_body, headers={"Authorization": token}, halted=halted)
        self._http.raise_judged(error_from_reply(reply, f"{method} {path}"), self._session)
        return reply


def _data(reply: HttpReply, model: type[R], what: str) -> R:
    try:
        return model.model_validate(Envelope.model_validate(reply.body).data)
    except ValidationError:
        raise BrokerUnavailable(f"{what}: HDFC's reply does not have the documented shape", sent=True,
                                http_status=reply.status, broker_message=reply.snippet) from None


def _rows(reply: HttpReply) -> list[OrderRow]:
    data = Envelope.model_validate(reply.body).data
    if data is None:
        return []  # an empty book
    if not isinstance(data, list):
        data = [data]
    try:
        return [OrderRow.model_validate(row) for row in data]
    except ValidationError:
        raise BrokerUnavailable("GET orders: HDFC's order book does not have the documented shape", sent=True,
                                http_status=reply.status, broker_message=reply.snippet) from None
