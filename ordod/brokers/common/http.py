"""The JSON-over-HTTP client under every real adapter: one aiohttp session per broker,
the client-side rate limiter in front of every call, and transport faults turned into
typed broker errors that say whether the request may have reached the broker.

Nothing here logs or raises with a URL's query string or a header: those carry api keys
and tokens.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import aiohttp

from ordod.brokers.common.ratelimit import CallKind, RateLimiter
from ordod.brokers.common.session import SessionHolder
from ordod.brokers.errors import (
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    HaltedBeforeSending,
    RateLimitExceeded,
    SessionExpired,
)

log = logging.getLogger("ordod.brokers.http")

_DIAGNOSTIC_CHARS = 500


class ReplyFacts(TypedDict):
    """What every broker error built from a reply carries for diagnosis."""

    http_status: int | None
    broker_code: str | None
    broker_message: str | None


@dataclass(frozen=True)
class HttpReply:
    status: int
    headers: Mapping[str, str]
    body: Any
    """The parsed JSON body, or None when the body is not JSON."""
    text: str
    """The raw body (for CSV downloads, and for diagnosis when it is not JSON)."""

    @property
    def snippet(self) -> str:
        return self.text[:_DIAGNOSTIC_CHARS]


def retry_after_s(headers: Mapping[str, str]) -> float | None:
    """The broker's back-off hint: ``X-Retry-After-Ms`` (finer) first, then ``Retry-After`` seconds."""
    for name, scale in (("X-Retry-After-Ms", 0.001), ("Retry-After", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            continue  # an HTTP-date form; no broker here documents it
        if value >= 0:
            return value
    return None


class JsonHttp:
    def __init__(
        self,
        broker_id: str,
        base_url: str,
        limiter: RateLimiter,
        *,
        connect_timeout_s: float,
        call_timeout_s: float,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        self.broker_id = broker_id
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self._timeout = aiohttp.ClientTimeout(total=call_timeout_s, sock_connect=connect_timeout_s)
        self._default_headers = dict(default_headers or {})
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, headers=self._default_headers)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        kind: CallKind = "request",
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        headers: Mapping[str, str] | None = None,
        halted: Callable[[], bool] | None = None,
    ) -> HttpReply:
        """One call, after its turn at the rate limiter (and, for an order, after asking the
        kill switch once more: the wait may have been long). Raises ``BrokerError`` for
        transport faults only; what the broker answered is for the caller to judge."""
        await self.limiter.acquire(kind)
        if halted is not None and halted():
            raise HaltedBeforeSending(f"{method} {path}: the kill switch went on while this waited its turn; not sent")
        if self._session is None:
            await self.start()
        assert self._session is not None
        what = f"{method} {path}"
        try:
            async with self._session.request(
                method, self.base_url + path, params=params, json=json_body, headers=headers, allow_redirects=False,
            ) as resp:
                text = await resp.text(errors="replace")
                return HttpReply(resp.status, resp.headers, _json_or_none(text), text)
        except BrokerError:
            raise
        except aiohttp.ConnectionTimeoutError:
            raise BrokerUnavailable(f"{what}: could not connect to {self.broker_id} in time; not sent",
                                    sent=False) from None
        except aiohttp.ClientConnectorError as exc:
            # Refused, unreachable, DNS: the request never left this machine.
            raise BrokerUnavailable(f"{what}: cannot connect to {self.broker_id} ({type(exc).__name__}); not sent",
                                    sent=False) from None
        except TimeoutError:
            raise BrokerTimeout(f"{what}: no answer from {self.broker_id} in time") from None
        except aiohttp.ClientError as exc:
            # Reset or closed after the request went out: the broker may have acted on it.
            raise BrokerUnavailable(f"{what}: connection to {self.broker_id} failed mid-call ({type(exc).__name__})",
                                    sent=True) from None

    def raise_judged(self, error: BrokerError | None, session: SessionHolder | None) -> None:
        """Act on what a judged reply means, then raise it: a refused token ends the session
        (``session`` is None for calls made without one), a back-off pauses every call."""
        if error is None:
            return
        if isinstance(error, SessionExpired) and session is not None:
            session.mark_dead()
        if isinstance(error, RateLimitExceeded) and error.retry_after_s:
            self.limiter.pause(error.retry_after_s)
        raise error


def _json_or_none(text: str) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
