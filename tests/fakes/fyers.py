"""A fake Fyers API v3 (``/api/v3``) as documented: ``APP_ID:TOKEN`` authorization, the
order endpoints with their numeric codes, the order book with ``1:`` tag prefixes, profile,
funds, and the auth-code login with its browser redirect."""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from tests.fakes.server import FakeServer, FaultReplies, Recorded, average_after_fill

APP_ID = "ABCD1234-100"
APP_SECRET = "fyers-app-secret-for-tests"
PREFIX = "/api/v3"

# Order-book status codes (FY-DOC): 1 cancelled, 2 traded, 4 transit, 5 rejected, 6 pending, 7 expired.
CANCELLED, TRADED, REJECTED, PENDING, EXPIRED = 1, 2, 5, 6, 7
MARGIN_SHORTFALL = "RED:Margin Shortfall:INR 100.00 Available:INR 5.00"
# Why a cancel is refused, by the order's status (the v2-era order-state codes).
_NOT_CANCELLABLE = {CANCELLED: (-161, "Order already cancelled"), TRADED: (-162, "Order already traded"),
                    REJECTED: (-164, "Order already rejected")}

_AUTH = re.compile(r"^([A-Z0-9]+-\d+):(.+)$")
_SYMBOL = re.compile(r"^(NSE|BSE|MCX):[A-Z0-9&_\-]+$")
_TAG = re.compile(r"^[A-Za-z0-9]{1,30}$")
_REQUIRED: dict[str, tuple[type, ...]] = {
    "symbol": (str,), "qty": (int,), "type": (int,), "side": (int,), "productType": (str,),
    "limitPrice": (int, float), "stopPrice": (int, float), "disclosedQty": (int,), "validity": (str,),
    "offlineOrder": (bool,),
}


def error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"s": "error", "code": code, "message": message}, status=status, headers=headers)


@dataclass
class FyersOrder:
    id: str
    body: dict[str, Any]
    status: int = PENDING
    filled: int = 0
    traded_price: float = 0.0
    """The average price of the fills so far."""
    message: str = ""

    def row(self) -> dict[str, Any]:
        tag = self.body.get("orderTag")
        return {
            "id": self.id, "id_fyers": secrets.token_hex(8), "exchOrdId": "", "symbol": self.body["symbol"],
            "qty": self.body["qty"], "filledQty": self.filled, "remainingQuantity": self.body["qty"] - self.filled,
            "type": self.body["type"], "side": self.body["side"], "productType": self.body["productType"],
            "limitPrice": self.body["limitPrice"], "stopPrice": self.body["stopPrice"],
            "tradedPrice": self.traded_price, "orderValidity": self.body["validity"], "status": self.status,
            "message": self.message,
            "orderDateTime": "01-Jan-2027 10:00:00", "orderTag": f"1:{tag}" if tag else "2:Untagged",
            "segment": 10, "exchange": 10, "source": "API", "offlineOrder": self.body["offlineOrder"],
        }


