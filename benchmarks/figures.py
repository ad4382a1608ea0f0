"""The measurements, round by round. Every round measures each figure once, right next to its
baseline, so a machine that slows down for a while slows both sides of a ratio alike.

The daemons and the baseline servers run as their own processes; the clients run in a pool of
worker processes. This module only schedules them and collects numbers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import defaultdict
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, TypeVar

import zmq

from benchmarks import baselines, flood, loadgen, memory, tui
from benchmarks.daemon import TOKEN, DaemonProcess, DaemonSpec
from benchmarks.settings import Settings
from benchmarks.stats import PERCENTILES, latency_percentiles, percentile, pkey

log = logging.getLogger("benchmarks")

T = TypeVar("T")
ZERO_LATENCY = DaemonSpec({"fyers": 0.0, "hdfc": 0.0})
FAN_OUT = DaemonSpec({"fyers": 50.0, "hdfc": 80.0})
SLOWEST_BROKER_S = 0.080
ALL_FIGURES = frozenset(range(1, 9))
ROW_BYTES = 600  # about one order row: the order and its reply as JSON


@dataclass
class Measurements:
    """Per-repetition values of every metric, and pooled latencies for the plot."""

    values: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    pooled: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, metric: str, value: float) -> None:
        self.values[metric].append(value)

    def add_latencies(self, series: str, latencies_ms: list[float]) -> None:
        for name, value in latency_percentiles(latencies_ms).items():
            self.add(f"{series}.{name}", value)
        self.pooled[series].extend(latencies_ms)

    def curves(self) -> dict[str, dict[str, float]]:
        """Each latency series' percentiles over all repetitions pooled: what the plot draws."""
        return {series: {pkey(p): percentile(sorted(vals), p) for p in PERCENTILES}
                for series, vals in self.pooled.items() if vals}


