"""The refine on the local engine: Trusted and Refined Parquet in moto S3, the Glue switch,
the quality checks, an interrupted run, superseded versions; and the Athena engine's calls.

Each test writes a small Raw lake (synthetic films) to a moto server in a child process and
refines it with DuckDB, as ``movielake refine`` does on the local stack. Expected values are
computed here from the Python records, not pinned.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake import keys
from movielake.analysis.engines import run_all
from movielake.cli import main
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.refine import engines
from movielake.refine.athena import AthenaRefineEngine, ctas, typed_value
from movielake.refine.catalog import is_staging_of
from movielake.refine.run import SUPERSEDED_TAG, QualityError, run_refine
from movielake.tmdb.records import to_record

DATABASE = "movielake_refine_test"
DAY1, DAY2 = date(2026, 3, 1), date(2026, 3, 2)


def clients(endpoint: str) -> tuple[Any, Any]:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    return s3, glue


def records_for(films: list[synthetic.Film], day: date) -> list[dict[str, Any]]:
    return [
        to_record(synthetic.tmdb_payload(f), f.imdb_id, f"{day:%Y-%m-%d}T01:00:00.000000Z")
        for f in films
        if synthetic.known_to_tmdb(f)
    ]


def add_tmdb_day(endpoint: str, records: list[dict[str, Any]], day: date) -> None:
    """Write a day's TMDB batches and register its partition (as a crawl would)."""
    s3, glue = clients(endpoint)
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, day)
    sample_lake.register_all_partitions(glue, s3, DATABASE)


@pytest.fixture
def lake(moto_endpoint: str) -> dict[str, Any]:
    """80 films and 10 series in Raw, cataloged; settings pointing at them."""
    s3, glue = clients(moto_endpoint)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    films = list(synthetic.films(80, seed=21))
    series = list(synthetic.films(10, seed=22, series=True, first_id=900000))
    records = records_for(films, DAY1)
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films), DAY1)
    sample_lake.write_csv(s3, LAKE_BUCKET, "series.csv", synthetic.csv_text(series, series=True), DAY1)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    add_tmdb_day(moto_endpoint, records, DAY1)
    settings = Settings(
        lake_bucket=LAKE_BUCKET, glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION
    )
    return {
        "s3": s3,
        "glue": glue,
        "films": films,
        "series": series,
        "records": records,
        "settings": settings,
    }


def location(glue: Any, table: str) -> str:
    return glue.get_table(DatabaseName=DATABASE, Name=table)["Table"]["StorageDescriptor"]["Location"]


def table_names(glue: Any) -> set[str]:
    return {t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}


def read_table(settings: Settings, sql: str) -> pd.DataFrame:
    from movielake.analysis.duckdb_engine import DuckDBEngine

    with DuckDBEngine(settings) as engine:
        return engine.execute(sql)


def tags(s3: Any, key: str) -> list[dict[str, str]]:
    return s3.get_object_tagging(Bucket=LAKE_BUCKET, Key=key)["TagSet"]


def objects(s3: Any, prefix: str) -> list[str]:
    return [o["Key"] for o in s3.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=prefix).get("Contents", [])]


