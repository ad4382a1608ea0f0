"""The benchmark's arithmetic (never its measurements: `make bench` is not part of the suite)."""

from __future__ import annotations

import pytest

from benchmarks.report import markdown_table, table_rows, text_table
from benchmarks.stats import Summary, latency_percentiles, percentile, ratios


def test_percentiles_are_nearest_rank_so_they_are_always_observed_values() -> None:
    values = [float(v) for v in range(1, 1001)]
    assert percentile(values, 50) == 500.0
    assert percentile(values, 99) == 990.0
    assert percentile(values, 99.9) == 999.0
    assert percentile([7.0], 99.9) == 7.0
    assert latency_percentiles([3.0, 1.0, 2.0])["p50"] == 2.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_a_summary_is_the_median_and_the_spread_of_its_repetitions() -> None:
    s = Summary.of([10.0, 30.0, 20.0])
    assert (s.median, s.low, s.high, s.reps) == (20.0, 10.0, 30.0, 3)
    assert s.spread_pct == 100.0


def test_ratios_pair_each_repetition_with_its_own_baseline() -> None:
    # Round 2 was slow for both: paired, the ratio holds at 2.0.
    assert ratios([2.0, 20.0, 4.0], [1.0, 10.0, 2.0]).median == 2.0
    with pytest.raises(ValueError):
        ratios([1.0], [1.0, 2.0])


def test_the_table_judges_targets_and_keeps_the_unmeasured_figure_visible() -> None:
    values = {"fig1.ordo.p50": [0.8, 0.9, 0.85], "fig1.echo.p50": [0.1, 0.1, 0.1],
              "fig2.ordo.c64": [1900.0, 2100.0, 2000.0], "fig2.echo.c64": [9000.0, 9000.0, 9000.0]}
    rows = table_rows(values, {})
    by_figure = {r["figure"]: r for r in rows}
    assert by_figure["place_order round trip p50, 1 client"]["met"] is True
    assert by_figure["orders/s, 64 clients"]["met"] is True
    assert rows[-1]["number"] == "8" and "not measured yet" in rows[-1]["ordo_text"]
    assert "not measured yet" in text_table(rows) and "not measured yet" in markdown_table(rows)
