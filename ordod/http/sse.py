"""``GET /api/v1/audit/stream``: the audit log as Server-Sent Events, so ``curl -N`` (or a
browser's EventSource) can follow the desk.

Each event is ``id: <seq>`` and ``data: <the event as JSON>``. A client that sends
``Last-Event-ID: N`` (or ``?since=N``) first gets every stored event after N, then the live
ones; without either it gets live events from now on. The live part comes from the daemon's
in-process fan-out; it subscribes *before* replaying, and skips what the replay already sent,
so nothing falls between the two. A gap in the live feed is filled from the store, and a
client too slow for the fan-out's queue has its stream ended; it resumes with Last-Event-ID.
"""

from __future__ import annotations

import logging
import re

from aiohttp import web

from ordo_shared.errors import BadRequest, OrdoError
from ordo_shared.messages import AuditReplayReply
from ordo_shared.models import Event
from ordod.fanout import Subscription
from ordod.http.keys import EVENTS, SSE_KEEPALIVE_S
from ordod.http.translate import admit, wire_request
from ordod.service import OrdoService

log = logging.getLogger("ordod.http.sse")

REPLAY_PAGE = 500
RECONNECT_MS = 1000
_SEQ = re.compile(r"^[0-9]{1,18}$")


def sse_frame(event: Event) -> bytes:
    return f"id: {event.seq}\ndata: {event.model_dump_json()}\n\n".encode()


def resume_point(request: web.Request, params: dict[str, int]) -> int | None:
    """The seq after which to start, from Last-Event-ID or ?since=; None means live only."""
    header = request.headers.get("Last-Event-ID")
    if header is not None:
        if not _SEQ.match(header.strip()):
            raise BadRequest("Last-Event-ID must be the seq of an audit event", field="Last-Event-ID")
        return int(header)
    if "since" in params:
        if params["since"] < 0:
            raise BadRequest("since must be >= 0", field="since")
        return params["since"]
    return None


class _Stream:
    def __init__(self, response: web.StreamResponse, service: OrdoService, token: str | None,
                 last: int | None) -> None:
        self.response = response
        self.service = service
        self.token = token
        self.last = last

    async def send(self, events: list[Event]) -> None:
        for event in events:
            if event.seq is not None and (self.last is None or event.seq > self.last):
                await self.response.write(sse_frame(event))
                self.last = event.seq

    async def catch_up(self) -> None:
        """Everything stored after ``last``, page by page, through the same service op."""
        assert self.last is not None
        while True:
            page = await replay(self.service, self.token, self.last)
            await self.send(page.events)
            if len(page.events) < REPLAY_PAGE:
                return


async def replay(service: OrdoService, token: str | None, since: int) -> AuditReplayReply:
    reply = await service.call(wire_request("audit_replay", token, since=since, limit=REPLAY_PAGE))
    assert isinstance(reply, AuditReplayReply)
    return reply


async def audit_stream(request: web.Request) -> web.StreamResponse:
    admitted = admit(request, "audit_stream", ("since",))
    service, token = admitted.service, admitted.token
    since = resume_point(request, admitted.params)
    subscription = request.app[EVENTS].subscribe(lambda event: event.seq is not None)
    try:
        # The first page is read before the response starts, so a refusal is still JSON.
        first = await replay(service, token, since) if since is not None else None
        response = web.StreamResponse(headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        response.content_type = "text/event-stream"
        response.charset = "utf-8"
        await response.prepare(request)
        try:
            await _follow(_Stream(response, service, token, since), first, subscription,
                          request.app[SSE_KEEPALIVE_S])
        except ConnectionError:
            pass  # the client left
        except OrdoError as exc:  # the store failed mid-stream; the client resumes later
            log.warning("audit stream ended: %s", exc.message)
        return response
    finally:
        subscription.close()


async def _follow(stream: _Stream, first: AuditReplayReply | None, subscription: Subscription,
                  keepalive_s: float) -> None:
    await stream.response.write(f"retry: {RECONNECT_MS}\n\n".encode())
    if first is not None:
        await stream.send(first.events)
        if len(first.events) == REPLAY_PAGE:
            await stream.catch_up()
    while True:
        try:
            event = await subscription.get(keepalive_s)
        except TimeoutError:
            await stream.response.write(b": keepalive\n\n")
            continue
        if event is None:
            return  # daemon stopping, or this client fell too far behind: it reconnects
        if stream.last is not None and event.seq is not None and event.seq > stream.last + 1:
            await stream.catch_up()  # a gap in the live feed: the store has every seq
        else:
            await stream.send([event])