def test_refine_publishes_each_table_as_a_parquet_version_with_a_manifest(lake: dict) -> None:
    manifest = run_refine(lake["settings"], "local")
    s3, glue, run_id = lake["s3"], lake["glue"], manifest["run_id"]
    assert manifest["status"] == "succeeded"
    expected_tables = {
        "trusted_films",
        "trusted_film_artists",
        "trusted_series",
        "refined_film_facts",
        "refined_artist_films",
    }
    assert set(manifest["tables"]) == expected_tables
    assert expected_tables <= table_names(glue)
    assert not [t for t in table_names(glue) if is_staging_of(t)]  # no staging left
    assert location(glue, "trusted_films") == f"s3://{LAKE_BUCKET}/Trusted/films/v={run_id}/"
    assert location(glue, "refined_film_facts") == f"s3://{LAKE_BUCKET}/Refined/film_facts/v={run_id}/"
    parquet = objects(s3, f"Trusted/films/v={run_id}/")
    assert len(parquet) == 1 and s3.get_object(Bucket=LAKE_BUCKET, Key=parquet[0])["Body"].read(4) == b"PAR1"

    # rows in and out, computed from the records written
    csv_ids = {f.imdb_id for f in lake["films"]}
    tmdb_ids = {r["imdb_id"] for r in lake["records"]}
    films = manifest["tables"]["trusted_films"]
    assert films["rows_out"] == len(csv_ids | tmdb_ids)
    assert films["rows_in"]["tmdb_movies"] == len(lake["records"])
    assert films["rows_in"]["csv_movies"] == sum(len(f.cast) for f in lake["films"])
    assert manifest["tables"]["refined_film_facts"]["rows_out"] == len(tmdb_ids)
    assert manifest["tables"]["trusted_series"]["rows_out"] == len(lake["series"])
    assert all(c["passed"] for c in manifest["checks"])
    assert {c["rule"] for c in manifest["checks"]} >= {
        "imdb_id_unique",
        "money_non_negative",
        "release_date_valid",
        "film_artist_known_film",
    }
    body = s3.get_object(Bucket=LAKE_BUCKET, Key=keys.refine_manifest_key(run_id))["Body"].read()
    assert pd.read_json(io.BytesIO(body), typ="series")["run_id"] == run_id


def test_trusted_films_normalises_unknowns_once(lake: dict) -> None:
    run_refine(lake["settings"], "local")
    got = read_table(lake["settings"], "SELECT * FROM trusted_films").set_index("imdb_id")
    for record in lake["records"]:
        row = got.loc[record["imdb_id"]]
        assert (row.budget if pd.notna(row.budget) else 0) == record["budget"]  # 0 -> NULL
        assert (row.revenue if pd.notna(row.revenue) else 0) == record["revenue"]
        if record["release_date"]:
            assert str(row.release_date)[:10] == record["release_date"]
        else:
            assert pd.isna(row.release_date)
        assert bool(row.enriched)
    for film in lake["films"]:
        row = got.loc[film.imdb_id]
        assert list(row.genres) == list(film.genres)  # the CSV's genero as an array
        assert row.imdb_votes == film.votes and row.imdb_year == film.year
        assert bool(row.enriched) == synthetic.known_to_tmdb(film)
        assert (pd.isna(row.runtime) and film.minutes is None) or row.runtime > 0
    artists = read_table(lake["settings"], "SELECT * FROM trusted_film_artists")
    expected = {(f.imdb_id, a.name, a.profession) for f in lake["films"] for a, _ in f.cast}
    assert set(zip(artists.imdb_id, artists.artist, artists.role, strict=True)) == expected
    assert artists.character.isna().sum() == sum(
        1 for f in lake["films"] for a, c in f.cast if c == r"\N"
    )  # '\N' is NULL


def test_a_second_refine_switches_the_tables_and_supersedes_the_old_version(lake: dict) -> None:
    first = run_refine(lake["settings"], "local")
    second = run_refine(lake["settings"], "local")
    s3, glue = lake["s3"], lake["glue"]
    assert first["run_id"] < second["run_id"]
    assert location(glue, "trusted_films").endswith(f"v={second['run_id']}/")
    assert second["tables"]["trusted_films"]["previous_location"].endswith(f"v={first['run_id']}/")
    assert second["tables"]["trusted_films"]["rows_out"] == first["tables"]["trusted_films"]["rows_out"]
    for key in objects(s3, f"Trusted/films/v={first['run_id']}/"):
        assert SUPERSEDED_TAG in tags(s3, key)
    for key in objects(s3, f"Trusted/films/v={second['run_id']}/"):
        assert SUPERSEDED_TAG not in tags(s3, key)


