"""The local engine: Glue -> DuckDB types, Athena-faithful translation, reading the lake like Athena."""

from __future__ import annotations

import datetime as dt
import json
from datetime import date

import boto3
import duckdb
import pandas as pd
import pytest
import sqlglot
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.analysis.duckdb_engine import (
    CatalogTable,
    DuckDBEngine,
    table_files,
)
from movielake.analysis.queries import QueryNotFoundError, discover, get_query, parse_header
from movielake.analysis.translate import GlueTypeError, glue_to_duckdb_type, referenced_tables, translate
from movielake.catalog.paths import is_hidden, parse_s3_path
from movielake.config import Settings
from movielake.duckdb_s3 import httpfs_extension_path, s3_secret_sql
from movielake.local import sample_lake
from movielake.refine.models import discover_models

DATABASE = "movielake_engine_test_raw"


# --------------------------------------------------------------------------------------------
# Glue types


@pytest.mark.parametrize(
    ("glue_type", "duckdb_type"),
    [
        ("string", "VARCHAR"),
        ("bigint", "BIGINT"),
        ("int", "INTEGER"),
        ("double", "DOUBLE"),
        ("boolean", "BOOLEAN"),
        ("varchar(20)", "VARCHAR"),
        ("decimal(12,2)", "DECIMAL(12, 2)"),
        ("array<string>", "VARCHAR[]"),
        ("array<struct<id:int,name:string>>", 'STRUCT("id" INTEGER, "name" VARCHAR)[]'),
        (
            "array<struct<name:string,character:string,order:int>>",
            'STRUCT("name" VARCHAR, "character" VARCHAR, "order" INTEGER)[]',
        ),
        ("struct<a:array<bigint>, b:map<string,double>>", 'STRUCT("a" BIGINT[], "b" MAP(VARCHAR, DOUBLE))'),
    ],
)
def test_glue_types_map_to_duckdb(glue_type: str, duckdb_type: str) -> None:
    assert glue_to_duckdb_type(glue_type) == duckdb_type
    duckdb.sql(f"SELECT CAST(NULL AS {duckdb_type})").fetchall()  # a type DuckDB accepts


@pytest.mark.parametrize("bad", ["array<int", "struct<a int>", "uniontype<int,string>", "map<string>", ""])
def test_unreadable_glue_types_are_refused(bad: str) -> None:
    with pytest.raises(GlueTypeError):
        glue_to_duckdb_type(bad)


# --------------------------------------------------------------------------------------------
# Translation keeps Athena's meaning


SCHEMA = {"t": {"a": "BIGINT", "b": "INTEGER", "d": "DATE", "s": "VARCHAR", "x": "DOUBLE"}}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    connection.execute("CREATE TABLE t (a BIGINT, b INTEGER, d DATE, s VARCHAR, x DOUBLE)")
    connection.execute(
        "INSERT INTO t VALUES (9007199254740993, -7, DATE '1999-12-31', 'no digits', NULL),"
        " (1999, 2, DATE '2024-02-29', 'id tt0123', 2.5)"
    )
    return connection


def run(con: duckdb.DuckDBPyConnection, athena_sql: str) -> list[tuple]:
    return con.execute(translate(athena_sql, SCHEMA)).fetchall()


def test_integer_division_truncates_like_trino(con) -> None:
    rows = run(con, "SELECT a / 10 * 10, b / 2, a / 1, 7 / 2, CAST(7 AS double) / 2 FROM t ORDER BY a")
    assert rows[0] == (1990, 1, 1999, 3, 3.5)
    # truncation toward zero (-7 / 2 = -3), exact beyond 2**53 (no trip through double)
    assert rows[1] == (9007199254740990, -3, 9007199254740993, 3, 3.5)


def test_plain_transpile_would_divide_in_float(con) -> None:
    """Why the typed translation exists: sqlglot alone keeps '/' and DuckDB divides in float."""
    plain = sqlglot.transpile("SELECT a / 10 * 10 FROM t WHERE a = 1999", read="athena", write="duckdb")[0]
    assert con.execute(plain).fetchone()[0] == pytest.approx(1999.0)
    assert run(con, "SELECT a / 10 * 10 FROM t WHERE a = 1999") == [(1990,)]


