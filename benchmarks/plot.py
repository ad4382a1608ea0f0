"""The latency plot, as a hand-written SVG (no plotting library to install): each Ordo latency
series as a solid line and its same-run baseline dashed in the same colour, over percentiles,
on a logarithmic millisecond axis."""

from __future__ import annotations

import math
from html import escape

from benchmarks.stats import PERCENTILES, pkey

# (Ordo series, baseline series, label, colour)
PAIRS: tuple[tuple[str, str, str, str], ...] = (
    ("fig1.ordo", "fig1.echo", "place_order, 1 client vs ZeroMQ echo", "#1f77b4"),
    ("fig2.ordo.c64", "fig2.echo.c64", "place_order, 64 clients vs echo at 64", "#d62728"),
    ("fig5.kill_switch", "fig5.ping", "kill switch set vs ping, under 64 clients", "#2ca02c"),
    ("fig4.ordo", "fig4.sleep", "fan-out 50+80 ms brokers vs 80 ms sleep", "#9467bd"),
    ("fig8.flood", "fig8.quiet", "TUI key to screen, 2,000 audit events/s vs none", "#ff7f0e"),
)

WIDTH, HEIGHT = 760, 460
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 40, 150


def _y_range(curves: dict[str, dict[str, float]]) -> tuple[float, float]:
    values = [v for curve in curves.values() for v in curve.values() if v > 0]
    if not values:
        return 0.01, 1.0
    return 10 ** math.floor(math.log10(min(values))), 10 ** math.ceil(math.log10(max(values)))


def latency_svg(curves: dict[str, dict[str, float]], title: str) -> str:
    """``curves`` maps series name to {"p50": ms, ...}; series without data are left out."""
    lo, hi = _y_range(curves)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / (len(PERCENTILES) - 1)

    def x(i: int) -> float:
        return LEFT + i * step

    def y(ms: float) -> float:
        frac = (math.log10(max(ms, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
        return TOP + plot_h * (1 - frac)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
           f'<text x="{WIDTH / 2}" y="22" text-anchor="middle" font-size="14">{escape(title)}</text>']
    decade = lo
    while decade <= hi * 1.0001:
        yy = y(decade)
        out.append(f'<line x1="{LEFT}" y1="{yy:.1f}" x2="{WIDTH - RIGHT}" y2="{yy:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{decade:g} ms</text>')
        decade *= 10
    for i, p in enumerate(PERCENTILES):
        out.append(f'<line x1="{x(i):.1f}" y1="{TOP}" x2="{x(i):.1f}" y2="{TOP + plot_h}" stroke="#eee"/>')
        out.append(f'<text x="{x(i):.1f}" y="{TOP + plot_h + 16}" text-anchor="middle">{pkey(p)}</text>')
    out.append(f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#888"/>')

    legend_y = TOP + plot_h + 40
    for ordo, base, label, colour in PAIRS:
        for series, dash in ((ordo, ""), (base, ' stroke-dasharray="6 4"')):
            curve = curves.get(series)
            if not curve:
                continue
            points = " ".join(f"{x(i):.1f},{y(curve[pkey(p)]):.1f}" for i, p in enumerate(PERCENTILES))
            out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        if curves.get(ordo):
            out.append(f'<line x1="{LEFT}" y1="{legend_y}" x2="{LEFT + 30}" y2="{legend_y}" '
                       f'stroke="{colour}" stroke-width="2"/>')
            out.append(f'<line x1="{LEFT + 36}" y1="{legend_y}" x2="{LEFT + 66}" y2="{legend_y}" '
                       f'stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>')
            out.append(f'<text x="{LEFT + 74}" y="{legend_y + 4}">{escape(label)}</text>')
            legend_y += 20
    out.append(f'<text x="{LEFT}" y="{legend_y + 8}" fill="#555">solid: Ordo; dashed: its baseline, measured '
               f'in the same run; log scale</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
