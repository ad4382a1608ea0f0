"""Audit retention: old events go to gzip JSON-lines files, seq never breaks, and a replay
that asks for archived events is told so."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from ordod.audit_retention import archived_files, read_archive, write_archive
from ordod.clock import ManualClock
from ordod.config import Config
from ordod.daemon import Daemon
from tests.harness import make_config, running_daemon

DAY = 86_400.0


def with_clock(clock: ManualClock):  # type: ignore[no-untyped-def]
    def prepare(daemon: Daemon) -> None:
        daemon.clock = clock

    return prepare


def retention_config(state_dir: Path, days: float = 7) -> Config:
    return make_config(state_dir, audit={"retention_days": days})


async def test_old_events_are_archived_then_removed_and_replay_says_so(state_dir: Path) -> None:
    clock = ManualClock()
    async with running_daemon(retention_config(state_dir), with_clock(clock)) as d:
        client = d.client()
        await client.place("k-old")
        await d.daemon.audit.flush()
        old = (await client.call("audit_replay", since=0, limit=1000))["events"]
        clock.advance(8 * DAY)
        await client.place("k-new")
        result = await d.daemon.retention.sweep()
        from_start = await client.call("audit_replay", since=0, limit=1000)
        from_edge = await client.call("audit_replay", since=len(old), limit=1000)

    [archive] = result.files
    assert (archive.first_seq, archive.last_seq) == (1, len(old))
    assert archive.path.parent == state_dir / "audit-archive"
    assert [e.model_dump(mode="json") for e in read_archive(archive.path)] == old

    assert from_start["pruned"] is True
    assert from_start["first_available_seq"] == len(old) + 1
    assert from_start["events"][0]["seq"] == len(old) + 1
    assert from_edge["pruned"] is False
    assert from_edge["events"] == from_start["events"]


async def test_seq_continues_after_every_event_was_archived_and_a_restart(state_dir: Path) -> None:
    clock = ManualClock()
    config = retention_config(state_dir, days=1)
    async with running_daemon(config, with_clock(clock)) as d:
        await d.client().place("k-1")
        last_before = d.daemon.audit.last_seq
    clock.advance(30 * DAY)
    async with running_daemon(config, with_clock(clock)) as d:
        await d.daemon.retention.sweep()  # the start-up sweep may already have done it
        clock.advance(30 * DAY)
        await d.daemon.retention.sweep()  # now every event so far is old, audit.archived included
        archived_through = d.daemon.audit.first_available_seq - 1
    clock.advance(1)
    async with running_daemon(config, with_clock(clock)) as d:
        client = d.client()
        replay = await client.call("audit_replay", since=0, limit=1000)
        events = (await client.call("audit_replay", since=archived_through, limit=1000))["events"]

    assert archived_through > last_before
    assert replay["pruned"] is True and replay["first_available_seq"] == archived_through + 1
    assert [e["type"] for e in events][:3] == ["audit.archived", "daemon.stopped", "daemon.started"]
    assert [e["seq"] for e in events] == list(range(archived_through + 1, archived_through + 1 + len(events)))
    files = archived_files(state_dir / "audit-archive")
    seqs = [e.seq for f in files for e in read_archive(f.path)]
    assert seqs == list(range(1, archived_through + 1)), "every removed event is in exactly one file"


async def test_a_sweep_interrupted_after_the_file_was_written_never_exports_twice(state_dir: Path) -> None:
    clock = ManualClock()
    async with running_daemon(retention_config(state_dir), with_clock(clock)) as d:
        client = d.client()
        await client.place("k-a")
        await client.place("k-b")
        await d.daemon.audit.flush()
        events = await d.daemon.audit.replay(0, 1000)
        # As if the daemon died right after the rename: the file holds 1..4, the rows are still there.
        write_archive(state_dir / "audit-archive", events[:4])
        clock.advance(8 * DAY)
        await client.place("k-c")
        await d.daemon.retention.sweep()
        replay = await client.call("audit_replay", since=0, limit=1000)

    files = archived_files(state_dir / "audit-archive")
    assert [(f.first_seq, f.last_seq) for f in files] == [(1, 4), (5, len(events))]
    seqs = [e.seq for f in files for e in read_archive(f.path)]
    assert seqs == list(range(1, len(events) + 1))
    assert replay["first_available_seq"] == len(events) + 1


async def test_retention_zero_keeps_everything_and_replay_reports_nothing_pruned(config: Config) -> None:
    clock = ManualClock()
    async with running_daemon(config, with_clock(clock)) as d:
        client = d.client()
        await client.place("k-keep")
        clock.advance(3650 * DAY)
        result = await d.daemon.retention.sweep()
        replay = await client.call("audit_replay", since=0, limit=1000)
    assert result.files == []
    assert (replay["pruned"], replay["first_available_seq"], replay["events"][0]["seq"]) == (False, 1, 1)


async def test_the_sweep_is_audited_and_the_archive_is_plain_gzip_json_lines(state_dir: Path) -> None:
    clock = ManualClock()
    async with running_daemon(retention_config(state_dir), with_clock(clock)) as d:
        client = d.client()
        await client.place("k-gz")
        clock.advance(8 * DAY)
        result = await d.daemon.retention.sweep()
        await d.daemon.audit.flush()
        events = (await client.call("audit_replay", since=0, limit=1000))["events"]
    [archived] = [e for e in events if e["type"] == "audit.archived"]
    assert archived["data"] == {"first_seq": 1, "last_seq": result.archived_through, "retention_days": 7.0,
                                "files": [result.files[0].path.name]}
    with gzip.open(result.files[0].path, "rt", encoding="utf-8") as fh:
        lines = [json.loads(line) for line in fh]
    assert [line["seq"] for line in lines] == list(range(1, result.archived_through + 1))
    assert {"seq", "ts", "type", "data"} <= set(lines[0])
