"""``python -m benchmarks`` (what ``make bench`` runs): measure, print the table, write the JSON
and the latency plot under benchmarks/results/."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.figures import ALL_FIGURES, Bench
from benchmarks.plot import latency_svg
from benchmarks.report import markdown_table, table_rows, text_table
from benchmarks.settings import Settings

log = logging.getLogger("benchmarks")

HERE = Path(__file__).resolve().parent
DOCS_START, DOCS_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short smoke run (2 repetitions, short phases)")
    parser.add_argument("--reps", type=int, help="repetitions of every figure (default 5)")
    parser.add_argument("--only", help="comma-separated figure numbers, e.g. 1,2 (default: 1-8)")
    parser.add_argument("--out", type=Path, default=HERE / "results", help="where the JSON and the plot go")
    parser.add_argument("--workdir", type=Path, help="state directories go here (default: a temp dir; "
                        "put it on the disk you deploy on, a tmpfs makes fsync free)")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the daemons' state and logs afterwards")
    parser.add_argument("--profile", type=Path, metavar="FILE",
                        help="run the main daemon under pyinstrument and write its profile here "
                             "(.html, .txt, .pyisession)")
    parser.add_argument("--docs", type=Path, metavar="MD", action="append", default=[],
                        help="also write the Markdown table into this file between the bench markers "
                             "(repeatable: docs/PERFORMANCE.md, README.md), and the plot beside the first")
    return parser.parse_args(argv)


def machine() -> dict[str, object]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,  # noqa: S607
                                text=True, check=False, cwd=HERE).stdout.strip()
    except OSError:
        commit = ""
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "processor": platform.processor(), "commit": commit}


def write_docs(paths: list[Path], markdown: str, svg: str) -> None:
    for path in paths:
        text = path.read_text()
        start, end = text.index(DOCS_START) + len(DOCS_START), text.index(DOCS_END)
        path.write_text(text[:start] + "\n" + markdown + "\n" + text[end:])
    (paths[0].parent / "performance-latency.svg").write_text(svg)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="bench: %(message)s", stream=sys.stderr)
    settings = Settings.quick() if args.quick else Settings()
    if args.reps:
        settings = Settings(**{**asdict(settings), "reps": args.reps})
    only = frozenset(int(n) for n in args.only.split(",")) if args.only else ALL_FIGURES
    started = time.perf_counter()
    spawn = multiprocessing.get_context("spawn")
    workdir = Path(tempfile.mkdtemp(prefix="ordo-bench-", dir=args.workdir))
    try:
        with ProcessPoolExecutor(max_workers=3, mp_context=spawn) as pool, spawn.Manager() as manager:
            measured = Bench(settings, workdir, pool, manager, only, args.profile).run()
    finally:
        if args.keep_workdir:
            log.info("state and daemon logs kept in %s", workdir)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    elapsed = time.perf_counter() - started

    rows = table_rows(measured.values, measured.facts)
    curves = measured.curves()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    svg = latency_svg(curves, f"Ordo latency vs same-run baselines ({os.cpu_count()} cores, {stamp})")
    result = {"when": stamp, "machine": machine(), "settings": asdict(settings), "elapsed_s": round(elapsed, 1),
              "facts": measured.facts, "table": rows, "curves_ms": curves, "values": dict(measured.values)}
    args.out.mkdir(parents=True, exist_ok=True)
    for name in (stamp, "latest"):
        (args.out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
        (args.out / f"{name}-latency.svg").write_text(svg)
    markdown = markdown_table(rows)
    (args.out / "latest.md").write_text(markdown + "\n")
    if args.docs:
        write_docs(args.docs, markdown, svg)

    print(text_table(rows))
    print(f"\n{settings.reps} repetitions in {elapsed:.0f} s; facts: {json.dumps(measured.facts)}")
    print(f"JSON: {args.out / (stamp + '.json')}  plot: {args.out / (stamp + '-latency.svg')}")
    if args.profile:
        print(f"profile: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
