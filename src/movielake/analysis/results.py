"""Query results as plain rows, and their text formats for ``movielake query``.

``movielake query`` prints what DuckDB (or Athena) answered; it needs neither pandas nor its
dtypes, and importing pandas alone costs about a third of a second, a sixth of the command's
whole budget. So the command takes a ``QueryResult`` (column names and rows of Python values,
as DuckDB's ``fetchall`` gives them) and formats it with the standard library's ``csv`` and
``json`` and with ``tabulate``. The report and the tests keep DataFrames (``Engine.run``).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("table", "csv", "json")
# Rows the ``table`` format shows; csv and json always carry every row.
TABLE_ROWS = 40
# A column of floats all at least this large is shown without decimals (revenues, budgets).
LARGE_FLOAT = 1000.0


@dataclass(frozen=True)
class QueryResult:
    """One query's answer: column names and rows, in the order the query gave them.

    Values are what DuckDB's ``fetchall`` gives (``int``, ``float``, ``str``, ``Decimal``,
    ``date``...), with a missing value as ``None``: NaN counts as missing, as it does in the
    DataFrames the report reads.
    """

    columns: tuple[str, ...]
    rows: Sequence[tuple[Any, ...]]

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> QueryResult:
        """The rows of a DataFrame (Athena's answer, through awswrangler), as Python values."""
        split = frame.astype(object).where(frame.notna(), None).to_dict(orient="split")
        return cls(tuple(str(c) for c in split["columns"]), [tuple(row) for row in split["data"]])

    def records(self) -> list[dict[str, Any]]:
        """One dict per row, column name to value."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def _json_value(value: Any) -> Any:
    """What ``json`` cannot write itself: decimals as numbers, dates and times in ISO 8601."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date | datetime | time):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} {value!r} has no JSON form")


def to_json(document: Any) -> str:
    """Compact JSON, one line (``jq`` pretty-prints it): the standard library's C encoder,
    which an indent would swap for its pure-Python one, several times slower on 70,000 rows."""
    return json.dumps(document, default=_json_value, allow_nan=False) + "\n"


def to_csv(result: QueryResult) -> str:
    """The result as CSV with a header line; a missing value as an empty field, dates in ISO."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(result.columns)
    writer.writerows(result.rows)
    return buffer.getvalue()


def to_table(name: str, result: QueryResult, limit: int = TABLE_ROWS) -> str:
    """A heading with the name and row count, then the first ``limit`` rows aligned."""
    from tabulate import tabulate

    heading = f"== {name} ({len(result.rows)} rows)"
    if not result.rows:
        return f"{heading}\n(no rows)\n"
    shown = result.rows[:limit]
    formats = [_float_format(row[i] for row in shown) for i in range(len(result.columns))]
    body = tabulate(shown, headers=result.columns, floatfmt=formats, missingval="NULL")
    hidden = len(result.rows) - limit
    more = f"... {hidden} more rows: use --format csv or json for all of them\n" if hidden > 0 else ""
    return f"{heading}\n{body}\n{more}"


def _float_format(values: Iterable[Any]) -> str:
    """One format per column, so its numbers line up: money-sized floats as whole numbers with
    thousands separators, the others (ratios, averages of ratings) with four decimals."""
    floats = [abs(v) for v in values if isinstance(v, float)]
    return ",.0f" if floats and min(floats) >= LARGE_FLOAT else ".4f"


def render(name: str, result: QueryResult, output_format: str) -> str:
    """One result as text in the chosen format."""
    if output_format == "csv":
        return to_csv(result)
    if output_format == "json":
        return to_json(result.records())
    return to_table(name, result)


def render_all(results: Mapping[str, QueryResult], output_format: str) -> str:
    """Several results: tables one after another, CSV sections, or one JSON object by name."""
    if output_format == "json":
        return to_json({name: result.records() for name, result in results.items()})
    if output_format == "csv":
        return "\n".join(f"# {name}\n{to_csv(result)}" for name, result in results.items())
    return "\n".join(to_table(name, result) for name, result in results.items())
