"""Athena (Trino) SQL to DuckDB SQL, keeping Athena's meaning.

The SQL files are written for Athena; the local engine runs them on DuckDB after this
translation. ``sqlglot`` does the dialect work, given the column types from the Glue catalog
(``qualify`` + ``annotate_types``), and a few generic transforms fix what a plain transpile
gets wrong:

* integer / integer is integer division in Trino (truncating toward zero) but float division
  in DuckDB: a typed division of two integer operands becomes DuckDB's ``//``, which also
  truncates toward zero and stays exact on big numbers;
* ``regexp_extract`` without a match is NULL in Trino but ``''`` in DuckDB: it is guarded by
  ``regexp_matches``;
* ``date_trunc`` and ``date_add`` on a DATE return a DATE in Trino but a TIMESTAMP in DuckDB:
  they are cast back to DATE;
* ``count_if`` and ``sum`` of integers are BIGINT in Trino but HUGEINT in DuckDB (which pandas
  receives as float): they are cast to BIGINT.

A function sqlglot does not model (it would pass through by name, with whatever meaning DuckDB
gives that name, if any) and the forms known to mistranslate (``approx_percentile`` over an
array of percentages) are refused with :class:`UntranslatableError`, naming the function and
where it is: a query the translation cannot carry fails, never answers differently.

Glue column types (Hive syntax, ``array<struct<id:int,name:string>>``, parsed by sqlglot's
Hive dialect in ``movielake.catalog.types``) are mapped to DuckDB types
(``STRUCT("id" INTEGER, "name" VARCHAR)[]``) here as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

from movielake.catalog.types import GlueTypeError, parse_hive_type

SOURCE_DIALECT = "athena"
TARGET_DIALECT = "duckdb"

_PRIMITIVES = {
    exp.DataType.Type.TEXT: "VARCHAR",
    exp.DataType.Type.VARCHAR: "VARCHAR",
    exp.DataType.Type.CHAR: "VARCHAR",
    exp.DataType.Type.BIGINT: "BIGINT",
    exp.DataType.Type.INT: "INTEGER",
    exp.DataType.Type.SMALLINT: "SMALLINT",
    exp.DataType.Type.TINYINT: "TINYINT",
    exp.DataType.Type.DOUBLE: "DOUBLE",
    exp.DataType.Type.FLOAT: "FLOAT",
    exp.DataType.Type.BOOLEAN: "BOOLEAN",
    exp.DataType.Type.DATE: "DATE",
    exp.DataType.Type.TIMESTAMP: "TIMESTAMP",
    exp.DataType.Type.BINARY: "BLOB",
}


def glue_to_duckdb_type(glue_type: str) -> str:
    """The DuckDB type of a Glue column type: ``array<struct<a:int>>`` -> ``STRUCT("a" INTEGER)[]``."""
    return _duckdb_type(parse_hive_type(glue_type), glue_type)


def _duckdb_type(node: exp.DataType, text: str) -> str:
    kind = node.this
    if kind == exp.DataType.Type.ARRAY:
        return f"{_duckdb_type(node.expressions[0], text)}[]"
    if kind == exp.DataType.Type.MAP:
        key, value = (_duckdb_type(e, text) for e in node.expressions)
        return f"MAP({key}, {value})"
    if kind == exp.DataType.Type.STRUCT:
        fields = (
            f'"{field.name.replace(chr(34), chr(34) * 2)}" {_duckdb_type(field.args["kind"], text)}'
            for field in node.expressions
        )
        return f"STRUCT({', '.join(fields)})"
    if kind == exp.DataType.Type.DECIMAL:
        precision, scale = (int(p.name) for p in node.expressions) if node.expressions else (10, 0)
        return f"DECIMAL({precision}, {scale})"  # without them, Hive's default precision and scale
    if kind not in _PRIMITIVES:
        raise GlueTypeError(f"unsupported type {node.sql('hive').lower()!r} in Glue type {text!r}")
    return _PRIMITIVES[kind]


class UntranslatableError(ValueError):
    """The query uses a function the translation cannot carry with Athena's meaning."""

    def __init__(self, function: str, line: int, column: int) -> None:
        super().__init__(
            f"line {line}:{column}: function {function!r} is not carried by the Athena-to-DuckDB "
            "translation (movielake.analysis.translate)"
        )
        self.function = function
        self.line = line
        self.column = column


def check_carried(expression: exp.Expr) -> None:
    """Raise UntranslatableError at the first function the translation cannot carry."""
    for node in expression.find_all(exp.Anonymous, exp.ApproxQuantile):
        if isinstance(node, exp.ApproxQuantile) and not isinstance(node.args.get("quantile"), exp.Array):
            continue
        name = node.name if isinstance(node, exp.Anonymous) else "approx_percentile"
        meta = node.meta or {}
        start = meta.get("col", 1) - (meta.get("end", 0) - meta.get("start", 0))
        raise UntranslatableError(name.lower(), meta.get("line", 1), max(start, 1))


