"""Captures the Fyers login redirect: after the user logs in, Fyers sends the browser to
the app's redirect URI with ``auth_code`` and ``state``. When that URI is on this machine
(``http://127.0.0.1:<port>/<path>``), the daemon's HTTP server mounts this handler on
``<path>`` and the login completes with no copy and paste.

The ``state`` must be the one ``login_start`` handed out: without that check, any web page
could make the desk's browser log the daemon into someone else's account.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from urllib.parse import urlsplit

from aiohttp import web

from ordo_shared.errors import OrdoError
from ordod.brokers.base import LoginAnswer, SessionInfo
from ordod.brokers.fyers.config import FyersConfig
from ordod.config_base import ConfigError

log = logging.getLogger("ordod.brokers.fyers")

# (broker_id, answer, actor) -> the new session; the daemon passes SessionManager.login_complete.
CompleteLogin = Callable[[str, LoginAnswer, str], Awaitable[SessionInfo]]

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
ACTOR = "fyers-redirect"


def redirect_paths(brokers: Mapping[str, object]) -> dict[str, str]:
    """Path -> broker id, for every Fyers broker whose redirect URI points at this machine."""
    paths: dict[str, str] = {}
    for broker_id, table in brokers.items():
        if not isinstance(table, FyersConfig) or not table.enabled:
            continue
        uri = urlsplit(table.redirect_uri)
        if uri.scheme != "http" or uri.hostname not in LOCAL_HOSTS:
            continue
        path = uri.path or "/"
        if path in paths:
            raise ConfigError(f"brokers.{broker_id}.redirect_uri: path {path} is already the redirect of "
                              f"brokers.{paths[path]}")
        paths[path] = broker_id
    return paths


def register_routes(app: web.Application, complete: CompleteLogin, paths: Mapping[str, str]) -> None:
    """Mount one GET handler per redirect path (see ``redirect_paths``)."""
    for path, broker_id in paths.items():
        app.router.add_get(path, partial(handle_redirect, complete, broker_id))


async def handle_redirect(complete: CompleteLogin, broker_id: str, request: web.Request) -> web.Response:
    query = request.query
    auth_code, state = query.get("auth_code"), query.get("state")
    if query.get("s") == "error" or not auth_code:
        return _page(400, "Fyers login did not complete",
                     f"Fyers sent no auth code ({query.get('message', 'no reason given')}). Start the login again.")
    if not state:
        return _page(400, "Fyers login refused", "The redirect carries no state; start the login from Ordo.")
    try:
        info = await complete(broker_id, LoginAnswer(auth_code=auth_code, state=state), ACTOR)
    except OrdoError as exc:
        return _page(400, "Fyers login failed", exc.message)
    except Exception:
        log.exception("Fyers redirect handling failed broker=%s", broker_id)
        return _page(500, "Fyers login failed", "Internal error in the daemon; see its log.")
    until = f" until {info.expires_at:%Y-%m-%d %H:%M} UTC" if info.expires_at else ""
    return _page(200, "Logged in to Fyers", f"Broker {broker_id}: session {info.state}{until}. "
                                            "You can close this tab.")


def _page(status: int, title: str, text: str) -> web.Response:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>Ordo: {html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>")
    # The URL carried a one-time code: keep the page out of caches and referrers.
    return web.Response(status=status, text=body, content_type="text/html",
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
