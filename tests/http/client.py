"""An HTTP client for tests that checks every response it gets against the daemon's own
OpenAPI document: the status must be documented for that route (explicitly: ``default`` is
accepted only for 5xx), and the JSON body must validate against the documented schema. So
every HTTP test also proves the document accurate."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # no stubs published
from multidict import CIMultiDictProxy
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from yarl import URL

from ordod.config import Config
from ordod.daemon import Daemon
from tests.harness import RunningDaemon, running_daemon

SPEC_URI = "urn:ordo:openapi"
Seen = tuple[str, str, int, str | None]  # method, path template, status, error code


@dataclass
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: Any

    @property
    def code(self) -> str | None:
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"]["code"])
        return None


@dataclass
class SpecChecker:
    spec: dict[str, Any]
    seen: set[Seen] = field(default_factory=set)

    def __post_init__(self) -> None:
        resource = Resource.from_contents(self.spec, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._routes = [(re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", p) + "$"), p) for p in self.spec["paths"]]

    def validate(self, pointer: str, instance: Any) -> None:
        validator = Draft202012Validator({"$ref": f"{SPEC_URI}#{pointer}"}, registry=self._registry,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        validator.validate(instance)

    def template(self, path: str) -> str | None:
        return next((tpl for rx, tpl in self._routes if rx.match(path)), None)

    def check(self, method: str, path: str, reply: Reply) -> None:
        # The client sends the path with its dot segments resolved ("/orders/./0" is "/orders/0").
        path = URL("http://ordo" + path).raw_path
        template = self.template(path)
        operation = self.spec["paths"].get(template, {}).get(method.lower()) if template else None
        self.seen.add((method, template or path, reply.status, reply.code))
        if operation is None:
            assert reply.status in (404, 405), f"{method} {path} is not documented but answered {reply.status}"
            if method == "HEAD":
                return  # a HEAD answer has no body to check
            self.validate("/components/schemas/ErrorResponse", reply.body)
            return
        responses = operation["responses"]
        key = str(reply.status) if str(reply.status) in responses else None
        if key is None:
            assert reply.status >= 500 and "default" in responses, (
                f"{method} {template} answered {reply.status}, which its document does not list")
            key = "default"
        content = responses[key].get("content", {})
        if "application/json" in content:
            escaped = template.replace("~", "~0").replace("/", "~1") if template else ""
            self.validate(f"/paths/{escaped}/{method.lower()}/responses/{key}/content/application~1json/schema",
                          reply.body)


class ApiClient:
    """Requests against one running daemon, as one token (``None``: no Authorization header)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, checker: SpecChecker,
                 token: str | None) -> None:
        self.session = session
        self.base_url = base_url
        self.checker = checker
        self.token = token

    def as_token(self, token: str | None) -> ApiClient:
        return ApiClient(self.session, self.base_url, self.checker, token)

    async def request(self, method: str, path: str, *, headers: dict[str, str] | None = None,
                      **kwargs: Any) -> Reply:
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        async with self.session.request(method, self.base_url + path, headers=sent, **kwargs) as response:
            raw = await response.read()
            body: Any = None
            if response.content_type == "application/json" and method != "HEAD":
                body = json.loads(raw)
            else:
                assert response.status < 400 or method == "HEAD", f"error without JSON: {response.status} {raw[:200]!r}"
            reply = Reply(response.status, response.headers, body)
        self.checker.check(method, path.split("?", 1)[0], reply)
        return reply

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def place(self, key: str | None, order: Any, **kwargs: Any) -> Reply:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["Idempotency-Key"] = key
        return await self.request("POST", "/api/v1/orders", json=order, headers=headers, **kwargs)

    async def kill_switch(self, active: bool, reason: str = "", **fields: Any) -> Reply:
        """Turning it off sends the confirmation the protocol asks for."""
        body = {"active": active, "reason": reason, **({} if active else {"confirm": True}), **fields}
        return await self.request("PUT", "/api/v1/kill-switch", json=body)


async def fetch_spec(session: aiohttp.ClientSession, d: RunningDaemon) -> dict[str, Any]:
    async with session.get(d.http_url + "/api/v1/openapi.json") as response:
        assert response.status == 200
        spec: dict[str, Any] = await response.json()
        return spec


async def api_client(session: aiohttp.ClientSession, d: RunningDaemon, token: str | None) -> ApiClient:
    return ApiClient(session, d.http_url, SpecChecker(await fetch_spec(session, d)), token)


@asynccontextmanager
async def serving(config: Config, prepare: Callable[[Daemon], None] | None = None,
                  ) -> AsyncIterator[tuple[RunningDaemon, ApiClient]]:
    """A daemon with its HTTP API, and a checked client holding the default (admin) token."""
    async with running_daemon(config, prepare) as d, aiohttp.ClientSession() as session:
        yield d, await api_client(session, d, d.token)
