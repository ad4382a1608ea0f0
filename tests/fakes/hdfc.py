"""A fake HDFC InvestRight Open API as documented: bare-token ``Authorization``, mandatory
``User-Agent``, ``api_key`` on every query, the five-step programmatic login, orders by
``security_id`` with ``external_reference_number``, the order book, margins, profile and
the security master CSV."""

from __future__ import annotations

import itertools
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes.server import FakeServer, FaultReplies, Recorded, average_after_fill

API_KEY = "hdfc-api-key-for-tests"
API_SECRET = "hdfc-api-secret-for-tests"
USERNAME = "CLIENT01"
PASSWORD = "correct horse battery staple"
OTP = "113402"
V1 = "/oapi/v1"

MASTER_CSV = """\
exchange,security_id,instrument_segment,expiry_date,strike_price,option_type,lot_size,tick_size,close_price,\
exch_security_id,symbol_name,underline_symbol,open_price
NSE,SBINEQNR,EQUITY,,,,1,5,801.1,3045,SBIN,,800
BSE,SBIBSEQNR,EQUITY,,,,1,5,801.0,500112,SBIN,,0
NSE,BHAENGEQNR,EQUITY,,,,1,1,122.94,419,BEPL,,121.32
NSE,48705,FUTIDX,2026-10-27,-.01,XX,75,20,25186.8,48705,NIFTY,NIFTYEQEQNR,0
NSE,48796,FUTSTK,2026-10-27,-.01,XX,425,10,1481.4,48796,CIPLA,CIPLTDEQNR,1473.1
NSE,70001,OPTIDX,2026-10-27,25000,CE,75,5,110,70001,NIFTY,NIFTYEQEQNR,0
NSE,70002,OPTIDX,2026-10-06,25000,CE,75,5,90,70002,NIFTY,NIFTYEQEQNR,0
NSE,70003,OPTIDX,2026-10-13,25000,CE,75,5,95,70003,NIFTY,NIFTYEQEQNR,0
NSE,70004,OPTIDX,2026-10-27,25000,PE,75,5,120,70004,NIFTY,NIFTYEQEQNR,0
MCX,575691,FUTCOM,2027-06-04,0,XX,1,100,0,575691,GOLD,GOLD,0
NSE,BROKENROW,EQUITY,not-a-date,,,x,1,0,1,BROKEN,,0
"""

_SEGMENTS = {"EQUITY", "OPTIDX", "OPTSTK", "FUTIDX", "FUTSTK", "OPTCUR", "FUTCUR", "FUTCOM", "OPTFUT"}
_PRODUCTS = {"DELIVERY", "OVERNIGHT", "INTRADAY", "MTF", "COLL-SELL", "ENCASH"}
_ORDER_TYPES = {"MARKET", "LIMIT", "SL", "SL-M", "SL-L"}
_REFERENCE = re.compile(r"^\d{1,20}$")


def failure(status: int, message: str, code: int | None = None, headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"status": "error", "message": message}
    if code is not None:
        body["error_code"] = code
    return web.json_response(body, status=status, headers=headers)


def success(data: Any) -> web.Response:
    return web.json_response({"status": "success", "data": data})


def _expired() -> web.Response:
    return failure(401, "Session token expired")


def _accepted(order: HdfcOrder | None) -> web.Response:
    return success({"order_id": order.order_id if order else ""})


_FAULT_REPLIES = FaultReplies(
    reject=lambda f: failure(f.status, f.message, f.code),
    rate_limited=lambda f: failure(429, "Too many requests", headers={"Retry-After": f"{f.retry_after_s:g}"}),
    expired=_expired,
    server_error=lambda f: failure(f.status if f.status >= 500 else 500, "Internal Server Error"),
    late_success=_accepted,
    no_ack=lambda: failure(500, "Internal Server Error"),  # InvestRight has no "sent, not acknowledged" reply
)