class Bench:
    def __init__(self, settings: Settings, workdir: Path, pool: ProcessPoolExecutor, manager: SyncManager,
                 only: frozenset[int] = ALL_FIGURES, profile_to: Path | None = None) -> None:
        self.s = settings
        # Figure 3 divides figure 2's 64-client rate by the raw commit rate.
        self.only = only | {2} if 3 in only else only
        self.workdir = workdir
        self.pool = pool
        self.manager = manager
        self.m = Measurements()
        self._profile_to = profile_to
        self._desk_orders_per_s: float | None = None

    def _job(self, fn: Any, *args: Any, **kwargs: Any) -> Future[Any]:
        return self.pool.submit(fn, *args, **kwargs)

    def _wait(self, future: Future[T]) -> T:
        return future.result(timeout=300)

    def run(self) -> Measurements:
        s = self.s
        self._warm_pool()
        main = DaemonProcess(self.workdir / "main", DaemonSpec(ZERO_LATENCY.broker_latency_ms,
                                                               profile_to=self._profile_to))
        fan_out = DaemonProcess(self.workdir / "fan-out", FAN_OUT)
        # Figure 8's own daemon: the desk shows its flood and nothing of the other figures' load.
        desk = DaemonProcess(self.workdir / "desk", ZERO_LATENCY)
        try:
            for daemon in (main, fan_out):
                took = daemon.start()
                if 7 in self.only:
                    self.m.add("fig7.start_s", took)
            if 8 in self.only:
                desk.start()
            self.m.facts["daemon_nice"] = main.nice()
            reply_size = self._reply_size(main)
            self.m.facts["request_bytes"] = len(loadgen.place_order_frame(TOKEN, "bench-size-probe-0-0", 1))
            self.m.facts["reply_bytes"] = reply_size
            self.m.facts["sqlite"] = baselines.sqlite_settings_check(str(self.workdir))
            with baselines.EchoServer(reply_size) as echo:
                for rnd in range(s.reps):
                    started = time.perf_counter()
                    self._round(main, fan_out, desk, echo.endpoint, rnd)
                    log.info("round %d/%d done in %.1f s", rnd + 1, s.reps, time.perf_counter() - started)
            if 7 in self.only and self._profile_to is None:
                self._memory()
                self._resting()
        finally:
            main.stop()
            fan_out.stop()
            desk.stop()
        return self.m

    def _round(self, main: DaemonProcess, fan_out: DaemonProcess, desk: DaemonProcess, echo: str, rnd: int) -> None:
        steps = ((1, lambda: self._latency(main, echo, rnd)), (2, lambda: self._throughput(main, echo, rnd)),
                 (3, lambda: self._commits(rnd)), (4, lambda: self._fan_out(fan_out, rnd)),
                 (5, lambda: self._kill_switch(main, rnd)), (6, lambda: self._audit(main, rnd)),
                 (7, lambda: self._start_time(rnd)), (8, lambda: self._desk(desk, rnd)))
        for figure, step in steps:
            if figure in self.only:
                step()

    def _warm_pool(self) -> None:
        # Imports happen once per worker, before anything is timed (the desk's only if needed).
        futures = [self._job(loadgen.sleep_latency, 0.3, 1) for _ in range(3)]
        if 8 in self.only:
            futures += [self._job(tui.warm, 1.0) for _ in range(3)]
        for future in futures:
            self._wait(future)

    def _load(self, daemon: DaemonProcess, clients: int, run_id: str, **kw: Any) -> Future[loadgen.LoadResult]:
        return self._job(loadgen.closed_loop, daemon.rep, TOKEN, clients, run_id, **kw)

    def _reply_size(self, main: DaemonProcess) -> int:
        result = self._wait(self._load(main, 1, "size", orders_per_client=20))
        return result.reply_bytes

    def _latency(self, main: DaemonProcess, echo: str, rnd: int) -> None:
        """Figure 1: one client, one order at a time."""
        n = self.s.latency_orders
        echoed = self._wait(self._job(loadgen.closed_loop, echo, TOKEN, 1, f"e1-{rnd}", orders_per_client=n, echo=True))
        placed = self._wait(self._load(main, 1, f"lat-{rnd}", orders_per_client=n))
        self.m.add_latencies("fig1.echo", echoed.latencies_ms)
        self.m.add_latencies("fig1.ordo", placed.latencies_ms)

    def _throughput(self, main: DaemonProcess, echo: str, rnd: int) -> None:
        """Figure 2: closed-loop clients with distinct keys, Ordo and the echo at each concurrency."""
        s = self.s
        for clients in s.concurrency:
            echoed = self._wait(self._job(loadgen.closed_loop, echo, TOKEN, clients, f"e{clients}-{rnd}",
                                          duration_s=s.throughput_s, warmup_s=s.warmup_s, echo=True))
            placed = self._wait(self._load(main, clients, f"tp{clients}-{rnd}",
                                           duration_s=s.throughput_s, warmup_s=s.warmup_s))
            self.m.add(f"fig2.echo.c{clients}", echoed.per_second)
            self.m.add(f"fig2.ordo.c{clients}", placed.per_second)
            if clients == s.load_clients:
                self.m.add_latencies(f"fig2.echo.c{clients}", echoed.latencies_ms)
                self.m.add_latencies(f"fig2.ordo.c{clients}", placed.latencies_ms)

    def _commits(self, rnd: int) -> None:
        """Figure 3: raw commit rate on the same disk, next to figure 2's durable orders/s."""
        raw = self._wait(self._job(baselines.raw_commits, str(self.workdir), self.s.commit_s, ROW_BYTES))
        self.m.add("fig3.raw_commits", raw.per_second)
        self.m.add_latencies("fig3.raw_commit", raw.latencies_ms)
        self.m.add("fig3.ordo", self.m.values[f"fig2.ordo.c{self.s.load_clients}"][-1])

    def _fan_out(self, fan_out: DaemonProcess, rnd: int) -> None:
        """Figure 4: an order to brokers at 50 ms and 80 ms should take the slower one's time."""
        n = self.s.fanout_orders
        slept = self._wait(self._job(loadgen.sleep_latency, SLOWEST_BROKER_S, n))
        floor = self._wait(self._job(baselines.durable_floor, str(self.workdir), SLOWEST_BROKER_S, n, ROW_BYTES))
        placed = self._wait(self._load(fan_out, 1, f"fan-{rnd}", orders_per_client=n))
        self.m.add_latencies("fig4.sleep", slept)
        self.m.add_latencies("fig4.floor", floor)
        self.m.add_latencies("fig4.ordo", placed.latencies_ms)

    def _kill_switch(self, main: DaemonProcess, rnd: int) -> None:
        """Figure 5: an operator flips the kill switch while 64 clients place orders."""
        s = self.s
        load = self._load(main, s.load_clients, f"ks-{rnd}", duration_s=s.kill_switch_s + 0.4,
                          warmup_s=s.warmup_s, tolerate_kill_switch=True)
        probed = self._wait(self._job(loadgen.probe, main.rep, TOKEN, s.kill_switch_s, s.warmup_s + 0.2))
        loaded = self._wait(load)
        self.m.add_latencies("fig5.ping", probed.ping_ms)
        self.m.add_latencies("fig5.kill_switch", probed.kill_switch_ms)
        self.m.add("fig5.orders_per_s", loaded.per_second)

    def _audit(self, main: DaemonProcess, rnd: int) -> None:
        """Figure 6: audit events a subscriber receives under order load, checked for gaps."""
        s = self.s
        ready = self.manager.Event()
        sub = self._job(loadgen.subscribe, main.pub, ready)
        if not ready.wait(30):
            raise RuntimeError("subscriber never saw a health event")
        loaded = self._wait(self._load(main, s.load_clients, f"au-{rnd}", duration_s=s.audit_s))
        got: loadgen.SubscriberResult = self._wait(sub)
        tail = _events_after(main.rep, got.last_seq or 0)
        self.m.add("fig6.ordo", got.per_second)
        self.m.add("fig6.ordo_missing", got.missing + got.out_of_order + tail)
        self.m.add("fig6.orders_per_s", loaded.per_second)
        self.m.facts["event_bytes"] = got.event_bytes

        with baselines.BarePublisher(s.pubsub_events, got.event_bytes or 400) as bare:
            base: loadgen.SubscriberResult = self._wait(
                self._job(loadgen.subscribe, bare.endpoint, self.manager.Event(), expected=s.pubsub_events))
        self.m.add("fig6.bare", base.per_second)
        self.m.add("fig6.bare_missing", base.missing + base.out_of_order + (s.pubsub_events - base.events))

    def _start_time(self, rnd: int) -> None:
        """Figure 7: launch to first ping, on a fresh state directory."""
        daemon = DaemonProcess(self.workdir / f"start-{rnd}", ZERO_LATENCY)
        try:
            self.m.add("fig7.start_s", daemon.start())
        finally:
            daemon.stop()

    def _desk(self, desk: DaemonProcess, rnd: int) -> None:
        """Figure 8: keys typed on the desk (the TUI, headless, in a worker process), first quiet,
        then while another process's orders make the daemon publish ~2,000 audit events a second;
        see ``benchmarks.tui`` for what exactly is timed."""
        s = self.s
        if self._desk_orders_per_s is None:
            per_order = self._wait(self._job(flood.events_per_order, desk.rep, desk.pub, TOKEN))
            self._desk_orders_per_s = flood.orders_per_second(s.desk_flood_events_per_s, per_order)
            self.m.facts["desk_events_per_order"] = per_order
            self.m.facts["desk_orders_per_s"] = round(self._desk_orders_per_s, 1)
        flood_on, flood_off = self.manager.Event(), self.manager.Event()
        flooding = self._job(flood.flood, desk.rep, desk.pub, TOKEN, f"desk-{rnd}", self._desk_orders_per_s,
                             flood_on, flood_off)
        typed: tui.DeskResult = self._wait(self._job(
            tui.desk_keys, str(desk.config_path), s.desk_keys, s.desk_warmup_keys, s.desk_pause_ms, rnd,
            flood_on, flood_off))
        flooded: flood.FloodResult = self._wait(flooding)
        for series, latencies in (("fig8.quiet", typed.quiet_ms), ("fig8.flood", typed.flood_ms)):
            self.m.add_latencies(series, latencies)
            self.m.add(f"{series}.max", max(latencies))
        assert flooded.published is not None
        self.m.add("fig8.published_per_s", flooded.published.per_second)
        self.m.add("fig8.shown_per_s", typed.shown_per_s)
        self.m.add("fig8.orders_per_s", flooded.orders_per_s)

    def _memory(self) -> None:
        """Figure 7: a daemon of its own gets exactly ``rss_orders`` orders; then its memory is
        read, and it is restarted on that state (it reloads every live idempotency key)."""
        daemon = DaemonProcess(self.workdir / "memory", ZERO_LATENCY)
        daemon.start()
        try:
            self.m.facts["rss_at_start_mb"] = daemon.rss_mb()["rss_mb"]
            clients = self.s.load_clients
            placed = self._wait(self._load(daemon, clients, "rss",
                                           orders_per_client=math.ceil(self.s.rss_orders / clients)))
            self.m.facts["orders_before_rss"] = placed.total
            rss = daemon.rss_mb()
            self.m.facts["writer_processes_rss_mb"] = rss.pop("writer_processes_rss_mb")
            for name, value in rss.items():
                self.m.add(f"fig7.{name}", value)
        finally:
            daemon.stop()
        paper = self._wait(self._job(memory.paper_books_mib, placed.total))
        self.m.facts["paper_books_mib"] = round(paper, 1)
        self.m.add("fig7.rss_without_paper_mb", round(rss["rss_mb"] - paper, 1))
        for _ in range(2):
            restarted = DaemonProcess(daemon.workdir, ZERO_LATENCY)
            try:
                self.m.add("fig7.restart_s", restarted.start())
            finally:
                restarted.stop()

    def _resting(self) -> None:
        """Figure 7: order tracking at its defaults on a desk with many resting orders. Paper LIMIT
        orders never fill, so every one is tracked; an idle daemon is pinged before and after."""
        s = self.s
        daemon = DaemonProcess(self.workdir / "resting", DaemonSpec(ZERO_LATENCY.broker_latency_ms,
                                                                    quiet_tracking=False))
        daemon.start()
        try:
            empty = self._wait(self._job(loadgen.pings, daemon.rep, s.resting_ping_s))
            placed = self._wait(self._load(daemon, s.load_clients, "rest",
                                           orders_per_client=math.ceil(s.resting_orders / s.load_clients)))
            time.sleep(1.0)  # the tracker has read them and looks some up every pass
            resting = self._wait(self._job(loadgen.pings, daemon.rep, s.resting_ping_s))
        finally:
            daemon.stop()
        self.m.facts["resting_orders"] = placed.total
        self.m.add_latencies("fig7.resting_ping", resting)
        self.m.add_latencies("fig7.empty_ping", empty)


def _events_after(endpoint: str, seq: int) -> int:
    """How many audit events the daemon holds after ``seq``: anything here was never delivered."""
    ctx = zmq.Context.instance()
    sock = ctx.socket(zmq.REQ)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    try:
        sock.send(json.dumps({"v": 1, "op": "audit_replay", "token": TOKEN, "since": seq, "limit": 5000}).encode())
        if not sock.poll(10_000):
            raise RuntimeError("audit_replay got no answer")
        reply = json.loads(sock.recv())
    finally:
        sock.close(linger=0)
    if not reply.get("ok"):
        raise RuntimeError(f"audit_replay refused: {reply}")
    return len(reply["events"])