@dataclass
class FakeFyers(FakeServer):
    redirect_uri: str = "http://127.0.0.1:1/fyers/callback"
    available: float = 1_000_000.0
    orders: list[FyersOrder] = field(default_factory=list)
    auth_codes: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(25010100000001)
        r = self.app.router
        r.add_get(PREFIX + "/generate-authcode", self._generate_authcode)
        r.add_post(PREFIX + "/validate-authcode", self._validate_authcode)
        r.add_post(PREFIX + "/orders/sync", self._place)
        r.add_patch(PREFIX + "/orders/sync", self._modify)
        r.add_delete(PREFIX + "/orders/sync", self._cancel)
        r.add_get(PREFIX + "/orders", self._orders)
        r.add_get(PREFIX + "/profile", self._profile)
        r.add_get(PREFIX + "/funds", self._funds)

    @property
    def base_url(self) -> str:
        return self.url + PREFIX

    def issue_token(self, valid_for_s: float = 8 * 3600) -> str:
        return self.issue("FY1234", valid_for_s)

    # Auth

    def _auth_problem(self, request: web.Request) -> web.Response | None:
        match = _AUTH.match(request.headers.get("Authorization", ""))
        state = self.token_state(match.group(2)) if match and match.group(1) == APP_ID else "unknown"
        if state == "unknown":
            return error(401, -16, "Could not authenticate the user")
        if state == "expired":
            return _expired()
        return None

    async def _generate_authcode(self, request: web.Request) -> web.StreamResponse:
        q = request.query
        if q.get("client_id") != APP_ID or q.get("response_type") != "code":
            return error(400, -352, "Invalid app id")
        if q.get("redirect_uri") != self.redirect_uri:
            return error(400, -50, "redirect_uri does not match the app")
        # The user logs in (password, 2FA) in the browser; then Fyers redirects with the code.
        code = secrets.token_urlsafe(12)
        self.auth_codes.add(code)
        target = q["redirect_uri"] + "?" + urlencode({"s": "ok", "code": "200", "auth_code": code,
                                                      "state": q.get("state", "")})
        raise web.HTTPFound(target)

    async def _validate_authcode(self, request: web.Request) -> web.Response:
        body = self.body(request)
        expected_hash = hashlib.sha256(f"{APP_ID}:{APP_SECRET}".encode()).hexdigest()
        if body.get("grant_type") != "authorization_code" or body.get("appIdHash") != expected_hash:
            return error(400, -413, "Invalid app id hash")
        if body.get("code") not in self.auth_codes:
            return error(400, -413, "Invalid auth code")
        self.auth_codes.discard(body["code"])
        return web.json_response({"s": "ok", "code": 200, "message": "", "access_token": self.issue_token()})

    # Orders

    async def _place(self, request: web.Request) -> web.StreamResponse:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        fault = self.next_fault("POST /orders/sync")
        body = self.body(request)
        invalid = None if fault is not None and fault.refuses_before_validation else _invalid_order(body)
        if invalid is not None:
            return invalid
        if fault is not None:
            return await self.play(fault, request, lambda: self._book(body), _FAULT_REPLIES)
        order = self._book(body)
        if order.status == REJECTED:
            return error(400, -99, order.message)
        return _accepted(order)

    def _book(self, body: dict[str, Any]) -> FyersOrder:
        order = FyersOrder(str(next(self._ids)), body)
        if body.get("limitPrice", 0) * body.get("qty", 0) > self.available:
            # RMS rejects it after booking, as in the order book rows seen in the wild
            order.status, order.message = REJECTED, MARGIN_SHORTFALL
        self.orders.append(order)
        return order

    async def _modify(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        body = self.body(request)
        order = self._find(body.get("id"))
        if order is None or not isinstance(body.get("type"), int):
            return error(400, -51, "Invalid order id")
        if order.status != PENDING:
            return error(400, -99, "Order is not pending; cannot modify")
        order.body = {**order.body, **{k: v for k, v in body.items() if k != "id"}}
        return web.json_response({"s": "ok", "code": 1101, "message": "Successfully modified order", "id": order.id})

    async def _cancel(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        body = self.body(request)
        order = self._find(body.get("id"))
        if order is None:
            return error(400, -51, "Invalid order id")
        if order.status != PENDING:
            return error(400, *_NOT_CANCELLABLE.get(order.status, (-99, "Order is not pending; cannot cancel")))
        order.status = CANCELLED
        return web.json_response({"s": "ok", "code": 1103, "message": "Successfully cancelled order", "id": order.id})

    def _find(self, order_id: Any) -> FyersOrder | None:
        return next((o for o in self.orders if o.id == order_id), None)

    # What the exchange does to a booked order, and what the client asked about it (tests use these)

    def order(self, order_id: str) -> FyersOrder:
        order = self._find(order_id)
        if order is None:
            raise KeyError(f"the fake Fyers has no order {order_id}")
        return order

    def fill(self, order_id: str, qty: int, price: float) -> None:
        """A trade of ``qty`` at ``price``. A partly filled order stays pending (6) with
        ``filledQty`` and the average ``tradedPrice``; the last fill makes it traded (2)."""
        order = self.order(order_id)
        assert order.status == PENDING and 0 < qty <= order.body["qty"] - order.filled, (order.status, qty)
        order.traded_price = average_after_fill(order.filled, order.traded_price, qty, price)
        order.filled += qty
        if order.filled == order.body["qty"]:
            order.status = TRADED

    def reject(self, order_id: str, message: str) -> None:
        """A late rejection (RMS, exchange): status 5 with the reason in ``message``."""
        order = self.order(order_id)
        order.status, order.message = REJECTED, message

    def expire(self, order_id: str) -> None:
        self.order(order_id).status = EXPIRED

    def status_lookups(self, order_id: str) -> list[Recorded]:
        """The single-order queries (GET /orders?id=) for this order."""
        return [r for r in self.calls("GET", "/orders") if r.query.get("id") == order_id]

    def cancels(self, order_id: str) -> list[Recorded]:
        return [r for r in self.calls("DELETE", "/orders/sync") if self.body_id(r) == order_id]

    def modifies(self, order_id: str) -> list[Recorded]:
        return [r for r in self.calls("PATCH", "/orders/sync") if self.body_id(r) == order_id]

    @staticmethod
    def body_id(recorded: Recorded) -> Any:
        return recorded.body.get("id") if isinstance(recorded.body, dict) else None

    async def _orders(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        fault = self.next_fault("GET /orders")
        if fault is not None:
            return error(fault.status, fault.code or -96, fault.message or "internal server error")
        rows = [o.row() for o in self.orders]
        if "id" in request.query:
            rows = [r for r in rows if r["id"] == request.query["id"]]
        if "order_tag" in request.query:
            rows = [r for r in rows if r["orderTag"] == request.query["order_tag"]]
        return web.json_response({"s": "ok", "code": 200, "message": "", "orderBook": rows})

    async def _profile(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        return web.json_response({"s": "ok", "code": 200, "message": "",
                                  "data": {"name": "TEST USER", "fy_id": "FY1234", "email_id": "t***@x.in"}})

    async def _funds(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        return web.json_response({"code": 200, "message": "", "s": "ok", "fund_limit": [
            {"id": 1, "title": "Total Balance", "equityAmount": self.available * 2, "commodityAmount": 0},
            {"id": 10, "title": "Available Balance", "equityAmount": self.available, "commodityAmount": 0},
        ]})


def _expired() -> web.Response:
    return error(401, -8, "Your token has expired. Please generate a token")


def _accepted(order: FyersOrder | None) -> web.Response:
    order_id = order.id if order else ""
    return web.json_response({"s": "ok", "code": 1101,
                              "message": f"Order submitted successfully. Your Order Ref. No.{order_id}",
                              "id": order_id})


_FAULT_REPLIES = FaultReplies(
    reject=lambda f: error(f.status, f.code or -99, f.message),
    rate_limited=lambda f: error(429, -429, "Request limit reached", headers={
        "Retry-After": f"{f.retry_after_s:g}", "X-Retry-After-Ms": str(int(f.retry_after_s * 1000))}),
    expired=_expired,
    server_error=lambda f: error(f.status if f.status >= 500 else 500, -96, "internal server error"),
    late_success=_accepted,
    no_ack=lambda: web.json_response({"s": "ok", "code": 201, "message": "Request sent, acknowledgement pending"}),
)


def _invalid_order(body: dict[str, Any]) -> web.Response | None:
    """The documented validation, answered as Fyers does (-50 naming the input)."""
    for name, types in _REQUIRED.items():
        value = body.get(name)
        if value is None or (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            return error(400, -50, f"Invalid input: {name}")
    if not _SYMBOL.match(body["symbol"]):
        return error(400, -50, "The input symbol is invalid.")
    if body["type"] not in (1, 2, 3, 4) or body["side"] not in (1, -1):
        return error(400, -50, "Invalid input: type or side")
    if body["productType"] not in ("CNC", "INTRADAY", "MARGIN", "CO", "BO", "MTF"):
        return error(400, -50, "Invalid input: productType")
    if body["validity"] not in ("DAY", "IOC"):
        return error(400, -50, "Invalid input: validity")
    if body["type"] in (1, 4) and body["limitPrice"] <= 0:
        return error(400, -50, "Invalid input: limitPrice")
    if body["type"] in (3, 4) and body["stopPrice"] <= 0:
        return error(400, -50, "Invalid input: stopPrice")
    tag = body.get("orderTag")
    if tag is not None and (not isinstance(tag, str) or not _TAG.match(tag)):
        return error(400, -50, "Invalid input: orderTag")
    return None