@dataclass
class HdfcOrder:
    order_id: str
    body: dict[str, Any]
    status: str = "Open"
    filled: int = 0
    status_message: str = ""
    reference: str = ""
    average_price: float = 0.0

    def row(self) -> dict[str, Any]:
        b = self.body
        return {
            "client_id": USERNAME, "order_id": self.order_id, "exchange_order_id": "", "exchange": b["exchange"],
            "security_id": b["security_id"], "tradingsymbol": b["security_id"],
            "instrument_segment": b["instrument_segment"], "transaction_type": b["transaction_type"].title(),
            "product": b["product"], "order_type": b["order_type"], "validity": b["validity"],
            "price": b["price"], "trigger_price": b["trigger_price"], "quantity": b["quantity"],
            "disclosed_quantity": b.get("disclosed_quantity", 0), "filled_quantity": self.filled,
            "pending_quantity": b["quantity"] - self.filled,
            "average_price": self.average_price, "total_traded_value": self.average_price * self.filled,
            "status": self.status, "status_message": self.status_message, "status_message_raw": self.status_message,
            "order_timestamp": "01/01/2027 10:00:00", "external_reference_number": self.reference,
        }


@dataclass
class FakeHdfc(FakeServer):
    master_csv: str = MASTER_CSV
    available: float = 1_000_000.0
    echo_reference: bool = True
    """False: the book shows a reference of the broker's own (whether it echoes ours is undocumented)."""
    orders: list[HdfcOrder] = field(default_factory=list)
    logins: dict[str, str] = field(default_factory=dict)  # token_id -> step reached

    def __post_init__(self) -> None:
        super().__post_init__()
        self._ids = itertools.count(24042500000501)
        r = self.app.router
        r.add_get(V1 + "/security-master", self._master)
        r.add_get(V1 + "/login", self._login)
        r.add_post(V1 + "/login/validate", self._login_validate)
        r.add_post(V1 + "/twofa/validate", self._twofa)
        r.add_get(V1 + "/authorise", self._authorise)
        r.add_post(V1 + "/access-token", self._access_token)
        r.add_post(V1 + "/orders/regular", self._place)
        r.add_put(V1 + "/orders/regular/{order_id}", self._modify)
        r.add_delete(V1 + "/orders/regular/{order_id}", self._cancel)
        r.add_get(V1 + "/orders", self._orders)
        r.add_get(V1 + "/orders/{order_id}", self._order)
        r.add_get(V1 + "/user/margins", self._margins)
        r.add_route("*", "/oapi/v3/user/profile", self._profile)

    def issue_token(self, valid_for_s: float = 8 * 3600) -> str:
        return self.issue(USERNAME, valid_for_s, merchant="Ordo", merchant_api_key=API_KEY)

    # Checks every documented call makes

    def _app_problem(self, request: web.Request) -> web.Response | None:
        if not request.headers.get("User-Agent"):
            return failure(401, "User-Agent header is required")
        if request.query.get("api_key") != API_KEY:
            return failure(401, "Invalid api_key")
        return None

    def _auth_problem(self, request: web.Request) -> web.Response | None:
        if (problem := self._app_problem(request)) is not None:
            return problem
        state = self.token_state(request.headers.get("Authorization", ""))  # "Bearer ..." is no token
        if state == "unknown":
            return failure(401, "Unauthorized: credentials are missing or incorrect")
        if state == "expired":
            return _expired()
        return None

    # Security master and login

    async def _master(self, request: web.Request) -> web.Response:
        fault = self.next_fault("GET /security-master")
        if fault is not None:
            return failure(fault.status if fault.status >= 500 else 503, "unavailable")
        return web.Response(text=self.master_csv, content_type="text/csv",
                            headers={"Content-Disposition": "attachment; filename=ir-security-master.csv"})

    async def _login(self, request: web.Request) -> web.Response:
        if (problem := self._app_problem(request)) is not None:
            return problem
        token_id = secrets.token_hex(16)
        self.logins[token_id] = "started"
        return web.json_response({"tokenId": token_id})

    async def _login_validate(self, request: web.Request) -> web.Response:
        if (problem := self._app_problem(request)) is not None:
            return problem
        token_id = request.query.get("token_id", "")
        body = self.body(request)
        if self.logins.get(token_id) != "started":
            return failure(400, "Invalid token id")
        if body.get("username") != USERNAME or body.get("password") != PASSWORD:
            return failure(401, "Invalid username or password")
        self.logins[token_id] = "password"
        return web.json_response({"recaptcha": False, "loginId": "3170270", "twoFAEnabled": True, "twofa": {
            "questions": [{"question": "Please enter OTP received on registered Email/Mobile"}]}})

    async def _twofa(self, request: web.Request) -> web.Response:
        if (problem := self._app_problem(request)) is not None:
            return problem
        token_id = request.query.get("token_id", "")
        body = self.body(request)
        if self.logins.get(token_id) != "password":
            return failure(400, "Invalid token id")
        if body.get("answer") != OTP:
            return failure(401, "Invalid OTP")
        request_token = secrets.token_hex(16)
        self.logins[token_id] = "otp:" + request_token
        return web.json_response({"requestToken": request_token, "authorised": False, "termsAndConditions": {
            "version": 1, "content": [{"header": "P&L1", "body": "Terms and Conditions Agreed"}]}})

    async def _authorise(self, request: web.Request) -> web.Response:
        if (problem := self._app_problem(request)) is not None:
            return problem
        q = request.query
        if self.logins.get(q.get("token_id", "")) != "otp:" + q.get("request_token", "") or q.get("consent") != "true":
            return failure(400, "Invalid request token or no consent")
        self.logins[q["token_id"]] = "authorised:" + q["request_token"]
        return web.json_response({"callbackUrl": "https://merchant.example", "requestToken": q["request_token"]})

    async def _access_token(self, request: web.Request) -> web.Response:
        if (problem := self._app_problem(request)) is not None:
            return problem
        request_token = request.query.get("request_token", "")
        body = self.body(request)
        if "authorised:" + request_token not in self.logins.values() or body.get("apiSecret") != API_SECRET:
            return failure(401, "Invalid request token or api secret")
        return web.json_response({"accessToken": self.issue_token()})

    # Orders

    async def _place(self, request: web.Request) -> web.StreamResponse:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        body = self.body(request)
        fault = self.next_fault("POST /orders/regular")
        invalid = None if fault is not None and fault.refuses_before_validation else self._invalid_order(body)
        if invalid is not None:
            return invalid
        if fault is not None:
            return await self.play(fault, request, lambda: self._book(body), _FAULT_REPLIES)
        return _accepted(self._book(body))

    def _book(self, body: dict[str, Any]) -> HdfcOrder:
        reference = str(body.get("external_reference_number", ""))
        order = HdfcOrder(str(next(self._ids)), body,
                          reference=reference if self.echo_reference else f"STAPI{secrets.randbelow(10**15):015d}")
        if body["price"] * body["quantity"] > self.available:
            # The OMS takes it; RMS rejects it, as the book then shows.
            order.status, order.status_message = "Rejected", "RMS: Margin Unavailable, insufficient funds"
        self.orders.append(order)
        return order

    def _invalid_order(self, b: dict[str, Any]) -> web.Response | None:
        master_ids = {line.split(",")[1] for line in self.master_csv.splitlines()[1:] if line}
        checks: list[tuple[bool, str]] = [
            (b.get("exchange") in ("NSE", "BSE", "MCX"), "exchange is invalid"),
            (b.get("security_id") in master_ids, "Invalid security id"),
            (b.get("instrument_segment") in _SEGMENTS, "instrument_segment is invalid"),
            (str(b.get("transaction_type", "")).upper() in ("BUY", "SELL"), "transaction_type is invalid"),
            (b.get("product") in _PRODUCTS, "product is invalid"),
            (b.get("order_type") in _ORDER_TYPES, "order_type is invalid"),
            (type(b.get("quantity")) is int and b["quantity"] > 0, "quantity is invalid"),
            (type(b.get("price")) in (int, float), "price is invalid"),
            (type(b.get("trigger_price")) in (int, float), "trigger_price is invalid"),
            (b.get("validity") in ("DAY", "IOC", "GTD"), "validity is invalid"),
            (type(b.get("amo", False)) is bool, "amo is invalid"),
            (bool(_REFERENCE.match(str(b.get("external_reference_number", "0")))),
             "external_reference_number is invalid"),
        ]
        if b.get("order_type") in ("LIMIT", "SL"):
            checks.append((b.get("price", 0) > 0, "price is required for LIMIT and SL"))
        if b.get("order_type") in ("SL", "SL-M"):
            checks.append((b.get("trigger_price", 0) > 0, "trigger_price is required for SL and SL-M"))
        if b.get("instrument_segment") not in (None, "EQUITY"):
            checks.append((bool(re.match(r"^\d{8}$", str(b.get("expiry_date", "")))), "expiry_date is invalid"))
        for ok, message in checks:
            if not ok:
                return failure(422, message)
        return None

    async def _modify(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        order = self._find(request.match_info["order_id"])
        body = self.body(request)
        if order is None:
            return failure(404, "Order does not exist", 8001)
        if order.status != "Open" or "order_type" not in body or "quantity" not in body:
            return failure(422, f"Order cannot be modified ({order.status})")
        order.body = {**order.body, **body}
        return success({"order_id": order.order_id})

    async def _cancel(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        order = self._find(request.match_info["order_id"])
        if order is None:
            return failure(404, "Order does not exist", 8001)
        if order.status != "Open":
            return failure(422, f"Order cannot be cancelled ({order.status})")
        order.status = "Cancelled"
        return success({"order_id": order.order_id})

    def _find(self, order_id: str) -> HdfcOrder | None:
        return next((o for o in self.orders if o.order_id == order_id), None)

    # What the exchange does to a booked order, and what the client asked about it (tests use these)

    def order(self, order_id: str) -> HdfcOrder:
        order = self._find(order_id)
        if order is None:
            raise KeyError(f"the fake HDFC has no order {order_id}")
        return order

    def fill(self, order_id: str, qty: int, price: float) -> None:
        """A trade of ``qty`` at ``price``; the last fill makes the order "Traded" (the docs'
        sample). The book's word for a partial fill is undocumented, so a partly filled order
        stays "Open" with ``filled_quantity``, ``pending_quantity`` and ``average_price``."""
        order = self.order(order_id)
        assert order.status == "Open" and 0 < qty <= order.body["quantity"] - order.filled, (order.status, qty)
        order.average_price = average_after_fill(order.filled, order.average_price, qty, price)
        order.filled += qty
        if order.filled == order.body["quantity"]:
            order.status = "Traded"

    def reject(self, order_id: str, message: str) -> None:
        """A late rejection (RMS, exchange): "Rejected" with the reason in ``status_message``."""
        order = self.order(order_id)
        order.status, order.status_message = "Rejected", message

    def expire(self, order_id: str) -> None:
        self.order(order_id).status = "Expired"  # the word is undocumented; the adapter reads any case

    def status_lookups(self, order_id: str) -> list[Recorded]:
        """The single-order queries (GET /oapi/v1/orders/{order_id}) for this order."""
        return self.calls("GET", f"{V1}/orders/{order_id}")

    def cancels(self, order_id: str) -> list[Recorded]:
        return self.calls("DELETE", f"{V1}/orders/regular/{order_id}")

    def modifies(self, order_id: str) -> list[Recorded]:
        return self.calls("PUT", f"{V1}/orders/regular/{order_id}")

    async def _orders(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        fault = self.next_fault("GET /orders")
        if fault is not None:
            return failure(fault.status, fault.message or "Internal Server Error")
        return success([o.row() for o in self.orders])

    async def _order(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        return success([o.row() for o in self.orders if o.order_id == request.match_info["order_id"]])

    async def _margins(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        return success({"equity": {"total_available_limit": self.available, "total_utilised_limit": 0,
                                   "total_limit": self.available, "totalAvailableLimitDetails": {},
                                   "totalUtilizationDetails": {}, "totalLimitDetails": {}}})

    async def _profile(self, request: web.Request) -> web.Response:
        if (problem := self._auth_problem(request)) is not None:
            return problem
        return success([{"user_id": USERNAME, "user_name": "TEST USER", "broker": "HDFC Securities InvestRight",
                         "exchanges:NSE": ["EQUITY"], "products": ["DELIVERY", "INTRADAY"]}])
