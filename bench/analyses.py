"""Benchmark: the seven analyses on the local DuckDB engine over a synthetic lake.

A moto server runs in a child process (DuckDB reading from a moto server in its own process
hangs). The script writes ``--films`` synthetic TMDB records as ``lote_<N>.json`` batches of
100 plus the matching movies CSV, registers the contract's catalog tables, then, for each of
``--runs`` fresh engine sessions, times loading the tables from S3 and each query. It prints
the median per query and in total (target: all seven under 2 s for 100,000 films).

    .venv/bin/python bench/analyses.py [--films 100000] [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date

import boto3

from movielake import synthetic
from movielake.analysis import sample_lake
from movielake.analysis.duckdb_engine import DuckDBEngine
from movielake.analysis.queries import discover
from movielake.config import Settings
from movielake.local.server import temporary_moto
from movielake.tmdb.records import to_record

BUCKET = "movielake-bench-lake"
DATABASE = "movielake_bench_raw"
REGION = "us-east-1"
RUN_DAY = date(2026, 1, 15)


def build_lake(endpoint: str, films: int) -> Settings:
    """Write the synthetic lake and the catalog tables; settings pointing at them."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    catalog = list(synthetic.films(films))
    ingested_at = "2026-01-15T03:00:00.000000Z"
    records = [
        to_record(synthetic.tmdb_payload(f), f.imdb_id, ingested_at)
        for f in catalog
        if synthetic.known_to_tmdb(f)
    ]
    batches = sample_lake.write_tmdb_batches(s3, BUCKET, records, RUN_DAY)
    sample_lake.write_csv(s3, BUCKET, "movies.csv", synthetic.csv_text(catalog), RUN_DAY)
    sample_lake.register_contract_tables(glue, DATABASE, BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    print(f"lake: {len(records)} TMDB records in {len(batches)} batches, movies CSV of {films} films")
    return Settings(lake_bucket=BUCKET, glue_database=DATABASE, endpoint_url=endpoint, region=REGION)


def timed_session(settings: Settings) -> dict[str, float]:
    """One fresh engine session: seconds to load the tables, and per query."""
    queries = discover()
    timings: dict[str, float] = {}
    with DuckDBEngine(settings) as engine:
        for table in ("tmdb_movies", "csv_movies"):
            start = time.perf_counter()
            engine.load([table])
            timings[f"(load {table})"] = time.perf_counter() - start
        for name, query in queries.items():
            start = time.perf_counter()
            engine.run(query)
            timings[name] = time.perf_counter() - start
    return timings


def main() -> int:
    """Parse options, build the lake, time the sessions, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with temporary_moto() as endpoint:
        settings = build_lake(endpoint, args.films)
        sessions = [timed_session(settings) for _ in range(args.runs)]
    names = list(sessions[0])
    print(f"median of {args.runs} sessions (seconds):")
    for name in names:
        print(f"  {name:<28} {statistics.median(s[name] for s in sessions):7.3f}")
    queries_total = statistics.median(sum(v for k, v in s.items() if k.startswith("q")) for s in sessions)
    session_total = statistics.median(sum(s.values()) for s in sessions)
    print(f"  {'all seven queries':<28} {queries_total:7.3f}")
    print(f"  {'load + all seven':<28} {session_total:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
