"""Turns measurements into the one table of ratios (plain text and Markdown) and the JSON."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.stats import Summary, ratios

Check = Callable[[Summary, Summary | None], bool]


@dataclass(frozen=True)
class Row:
    number: str
    figure: str
    ordo: str
    unit: str
    target: str = "report"
    baseline: str | None = None
    baseline_label: str = "—"
    check: Check | None = None
    with_ratio: bool = True


def _at_most(limit: float) -> Check:
    return lambda ordo, _ratio: ordo.median <= limit


ROWS: tuple[Row, ...] = (
    Row("1", "place_order round trip p50, 1 client", "fig1.ordo.p50", "ms", "≤ 10× echo and ≤ 1 ms",
        "fig1.echo.p50", "ZeroMQ echo p50",
        lambda o, r: r is not None and r.median <= 10 and o.median <= 1.0),
    Row("1", "place_order round trip p99, 1 client", "fig1.ordo.p99", "ms", "≤ 5 ms",
        "fig1.echo.p99", "ZeroMQ echo p99", _at_most(5.0)),
    Row("1", "place_order round trip p99.9, 1 client", "fig1.ordo.p99.9", "ms", "report",
        "fig1.echo.p99.9", "ZeroMQ echo p99.9"),
    Row("2", "orders/s, 1 client", "fig2.ordo.c1", "/s", "report", "fig2.echo.c1", "echo round trips/s"),
    Row("2", "orders/s, 16 clients", "fig2.ordo.c16", "/s", "report", "fig2.echo.c16", "echo round trips/s"),
    Row("2", "orders/s, 64 clients", "fig2.ordo.c64", "/s", "≥ 2,000/s", "fig2.echo.c64", "echo round trips/s",
        lambda o, r: o.median >= 2000),
    Row("3", "durable orders/s (64 clients)", "fig3.ordo", "/s", "> 1.0× raw", "fig3.raw_commits",
        "raw aiosqlite commits/s", lambda o, r: r is not None and r.median > 1.0),
    Row("3", "  one raw commit's latency p50 / p99 (the disk)", "fig3.raw_commit.p50", "ms", "report",
        "fig3.raw_commit.p99", "p99", with_ratio=False),
    Row("4", "fan-out p50, brokers at 50 + 80 ms", "fig4.ordo.p50", "ms", "≤ 1.03× sleep", "fig4.sleep.p50",
        "80 ms sleep p50", lambda o, r: r is not None and r.median <= 1.03),
    Row("4", "  the same against the durable floor", "fig4.ordo.p50", "ms", "report", "fig4.floor.p50",
        "commit + 80 ms + commit p50"),
    Row("5", "kill switch set p99, 64 clients ordering", "fig5.kill_switch.p99", "ms", "≤ 10 ms",
        "fig5.ping.p99", "ping p99, same load", _at_most(10.0)),
    Row("6", "audit events/s to a subscriber, under load", "fig6.ordo", "/s", "report; none missing",
        "fig6.bare", "bare PUB/SUB events/s"),
    Row("6", "audit events missing (seq checked)", "fig6.ordo_missing", "", "0", "fig6.bare_missing",
        "bare PUB/SUB missing", lambda o, r: o.high == 0, with_ratio=False),
    Row("7", "daemon RSS after {orders:,} orders (at start: {start_rss:.0f} MiB)", "fig7.rss_mb", "MiB", "≤ 150 MiB",
        check=_at_most(150.0)),
    Row("7", "  the same less the paper brokers' own books ({paper:.0f} MiB)", "fig7.rss_without_paper_mb", "MiB",
        "report"),
    Row("7", "start to first ping (fresh state)", "fig7.start_s", "s", "≤ 1 s", check=_at_most(1.0)),
    Row("7", "restart to first ping ({orders:,} orders kept)", "fig7.restart_s", "s", "report"),
    Row("7", "idle ping p99 with {resting:,} orders resting, tracking at its defaults", "fig7.resting_ping.p99",
        "ms", "report", "fig7.empty_ping.p99", "the same daemon empty, p99"),
    Row("8", "TUI key press to screen p99, audit flood", "fig8.flood.p99", "ms", "≤ 100 ms", "fig8.quiet.p99",
        "same keys, no flood, p99", _at_most(100.0)),
    Row("8", "  key press to screen p50", "fig8.flood.p50", "ms", "report", "fig8.quiet.p50", "no flood, p50"),
    Row("8", "  key press to screen, slowest", "fig8.flood.max", "ms", "report", "fig8.quiet.max",
        "no flood, slowest"),
    Row("8", "  audit events/s reaching the desk ({desk_rate:,.0f} orders/s)", "fig8.shown_per_s", "/s",
        "report", "fig8.published_per_s", "published by ordod (SUB)"),
)


def fmt(value: float, unit: str) -> str:
    if unit == "/s":
        return f"{value:,.0f}"
    if unit in ("MiB", ""):
        return f"{value:,.1f}" if value % 1 else f"{value:,.0f}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.3f}"


def fmt_summary(summary: Summary | None, unit: str) -> str:
    if summary is None:
        return "—"
    if summary.low == summary.high:
        return f"{fmt(summary.median, unit)} {unit}".strip()
    return f"{fmt(summary.median, unit)} {unit} [{fmt(summary.low, unit)}–{fmt(summary.high, unit)}]"


def table_rows(values: Mapping[str, Sequence[float]], facts: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every row with its summaries, ratio and verdict; rows whose figure was not run are skipped."""
    context = {"orders": facts.get("orders_before_rss", 0), "start_rss": facts.get("rss_at_start_mb", 0.0),
               "paper": facts.get("paper_books_mib", 0.0), "desk_rate": facts.get("desk_orders_per_s", 0.0),
               "resting": facts.get("resting_orders", 0)}
    out: list[dict[str, Any]] = []
    for row in ROWS:
        if not values.get(row.ordo):
            continue
        ordo = Summary.of(values[row.ordo])
        base = Summary.of(values[row.baseline]) if row.baseline and values.get(row.baseline) else None
        ratio = None
        if base is not None and row.baseline and row.with_ratio:
            ratio = ratios(values[row.ordo], values[row.baseline])
        met = None if row.check is None else row.check(ordo, ratio)
        out.append({
            "number": row.number, "figure": row.figure.format(**context), "unit": row.unit, "target": row.target,
            "ordo": ordo.as_dict(), "ordo_text": fmt_summary(ordo, row.unit),
            "baseline_label": row.baseline_label, "baseline": base.as_dict() if base else None,
            "baseline_text": fmt_summary(base, row.unit) if base else "—",
            "ratio": ratio.as_dict() if ratio else None,
            "ratio_text": f"{ratio.median:.2f}× [{ratio.low:.2f}–{ratio.high:.2f}]" if ratio else "—",
            "met": met,
        })
    return out


def _verdict(met: bool | None) -> str:
    return {True: "yes", False: "NO", None: "—"}[met]


def text_table(rows: list[dict[str, Any]]) -> str:
    headers = ("#", "figure", "Ordo: median [min–max]", "baseline", "baseline: median [min–max]",
               "Ordo ÷ baseline", "target", "met")
    cells = [headers] + [
        (r["number"], r["figure"], r["ordo_text"], r["baseline_label"], r["baseline_text"], r["ratio_text"],
         r["target"], _verdict(r["met"]))
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in cells) for i in range(len(headers))]
    lines = ["  ".join(str(c[i]).ljust(widths[i]) for i in range(len(headers))).rstrip() for c in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| # | figure | Ordo: median [min–max] | baseline: median [min–max] | Ordo ÷ baseline | target | met |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        baseline = "—" if r["baseline_text"] == "—" else f"{r['baseline_label']}: {r['baseline_text']}"
        lines.append(f"| {r['number']} | {r['figure']} | {r['ordo_text']} | {baseline} | {r['ratio_text']} | "
                     f"{r['target']} | {_verdict(r['met'])} |")
    return "\n".join(lines)