def test_regexp_extract_without_match_is_null(con) -> None:
    rows = run(con, "SELECT regexp_extract(s, 'tt(\\d+)', 1) FROM t ORDER BY a")
    assert rows == [("0123",), (None,)]


def test_date_functions_stay_dates(con) -> None:
    rows = run(con, "SELECT date_trunc('month', d), date_add('day', 1, d) FROM t ORDER BY a")
    assert rows[0] == (date(2024, 2, 1), date(2024, 3, 1))
    assert all(type(v) is dt.date for row in rows for v in row)


def test_release_year_and_decade_from_text_dates() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE m (release_date VARCHAR)")
    con.execute("INSERT INTO m VALUES ('1999-12-31'), (''), (NULL), ('not a date'), ('2000-01-01')")
    sql = translate(
        "SELECT release_date, year(TRY_CAST(NULLIF(release_date, '') AS date)) / 10 * 10, "
        "month(TRY_CAST(NULLIF(release_date, '') AS date)) FROM m",
        {"m": {"release_date": "VARCHAR"}},
    )
    got = {row[0]: row[1:] for row in con.execute(sql).fetchall()}
    assert got == {
        "1999-12-31": (1990, 12),
        "": (None, None),
        None: (None, None),
        "not a date": (None, None),
        "2000-01-01": (2000, 1),
    }


def test_counts_and_integer_sums_are_bigint(con) -> None:
    frame = con.execute(translate("SELECT count_if(b > 0) AS c, sum(b) AS s FROM t", SCHEMA)).df()
    assert frame.c.dtype.kind == "i" and frame.s.dtype.kind == "i"
    assert (frame.c.iloc[0], frame.s.iloc[0]) == (1, -5)


def test_nulls_sort_last_both_ways_and_aggregates_skip_them(con) -> None:
    assert run(con, "SELECT x FROM t ORDER BY x DESC") == [(2.5,), (None,)]
    assert run(con, "SELECT x FROM t ORDER BY x ASC") == [(2.5,), (None,)]
    assert run(con, "SELECT avg(x), count(x), count(*) FROM t") == [(2.5, 1, 2)]


def test_ntile_gives_the_extra_rows_to_the_first_buckets() -> None:
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range::BIGINT AS a FROM range(7)")
    sql = translate("SELECT ntile(5) OVER (ORDER BY a) FROM t", {"t": {"a": "BIGINT"}})
    assert [r[0] for r in con.execute(sql).fetchall()] == [1, 1, 2, 2, 3, 4, 5]


def test_unknown_columns_fail_at_translation() -> None:
    with pytest.raises(sqlglot.errors.OptimizeError):
        translate("SELECT nope FROM t", SCHEMA)


# --------------------------------------------------------------------------------------------
# The SQL files


def test_seven_queries_with_headers() -> None:
    queries = discover()
    assert [name.split("_")[0] for name in queries] == [f"q{n}" for n in range(1, 8)]
    for query in queries.values():
        assert query.title and query.question.endswith("?"), query.name
        assert not query.statement.endswith(";")
        tables = referenced_tables(query.sql)
        assert tables and all(t.startswith("refined_") for t in tables), query.name  # no Raw table
        assert "." not in "".join(
            t.sql() for t in sqlglot.parse_one(query.sql, read="athena").find_all(sqlglot.exp.Table)
        ), "tables are unqualified (the named query runs in the Glue database)"


def test_every_trusted_model_translates_against_the_contract_schema() -> None:
    """The Trusted models read only the Raw tables of the contract (the seven questions read
    Refined, built from them: tests/test_analysis_queries.py runs them end to end)."""
    tables = {
        t["Name"]: CatalogTable(
            name=t["Name"],
            location=t["StorageDescriptor"]["Location"],
            columns=tuple((c["Name"], c["Type"]) for c in t["StorageDescriptor"]["Columns"]),
            partition_keys=tuple(k["Name"] for k in t["PartitionKeys"]),
            serde=t["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"],
        )
        for t in sample_lake.contract_table_inputs(LAKE_BUCKET)
    }
    schema = {name: table.duckdb_columns() for name, table in tables.items()}
    trusted = [m for m in discover_models() if m.zone == "trusted"]
    assert trusted
    for model in trusted:
        assert translate(model.sql, schema).startswith(("WITH", "/*", "SELECT")), model.table


