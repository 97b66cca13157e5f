"""The refine's deadline on Athena: the local moto server's Athena runs the queries, and
``StopQueryExecution`` cancels the one running when the deadline comes (not a stub).

One test: a refine whose first model is a query that would run for hours; a deadline a few
seconds away. The watchdog stops the query, Athena reports it ``CANCELLED``, the run cleans up
and writes a ``timed_out`` manifest; the previous tables are untouched.
"""

from __future__ import annotations

import json
import time
from datetime import date
from typing import Any

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION, endless_query

from movielake import keys
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.refine.athena import AthenaRefineEngine
from movielake.refine.catalog import is_staging_of
from movielake.refine.deadline import Deadline, DeadlineExceededError
from movielake.refine.run import Refine, refine
from movielake.tmdb.records import to_record

pytestmark = pytest.mark.slow

DATABASE = "movielake_deadline_test"
RESULTS_BUCKET = "movielake-test-athena-results"
WORKGROUP = "movielake-test-refine"  # not enforced: the refine names each table's location
DAY = date(2026, 3, 1)
ENDLESS = endless_query("csv_movies", "numerovotos")  # ~98 rows: hours of DuckDB


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)


class EndlessFirstModel(AthenaRefineEngine):
    """The Athena engine, whose first table is a query that would take hours."""

    writes = 0

    def write_table(self, sql: str, table: str, location: str) -> None:
        self.writes += 1
        super().write_table(ENDLESS if self.writes == 1 else sql, table, location)


def test_the_deadline_stops_the_running_athena_query(moto_endpoint: str) -> None:
    s3, glue, athena = (client(name, moto_endpoint) for name in ("s3", "glue", "athena"))
    for bucket in (LAKE_BUCKET, RESULTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    films = list(synthetic.films(30, seed=41))
    stamp = f"{DAY:%Y-%m-%d}T01:00:00.000000Z"
    records = [
        to_record(synthetic.tmdb_payload(f), f.imdb_id, stamp) for f in films if synthetic.known_to_tmdb(f)
    ]
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films), DAY)
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, DAY)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    athena.create_work_group(
        Name=WORKGROUP,
        Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://{RESULTS_BUCKET}/athena/"},
            "EnforceWorkGroupConfiguration": False,
        },
    )
    settings = Settings(
        lake_bucket=LAKE_BUCKET,
        glue_database=DATABASE,
        refine_workgroup=WORKGROUP,
        endpoint_url=moto_endpoint,
        region=REGION,
    )
    engine = EndlessFirstModel(settings, glue=glue, athena=athena, poll_seconds=0.1)
    run = Refine(
        engine=engine, glue=glue, s3=s3, bucket=LAKE_BUCKET, database=DATABASE, deadline=Deadline.after(4)
    )

    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="reached its deadline"):
        refine(run)
    assert time.monotonic() - started < 30  # the query would have run for hours

    executions = athena.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    states = {
        q: athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]["Status"]["State"]
        for q in executions
    }
    assert engine.writes == 1  # stopped in the endless query, not in a model after it
    assert engine._running in states and states[engine._running] == "CANCELLED", states
    assert list(states.values()).count("RUNNING") == 0
    manifest = json.loads(
        s3.get_object(Bucket=LAKE_BUCKET, Key=keys.refine_manifest_key(run.run_id))["Body"].read()
    )
    assert manifest["status"] == "timed_out" and "DeadlineExceededError" in manifest["error"]
    tables = [t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]]
    assert not [t for t in tables if is_staging_of(t)]
    assert not [t for t in tables if t.startswith(("trusted_", "refined_"))]  # nothing published
