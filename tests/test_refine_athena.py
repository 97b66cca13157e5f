"""The refine's Athena engine against the local moto server's Athena, which executes it.

The workgroups are made as terraform/athena.tf makes them: the analyses' one enforces its
results location, the refine's does not. Athena fails a CTAS that gives ``external_location``
in the first; the refine runs in the second and publishes every table version under the lake's
fresh ``v=<run id>/`` folders, nothing under the results bucket (whose lifecycle expires it).
Expected rows are the local engine's (DuckDB) on the same Raw lake.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.refine.athena import AthenaRefineEngine, ctas
from movielake.refine.run import run_refine
from movielake.tmdb.records import to_record

pytestmark = pytest.mark.slow

DATABASE = "movielake_athena_test"
RESULTS_BUCKET = "movielake-test-athena-results"
ANALYSES_WORKGROUP, REFINE_WORKGROUP = "movielake-test", "movielake-test-refine"
DAY = date(2026, 3, 1)


def client(service: str, endpoint: str) -> Any:
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)


@pytest.fixture
def lake(moto_endpoint: str) -> Settings:
    """40 films in Raw, cataloged, the results bucket and both workgroups; settings for them."""
    s3, glue, athena = (client(name, moto_endpoint) for name in ("s3", "glue", "athena"))
    s3.create_bucket(Bucket=LAKE_BUCKET)
    s3.create_bucket(Bucket=RESULTS_BUCKET)
    films = list(synthetic.films(40, seed=31))
    ingested_at = f"{DAY:%Y-%m-%d}T01:00:00.000000Z"
    known = [f for f in films if synthetic.known_to_tmdb(f)]
    records = [to_record(synthetic.tmdb_payload(f), f.imdb_id, ingested_at) for f in known]
    series = list(synthetic.films(8, seed=32, series=True, first_id=900000))
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films), DAY)
    sample_lake.write_csv(s3, LAKE_BUCKET, "series.csv", synthetic.csv_text(series, series=True), DAY)
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, DAY)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    sample_lake.create_workgroups(athena, RESULTS_BUCKET, ANALYSES_WORKGROUP, REFINE_WORKGROUP)
    return Settings(
        lake_bucket=LAKE_BUCKET,
        glue_database=DATABASE,
        athena_results_bucket=RESULTS_BUCKET,
        athena_workgroup=ANALYSES_WORKGROUP,
        refine_workgroup=REFINE_WORKGROUP,
        endpoint_url=moto_endpoint,
        region=REGION,
    )


def keys_under(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def test_the_refine_publishes_into_the_lake_from_its_own_workgroup(lake: Settings) -> None:
    """The deployed wiring (MOVIELAKE_REFINE_WORKGROUP beside the enforced analyses workgroup):
    every CTAS lands in the lake's v=<run id>/ folder, with the local engine's rows."""
    s3, glue = client("s3", lake.endpoint_url), client("glue", lake.endpoint_url)

    manifest = run_refine(lake, "aws")

    assert manifest["status"] == "succeeded" and manifest["engine"] == "athena"
    run_id = manifest["run_id"]
    for table, figures in manifest["tables"].items():
        entry = glue.get_table(DatabaseName=DATABASE, Name=table)["Table"]
        assert entry["StorageDescriptor"]["Location"] == figures["location"], table
        prefix = figures["location"].removeprefix(f"s3://{LAKE_BUCKET}/")
        assert f"/v={run_id}/" in figures["location"] and keys_under(s3, LAKE_BUCKET, prefix), table
    # The results bucket holds query results and the CTAS manifests only (Athena writes those to
    # <results>/tables/<query id>-manifest.csv): no table data, which its lifecycle would expire.
    results = keys_under(s3, RESULTS_BUCKET)
    assert results and all(key.startswith("athena/") for key in results), results
    data = [k for k in results if "/tables/" in k and not k.endswith(("-manifest.csv", ".metadata"))]
    assert data == []

    local = run_refine(lake, "local")
    rows = {table: figures["rows_out"] for table, figures in manifest["tables"].items()}
    assert rows == {table: figures["rows_out"] for table, figures in local["tables"].items()}
    assert all(rows.values()), rows  # every table has rows, or this proves little


def test_a_ctas_with_external_location_is_refused_in_the_enforced_workgroup(lake: Settings) -> None:
    """Why the refine has its own workgroup: the analyses' one overrides client-side settings,
    and Athena fails a CTAS naming external_location there (today's refine did exactly that)."""
    engine = AthenaRefineEngine(replace(lake, refine_workgroup=ANALYSES_WORKGROUP), poll_seconds=0.05)
    location = f"s3://{LAKE_BUCKET}/Trusted/probe/v=1/"

    with pytest.raises(ClientError) as refused:
        engine.write_table("SELECT 1 AS x", "trusted_probe__next", location)

    error = refused.value.response["Error"]
    assert error["Code"] == "InvalidRequestException"
    assert "'external_location'" in error["Message"] and "enforces" in error["Message"]
    assert keys_under(client("s3", lake.endpoint_url), LAKE_BUCKET, "Trusted/probe/") == []
    assert ctas("SELECT 1 AS x", "t", location).count("external_location") == 1