def test_get_query_by_prefix_and_unknown_names() -> None:
    assert get_query("q3").name == "q3_budget_vs_revenue"
    with pytest.raises(QueryNotFoundError, match="q1_roi"):
        get_query("q9")


def test_header_parsing_joins_continuation_lines() -> None:
    header = parse_header(
        "-- Title: A\n-- Question: Which\n--   films?\n-- Definitions:\n--   x: y\nSELECT 1"
    )
    assert header == {"title": "A", "question": "Which films?"}


# --------------------------------------------------------------------------------------------
# Reading the lake like Athena


@pytest.mark.parametrize(
    ("key", "visible"),
    [
        ("lote_1.json", True),
        ("erros_geral.json", True),  # Athena reads it (the SQL drops lines without imdb_id)
        ("_manifest.json", False),
        ("_run/plan.json", False),
        (".hidden", False),
        ("sub/lote_2.json", True),
    ],
)
def test_athena_reads_what_is_not_hidden(key: str, visible: bool) -> None:
    assert is_hidden(key) is not visible


def test_parse_s3_path() -> None:
    assert parse_s3_path("s3://lake/Raw/TMDB") == ("lake", "Raw/TMDB/")
    with pytest.raises(ValueError, match="not an S3 path"):
        parse_s3_path("https://lake/Raw")


def test_secret_points_at_the_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    sql = s3_secret_sql(Settings(endpoint_url="http://127.0.0.1:5999", region=REGION))
    assert "ENDPOINT '127.0.0.1:5999'" in sql and "USE_SSL false" in sql and "URL_STYLE 'path'" in sql
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token")
    aws_sql = s3_secret_sql(Settings(region="eu-west-1"))
    assert (
        "ENDPOINT" not in aws_sql and "REGION 'eu-west-1'" in aws_sql and "SESSION_TOKEN 'token'" in aws_sql
    )


def test_httpfs_is_loaded_from_the_package() -> None:
    path = httpfs_extension_path()
    assert path.is_file() and path.name == "httpfs.duckdb_extension"
    duckdb.connect().execute(f"LOAD '{path}'")


def lake_clients(endpoint: str):
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    return s3, glue


