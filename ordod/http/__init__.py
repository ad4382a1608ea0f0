"""The HTTP door: the same ops as the ZeroMQ door, through the same service, as REST + SSE."""

from ordod.http.app import HttpServer, RouteRegistrar, build_app
from ordod.http.keys import EVENTS, SERVICE
from ordod.http.translate import bearer_token

__all__ = ["EVENTS", "SERVICE", "HttpServer", "RouteRegistrar", "bearer_token", "build_app"]
