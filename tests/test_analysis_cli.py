"""``movielake query``: argument handling and output formats, on a small lake in a moto server."""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import boto3
import pandas as pd
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.analysis import cli
from movielake.analysis.duckdb_engine import DuckDBEngine
from movielake.analysis.engines import fetch_all, run_all
from movielake.analysis.queries import NamedQuery, discover
from movielake.analysis.results import QueryResult, render, to_table
from movielake.cli import UserError, main
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.tmdb.records import to_record

DATABASE = "movielake_cli_test_raw"


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="movielake")
    cli.register(root.add_subparsers(dest="command", required=True))
    return root


@pytest.fixture
def small_lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Twenty synthetic films in the lake and the catalog; the environment points at them."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    films = list(synthetic.films(20, seed=3))
    records = [to_record(synthetic.tmdb_payload(f), f.imdb_id, "2026-02-01T00:00:00.000000Z") for f in films]
    day = date(2026, 2, 1)
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, day)
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films), day)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    monkeypatch.setenv("MOVIELAKE_GLUE_DATABASE", DATABASE)
    assert main(["refine", "--engine", "local"]) == 0  # the questions read Refined
    return records


def expected_roi_ids(records: list[dict]) -> list[str]:
    frame = pd.DataFrame(records)
    frame = frame[(frame.budget > 0) & (frame.revenue > 0)]
    frame = frame.assign(roi=(frame.revenue - frame.budget) / frame.budget)
    return frame.sort_values(["roi", "imdb_id"], ascending=[False, True]).imdb_id.tolist()


def test_query_csv_to_a_file(small_lake: list[dict], tmp_path: Path) -> None:
    out = tmp_path / "q1.csv"
    args = parser().parse_args(["query", "q1", "--engine", "local", "--format", "csv", "--out", str(out)])
    assert args.func(args) == 0
    frame = pd.read_csv(out)
    assert frame.imdb_id.tolist() == expected_roi_ids(small_lake)


def test_query_all_as_json(small_lake: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    args = parser().parse_args(["query", "--all", "--engine", "local", "--format", "json"])
    assert args.func(args) == 0
    document = json.loads(stdout.getvalue())
    assert list(document) == list(discover())
    assert [row["imdb_id"] for row in document["q1_roi"]] == expected_roi_ids(small_lake)
    assert [row["month"] for row in document["q6_seasonality"]] == list(range(1, 13))


def test_query_table_format_and_list(small_lake: list[dict], monkeypatch: pytest.MonkeyPatch) -> None:
    stdout = io.StringIO()
    monkeypatch.setattr("sys.stdout", stdout)
    args = parser().parse_args(["query", "q5_critics_vs_popularity", "--engine", "local"])
    args.func(args)
    assert stdout.getvalue().startswith("== q5_critics_vs_popularity (1 rows)")
    listing = parser().parse_args(["query", "--list"])
    listing.func(listing)
    assert "q7_hidden_gems: Hidden gems" in stdout.getvalue()


def test_unknown_query_is_a_user_error(small_lake: list[dict]) -> None:
    args = parser().parse_args(["query", "q42"])
    with pytest.raises(UserError, match="q1_roi"):
        args.func(args)


def test_name_and_all_are_exclusive() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["query", "q1", "--all"])


@pytest.mark.parametrize(
    ("given", "engine"), [("local", "local"), ("aws", "aws"), ("duckdb", "local"), ("ATHENA", "aws")]
)
def test_engine_flag_takes_local_aws_and_the_old_sql_engine_names(given: str, engine: str) -> None:
    assert parser().parse_args(["query", "--all", "--engine", given]).engine == engine
    assert parser().parse_args(["report", "--engine", given]).engine == engine


def test_an_unknown_engine_is_refused_with_the_choices(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["query", "--all", "--engine", "spark"])
    assert "'spark' is not an engine: use local or aws" in capsys.readouterr().err


def same_value(got: object, want: object) -> bool:
    """Equal, floats to 12 digits (two sessions may add a double in another order)."""
    if isinstance(got, float) and isinstance(want, float):
        return got == pytest.approx(want, rel=1e-12)
    return got == want


def test_query_rows_are_the_dataframes_rows(small_lake: list[dict]) -> None:
    """``query`` prints rows fetched without pandas; they are the rows the report's DataFrames hold."""
    settings = Settings.from_env()
    fetched = fetch_all(settings, "local")
    frames = run_all(settings, "local")
    assert list(fetched) == list(frames) == list(discover())
    for name, result in fetched.items():
        expected = QueryResult.from_frame(frames[name])
        assert result.columns == expected.columns, name
        assert len(result.rows) == len(expected.rows) > 0, name
        for got, want in zip(result.rows, expected.rows, strict=True):
            assert [same_value(a, b) for a, b in zip(got, want, strict=True)] == [True] * len(got), (
                name,
                got,
                want,
            )


def test_a_non_finite_float_is_missing_in_every_format(settings: Settings, moto_endpoint: str) -> None:
    """DuckDB's corr of a constant column is NaN: the rows carry None, JSON null, CSV an empty field."""
    query = NamedQuery(
        name="q_constant",
        title="",
        question="",
        sql="SELECT x, corr(x, y) AS c FROM (VALUES (1.0, 2.0), (1.0, 3.0)) AS t(x, y) GROUP BY x",
    )
    local = dataclasses.replace(settings, glue_database=DATABASE, endpoint_url=moto_endpoint)
    with DuckDBEngine(local) as engine:
        result = engine.fetch(query)
        frame = engine.run(query)
    assert result.rows == [(1.0, None)]
    assert frame.c.isna().all()
    assert json.loads(render("q_constant", result, "json")) == [{"x": 1.0, "c": None}]
    assert render("q_constant", result, "csv") == "x,c\n1.0,\n"


def test_the_table_format_shows_the_first_rows_and_counts_the_rest() -> None:
    rows = [(f"tt{i:07d}", i / 3, 1e9 + i + 0.25) for i in range(5)]
    text = to_table("q1_roi", QueryResult(("imdb_id", "roi", "revenue"), rows), limit=2)
    lines = text.splitlines()
    assert lines[0] == "== q1_roi (5 rows)"
    assert lines[1].split() == ["imdb_id", "roi", "revenue"]
    # Ratios with four decimals; money-sized floats whole, with thousands separators.
    assert [line.split() for line in lines[3:5]] == [
        ["tt0000000", "0.0000", "1,000,000,000"],
        ["tt0000001", "0.3333", "1,000,000,001"],
    ]
    assert lines[-1] == "... 3 more rows: use --format csv or json for all of them"
    assert to_table("q1_roi", QueryResult(("imdb_id",), [])) == "== q1_roi (0 rows)\n(no rows)\n"


def test_dates_and_decimals_are_written_in_iso_and_as_numbers() -> None:
    result = QueryResult(("day", "amount"), [(date(2026, 2, 1), Decimal("1.50")), (None, None)])
    assert json.loads(render("q", result, "json")) == [
        {"day": "2026-02-01", "amount": 1.5},
        {"day": None, "amount": None},
    ]
    assert render("q", result, "csv") == "day,amount\n2026-02-01,1.50\n,\n"
