"""Benchmark: the seven questions over Refined versus their Raw-era versions, 100,000 films.

A moto server runs in a child process (DuckDB reading from a moto server in its own process
hangs). The script writes a synthetic Raw lake of ``--films`` films (``bench/lake.py``),
refines it with DuckDB (``run_refine``, as ``movielake refine`` does locally), then measures,
side by side in one run:

* time: ``--runs`` fresh engine sessions of the seven ``sql/q*.sql`` (loading the Refined
  tables they read from S3 + each query, translation included), the same for the Raw-era SQL
  files (taken from git at ``--baseline-ref``, reading ``tmdb_movies`` and ``csv_movies``), and
  ``--cli-runs`` runs of the real command ``movielake query --all`` in a new process (Python
  start, imports, catalog, S3 reads, seven queries, output), through each engine, alternating:
  ``--engine aws`` (Athena in the analyses' workgroup through awswrangler, which the local moto
  server executes) and ``--engine local`` (DuckDB in the command's process);
* bytes: each question alone in a fresh session, through a proxy in front of moto that counts
  the object bytes read (``bench/lake.py``), for both versions.

    .venv/bin/python bench/analyses.py [--films 100000] [--runs 5] [--cli-runs 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lake import CountingProxy, build_lake

from movielake.analysis.duckdb_engine import DuckDBEngine
from movielake.analysis.queries import NamedQuery, discover
from movielake.analysis.translate import referenced_tables
from movielake.config import PROJECT_ROOT, Settings
from movielake.local.server import temporary_moto
from movielake.refine.run import run_refine

# The last commit whose sql/q*.sql read Raw (tmdb_movies, csv_movies) directly.
BASELINE_REF = "843a70a"


def raw_era_queries(ref: str, directory: Path) -> dict[str, NamedQuery]:
    """The seven SQL files as they were at ``ref``, written to ``directory`` and loaded."""
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", ref, "sql/"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    for name in (n for n in names if Path(n).name.startswith("q") and n.endswith(".sql")):
        text = subprocess.run(
            ["git", "show", f"{ref}:{name}"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        )
        (directory / Path(name).name).write_text(text.stdout)
    return discover(directory)


def timed_session(settings: Settings, queries: dict[str, NamedQuery]) -> dict[str, float]:
    """One fresh engine session: seconds to load the tables the queries read, and per query."""
    timings: dict[str, float] = {}
    tables = sorted(set().union(*(referenced_tables(q.statement) for q in queries.values())))
    with DuckDBEngine(settings) as engine:
        start = time.perf_counter()
        engine.load(tables)
        timings["(load " + ", ".join(tables) + ")"] = time.perf_counter() - start
        for name, query in queries.items():
            start = time.perf_counter()
            engine.run(query)
            timings[name] = time.perf_counter() - start
    return timings


def bytes_read(settings: Settings, proxy: CountingProxy, query: NamedQuery) -> int:
    """Object bytes one question reads from S3 in a fresh session."""
    proxy.reset()
    with DuckDBEngine(dataclasses.replace(settings, endpoint_url=proxy.url)) as engine:
        engine.run(query)
    return proxy.object_bytes


def cli_wall(settings: Settings, *arguments: str) -> float:
    """Seconds for ``movielake query <arguments>`` in a new process against the lake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIELAKE_")}
    env.update(
        MOVIELAKE_LAKE_BUCKET=settings.lake_bucket,
        MOVIELAKE_GLUE_DATABASE=settings.glue_database,
        MOVIELAKE_ATHENA_RESULTS_BUCKET=settings.athena_results_bucket,
        MOVIELAKE_ATHENA_WORKGROUP=settings.athena_workgroup,
        AWS_ENDPOINT_URL=settings.endpoint_url,
        AWS_REGION=settings.region,
    )
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "movielake"), "query", *arguments],
        env=env,
        check=True,
    )
    return time.perf_counter() - start


def median_table(sessions: list[dict[str, float]]) -> dict[str, float]:
    """Per step, the median over sessions."""
    return {name: statistics.median(s[name] for s in sessions) for name in sessions[0]}


def main() -> int:
    """Parse options, build and refine the lake, measure both versions, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cli-runs", type=int, default=3)
    parser.add_argument("--baseline-ref", default=BASELINE_REF, help="git ref of the Raw-era SQL files")
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    refined = discover()
    with tempfile.TemporaryDirectory() as tmp, temporary_moto() as endpoint:
        raw = raw_era_queries(args.baseline_ref, Path(tmp))
        settings = build_lake(endpoint, args.films)
        start = time.perf_counter()
        run_refine(settings, "local")
        print(f"refine: {time.perf_counter() - start:.2f} s")
        new = median_table([timed_session(settings, refined) for _ in range(args.runs)])
        old = median_table([timed_session(settings, raw) for _ in range(args.runs)])
        all_args = ("--all", "--format", "csv", "--out", os.devnull)
        cli_runs: dict[str, list[float]] = {"local": [], "aws": []}
        for _ in range(args.cli_runs):
            for engine, walls in cli_runs.items():
                walls.append(cli_wall(settings, *all_args, "--engine", engine))
        cli = {engine: statistics.median(walls) for engine, walls in cli_runs.items()}
        startup = statistics.median(cli_wall(settings, "--list") for _ in range(args.cli_runs))
        proxy = CountingProxy(endpoint)
        with proxy.running():
            sizes = {
                name: (bytes_read(settings, proxy, refined[name]), bytes_read(settings, proxy, raw[name]))
                for name in refined
            }

    print(f"\nmedian of {args.runs} sessions (seconds), Refined | Raw-era SQL:")
    for (new_name, new_s), (old_name, old_s) in zip(new.items(), old.items(), strict=True):
        print(f"  {new_name:<48} {new_s:7.3f} | {old_name:<28} {old_s:7.3f}")
    new_queries = sum(v for k, v in new.items() if k.startswith("q"))
    old_queries = sum(v for k, v in old.items() if k.startswith("q"))
    print(f"  {'all seven queries':<48} {new_queries:7.3f} | {'':<28} {old_queries:7.3f}")
    total = "load + all seven (target <= 2 s)"
    print(f"  {total:<48} {sum(new.values()):7.3f} | {'':<28} {sum(old.values()):7.3f}")
    for engine, seconds in cli.items():
        command = f"`movielake query --all --engine {engine}`"
        print(f"  {command}, new process, median of {args.cli_runs}: {seconds:.3f} s")
    print(f"  aws / local: {cli['aws'] / cli['local']:.2f}x")
    print(f"  of which start-up (`movielake query --list`: interpreter, imports, parser): {startup:.3f} s")
    print("\nobject bytes read from S3 per question, Refined | Raw-era (target: <= 10%):")
    for name, (new_bytes, old_bytes) in sizes.items():
        print(f"  {name:<28} {new_bytes:>12,} | {old_bytes:>12,}  {100 * new_bytes / old_bytes:6.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
