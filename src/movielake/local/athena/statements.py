"""What an Athena query string asks for, and the words Athena refuses it with.

The stand-in runs four kinds of statement: a query (``SELECT``/``WITH``/``VALUES``), a CTAS
(``CREATE TABLE ... WITH (...) AS SELECT``), ``DROP TABLE`` and ``UNLOAD``. Anything else
fails as Athena fails a statement it cannot run, naming it. The error messages are Athena's
(engine version 3, Trino's analyzer): ``<ERROR_NAME>: line <l>:<c>: <message>``, as
``StateChangeReason`` and ``AthenaError.ErrorMessage`` carry them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlglot
from sqlglot import exp

from movielake.analysis.translate import SOURCE_DIALECT

CATALOG = "awsdatacatalog"
# Athena's ErrorCategory: 1 system, 2 user, 3 other.
SYSTEM_ERROR = 1
USER_ERROR = 2
# CTAS properties the stand-in writes as Athena does; any other is refused by name.
CTAS_PROPERTIES = frozenset({"format", "external_location", "write_compression", "parquet_compression"})
CTAS_FORMATS = frozenset({"parquet"})
# UNLOAD ( <query> ) TO '<location>' WITH ( <properties> ): sqlglot keeps it as a Command.
_UNLOAD = re.compile(
    r"^\s*UNLOAD\s*\((?P<query>.*)\)\s*TO\s*'(?P<location>[^']*)'\s*(?:WITH\s*\((?P<props>.*)\))?\s*;?\s*$",
    re.I | re.S,
)
_MODELLED_PROPERTIES = {"fileformatproperty": "format", "partitionedbyproperty": "partitioned_by"}
# The CTAS's AS, then any comments before its query (the refine's models open with a header).
_CTAS_QUERY = re.compile(
    r"\bAS\s+(?:(?:--[^\n]*(?:\n|$)|/\*.*?\*/)\s*)*(?=\(?\s*(?:SELECT|WITH|VALUES)\b)", re.I | re.S
)
_POSITION = re.compile(r"line (\d+):(\d+)")
_PROPERTY = re.compile(r"(\w+)\s*=\s*'((?:[^']|'')*)'")


class QueryError(Exception):
    """The query failed as Athena fails it: ``reason`` is its StateChangeReason."""

    def __init__(self, reason: str, *, error_type: int = 1000, category: int = USER_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.error_type = error_type
        self.category = category


@dataclass(frozen=True)
class Statement:
    """One parsed statement: its kind, the query it runs, the table it creates or drops."""

    kind: str  # "SELECT", "CTAS", "DROP_TABLE" or "UNLOAD"
    sql: str  # the query to run (Athena SQL), empty for DROP TABLE
    database: str = ""  # target of CTAS / DROP TABLE ("" : the context's database)
    table: str = ""
    if_exists: bool = False  # DROP TABLE IF EXISTS, CREATE TABLE IF NOT EXISTS
    location: str = ""  # UNLOAD's TO
    properties: dict[str, str] = field(default_factory=dict)
    position: str = "1:1"  # of the statement, for messages
    origin: tuple[int, int] = (1, 1)  # where ``sql`` starts in the statement (line, column)

    @property
    def statement_type(self) -> str:
        """Athena's StatementType: DDL for DROP TABLE, DML for the others."""
        return "DDL" if self.kind == "DROP_TABLE" else "DML"

    @property
    def external_location(self) -> str:
        """The CTAS ``external_location`` property ('' when absent)."""
        return self.properties.get("external_location", "")


def position(node: exp.Expr | None) -> str:
    """``line:col`` of a node in the query text (1:1 when sqlglot kept no position)."""
    meta: dict[str, Any] = {}
    while node is not None and not meta:
        meta = getattr(node, "meta", None) or {}
        if not meta:
            identifier = node.args.get("this") if isinstance(node.args.get("this"), exp.Expr) else None
            meta = (getattr(identifier, "meta", None) or {}) if identifier is not None else {}
        if not meta:
            node = node.parent
    start = meta.get("col", 1) - (meta.get("end", 0) - meta.get("start", 0))
    return f"{meta.get('line', 1)}:{max(start, 1)}"


