"""Interpreter settings for a latency-sensitive daemon, applied once its modules are imported.

CPython's cyclic garbage collector stops the event loop while it runs. A full collection walks
every tracked object, and most of those are the daemon's own start-up: modules, pydantic's
validators. Measured under a 64-client load, full collections paused the
loop for ~20-30 ms each, several times a minute, and that set the p99 of everything, pings and
kill-switch acknowledgements included. Freezing what the imports built moves it out of the
collector's sight for good; a higher first threshold makes the frequent young collections
rarer. Reference cycles are still collected; nothing here turns the collector off.
"""

from __future__ import annotations

import gc

# Young objects allocated before a first-generation collection (CPython's default is 700: a
# collection every two or three orders under load).
GEN0_THRESHOLD = 10_000


def tune_for_latency() -> None:
    """Call once, from the process that runs the daemon, before it starts (not from tests)."""
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