def test_a_failed_hard_rule_publishes_nothing(
    lake: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_refine(lake["settings"], "local")
    before = {t: location(lake["glue"], t) for t in first["tables"]}
    answers = run_all(lake["settings"], "local")
    bad = dict(lake["records"][0], budget=-5, ingested_at="2026-03-02T09:00:00.000000Z")
    add_tmdb_day(lake["settings"].endpoint_url, [bad], DAY2)

    with pytest.raises(QualityError, match="money_non_negative: 1 row"):
        run_refine(lake["settings"], "local")
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    monkeypatch.setenv("MOVIELAKE_GLUE_DATABASE", DATABASE)
    assert main(["refine", "--engine", "local"]) == 2  # the command: one line saying which rule, exit 2
    error = capsys.readouterr().err
    assert "trusted_films breaks hard quality rules (money_non_negative: 1 row(s))" in error
    assert f"s3://{LAKE_BUCKET}/Refined/_refine/" in error

    assert {t: location(lake["glue"], t) for t in first["tables"]} == before
    assert not [t for t in table_names(lake["glue"]) if is_staging_of(t)]
    manifests = sorted(objects(lake["s3"], keys.REFINE_MANIFESTS_PREFIX))
    failed = pd.read_json(
        io.BytesIO(lake["s3"].get_object(Bucket=LAKE_BUCKET, Key=manifests[-1])["Body"].read()), typ="series"
    )
    assert failed["status"] == "failed"
    assert [c["rows"] for c in failed["checks"] if c["rule"] == "money_non_negative"] == [1]
    for name, frame in run_all(lake["settings"], "local").items():  # still the old answers
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)


class InterruptingEngine:
    """Delegates to the DuckDB engine and dies at the n-th table write, like a killed run."""

    def __init__(self, inner: Any, die_at: int) -> None:
        self.inner, self.die_at, self.name, self.writes = inner, die_at, inner.name, 0

    def write_table(self, sql: str, table: str, location: str) -> None:
        self.writes += 1
        if self.writes == self.die_at:
            raise KeyboardInterrupt
        self.inner.write_table(sql, table, location)

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self.inner.rows(sql)

    def stop(self) -> None:
        self.inner.stop()

    def close(self) -> None:
        self.inner.close()


def test_an_interrupted_refine_leaves_the_previous_tables_and_a_rerun_completes(
    lake: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run_refine(lake["settings"], "local")
    answers = run_all(lake["settings"], "local")
    real = engines.make_engine
    monkeypatch.setattr(
        "movielake.refine.run.make_engine",
        lambda *a, **k: InterruptingEngine(real(*a, **k), die_at=4),  # after Trusted, in Refined
    )
    with pytest.raises(KeyboardInterrupt):
        run_refine(lake["settings"], "local")
    monkeypatch.setattr("movielake.refine.run.make_engine", real)
    assert location(lake["glue"], "refined_film_facts") == first["tables"]["refined_film_facts"]["location"]
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)

    rerun = run_refine(lake["settings"], "local")
    assert location(lake["glue"], "refined_film_facts") == rerun["tables"]["refined_film_facts"]["location"]
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)


def test_a_missing_source_skips_its_models(moto_endpoint: str) -> None:
    s3, glue = clients(moto_endpoint)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    films = list(synthetic.films(20, seed=23))
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films), DAY1)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    glue.delete_table(DatabaseName=DATABASE, Name="csv_series")  # no series landed
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records_for(films, DAY1), DAY1)
    for table in ("tmdb_movies", "csv_movies"):
        sample_lake.register_partitions(glue, s3, DATABASE, table)
    settings = Settings(
        lake_bucket=LAKE_BUCKET, glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION
    )
    manifest = run_refine(settings, "local")
    assert set(manifest["skipped"]) == {"trusted_series"}
    assert "csv_series" in manifest["skipped"]["trusted_series"]
    assert "refined_film_facts" in manifest["tables"]


# ------------------------------------------------------------------------ the Athena engine