def parse(sql: str) -> Statement:
    """The statement ``sql`` holds; QueryError (Athena's SYNTAX_ERROR / NOT_SUPPORTED) if none."""
    unload = _UNLOAD.match(sql)
    if unload:
        return Statement(
            kind="UNLOAD",
            sql=unload["query"],
            location=unload["location"],
            properties=_properties_text(unload["props"] or ""),
        )
    try:
        expressions = [e for e in sqlglot.parse(sql, read=SOURCE_DIALECT) if e is not None]
    except sqlglot.errors.ParseError as exc:
        detail = exc.errors[0] if exc.errors else {}
        where = f"line {detail.get('line', 1)}:{detail.get('col', 1)}"
        raise QueryError(
            f"SYNTAX_ERROR: {where}: {detail.get('description') or exc}", error_type=1001
        ) from exc
    if len(expressions) != 1:
        raise QueryError("SYNTAX_ERROR: line 1:1: Only one sql statement is allowed", error_type=1001)
    expression = expressions[0]
    if isinstance(expression, exp.Query):
        return Statement(kind="SELECT", sql=sql)
    if (
        isinstance(expression, exp.Create)
        and expression.kind == "TABLE"
        and expression.expression is not None
    ):
        return _ctas(expression, sql)
    if isinstance(expression, exp.Drop) and expression.kind == "TABLE":
        table = expression.this if isinstance(expression.this, exp.Table) else expression.args["tables"][0]
        return Statement(
            kind="DROP_TABLE",
            sql="",
            database=table.db.lower(),
            table=table.name.lower(),
            if_exists=bool(expression.args.get("exists")),
        )
    words = " ".join(sql.split()[:2]).upper()
    raise QueryError(
        f"NOT_SUPPORTED: line 1:1: the local Athena stand-in runs SELECT, CREATE TABLE AS SELECT, "
        f"DROP TABLE and UNLOAD; {words!r} is not among them",
        error_type=1003,
    )


def _query_text(sql: str, query: exp.Expr) -> tuple[str, tuple[int, int]]:
    """The CTAS's query as written, and where it starts (line, column) in the statement, so
    errors point into the statement as Athena's do; re-rendered when it cannot be found."""
    found = _CTAS_QUERY.search(sql)
    if not found:
        return query.sql(dialect=SOURCE_DIALECT), (1, 1)
    before = sql[: found.end()]
    return sql[found.end() :], (before.count("\n") + 1, len(before) - (before.rfind("\n") + 1) + 1)


def shift(reason: str, origin: tuple[int, int]) -> str:
    """A reason's ``line l:c`` moved from the query's text to the whole statement's."""
    line0, col0 = origin
    if origin == (1, 1):
        return reason

    def moved(match: re.Match[str]) -> str:
        line, col = int(match[1]), int(match[2])
        return f"line {line + line0 - 1}:{col + col0 - 1 if line == 1 else col}"

    return _POSITION.sub(moved, reason, count=1)


def _ctas(create: exp.Create, sql: str) -> Statement:
    target = create.this
    if isinstance(target, exp.Schema):  # CREATE TABLE t (a int) AS ...: columns listed
        raise QueryError(
            f"NOT_SUPPORTED: line {position(target)}: a column list in CREATE TABLE AS is not carried "
            "by the local Athena stand-in",
            error_type=1003,
        )
    properties: dict[str, str] = {}
    for prop in (create.args.get("properties") or exp.Properties(expressions=[])).expressions:
        name, value = _property(prop)
        properties[name] = value
    unknown = sorted(set(properties) - CTAS_PROPERTIES)
    if unknown:
        raise QueryError(
            f"NOT_SUPPORTED: line {position(create)}: CTAS properties {', '.join(unknown)} are not carried "
            "by the local Athena stand-in (it writes unpartitioned Parquet)",
            error_type=1003,
        )
    if properties.get("format", "parquet").lower() not in CTAS_FORMATS:
        raise QueryError(
            f"NOT_SUPPORTED: line {position(create)}: format {properties['format']!r} is not carried by the "
            "local Athena stand-in (it writes Parquet)",
            error_type=1003,
        )
    text, origin = _query_text(sql, create.expression)
    return Statement(
        kind="CTAS",
        sql=text,
        origin=origin,
        database=target.db.lower(),
        table=target.name.lower(),
        if_exists=bool(create.args.get("exists")),
        properties=properties,
        position=position(target),
    )


def _property(prop: exp.Expr) -> tuple[str, str]:
    """(lower-case name, value text) of one ``WITH (...)`` property."""
    if type(prop) is exp.Property:  # a generic name = value (subclasses are modelled ones)
        name = prop.name if isinstance(prop.this, str) else prop.this.name
        value = prop.args.get("value")
    else:  # a property sqlglot models (FORMAT = 'PARQUET' is a FileFormatProperty)
        name = _MODELLED_PROPERTIES.get(prop.key, prop.key.removesuffix("property"))
        value = prop.this
    text = value.name if isinstance(value, exp.Expr) else str(value)
    return name.lower(), text


def _properties_text(text: str) -> dict[str, str]:
    return {name.lower(): value.replace("''", "'") for name, value in _PROPERTY.findall(text)}


def qualified(database: str, table: str) -> str:
    """A table as Athena's messages name it: ``awsdatacatalog.<database>.<table>``."""
    return f"{CATALOG}.{database}.{table}"
