"""A query's result as Athena hands it out: the CSV file, the column types, the API pages.

Athena writes a query's rows to ``<output location>/<query id>.csv``: a header row, every
value double-quoted, NULL as an empty unquoted field, numbers and dates as Trino prints them
(a double as Java does, ``1.0E7``; a timestamp with milliseconds; arrays ``[1, 2]``, rows and
maps ``{a=1}``). ``GetQueryResults`` serves the same text, the header row first, a NULL as a
cell without ``VarCharValue``, and ``ResultSetMetadata.ColumnInfo`` with Athena's type names
(``varchar``, ``bigint``, ``double``, ``array``, ``row``...).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

MAX_RESULTS = 1000  # GetQueryResults' largest page

# DuckDB type (its name without arguments) -> (Athena type, precision).
_ATHENA_TYPES = {
    "VARCHAR": ("varchar", 2147483647),
    "BIGINT": ("bigint", 19),
    "HUGEINT": ("bigint", 19),
    "UBIGINT": ("bigint", 19),
    "INTEGER": ("integer", 10),
    "UINTEGER": ("bigint", 19),
    "SMALLINT": ("smallint", 5),
    "USMALLINT": ("integer", 10),
    "TINYINT": ("tinyint", 3),
    "UTINYINT": ("smallint", 5),
    "DOUBLE": ("double", 17),
    "FLOAT": ("real", 24),
    "BOOLEAN": ("boolean", 0),
    "DATE": ("date", 0),
    "TIMESTAMP": ("timestamp", 3),
    "TIMESTAMP WITH TIME ZONE": ("timestamp with time zone", 3),
    "TIME": ("time", 3),
    "BLOB": ("varbinary", 2147483647),
    "UUID": ("uuid", 0),
}
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


def athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """(Athena type name, precision, scale) of a DuckDB result column type."""
    text = duckdb_type.upper()
    if text.endswith("[]"):
        return "array", 0, 0
    if text.startswith("STRUCT"):
        return "row", 0, 0
    if text.startswith("MAP"):
        return "map", 0, 0
    decimal = _DECIMAL.fullmatch(text)
    if decimal:
        return "decimal", int(decimal[1]), int(decimal[2])
    name, precision = _ATHENA_TYPES.get(text, ("varchar", 2147483647))
    return name, precision, 0


def column_info(names: Sequence[str], duckdb_types: Sequence[str]) -> list[dict[str, Any]]:
    """``ResultSetMetadata.ColumnInfo`` for the result's columns."""
    columns = []
    for name, duckdb_type in zip(names, duckdb_types, strict=True):
        kind, precision, scale = athena_type(duckdb_type)
        columns.append(
            {
                "CatalogName": "hive",
                "SchemaName": "",
                "TableName": "",
                "Name": name,
                "Label": name,
                "Type": kind,
                "Precision": precision,
                "Scale": scale,
                "Nullable": "UNKNOWN",
                "CaseSensitive": kind == "varchar",
            }
        )
    return columns


def java_double(value: float) -> str:
    """A double as Java's ``Double.toString`` (and so Athena) prints it: ``0.5``, ``1.0E7``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest repr is plain decimal in this range, as Java's
    sign, digits, exponent = Decimal(repr(value)).as_tuple()
    kept = "".join(map(str, digits)).rstrip("0") or "0"
    power = int(exponent) + len(digits) - 1
    return f"{'-' if sign else ''}{kept[0]}.{kept[1:] or '0'}E{power}"


def text(value: Any) -> str | None:
    """A value as Athena prints it in results (None stays None: NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        if set(value) == {"key", "value"} and isinstance(value["key"], list):  # a DuckDB MAP
            value = dict(zip(value["key"], value["value"], strict=True))
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def _nested(value: Any) -> str:
    shown = text(value)
    return "null" if shown is None else shown


def csv_bytes(names: Sequence[str], rows: Sequence[Sequence[str | None]]) -> bytes:
    """The result file: header and rows, every value quoted, NULL an empty unquoted field."""

    def line(values: Sequence[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    return ("\n".join([line(names), *(line(row) for row in rows)]) + "\n").encode()


def page(
    names: Sequence[str],
    rows: Sequence[Sequence[str | None]],
    columns: list[dict[str, Any]],
    *,
    start: int,
    max_results: int,
    update_count: int | None = None,
) -> dict[str, Any]:
    """One ``GetQueryResults`` answer: rows ``start`` onwards of the header + data rows."""
    table = [list(names), *rows] if names else []  # DROP TABLE: no columns, no rows
    chunk = table[start : start + max_results]
    answer: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in chunk],
            "ResultSetMetadata": {"ColumnInfo": columns},
        }
    }
    if update_count is not None:
        answer["UpdateCount"] = update_count
    if start + max_results < len(table):
        answer["NextToken"] = str(start + max_results)
    return answer
