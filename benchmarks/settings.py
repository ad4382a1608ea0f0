"""How long and how often each figure is measured. The defaults fit in about 5 minutes on a
2-core machine; ``quick`` is a smoke run of the whole pipeline in well under a minute."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    reps: int = 5
    """Repetitions of every figure; the table shows their median and their min-max spread."""
    warmup_s: float = 0.3
    """Each closed-loop run sends for this long before it starts counting."""
    latency_orders: int = 2000
    """Figure 1: sequential orders per repetition (p99.9 needs at least 1,000)."""
    concurrency: tuple[int, ...] = (1, 16, 64)
    """Figure 2: concurrent clients."""
    throughput_s: float = 2.0
    """Figure 2: measured seconds per concurrency level."""
    commit_s: float = 2.0
    """Figure 3: seconds of raw one-row commits."""
    fanout_orders: int = 25
    """Figure 4: sequential orders through brokers at 50 ms and 80 ms."""
    kill_switch_s: float = 3.0
    """Figure 5: seconds of kill-switch flips under load."""
    audit_s: float = 2.0
    """Figure 6: seconds of order load while a subscriber counts audit events."""
    pubsub_events: int = 100_000
    """Figure 6 baseline: events flooded through a bare PUB socket."""
    rss_orders: int = 100_000
    """Figure 7: orders the daemon has placed when its memory is read."""
    resting_orders: int = 20_000
    """Figure 7: resting orders under default tracking while a console pings the idle daemon."""
    resting_ping_s: float = 3.0
    """Figure 7: seconds of pings, with and without the resting orders."""
    load_clients: int = 64
    """Figures 3, 5 and 6: the concurrency of the order load."""
    desk_keys: int = 100
    """Figure 8: keys timed per repetition on the quiet desk, and as many again under the flood."""
    desk_warmup_keys: int = 20
    """Figure 8: keys pressed first and not timed (code paths and caches warming up)."""
    desk_pause_ms: tuple[float, float] = (5.0, 15.0)
    """Figure 8: a random pause in this range after each key has shown, before the next."""
    desk_flood_events_per_s: float = 2000.0
    """Figure 8: the audit events per second the flood's orders are paced to."""

    @classmethod
    def quick(cls) -> Settings:
        return cls(reps=2, warmup_s=0.1, latency_orders=300, throughput_s=0.5, commit_s=0.5, fanout_orders=5,
                   kill_switch_s=0.7, audit_s=0.5, pubsub_events=20_000, rss_orders=5_000, resting_orders=2_000,
                   resting_ping_s=0.5, desk_keys=40,
                   desk_warmup_keys=10)