def _integer_division(node: exp.Expr) -> exp.Expr:
    """Trino's int / int truncates toward zero: DuckDB's ``//`` does the same, exactly."""
    if (
        isinstance(node, exp.Div)
        and node.left.is_type(*exp.DataType.INTEGER_TYPES)
        and node.right.is_type(*exp.DataType.INTEGER_TYPES)
    ):
        return exp.IntDiv(this=node.left, expression=node.right)
    return node


def _regexp_extract_null_without_match(node: exp.Expr) -> exp.Expr:
    """Trino's regexp_extract gives NULL, not '', when the pattern does not match."""
    if isinstance(node, exp.RegexpExtract) and not isinstance(node.parent, exp.If):
        matches = exp.RegexpLike(this=node.this.copy(), expression=node.expression.copy())
        return exp.If(this=matches, true=node)
    return node


def _date_functions_keep_date(node: exp.Expr) -> exp.Expr:
    """date_trunc / date_add of a DATE stay DATE in Trino; DuckDB would make them TIMESTAMP."""
    if (
        isinstance(node, exp.TimestampTrunc | exp.DateTrunc | exp.DateAdd)
        and node.this.is_type(exp.DType.DATE)
        and not isinstance(node.parent, exp.Cast)
    ):
        return exp.cast(node, exp.DType.DATE)
    return node


def _integer_aggregates_stay_bigint(node: exp.Expr) -> exp.Expr:
    """count_if and sum of integers are BIGINT in Trino; DuckDB makes them HUGEINT (float in pandas)."""
    is_integer_sum = isinstance(node, exp.Sum) and node.this.is_type(*exp.DataType.INTEGER_TYPES)
    if (isinstance(node, exp.CountIf) or is_integer_sum) and not isinstance(node.parent, exp.Cast):
        return exp.cast(node, exp.DType.BIGINT)
    return node


TRANSFORMS: tuple[Callable[[exp.Expr], exp.Expr], ...] = (
    _integer_division,
    _regexp_extract_null_without_match,
    _date_functions_keep_date,
    _integer_aggregates_stay_bigint,
)


def duckdb_schema(schema: Mapping[str, Mapping[str, str]]) -> MappingSchema:
    """A sqlglot schema from table -> column -> DuckDB type."""
    return MappingSchema(
        {table: dict(columns) for table, columns in schema.items()},
        dialect=TARGET_DIALECT,
    )


def referenced_tables(sql: str) -> set[str]:
    """The (lower-cased) names of the tables a query reads, CTE names left out."""
    expression = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    return {t.name.lower() for t in expression.find_all(exp.Table) if t.name.lower() not in ctes} - {""}


def translate(sql: str, schema: Mapping[str, Mapping[str, str]]) -> str:
    """DuckDB SQL with the meaning the Athena SQL has, given table -> column -> DuckDB type."""
    mapping = duckdb_schema(schema)
    expression = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    check_carried(expression)
    expression = qualify(expression, schema=mapping, dialect=SOURCE_DIALECT)
    expression = annotate_types(expression, schema=mapping, dialect=SOURCE_DIALECT)
    for transform in TRANSFORMS:
        expression = expression.transform(transform, copy=False)
    return expression.sql(dialect=TARGET_DIALECT)


def duckdb_to_glue_type(duckdb_type: str) -> str:
    """The Glue (Hive) column type of a DuckDB type: ``VARCHAR[]`` -> ``array<string>``.

    Used to catalog what DuckDB wrote, so the local table has the types Athena's CTAS would
    give the same columns.
    """
    rendered = exp.DataType.build(duckdb_type, dialect=TARGET_DIALECT).sql(dialect="hive")
    glue_type = re.sub(r"\s+", "", rendered).lower()
    glue_to_duckdb_type(glue_type)  # refuses what the local engine could not read back
    return glue_type


def rename_tables(sql: str, names: Mapping[str, str]) -> str:
    """The Athena SQL with the tables it reads renamed (``trusted_films`` -> ``trusted_films__next``).

    How a refine points the next models and the checks at tables it has built but not yet
    published; CTE names and other identifiers are left alone.
    """
    expression = sqlglot.parse_one(sql, read=SOURCE_DIALECT)
    ctes = {cte.alias_or_name.lower() for cte in expression.find_all(exp.CTE)}
    for table in expression.find_all(exp.Table):
        name = table.name.lower()
        if name in names and name not in ctes:
            table.set("this", exp.to_identifier(names[name]))
    return expression.sql(dialect=SOURCE_DIALECT)
