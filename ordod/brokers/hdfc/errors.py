"""HDFC InvestRight replies to Ordo's typed broker errors: one table, one pure function.

Only ``status == "success"`` is a success, even under HTTP 200. Error bodies are not
documented, so the judgement is tolerant: the HTTP status gives the class, a numeric code
from the broker's OMS table (when present) or the message's wording refines a rejection.
"""

from __future__ import annotations

import re
from typing import Any

from ordod.brokers.common.http import HttpReply, ReplyFacts, retry_after_s
from ordod.brokers.errors import (
    BrokerError,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    RateLimitExceeded,
    SessionExpired,
)

# The OMS ErrorCode enum published with InvestRight's streaming proto.
FUNDS_CODES = frozenset({11001, 12001})
SYMBOL_CODES = frozenset({1008, 16012, 16019})
THROTTLE_CODES = frozenset({20100})

_SESSION = re.compile(r"(token|session).{0,40}(expired|invalid)|(expired|invalid).{0,20}(token|session)"
                      r"|unauthori[sz]ed|not\s+authenticated", re.I)
_FUNDS = re.compile(r"insufficient|margin\s*(shortfall|unavailable|not\s+available)|balance\s*not\s*found", re.I)
_SYMBOL = re.compile(r"(invalid|unknown).{0,20}(symbol|security|scrip)|(symbol|security|scrip).{0,20}not\s*found",
                     re.I)
_MESSAGE_CHARS = 500


def broker_code_of(body: dict[str, Any]) -> int | None:
    for key in ("error_code", "errorCode", "code"):
        value = body.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return None


def message_of(body: dict[str, Any]) -> str:
    for key in ("message", "error", "status_message", "errorMessage"):
        value = body.get(key)
        if isinstance(value, str) and value:
            return value[:_MESSAGE_CHARS]
    return ""


def rejection_for(code: int | None, message: str, http_status: int | None = None) -> BrokerError:
    """A business refusal, typed by its code or wording (also used for rejected book rows)."""
    fields = ReplyFacts(http_status=http_status, broker_code=None if code is None else str(code),
                        broker_message=message)
    if code in THROTTLE_CODES:
        return RateLimitExceeded(f"HDFC: exchange throttle ({message})", sent=False, **fields)
    if code in FUNDS_CODES or _FUNDS.search(message):
        return InsufficientFunds(f"HDFC: insufficient funds ({message})", **fields)
    if code in SYMBOL_CODES or _SYMBOL.search(message):
        return InvalidSymbol(f"HDFC: invalid symbol ({message})", **fields)
    return OrderRejected(f"HDFC rejected the request: {message or 'no reason given'}", **fields)


def error_from_reply(reply: HttpReply, what: str) -> BrokerError | None:
    """None when the reply is a success; else the error it means."""
    body = reply.body if isinstance(reply.body, dict) else {}
    code = broker_code_of(body)
    message = message_of(body) or reply.snippet
    fields = ReplyFacts(http_status=reply.status,
                        broker_code=str(code) if code is not None else f"HTTP {reply.status}", broker_message=message)
    if reply.status == 429:
        return RateLimitExceeded(f"{what}: HDFC rate limit reached", retry_after_s=retry_after_s(reply.headers),
                                 **fields)
    if reply.status == 401 or _SESSION.search(message if body else ""):
        return SessionExpired(f"{what}: HDFC refused the session token; log in again", **fields)
    if reply.status >= 500:
        return BrokerUnavailable(f"{what}: HDFC answered HTTP {reply.status}", sent=True, **fields)
    if reply.status < 400 and body.get("status") == "success":
        return None
    if reply.status < 400 and not body:
        # HTTP 200 with nothing readable: the broker may have acted on it.
        return BrokerUnavailable(f"{what}: HDFC answered without a readable status", sent=True, **fields)
    error = rejection_for(code, message, reply.status)
    error.broker_code = error.broker_code or f"HTTP {reply.status}"
    return error
