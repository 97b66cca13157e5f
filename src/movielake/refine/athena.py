"""The refine on AWS: Athena writes each model with CTAS, driven with boto3 alone (the refine
Lambda ships no awswrangler or pandas).

A model becomes ``CREATE TABLE <table> WITH (format = 'PARQUET', external_location = ...) AS
<its SELECT>`` in the refine's workgroup (``MOVIELAKE_REFINE_WORKGROUP``) and the Glue database:
Athena writes the Parquet objects under the fresh ``v=<run id>/`` folder of the lake and
catalogs the table with the result's column types. That workgroup must not override
client-side settings: Athena fails a CTAS that gives ``external_location`` in a workgroup with
an enforced results location, and without ``external_location`` it would write the table under
the results location, which the results bucket's lifecycle expires (terraform/athena.tf). A staging
entry left by an interrupted run is deleted first (through Glue: ``DROP TABLE`` would too, but
needs the workgroup's DDL path for nothing). SELECT results come back through
``GetQueryResults``, typed from the result set's metadata.
"""

from __future__ import annotations

import time
from typing import Any

from movielake import aws
from movielake.config import Settings
from movielake.refine.catalog import drop_table

FINISHED = {"SUCCEEDED", "FAILED", "CANCELLED"}
# The first wait for a query's state; each wait then doubles, up to the engine's poll_seconds.
# A refine runs some twenty short queries (CTAS, row counts, checks): a flat 1 s poll added
# half a second to each.
FIRST_POLL_SECONDS = 0.1
_INTEGERS = {"tinyint", "smallint", "integer", "int", "bigint"}
_FLOATS = {"double", "float", "real", "decimal"}


class AthenaQueryError(RuntimeError):
    """An Athena query did not succeed; the message has its id, state and Athena's reason."""


def typed_value(value: str | None, athena_type: str) -> Any:
    """A ``GetQueryResults`` cell (text) as a Python value of its column's type."""
    if value is None:
        return None
    kind = athena_type.lower().split("(")[0]
    if kind in _INTEGERS:
        return int(value)
    if kind in _FLOATS:
        return float(value)
    if kind == "boolean":
        return value.lower() == "true"
    return value


def ctas(sql: str, table: str, location: str) -> str:
    """The CTAS statement writing ``sql``'s rows as Parquet at ``location`` into ``table``."""
    quoted_location = location.replace("'", "''")
    return (
        f"CREATE TABLE \"{table}\" WITH (format = 'PARQUET', write_compression = 'SNAPPY', "
        f"external_location = '{quoted_location}') AS\n{sql}"
    )


class AthenaRefineEngine:
    """Athena in the refine's workgroup and the Glue database."""

    name = "athena"

    def __init__(
        self, settings: Settings, *, glue: Any = None, athena: Any = None, poll_seconds: float = 1.0
    ) -> None:
        settings.require("glue_database", "refine_workgroup")
        self.settings = settings
        self._glue = glue or aws.client("glue", settings)
        self._athena = athena or aws.client("athena", settings)
        self.poll_seconds = poll_seconds
        self._running: str | None = None  # the query ``stop`` stops
        self._stopped = False

    def _run(self, sql: str) -> str:
        """Start a query, wait for it, return its id; AthenaQueryError unless it succeeded."""
        query_id = self._athena.start_query_execution(
            QueryString=sql,
            WorkGroup=self.settings.refine_workgroup,
            QueryExecutionContext={"Database": self.settings.glue_database},
        )["QueryExecutionId"]
        self._running = query_id
        if self._stopped:  # stopped while this one was starting
            self.stop()
        wait = min(FIRST_POLL_SECONDS, self.poll_seconds)
        while True:
            status = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            if status["State"] in FINISHED:
                break
            time.sleep(wait)
            wait = min(wait * 2, self.poll_seconds)
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason", "no reason given")
            raise AthenaQueryError(f"Athena query {query_id} {status['State']}: {reason}")
        return query_id

    def write_table(self, sql: str, table: str, location: str) -> None:
        """CTAS into ``location`` (a fresh, empty folder) as ``table``."""
        drop_table(self._glue, self.settings.glue_database, table)
        self._run(ctas(sql, table, location))

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a SELECT, typed."""
        query_id = self._run(sql)
        rows: list[tuple[Any, ...]] = []
        types: list[str] = []
        first_page = True
        for page in self._athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
            result = page["ResultSet"]
            types = types or [c["Type"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
            data = result["Rows"][1:] if first_page else result["Rows"]  # the first row is the header
            first_page = False
            for row in data:
                cells = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append(tuple(typed_value(v, t) for v, t in zip(cells, types, strict=True)))
        return rows

    def stop(self) -> None:
        """``StopQueryExecution`` for the running query (the deadline came): it ends
        ``CANCELLED`` and ``_run`` raises. Athena would otherwise run it on, and bill it."""
        self._stopped = True
        if self._running is not None:
            self._athena.stop_query_execution(QueryExecutionId=self._running)

    def close(self) -> None:
        """Nothing to release: Athena sessions are per query."""
