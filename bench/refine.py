"""Benchmark: refining a synthetic lake of 100,000 films on the local stack's engine.

A moto server runs in a child process; ``bench/lake.py`` writes the Raw lake (TMDB batches of
100 and the movies CSV) and its catalog. Each of ``--runs`` refines (``run_refine`` on DuckDB,
what ``movielake refine`` and the local refine Lambda run) reads Raw from S3, builds the
Trusted and Refined tables, checks them, writes Parquet versions to S3, switches the Glue
tables and writes its manifest; every run after the first also supersedes the previous
version. Prints the median wall time (target: <= 30 s) and, from the manifests, the median
seconds and rows of each table.

    .venv/bin/python bench/refine.py [--films 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from lake import build_lake

from movielake.local.server import temporary_moto
from movielake.refine.run import run_refine


def main() -> int:
    """Parse options, build the lake, refine it ``--runs`` times, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    walls: list[float] = []
    manifests = []
    with temporary_moto() as endpoint:
        settings = build_lake(endpoint, args.films)
        for _ in range(args.runs):
            start = time.perf_counter()
            manifests.append(run_refine(settings, "local"))
            walls.append(time.perf_counter() - start)
    median = statistics.median(walls)
    print(f"refine of {args.films:,} films, median of {args.runs} runs: {median:.2f} s (target <= 30 s)")
    print(f"  runs: {', '.join(f'{w:.2f}' for w in walls)} s")
    for table in manifests[0]["tables"]:
        seconds = statistics.median(m["tables"][table]["seconds"] for m in manifests)
        rows = manifests[-1]["tables"][table]["rows_out"]
        print(f"  {table:<24} {rows:>9,} rows  {seconds:6.2f} s (write + row counts)")
    checks = statistics.median(
        m["duration_seconds"] - sum(t["seconds"] for t in m["tables"].values()) for m in manifests
    )
    print(f"  {'checks, switch, tags':<24} {'':>14} {checks:6.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
