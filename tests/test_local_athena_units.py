"""The Athena stand-in's pure parts: statements parsed, values printed as Athena prints them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from movielake.local.athena import results
from movielake.local.athena.statements import QueryError, parse, shift


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (0.1, "0.1"),
        (1.0, "1.0"),
        (1234567.5, "1234567.5"),
        (1e7, "1.0E7"),
        (12345678.9, "1.23456789E7"),
        (0.001, "0.001"),
        (1e-4, "1.0E-4"),
        (-2.5e-5, "-2.5E-5"),
        (float("nan"), "NaN"),
        (float("-inf"), "-Infinity"),
    ],
)
def test_doubles_print_as_java_prints_them(value: float, printed: str) -> None:
    assert results.java_double(value) == printed
    assert float(printed) == value or value != value  # and read back to the same double


def test_values_print_as_trino_prints_them() -> None:
    assert results.text(None) is None
    assert results.text(True) == "true"
    assert results.text(Decimal("12.50")) == "12.50"
    assert results.text(dt.date(2026, 3, 1)) == "2026-03-01"
    assert results.text(dt.datetime(2026, 3, 1, 4, 5, 6, 789123)) == "2026-03-01 04:05:06.789"
    assert results.text([1, None, 2]) == "[1, null, 2]"
    assert results.text({"id": 1, "name": "Drama"}) == "{id=1, name=Drama}"
    assert results.text({"key": ["a"], "value": [1.5]}) == "{a=1.5}"  # a DuckDB MAP


def test_the_result_file_and_pages() -> None:
    names, rows = ["id", "title"], [["1", 'say "hi"'], ["2", None]]
    assert results.csv_bytes(names, rows) == b'"id","title"\n"1","say ""hi"""\n"2",\n'
    columns = results.column_info(names, ["INTEGER", "VARCHAR"])
    assert [(c["Name"], c["Type"]) for c in columns] == [("id", "integer"), ("title", "varchar")]
    first = results.page(names, rows, columns, start=0, max_results=2)
    assert [[c.get("VarCharValue") for c in r["Data"]] for r in first["ResultSet"]["Rows"]] == [
        names,
        rows[0],
    ]
    assert first["NextToken"] == "2"
    last = results.page(names, rows, columns, start=2, max_results=2)
    assert last["ResultSet"]["Rows"] == [{"Data": [{"VarCharValue": "2"}, {}]}] and "NextToken" not in last
    assert results.athena_type("DECIMAL(18,3)") == ("decimal", 18, 3)
    assert results.athena_type("STRUCT(a INTEGER)[]")[0] == "array"


def test_statements() -> None:
    ctas = parse(
        "CREATE TABLE db.t\nWITH (format = 'PARQUET', write_compression = 'SNAPPY')\nAS SELECT a FROM s"
    )
    assert (ctas.kind, ctas.database, ctas.table, ctas.sql) == ("CTAS", "db", "t", "SELECT a FROM s")
    assert ctas.properties == {"format": "PARQUET", "write_compression": "SNAPPY"}
    assert (
        shift("COLUMN_NOT_FOUND: line 1:8: Column 'a'", ctas.origin)
        == "COLUMN_NOT_FOUND: line 3:11: Column 'a'"
    )
    assert parse("DROP TABLE IF EXISTS `db`.`t`").if_exists
    unload = parse("UNLOAD (SELECT a FROM s) TO 's3://b/p/' WITH (format = 'PARQUET')")
    assert (unload.kind, unload.sql, unload.location) == ("UNLOAD", "SELECT a FROM s", "s3://b/p/")
    for sql, reason in [
        ("SELECT 1; SELECT 2", "SYNTAX_ERROR: line 1:1: Only one sql statement is allowed"),
        ("CREATE TABLE t WITH (partitioned_by = ARRAY['a']) AS SELECT 1 AS a", "NOT_SUPPORTED"),
        ("CREATE TABLE t WITH (format = 'ORC') AS SELECT 1 AS a", "NOT_SUPPORTED"),
        ("INSERT INTO t SELECT 1", "NOT_SUPPORTED"),
    ]:
        with pytest.raises(QueryError) as refused:
            parse(sql)
        assert refused.value.reason.startswith(reason)
