"""``make bench``: every benchmark, one table of ratios against the goals, and the same as JSON.

    .venv/bin/python -m bench [--quick] [--only NAME ...] [--out PATH]

``--only`` runs some benchmarks and keeps the output file's rows of the others as they were, so
one benchmark can be measured again alone.
``--quick`` runs a smaller version of each (short sources, fewer videos, streams and rounds), in
under three minutes; ``make test`` runs it once to prove the benchmarks still work. A benchmark
that fails is a row saying so, and the run exits 1 after writing the others.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import api_load, autoscaling, one_decode, progress_loopback, upload_watchable
from bench._report import Goal, Row, document, row_of, table, write

RESULTS = Path(__file__).parent / "results"

Benchmark = Callable[..., list[Row]]
BENCHMARKS: dict[str, tuple[Benchmark, list[tuple[str, str, Goal]]]] = {
    # name: (measure, the rows it stands for if it fails: benchmark, measure, goal)
    "upload": (
        upload_watchable.measure,
        [
            (upload_watchable.BENCHMARK, upload_watchable.MEASURE, upload_watchable.GOAL),
            (upload_watchable.EARLY, upload_watchable.EARLY_MEASURE, upload_watchable.EARLY_GOAL),
        ],
    ),
    "ladder": (
        one_decode.measure,
        [("3 single-decode ladder", "one decode / per rendition", Goal("<=", 0.65))],
    ),
    "fanout": (
        progress_loopback.measure,
        [(progress_loopback.BENCHMARK, "p95 publish-to-client latency", progress_loopback.GOAL)],
    ),
    "api": (api_load.measure, [(api_load.BENCHMARK, "API / static JSON, requests/s", api_load.GOAL)]),
    "autoscaling": (
        autoscaling.measure,
        [("6 autoscaling", "fleet / oracle instance-hours", Goal("<=", 1.25))],
    ),
}


def default_output(quick: bool) -> Path:
    return RESULTS / ("bench-quick.json" if quick else "bench.json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a smaller version of each benchmark")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), help="run these benchmarks alone")
    parser.add_argument(
        "--out", type=Path, help="the JSON document (default bench/results/bench[-quick].json)"
    )
    args = parser.parse_args(argv)
    started, clock = datetime.now(UTC).isoformat(timespec="seconds"), time.monotonic()
    rows: list[tuple[str, Row]] = []
    failed = False
    for name in args.only or BENCHMARKS:
        run, stands_for = BENCHMARKS[name]
        print(f"bench: {name}...", file=sys.stderr, flush=True)
        began = time.monotonic()
        try:
            rows += [(name, row) for row in run(quick=args.quick)]
        except Exception as exc:  # one broken benchmark must not lose the others' results
            traceback.print_exc()
            failed = True
            rows += [
                (name, Row(b, m, g, note=f"failed: {type(exc).__name__}: {exc}"[:300]))
                for b, m, g in stands_for
            ]
        print(f"bench: {name} took {time.monotonic() - began:.0f} s", file=sys.stderr, flush=True)
    out = args.out or default_output(args.quick)
    kept: list[dict[str, Any]] = []
    if args.only and out.exists():
        earlier = json.loads(out.read_text())
        if earlier.get("quick") == args.quick:
            measured = {row.benchmark for _, row in rows}
            kept = [row for row in earlier["rows"] if row["benchmark"] not in measured]
    written = document(rows, quick=args.quick, started=started, seconds=time.monotonic() - clock, kept=kept)
    write(out, written)
    print(table(sorted((row_of(r) for r in written["rows"]), key=lambda r: r.benchmark)))
    print(f"\nwritten to {out}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
