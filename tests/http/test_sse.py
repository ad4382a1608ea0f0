"""GET /api/v1/audit/stream: Server-Sent Events, replayed from the store after Last-Event-ID,
then live from the daemon's in-process fan-out."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from ordo_shared.models import Event
from ordod.daemon import Daemon
from ordod.fanout import EventFanout
from tests.harness import ORDER, make_config
from tests.http.client import ApiClient, serving


class SseReader:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.retry_ms: int | None = None

    async def next_event(self, timeout_s: float = 5.0) -> tuple[int, dict[str, Any]] | None:
        """The next event as (id, data); None at the end of the stream."""
        fields: dict[str, str] = {}
        while True:
            line = await asyncio.wait_for(self.response.content.readline(), timeout_s)
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if text.startswith(":"):
                continue
            if text == "":
                if "data" in fields:
                    return int(fields["id"]), json.loads(fields["data"])
                if "retry" in fields:
                    self.retry_ms = int(fields["retry"])
                fields = {}
                continue
            name, _, value = text.partition(": ")
            fields[name] = value

    async def take(self, count: int) -> list[tuple[int, dict[str, Any]]]:
        events = []
        for _ in range(count):
            event = await self.next_event()
            assert event is not None, "stream ended early"
            events.append(event)
        return events

    async def until(self, event_type: str) -> list[tuple[int, dict[str, Any]]]:
        events = []
        while True:
            event = await self.next_event()
            assert event is not None, f"stream ended before {event_type}"
            events.append(event)
            if event[1]["type"] == event_type:
                return events


def stream(api: ApiClient, headers: dict[str, str] | None = None, query: str = "") -> Any:
    sent = {"Authorization": f"Bearer {api.token}", **(headers or {})}
    return api.session.get(f"{api.base_url}/api/v1/audit/stream{query}", headers=sent)


def check_events(api: ApiClient, events: list[tuple[int, dict[str, Any]]]) -> None:
    for seq, data in events:
        assert data["seq"] == seq
        api.checker.validate("/components/schemas/Event", data)


async def test_stream_resumes_after_last_event_id_then_follows_live(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        await api.place("sse-1", ORDER)
        await d.daemon.audit.flush()
        stored = (await api.get("/api/v1/audit")).body["events"]
        async with stream(api, {"Last-Event-ID": "2"}) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/event-stream")
            reader = SseReader(response)
            replayed = await reader.take(len(stored) - 2)
            await api.place("sse-2", ORDER)
            live = await reader.until("order.completed")
        assert reader.retry_ms == 1000
    seqs = [seq for seq, _ in replayed + live]
    assert seqs == list(range(3, 3 + len(seqs)))
    assert [data for _, data in replayed] == stored[2:]
    assert {data["order_ref"] for _, data in live if data["type"] == "order.received"} != {stored[1]["order_ref"]}
    check_events(api, replayed + live)


async def test_a_client_that_reconnects_with_its_last_id_misses_nothing_and_sees_nothing_twice(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        async with stream(api, query="?since=0") as response:
            first = await SseReader(response).until("daemon.started")
        # While disconnected, the desk goes on.
        await api.place("sse-away-1", ORDER)
        await api.kill_switch(True, "away")
        await api.kill_switch(False)
        await d.daemon.audit.flush()
        async with stream(api, {"Last-Event-ID": str(first[-1][0])}) as response:
            second = await SseReader(response).until("kill_switch.changed")
            second += await SseReader(response).until("kill_switch.changed")
        everything = (await api.get("/api/v1/audit")).body["events"]
    seqs = [seq for seq, _ in first + second]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [data for _, data in first + second] == everything[: len(seqs)]


async def test_without_last_event_id_the_stream_starts_live(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (d, api):
        await api.place("sse-before", ORDER)
        await d.daemon.audit.flush()
        stored_up_to = d.daemon.audit.last_seq
        async with stream(api) as response:
            await api.place("sse-after", ORDER)
            live = await SseReader(response).until("order.completed")
    assert live[0][0] == stored_up_to + 1
    assert [seq for seq, _ in live] == list(range(stored_up_to + 1, stored_up_to + 1 + len(live)))


async def test_a_gap_in_the_live_feed_is_filled_from_the_store(state_dir: Path) -> None:
    def lose_received_events(daemon: Daemon) -> None:
        publish = daemon.events.publish

        def lossy(event: Event) -> None:
            if event.type != "order.received":
                publish(event)

        daemon.events.publish = lossy  # type: ignore[method-assign]

    async with serving(make_config(state_dir, http=True), lose_received_events) as (d, api):
        await d.daemon.audit.flush()
        async with stream(api, {"Last-Event-ID": str(d.daemon.audit.last_seq)}) as response:
            await api.place("sse-gap", ORDER)
            live = await SseReader(response).until("order.completed")
    assert live[0][1]["type"] == "order.received"
    assert [seq for seq, _ in live] == list(range(live[0][0], live[0][0] + len(live)))


async def test_stream_refusals_are_json_before_the_stream_starts(state_dir: Path) -> None:
    async with serving(make_config(state_dir, http=True)) as (_, api):
        bad_id = await api.get("/api/v1/audit/stream", headers={"Last-Event-ID": "yesterday"})
        negative = await api.get("/api/v1/audit/stream?since=-3")
        unknown = await api.get("/api/v1/audit/stream?topic=x")
        anonymous = await api.as_token(None).get("/api/v1/audit/stream")
    assert (bad_id.status, bad_id.code) == (400, "BAD_REQUEST")
    assert (negative.status, negative.code) == (400, "BAD_REQUEST")
    assert (unknown.status, unknown.code) == (400, "BAD_REQUEST")
    assert (anonymous.status, anonymous.code) == (401, "UNAUTHORIZED")


async def test_daemon_shutdown_ends_open_streams_promptly(state_dir: Path) -> None:
    config = make_config(state_dir, http=True, daemon={"shutdown_grace_s": 30.0})
    async with serving(config) as (d, api):
        response = await stream(api).__aenter__()
        reader = SseReader(response)
        # An open stream must not hold the server for the whole 30 s grace meant for orders.
        await asyncio.wait_for(d.daemon.stop(), 10)
        rest = await reader.next_event(timeout_s=1)
        response.release()
    assert rest is None


async def test_fanout_drops_a_subscriber_that_falls_behind_without_blocking_others() -> None:
    fanout = EventFanout(max_queue=3)
    slow = fanout.subscribe()
    picky = fanout.subscribe(lambda e: e.type == "wanted")
    ts = datetime(2026, 1, 1, tzinfo=UTC)
    events = [Event(seq=i, ts=ts, type="x" if i % 2 else "wanted") for i in range(1, 8)]
    for event in events:
        fanout.publish(event)  # never waits
    assert slow.closed and slow.dropped
    assert await slow.get() is None
    assert [(await picky.get(0.1)).seq for _ in range(3)] == [2, 4, 6]  # type: ignore[union-attr]
    assert fanout.subscribers == 1 and fanout.dropped == 1
    fanout.close()
    assert await picky.get() is None


@pytest.mark.parametrize("keepalive_s", [0.05])
async def test_idle_streams_get_keepalive_comments(state_dir: Path, keepalive_s: float) -> None:
    def fast_keepalive(daemon: Daemon) -> None:
        from ordod.http.keys import SSE_KEEPALIVE_S

        daemon.http_routes.append(lambda app: app.__setitem__(SSE_KEEPALIVE_S, keepalive_s))

    async with serving(make_config(state_dir, http=True), fast_keepalive) as (_, api), stream(api) as response:
        lines = [await asyncio.wait_for(response.content.readline(), 5) for _ in range(4)]
    assert b": keepalive\n" in lines
