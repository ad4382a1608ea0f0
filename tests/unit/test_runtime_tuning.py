"""The daemon freezes its start-up objects and collects young garbage less often; it never
turns the collector off (reference cycles must still be freed)."""

from __future__ import annotations

import subprocess
import sys

from ordod.runtime import GEN0_THRESHOLD


def test_tuning_freezes_start_up_and_keeps_the_collector_on() -> None:
    # In a child process: the test runner's own collector settings stay untouched.
    code = ("import gc; from ordod.runtime import tune_for_latency; tune_for_latency(); "
            "print(gc.isenabled(), gc.get_threshold()[0], gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.split() == ["True", str(GEN0_THRESHOLD), "True"]
