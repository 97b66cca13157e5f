"""Benchmark: refining a synthetic lake of 100,000 films through each engine, side by side.

A moto server runs in a child process; ``bench/lake.py`` writes the Raw lake (TMDB batches of
100 and the movies CSV), its catalog and the Athena workgroups. Each of ``--runs`` rounds
refines the lake once per engine of ``--engines``, alternating: ``aws`` is Athena (CTAS in the
refine workgroup, which the local moto server executes; what the refine Lambda runs),
``local`` is DuckDB in this process (``movielake refine --engine local``). A refine reads Raw
from S3, builds the Trusted and Refined tables, checks them, writes Parquet versions to S3,
switches the Glue tables and writes its manifest; every run after the first also supersedes
the previous version. Prints, per engine, the median wall time (target: <= 30 s) and, from the
manifests, the median seconds and rows of each table, then the ratio of the medians.

    .venv/bin/python bench/refine.py [--films 100000] [--runs 3] [--engines local,aws]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from typing import Any

from lake import build_lake

from movielake.config import ENGINES
from movielake.local.server import temporary_moto
from movielake.refine.run import run_refine


def report(engine: str, films: int, walls: list[float], manifests: list[dict[str, Any]]) -> None:
    """One engine's figures: median wall, runs, per-table medians, the rest of the run."""
    median = statistics.median(walls)
    print(f"\n{engine}: refine of {films:,} films, median of {len(walls)} runs: {median:.2f} s", end="")
    print(" (target <= 30 s)")
    print(f"  runs: {', '.join(f'{w:.2f}' for w in walls)} s")
    for table in manifests[0]["tables"]:
        seconds = statistics.median(m["tables"][table]["seconds"] for m in manifests)
        rows = manifests[-1]["tables"][table]["rows_out"]
        print(f"  {table:<24} {rows:>9,} rows  {seconds:6.2f} s (write + row counts)")
    checks = statistics.median(
        m["duration_seconds"] - sum(t["seconds"] for t in m["tables"].values()) for m in manifests
    )
    print(f"  {'checks, switch, tags':<24} {'':>14} {checks:6.2f} s")


def main() -> int:
    """Parse options, build the lake, refine it ``--runs`` times per engine, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--engines", default=",".join(ENGINES), help="comma-separated: local, aws")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown:
        parser.error(f"unknown engine(s) {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    walls: dict[str, list[float]] = {e: [] for e in engines}
    manifests: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    with temporary_moto() as endpoint:
        settings = build_lake(endpoint, args.films)
        for _ in range(args.runs):
            for engine in engines:
                start = time.perf_counter()
                manifests[engine].append(run_refine(settings, engine))
                walls[engine].append(time.perf_counter() - start)
    for engine in engines:
        report(engine, args.films, walls[engine], manifests[engine])
    if len(engines) == 2:
        first, second = (statistics.median(walls[e]) for e in engines)
        print(f"\n{engines[1]} / {engines[0]}: {second / first:.2f}x (medians, same lake, alternating runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
