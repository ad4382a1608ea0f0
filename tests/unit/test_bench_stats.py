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


def test_the_table_judges_targets_and_leaves_out_figures_not_run() -> None:
    values = {"fig1.ordo.p50": [0.8, 0.9, 0.85], "fig1.echo.p50": [0.1, 0.1, 0.1],
              "fig2.ordo.c64": [1900.0, 2100.0, 2000.0], "fig2.echo.c64": [9000.0, 9000.0, 9000.0]}
    rows = table_rows(values, {})
    by_figure = {r["figure"]: r for r in rows}
    assert by_figure["place_order round trip p50, 1 client"]["met"] is True
    assert by_figure["orders/s, 64 clients"]["met"] is True
    assert {r["number"] for r in rows} == {"1", "2"}
    assert "place_order round trip p50" in text_table(rows) and "| 1 |" in markdown_table(rows)


def test_figure_8_is_judged_on_the_flood_p99_and_shows_the_flood_it_ran_under() -> None:
    values = {"fig8.flood.p99": [80.0, 120.0, 90.0], "fig8.quiet.p99": [20.0, 30.0, 30.0],
              "fig8.flood.p50": [16.0, 17.0, 16.0], "fig8.quiet.p50": [15.0, 15.0, 16.0],
              "fig8.flood.max": [90.0, 130.0, 95.0], "fig8.quiet.max": [25.0, 31.0, 30.0],
              "fig8.shown_per_s": [1990.0, 2010.0, 2000.0], "fig8.published_per_s": [2000.0, 2000.0, 2000.0]}
    rows = [r for r in table_rows(values, {"desk_orders_per_s": 500.0}) if r["number"] == "8"]
    assert [r["ordo_text"] for r in rows] == ["90 ms [80–120]", "16 ms [16–17]", "95 ms [90–130]",
                                              "2,000 /s [1,990–2,010]"]
    p99 = rows[0]
    assert p99["met"] is True  # the median of the repetitions' p99s is what is judged
    assert p99["ratio"]["median"] == 4.0  # 80/20, 120/30, 90/30: paired round by round
    assert "500 orders/s" in rows[-1]["figure"]
    slow = table_rows({**values, "fig8.flood.p99": [101.0, 150.0, 130.0]}, {})
    assert slow[0]["met"] is False


def test_tracking_at_scale_is_reported_against_the_same_daemon_empty() -> None:
    values = {"fig7.resting_ping.p99": [1.2], "fig7.empty_ping.p99": [0.8]}
    [row] = table_rows(values, {"resting_orders": 20_032})
    assert "20,032 orders resting" in row["figure"]
    assert row["ratio"]["median"] == pytest.approx(1.5) and row["target"] == "report"
