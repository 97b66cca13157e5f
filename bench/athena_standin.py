"""Benchmark: the seven questions through the local stack's Athena stand-in and through DuckDB.

A moto server (the local stack's launcher, Athena stand-in installed) holds a synthetic lake
of ``--films`` films, refined with DuckDB as ``movielake refine --engine local`` does. Side
by side in one run, ``--runs`` times each: ``fetch_all`` on the ``local`` engine (DuckDB in
this process) and on ``aws`` (awswrangler -> the stand-in). It checks that both answer the
same, and prints the medians, the stand-in's own time per query (``TotalExecutionTimeInMillis``)
and the bytes its queries scanned.

    .venv/bin/python bench/athena_standin.py [--films 2000] [--runs 3]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import time
from datetime import date

import boto3

from movielake.analysis.engines import fetch_all
from movielake.analysis.results import QueryResult
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.local.server import temporary_moto
from movielake.refine.run import run_refine
from movielake.tmdb.records import to_record

REGION = "us-east-1"


def same(a: QueryResult, b: QueryResult) -> bool:
    """Equal columns and rows (floats to 1e-9)."""
    if a.columns != b.columns or len(a.rows) != len(b.rows):
        return False
    for x, y in zip((v for r in a.rows for v in r), (v for r in b.rows for v in r), strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9):
                return False
        elif x != y and str(x) != str(y):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--films", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with temporary_moto() as url:
        # A moto server without IAM enforcement: any key is accepted, none is a secret.
        os.environ.update(AWS_ENDPOINT_URL=url, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench")  # noqa: S106
        settings = Settings(
            lake_bucket="lake",
            glue_database="bench",
            athena_workgroup="bench",
            endpoint_url=url,
            region=REGION,
        )
        s3, glue, athena = (
            boto3.client(s, endpoint_url=url, region_name=REGION) for s in ("s3", "glue", "athena")
        )
        for bucket in ("lake", "results"):
            s3.create_bucket(Bucket=bucket)
        athena.create_work_group(
            Name="bench",
            Configuration={
                "ResultConfiguration": {"OutputLocation": "s3://results/athena/"},
                "EnforceWorkGroupConfiguration": True,
            },
        )
        films = list(synthetic.films(args.films, seed=3))
        records = [
            to_record(synthetic.tmdb_payload(f), f.imdb_id, "2026-02-01T00:00:00.000000Z") for f in films
        ]
        day = date(2026, 2, 1)
        sample_lake.write_tmdb_batches(s3, "lake", records, day)
        sample_lake.write_csv(s3, "lake", "movies.csv", synthetic.csv_text(films), day)
        sample_lake.register_contract_tables(glue, "bench", "lake")
        sample_lake.register_all_partitions(glue, s3, "bench")
        run_refine(settings, engine="local")

        seconds: dict[str, list[float]] = {"local": [], "aws": []}
        answers = {}
        for _ in range(args.runs):
            for engine in ("local", "aws"):
                began = time.perf_counter()
                answers[engine] = fetch_all(settings, engine)
                seconds[engine].append(time.perf_counter() - began)
        for name, result in answers["local"].items():
            agrees = same(result, answers["aws"][name])
            print(f"{name}: {len(result.rows)} rows, same through the stand-in: {agrees}")
        ids = athena.list_query_executions(WorkGroup="bench")["QueryExecutionIds"][:7]
        executions = athena.batch_get_query_execution(QueryExecutionIds=ids)["QueryExecutions"]
        server = sorted(q["Statistics"]["TotalExecutionTimeInMillis"] for q in executions)
        scanned = sum(q["Statistics"]["DataScannedInBytes"] for q in executions)
        print(f"{args.films} films, median of {args.runs}:")
        print(f"  local (DuckDB) seven questions: {statistics.median(seconds['local']):.2f} s")
        print(f"  aws (awswrangler -> Athena stand-in): {statistics.median(seconds['aws']):.2f} s")
        print(f"  stand-in time per query, last run (ms): {server}; bytes scanned: {scanned}")


if __name__ == "__main__":
    main()
