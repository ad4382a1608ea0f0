"""Interpreter settings for the desk, applied once its screen is built (by ``run_tui``, never
in tests, which run many apps in one interpreter).

CPython's cyclic garbage collector stops the UI loop while it runs, and a full collection walks
every tracked object: Textual's and pydantic's modules, the widget tree, the stylesheet. Under
an audit flood (figure 8 of ``make bench``) the desk allocates fast, full collections came
every second or two and each took 150-220 ms; a key pressed meanwhile waited for it, and that
was the p99 from key to screen. Freezing what start-up built moves it out of the collector's
sight for good; a higher first threshold makes young collections rarer. Reference cycles are
still collected; nothing here turns the collector off.
"""

from __future__ import annotations

import gc

# Young objects allocated before a first-generation collection (CPython's default is 700).
GEN0_THRESHOLD = 700


def tune_for_latency() -> None:
    gc.collect()
    gc.freeze()
    _, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GEN0_THRESHOLD, gen1, gen2)
