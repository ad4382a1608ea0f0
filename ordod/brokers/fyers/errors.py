"""Fyers replies to Ordo's typed broker errors: one table, one pure function.

Fyers keys success on ``s == "ok"``; an error carries a negative ``code`` and a ``message``,
and the HTTP status says the class. The raw code and message always travel with the error.
"""

from __future__ import annotations

import re

from ordod.brokers.common.http import HttpReply, ReplyFacts, retry_after_s
from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    InsufficientFunds,
    InvalidSymbol,
    OrderRejected,
    RateLimitExceeded,
    SessionExpired,
)

SESSION_CODES = frozenset({-8, -15, -16, -17})
RATE_LIMIT_CODES = frozenset({-429, -353})
INVALID_SYMBOL_CODES = frozenset({-300})
# "Connection error, try again" and "unexpected error": Fyers itself is unsure what happened.
BROKER_TROUBLE_CODES = frozenset({-96, -201, -202, -204, -205})
ORDER_REJECTED_CODE = -99
INVALID_INPUT_CODE = -50
# Sent but not acknowledged: the order may exist; the docs say to check the order book.
NO_ACK_CODE = 201

_MARGIN = re.compile(r"margin\s*shortfall|insufficient\s*(fund|margin|balance)", re.IGNORECASE)
_SYMBOL = re.compile(r"symbol", re.IGNORECASE)
_MESSAGE_CHARS = 500


def rejection_for(code: int | None, message: str, http_status: int | None = None) -> OrderRejected:
    """A business rejection, typed by what it says (also used for rejected order-book rows)."""
    fields = ReplyFacts(http_status=http_status, broker_code=None if code is None else str(code),
                        broker_message=message)
    if code in INVALID_SYMBOL_CODES or (code == INVALID_INPUT_CODE and _SYMBOL.search(message)):
        return InvalidSymbol(f"Fyers: invalid symbol ({message})", **fields)
    if _MARGIN.search(message):
        return InsufficientFunds(f"Fyers: insufficient funds ({message})", **fields)
    return OrderRejected(f"Fyers rejected the request ({code}): {message}", **fields)


def error_from_reply(reply: HttpReply, what: str, order_call: bool) -> BrokerError | None:
    """None when the reply is a success; else the error it means. ``order_call`` marks
    place/modify/cancel, where ``code: 201`` (no acknowledgement) is possible."""
    body = reply.body if isinstance(reply.body, dict) else {}
    raw_code = body.get("code")
    code = raw_code if isinstance(raw_code, int) and not isinstance(raw_code, bool) else None
    message = str(body.get("message", ""))[:_MESSAGE_CHARS]
    fields = ReplyFacts(http_status=reply.status, broker_code=None if code is None else str(code),
                        broker_message=message or reply.snippet)

    if reply.status == 429 or code in RATE_LIMIT_CODES:
        return RateLimitExceeded(f"{what}: Fyers rate limit reached", retry_after_s=retry_after_s(reply.headers),
                                 **fields)
    if code in SESSION_CODES or reply.status == 401:
        return SessionExpired(f"{what}: Fyers refused the session token; log in again", **fields)
    if reply.status >= 500 or not body or code in BROKER_TROUBLE_CODES:
        # The broker is in trouble or answered something unreadable: it may have acted.
        return BrokerUnavailable(f"{what}: Fyers answered HTTP {reply.status} without a usable result", sent=True,
                                 **fields)
    status_ok = body.get("s") == "ok" and reply.status < 400
    if status_ok and order_call and code == NO_ACK_CODE:
        return BrokerTimeout(f"{what}: Fyers took the request but did not acknowledge it (code 201)", **fields)
    if status_ok:
        return None
    if body.get("s") != "error":
        return BrokerUnavailable(f"{what}: Fyers answered an unknown status {str(body.get('s'))[:20]!r}", sent=True,
                                 **fields)
    return rejection_for(code, message, reply.status)
