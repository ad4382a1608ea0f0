"""``ordo audit tail [--since N] [-n LINES] [--follow] [--count N]``.

Following subscribes to the event stream first and then catches up with ``audit_replay``, so
nothing falls between the two. Events are printed strictly in seq order: a jump in seq on
the stream (a late subscription, a dropped message) is filled from ``audit_replay`` before
the newer event is printed, and when the stream is quiet the replay is asked again, so an
event the subscription missed still shows up.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import zmq
import zmq.asyncio

from ordo_cli import exit_codes, tables
from ordo_cli.commands.context import CommandContext

PAGE = 500
QUIET_POLL_MS = 1000


@dataclass
class _Cursor:
    ctx: CommandContext
    last_seq: int
    printed: int = 0
    pruned: bool = False

    @property
    def done(self) -> bool:
        count = self.ctx.args.count
        return count is not None and self.printed >= count

    def show(self, event: dict[str, Any]) -> None:
        if self.done or event["seq"] <= self.last_seq:
            return
        if self.ctx.out.json_mode:
            self.ctx.out.json_line(event)
        else:
            self.ctx.out.line(tables.audit_event(event))
        self.last_seq = event["seq"]
        self.printed += 1

    async def catch_up(self) -> None:
        """Print every stored event after ``last_seq``, page by page."""
        while not self.done:
            reply = await self.ctx.client.call("audit_replay", since=self.last_seq, limit=PAGE)
            if reply.get("pruned"):
                self._report_pruned(reply["first_available_seq"])
            for event in reply["events"]:
                self.show(event)
            if len(reply["events"]) < PAGE:
                return

    def _report_pruned(self, first_available: int) -> None:
        self.ctx.out.note(f"events {self.last_seq + 1}..{first_available - 1} were archived by audit retention "
                          f"(see the daemon's audit-archive folder); continuing from {first_available}")
        self.pruned = True
        self.last_seq = first_available - 1


async def tail(ctx: CommandContext) -> int:
    args = ctx.args
    since = args.since
    if since is None:
        probe = await ctx.client.call("audit_replay", since=0, limit=1)
        since = max(probe["last_seq"] - args.lines, probe.get("first_available_seq", 1) - 1, 0)
    cursor = _Cursor(ctx, since)
    if not args.follow:
        await cursor.catch_up()
    else:
        await _follow(cursor)
    return exit_codes.PARTIAL if cursor.pruned else exit_codes.OK


async def _follow(cursor: _Cursor) -> None:
    context = zmq.asyncio.Context()
    sub = context.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    sub.setsockopt(zmq.SUBSCRIBE, b"audit.")
    if cursor.ctx.settings.curve is not None:
        cursor.ctx.settings.curve.apply(sub)
    sub.connect(cursor.ctx.settings.pub_endpoint)
    try:
        await cursor.catch_up()
        while not cursor.done:
            if not await sub.poll(QUIET_POLL_MS):
                await cursor.catch_up()  # quiet: anything the subscription missed is in the store
                continue
            frames = await sub.recv_multipart()
            try:
                event = json.loads(frames[-1])
                seq = int(event["seq"])
            except (ValueError, KeyError, TypeError):
                continue  # not an audit event we can place; the replay is the source of truth
            if seq > cursor.last_seq + 1:
                await cursor.catch_up()  # a gap: fill it from the store before going on
            cursor.show(event)
    finally:
        sub.close(linger=0)
        context.term()