def test_athena_engine_writes_with_ctas_and_reads_typed_rows(mock_aws_env: None) -> None:
    settings = Settings(glue_database="db", refine_workgroup="wg", region=REGION)
    athena = boto3.client("athena", region_name=REGION)
    glue = boto3.client("glue", region_name=REGION)
    glue.create_database(DatabaseInput={"Name": "db"})
    engine = AthenaRefineEngine(settings, glue=glue, athena=athena, poll_seconds=0)
    statement = ctas("SELECT 1 AS x", "trusted_films__next", "s3://lake/Trusted/films/v=1/")
    context = {"Database": "db"}
    with Stubber(athena) as stub:
        stub.add_response(
            "start_query_execution",
            {"QueryExecutionId": "q1"},
            {"QueryString": statement, "WorkGroup": "wg", "QueryExecutionContext": context},
        )
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        engine.write_table("SELECT 1 AS x", "trusted_films__next", "s3://lake/Trusted/films/v=1/")
        stub.add_response("start_query_execution", {"QueryExecutionId": "q2"})
        stub.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
        columns = [
            {"Name": n, "Type": t} for n, t in (("rule", "varchar"), ("n", "bigint"), ("ok", "boolean"))
        ]
        stub.add_response(
            "get_query_results",
            {
                "ResultSet": {
                    "Rows": [
                        {"Data": [{"VarCharValue": "rule"}, {"VarCharValue": "n"}, {"VarCharValue": "ok"}]},
                        {
                            "Data": [
                                {"VarCharValue": "imdb_id_unique"},
                                {"VarCharValue": "0"},
                                {"VarCharValue": "true"},
                            ]
                        },
                        {"Data": [{"VarCharValue": "x"}, {}, {"VarCharValue": "false"}]},
                    ],
                    "ResultSetMetadata": {"ColumnInfo": columns},
                }
            },
        )
        assert engine.rows("SELECT 1") == [("imdb_id_unique", 0, True), ("x", None, False)]
        stub.add_response("start_query_execution", {"QueryExecutionId": "q3"})
        stub.add_response(
            "get_query_execution",
            {"QueryExecution": {"Status": {"State": "FAILED", "StateChangeReason": "COLUMN_NOT_FOUND"}}},
        )
        with pytest.raises(RuntimeError, match="q3 FAILED: COLUMN_NOT_FOUND"):
            engine.rows("SELECT nope")
    assert "external_location = 's3://lake/Trusted/films/v=1/'" in statement
    assert statement.startswith("CREATE TABLE \"trusted_films__next\" WITH (format = 'PARQUET'")
    assert typed_value("2.5", "double") == 2.5 and typed_value(None, "bigint") is None


def test_killing_movielake_refine_midway_keeps_the_tables_readable(lake: dict, tmp_path) -> None:
    """``movielake refine`` in its own process, killed (SIGKILL) once it has staged a table:
    the published tables and the answers stay as they were; its lease keeps another refine
    out until it expires; the next refine takes it over, cleans up after the dead run (its
    staging entry dropped, its folders tagged) and publishes."""
    first = run_refine(lake["settings"], "local")
    answers = run_all(lake["settings"], "local")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIELAKE_")}
    env.update(
        MOVIELAKE_LAKE_BUCKET=LAKE_BUCKET,
        MOVIELAKE_GLUE_DATABASE=DATABASE,
        AWS_ENDPOINT_URL=lake["settings"].endpoint_url,
        MOVIELAKE_LOCAL_DIR=str(tmp_path),
        MOVIELAKE_REFINE_LEASE_SECONDS="4",
    )
    command = [str(Path(sys.executable).parent / "movielake"), "refine", "--engine", "local"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while not [t for t in table_names(lake["glue"]) if is_staging_of(t)]:
            assert process.poll() is None, "the refine ended before it could be killed"
            assert time.monotonic() < deadline, "no staged table within 120 s"
            time.sleep(0.05)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    assert process.returncode == -signal.SIGKILL
    for table, figures in first["tables"].items():
        assert location(lake["glue"], table) == figures["location"], table
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)

    lease = json.loads(lake["s3"].get_object(Bucket=LAKE_BUCKET, Key=keys.REFINE_LEASE_KEY)["Body"].read())
    killed = lease["run_id"]
    assert [t for t in table_names(lake["glue"]) if is_staging_of(t, killed)]

    settings = dataclasses.replace(lake["settings"], refine_lease_seconds=4)
    rerun = run_refine(settings, "local", wait_seconds=30)  # takes the dead run's lease over
    assert rerun["status"] == "succeeded"
    for table, figures in rerun["tables"].items():
        assert location(lake["glue"], table) == figures["location"], table
    assert not [t for t in table_names(lake["glue"]) if is_staging_of(t)]
    killed_objects = [k for k in objects(lake["s3"], "Trusted/") if f"/v={killed}/" in k]
    assert killed_objects and all(SUPERSEDED_TAG in tags(lake["s3"], k) for k in killed_objects)
    assert not objects(lake["s3"], keys.REFINE_LEASE_KEY)  # released
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)
