"""One query's SQL on DuckDB: translated, metered, cut off, its failures in Athena's words.

Bytes scanned are what httpfs actually fetched: the ``Content-Length`` of its GET responses
from S3 (DuckDB's HTTP log, emptied for each query). A query that fetches more than the
workgroup's ``BytesScannedCutoffPerQuery`` is interrupted (checked every 0.1 s while it runs,
once more at its end) and ends CANCELLED, "Bytes scanned limit was exceeded", as Athena ends it.
"""

from __future__ import annotations

import re
import threading
from typing import Any

import sqlglot
from sqlglot import exp

from movielake.analysis.translate import SOURCE_DIALECT, UntranslatableError, translate
from movielake.local.athena.catalog import CatalogReader
from movielake.local.athena.statements import SYSTEM_ERROR, QueryError, position, shift

CUTOFF_REASON = "Bytes scanned limit was exceeded"
_SCANNED = (
    "SELECT coalesce(sum(TRY_CAST(response.headers['Content-Length'] AS BIGINT)), 0) "
    "FROM duckdb_logs_parsed('HTTP') WHERE request.type = 'GET'"
)


class CancelledError(Exception):
    """The query read past the workgroup's bytes-scanned cutoff."""

    def __init__(self, scanned: int) -> None:
        super().__init__(CUTOFF_REASON)
        self.scanned = scanned


def scanned(connection: Any) -> int:
    """Bytes httpfs has fetched from S3 since the log was last emptied."""
    return int(connection.cursor().execute(_SCANNED).fetchone()[0])


def materialise(
    connection: Any,
    catalog: CatalogReader,
    sql: str,
    origin: tuple[int, int],
    cutoff: int | None,
    endpoint_url: str,
) -> tuple[list[str], list[str], int]:
    """Run Athena SQL on DuckDB into the session table ``__result``: its column names, DuckDB
    types and row count, the cutoff enforced while it runs. ``origin``: where ``sql`` starts in
    the statement, for the positions in error messages."""
    try:
        return _materialise(connection, catalog, sql, cutoff, endpoint_url)
    except QueryError as exc:
        exc.reason = shift(exc.reason, origin)
        raise


def _materialise(
    connection: Any, catalog: CatalogReader, sql: str, cutoff: int | None, endpoint_url: str
) -> tuple[list[str], list[str], int]:
    bound, schema = catalog.bind(sql, connection)
    try:
        translated = translate(bound, schema)
    except UntranslatableError as exc:
        raise QueryError(
            f"FUNCTION_NOT_FOUND: line {exc.line}:{exc.column}: Function '{exc.function}' not registered "
            "(the local Athena stand-in runs Athena SQL on DuckDB through movielake.analysis.translate, "
            "which does not carry it)",
            error_type=1100,
        ) from exc
    except sqlglot.errors.OptimizeError as exc:
        raise _column_error(exc, sql) from exc
    watch = Watch(connection, cutoff)
    try:
        connection.execute(f"CREATE OR REPLACE TEMP TABLE __result AS {translated}")
    except Exception as exc:
        watch.stop()
        if watch.tripped:
            raise CancelledError(watch.tripped) from exc
        raise _duckdb_error(exc, endpoint_url) from exc
    watch.stop()
    fetched = scanned(connection)
    if cutoff and fetched > cutoff:
        raise CancelledError(fetched)
    described = connection.execute("DESCRIBE __result").fetchall()
    count = connection.execute("SELECT count(*) FROM __result").fetchone()[0]
    return [_athena_name(str(r[0])) for r in described], [str(r[1]) for r in described], int(count)


class Watch:
    """Interrupts DuckDB once httpfs has fetched more than the cutoff (checked every 0.1 s)."""

    def __init__(self, connection: Any, cutoff: int | None) -> None:
        self.tripped = 0
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        if cutoff:
            self._thread = threading.Thread(target=self._watch, args=(connection, cutoff), daemon=True)
            self._thread.start()

    def _watch(self, connection: Any, cutoff: int) -> None:
        while not self._done.wait(0.1):
            fetched = scanned(connection)
            if fetched > cutoff:
                self.tripped = fetched
                connection.interrupt()
                return

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def _athena_name(name: str) -> str:
    """Trino names an unnamed result column ``_col<n>``; the translation says ``_col_<n>``."""
    return "_col" + name[5:] if name.startswith("_col_") and name[5:].isdigit() else name


def _column_error(exc: Exception, sql: str) -> QueryError:
    """sqlglot's unresolved column as Athena's COLUMN_NOT_FOUND, at the column's place."""
    message = str(exc)
    name = message.split("'", 2)[1].strip('"') if message.count("'") >= 2 else ""
    if "could not be resolved" not in message or not name:
        return QueryError(f"SYNTAX_ERROR: line 1:1: {message}", error_type=1001)
    column = next(
        (
            c
            for c in sqlglot.parse_one(sql, read=SOURCE_DIALECT).find_all(exp.Column)
            if c.name.lower() == name.lower()
        ),
        None,
    )
    return QueryError(
        f"COLUMN_NOT_FOUND: line {position(column)}: Column '{name}' cannot be resolved", error_type=1006
    )


def _duckdb_error(exc: Exception, endpoint_url: str) -> QueryError:
    """A DuckDB failure as Athena would report its cause (an S3 refusal names the object)."""
    message = str(exc)
    if "403" in message or "Forbidden" in message or "AccessDenied" in message:
        found = re.search(rf"(s3://|{re.escape(endpoint_url)}/)([^\s'\"?]+)", message)
        path = f"s3://{found.group(2)}" if found else "(unknown)"
        return QueryError(f"Permission denied on S3 path: {path}", error_type=1100)
    first = message.splitlines()[0] if message else type(exc).__name__
    return QueryError(f"GENERIC_INTERNAL_ERROR: {first}", error_type=1201, category=SYSTEM_ERROR)
