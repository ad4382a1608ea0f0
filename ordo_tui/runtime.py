"""Interpreter settings for the desk, applied once its screen is built (by ``run_tui``, never
in tests, which run many apps in one interpreter).

CPython's cyclic garbage collector stops the UI loop while it runs, and a full collection walks
every tracked object: Textual's and pydantic's modules, the widget tree, the stylesheet, and
the render caches (every Textual ``Strip`` carries a dozen small caches of its own). Under an
audit flood of 2,000 events a second (figure 8 of ``make bench``) full collections came every
second or two and took 150-220 ms each; a key pressed meanwhile waited for them, and that was
the p99 from key to screen. Two settings:

* freezing what start-up built moves it out of the collector's sight for good, so a full
  collection walks only what the desk made since (~45,000 objects under the flood, 40-80 ms);
* a full collection is considered after 100 collections of the middle generation instead of
  10. CPython counts every object that outlives the two younger generations towards the next
  full collection, even when reference counting frees it soon after, and under a flood that is
  every audit event (each lives half a second in the stream's window): the count, not garbage,
  set the pace. Cyclic garbage is still collected, every few seconds under a flood instead of
  twice a second; nothing here turns the collector off.
"""

from __future__ import annotations

import gc

# Middle-generation collections between two full ones (CPython's default is 10).
FULL_COLLECTION_EVERY = 100


def tune_for_latency() -> None:
    gc.collect()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, FULL_COLLECTION_EVERY)