def test_only_registered_partitions_are_read(moto_endpoint: str) -> None:
    s3, glue = lake_clients(moto_endpoint)
    record = {"imdb_id": "tt1", "ingested_at": "2026-01-01T00:00:00.000000Z"}
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, [record], date(2026, 1, 1))
    s3.put_object(Bucket=LAKE_BUCKET, Key="Raw/TMDB/JSON/Movies/2026/01/01/_manifest.json", Body=b"{\n}")
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, [record], date(2026, 1, 2))  # not crawled yet
    settings = Settings(glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION)
    engine = DuckDBEngine(settings)
    files = table_files(engine._s3, engine._glue, DATABASE, engine.tables["tmdb_movies"])
    assert files == {f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/2026/01/01/lote_1.json": ("2026", "01", "01")}


def test_json_and_csv_tables_read_with_catalog_types(moto_endpoint: str) -> None:
    s3, glue = lake_clients(moto_endpoint)
    records = [
        {
            "id": 7,
            "imdb_id": "tt0000007",
            "title": 'A "quoted" | title',
            "budget": 3_000_000_000,
            "revenue": 0,
            "popularity": 1.5,
            "cast": [{"name": "Ana", "character": "X", "order": 0}],
            "genres": [{"id": 18, "name": "Drama"}],
            "ingested_at": "2026-01-01T00:00:00.000000Z",
        },
        {"imdb_id": "tt0000008", "release_date": "", "ingested_at": "2026-01-01T00:00:01.000000Z"},
    ]
    sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, date(2025, 12, 31))
    error = {"requested_id": "tt0000009", "reason": "not_found", "http_status": 404, "attempts": 1}
    s3.put_object(
        Bucket=LAKE_BUCKET,
        Key="Raw/TMDB/JSON/Movies/2025/12/31/erros_geral.json",
        Body=sample_lake.ndjson([error | {"ingested_at": "2026-01-01T00:00:02.000000Z"}]),
    )
    header = "|".join(c for c, _ in sample_lake.MOVIE_CSV_COLUMNS) + "\n"
    row = 'tt0000007|Say "Hi"|x|\\N|abc|Drama|7.5|10|F|\\N|Ana|1970|\\N|actress|tt0000007\n'
    short = "tt0000008|Short|x|2001\n"
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", [header, row, short], date(2025, 12, 31))
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", [header, row], date(2026, 1, 1))
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    settings = Settings(glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION)
    with DuckDBEngine(settings) as engine:
        tmdb = engine.execute(
            'SELECT imdb_id, title, budget, revenue, runtime, "cast"[1].name AS lead, '
            '"cast"[1]."order" AS lead_order, genres[1].id AS genre, partition_0, partition_1, '
            "partition_2 FROM tmdb_movies ORDER BY imdb_id"
        )
        csv = engine.execute(
            "SELECT id, titulopincipal, anolancamento, tempominutos, notamedia, nomeartista, anofalecimento, "
            "partition_2 FROM csv_movies ORDER BY partition_0, partition_1, partition_2, id"
        )
        error_rows = engine.execute(
            "SELECT requested_id FROM tmdb_movies WHERE imdb_id IS NULL"
        ).requested_id.tolist()
        types = dict(
            engine.connection.execute(
                "SELECT column_name, data_type FROM "
                "information_schema.columns WHERE table_name = 'tmdb_movies'"
            ).fetchall()
        )
    assert error_rows == ["tt0000009"]  # Athena reads erros_geral.json too; the SQL drops such lines
    assert types["budget"] == "BIGINT" and types["vote_count"] == "INTEGER"
    assert types["cast"].startswith("STRUCT") and types["partition_0"] == "VARCHAR"
    first = tmdb.iloc[0]
    assert (first.title, first.budget, first.revenue, first.lead, first.genre) == (
        'A "quoted" | title',
        3_000_000_000,
        0,
        "Ana",
        18,
    )
    assert first.lead_order == 0
    assert (first.partition_0, first.partition_1, first.partition_2) == ("2025", "12", "31")
    assert pd.isna(tmdb.iloc[1].title) and pd.isna(tmdb.iloc[1].budget)  # missing keys are NULL
    # header skipped in each file, '"' is data, \N and non-numbers are NULL, short rows padded
    assert csv.id.tolist() == ["tt0000007", "tt0000008", "tt0000007"]
    assert csv.titulopincipal.tolist() == ['Say "Hi"', "Short", 'Say "Hi"']
    assert csv.anolancamento.isna().tolist() == [True, False, True]
    assert csv.tempominutos.isna().all() and csv.anofalecimento.isna().all()
    assert csv.notamedia.iloc[0] == 7.5 and pd.isna(csv.nomeartista.iloc[1])
    assert csv.partition_2.tolist() == ["31", "31", "01"]


def test_missing_table_says_to_crawl(moto_endpoint: str) -> None:
    glue = boto3.client("glue", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    glue.create_database(DatabaseInput={"Name": DATABASE})
    settings = Settings(glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION)
    with DuckDBEngine(settings) as engine, pytest.raises(RuntimeError, match="movielake crawl"):
        engine.run(get_query("q1"))


def test_athena_engine_passes_database_and_workgroup(monkeypatch: pytest.MonkeyPatch) -> None:
    import awswrangler as wr

    from movielake.analysis.athena_engine import AthenaEngine

    calls = []

    def fake_read_sql_query(sql, **kwargs):
        calls.append((sql, kwargs))
        return pd.DataFrame({"x": [1]})

    monkeypatch.setattr(wr.athena, "read_sql_query", fake_read_sql_query)
    settings = Settings(glue_database="db_raw", athena_workgroup="wg", region=REGION)
    result = AthenaEngine(settings).run(get_query("q1_roi"))
    assert result.x.tolist() == [1]
    sql, kwargs = calls[0]
    assert sql == get_query("q1_roi").statement
    assert kwargs["database"] == "db_raw" and kwargs["workgroup"] == "wg"
    assert kwargs["ctas_approach"] is False and kwargs["boto3_session"] is not None
    assert kwargs["athena_query_wait_polling_delay"] < 1  # awswrangler's 1 s default doubles a query's time
    assert json.dumps(sorted(kwargs)) == json.dumps(
        ["athena_query_wait_polling_delay", "boto3_session", "ctas_approach", "database", "workgroup"]
    )
