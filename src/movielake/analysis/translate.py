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

Glue column types (Hive syntax, ``array<struct<id:int,name:string>>``) are mapped to DuckDB
types (``STRUCT("id" INTEGER, "name" VARCHAR)[]``) here as well.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import sqlglot
from sqlglot import exp
from sqlglot.optimizer.annotate_types import annotate_types
from sqlglot.optimizer.qualify import qualify
from sqlglot.schema import MappingSchema

SOURCE_DIALECT = "athena"
TARGET_DIALECT = "duckdb"

_PRIMITIVES = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "real": "FLOAT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "binary": "BLOB",
}
_TOKEN = re.compile(r"\s*([<>,:()]|[^<>,:()\s]+)")


class GlueTypeError(ValueError):
    """A Glue column type this module cannot map to DuckDB."""


def _tokens(glue_type: str) -> list[str]:
    tokens = _TOKEN.findall(glue_type)
    if "".join(tokens) != re.sub(r"\s+", "", glue_type):
        raise GlueTypeError(f"cannot read Glue type {glue_type!r}")
    return tokens


class _GlueTypeParser:
    """Recursive descent over a Glue (Hive) type string."""

    def __init__(self, glue_type: str) -> None:
        self.text = glue_type
        self.tokens = _tokens(glue_type)
        self.pos = 0

    def _next(self) -> str:
        if self.pos >= len(self.tokens):
            raise GlueTypeError(f"Glue type {self.text!r} ends too early")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _expect(self, token: str) -> None:
        found = self._next()
        if found != token:
            raise GlueTypeError(f"expected {token!r} in Glue type {self.text!r}, found {found!r}")

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse(self) -> str:
        result = self._type()
        if self._peek() is not None:
            raise GlueTypeError(f"unexpected {self._peek()!r} in Glue type {self.text!r}")
        return result

    def _type(self) -> str:
        name = self._next().lower()
        if name == "array":
            self._expect("<")
            inner = self._type()
            self._expect(">")
            return f"{inner}[]"
        if name == "map":
            self._expect("<")
            key = self._type()
            self._expect(",")
            value = self._type()
            self._expect(">")
            return f"MAP({key}, {value})"
        if name == "struct":
            return self._struct()
        if name == "decimal":
            return self._decimal()
        if name in {"varchar", "char"} and self._peek() == "(":
            self._length()
        if name not in _PRIMITIVES:
            raise GlueTypeError(f"unsupported type {name!r} in Glue type {self.text!r}")
        return _PRIMITIVES[name]

    def _struct(self) -> str:
        self._expect("<")
        fields: list[str] = []
        while True:
            field_name = self._next()
            self._expect(":")
            quoted = field_name.replace('"', '""')
            fields.append(f'"{quoted}" {self._type()}')
            separator = self._next()
            if separator == ">":
                return f"STRUCT({', '.join(fields)})"
            if separator != ",":
                raise GlueTypeError(f"expected ',' or '>' in Glue type {self.text!r}")

    def _decimal(self) -> str:
        if self._peek() != "(":
            return "DECIMAL(10, 0)"  # Hive's default precision and scale
        self._expect("(")
        precision = self._next()
        self._expect(",")
        scale = self._next()
        self._expect(")")
        return f"DECIMAL({int(precision)}, {int(scale)})"

    def _length(self) -> None:
        self._expect("(")
        self._next()
        self._expect(")")


def glue_to_duckdb_type(glue_type: str) -> str:
    """The DuckDB type of a Glue column type: ``array<struct<a:int>>`` -> ``STRUCT("a" INTEGER)[]``."""
    return _GlueTypeParser(glue_type).parse()


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
