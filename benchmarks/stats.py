"""Pure statistics for the benchmarks: percentiles of one run, and the median and spread of a
figure over several repetitions. No I/O here, so the arithmetic is testable on its own."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# The percentiles every latency sample is summarised by (and plotted at).
PERCENTILES: tuple[float, ...] = (50.0, 75.0, 90.0, 99.0, 99.9)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values: the smallest value with at least p% at or
    below it. Nearest-rank never invents a latency that was not observed."""
    if not sorted_values:
        raise ValueError("percentile of no values")
    if not 0 < p <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {p}")
    rank = math.ceil(round(p / 100 * len(sorted_values), 6))  # 99.9% of 1000 is 999, not 999.0000000000001
    return float(sorted_values[max(rank, 1) - 1])


def latency_percentiles(latencies_ms: Sequence[float]) -> dict[str, float]:
    """p50 ... p99.9 of one repetition's latencies, keyed "p50", "p99.9" ..."""
    ordered = sorted(latencies_ms)
    return {pkey(p): percentile(ordered, p) for p in PERCENTILES}


def pkey(p: float) -> str:
    return f"p{p:g}"


@dataclass(frozen=True)
class Summary:
    """One figure over its repetitions: the median is what we report, min and max its spread."""

    median: float
    low: float
    high: float
    reps: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Summary:
        if not values:
            raise ValueError("a summary needs at least one repetition")
        return cls(statistics.median(values), min(values), max(values), len(values))

    @property
    def spread_pct(self) -> float:
        """Max minus min as a share of the median: how far to trust the median on this machine."""
        return 0.0 if self.median == 0 else (self.high - self.low) / abs(self.median) * 100

    def as_dict(self) -> dict[str, float]:
        return {"median": self.median, "min": self.low, "max": self.high, "reps": self.reps,
                "spread_pct": round(self.spread_pct, 2)}


def ratios(numerators: Sequence[float], denominators: Sequence[float]) -> Summary:
    """Ordo over its baseline, repetition by repetition: each pair was measured moments apart,
    so a machine that is slow for a while slows both and the ratio holds."""
    if len(numerators) != len(denominators):
        raise ValueError("ratios need one baseline per repetition")
    return Summary.of([n / d if d else math.inf for n, d in zip(numerators, denominators, strict=True)])
