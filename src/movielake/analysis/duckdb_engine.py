"""The local query engine: DuckDB reading the lake through httpfs, tables from the Glue catalog.

For each catalog table a query reads, the engine lists the objects the way Athena does (under
each registered partition's location, or the table's location when unpartitioned, skipping
names that start with ``_`` or ``.``), reads them with DuckDB's JSON or CSV reader with the
catalog's column types, joins on each file's partition values from the catalog, and
materialises the result once per session as a temporary table named like the catalog table.
The SQL files are then translated (``movielake.analysis.translate``) and run against those
tables. Every name and value put into the generated SQL is quoted (``_identifier``,
``_sql_string``).

httpfs is loaded from the ``duckdb-extension-httpfs`` package (no download); S3 credentials
come from boto3's chain, so the same code reads a moto server or a real bucket.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from movielake import aws
from movielake.analysis.queries import NamedQuery
from movielake.analysis.results import QueryResult
from movielake.analysis.translate import glue_to_duckdb_type, referenced_tables, translate
from movielake.aws import list_objects
from movielake.catalog.descriptors import existing_partitions
from movielake.catalog.paths import is_hidden, parse_s3_path
from movielake.config import Settings
from movielake.duckdb_s3 import connect
from movielake.duckdb_s3 import sql_string as _sql_string

if TYPE_CHECKING:
    import duckdb
    import pandas as pd

log = logging.getLogger(__name__)

# Reading many small objects is bound by request latency, not CPU: more reader threads than
# cores while tables load (the default again for queries).
LOAD_THREADS = max(8, os.cpu_count() or 1)
JSON_SERDE_MARKER = "jsonserde"
CSV_SERDE_MARKER = "lazysimpleserde"
PARQUET_SERDE_MARKER = "parquet"
FLOATING_TYPES = frozenset({"DOUBLE", "FLOAT"})


# Constants, an error class and a frozen record, as in local/server.py: alike in shape only.
class CatalogTableError(RuntimeError):
    """A catalog table is missing or cannot be read locally; the message says which and why."""


@dataclass(frozen=True)
class CatalogTable:
    """What the local engine needs of one Glue table."""

    name: str
    location: str
    columns: tuple[tuple[str, str], ...]  # (name, Glue type), data columns in order
    partition_keys: tuple[str, ...]
    serde: str  # SerializationLibrary
    serde_parameters: Mapping[str, str] = field(default_factory=dict)
    table_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def format(self) -> str:
        """``json``, ``csv`` or ``parquet``, from the SerDe (the classification as a fallback)."""
        library = self.serde.lower()
        if JSON_SERDE_MARKER in library:
            return "json"
        if PARQUET_SERDE_MARKER in library:
            return "parquet"
        if CSV_SERDE_MARKER in library or "opencsvserde" in library:
            return "csv"
        return self.table_parameters.get("classification", "").lower()

    def duckdb_columns(self) -> dict[str, str]:
        """Every column, partitions included, with its DuckDB type (partitions are strings)."""
        types = {name: glue_to_duckdb_type(glue_type) for name, glue_type in self.columns}
        types.update({key: "VARCHAR" for key in self.partition_keys})
        return types


def table_from_glue(table: Mapping[str, Any]) -> CatalogTable:
    """A CatalogTable from one ``glue.get_tables`` entry."""
    descriptor = table.get("StorageDescriptor") or {}
    serde = descriptor.get("SerdeInfo") or {}
    return CatalogTable(
        name=table["Name"].lower(),
        location=descriptor.get("Location", ""),
        columns=tuple((c["Name"].lower(), c["Type"]) for c in descriptor.get("Columns", [])),
        partition_keys=tuple(k["Name"].lower() for k in table.get("PartitionKeys", [])),
        serde=serde.get("SerializationLibrary", ""),
        serde_parameters=dict(serde.get("Parameters") or {}),
        table_parameters=dict(table.get("Parameters") or {}),
    )


def catalog_tables(glue: Any, database: str) -> dict[str, CatalogTable]:
    """Every table of the Glue database, by (lower-case) name."""
    tables: dict[str, CatalogTable] = {}
    for page in glue.get_paginator("get_tables").paginate(DatabaseName=database):
        for entry in page["TableList"]:
            table = table_from_glue(entry)
            tables[table.name] = table
    return tables


def list_files(s3: Any, location: str) -> list[str]:
    """The ``s3://`` URLs of the non-empty objects Athena reads under a location, sorted."""
    try:
        bucket, prefix = parse_s3_path(location)
    except ValueError as exc:
        raise CatalogTableError(str(exc)) from exc
    urls = []
    for item in list_objects(s3, bucket, prefix):
        relative = item["Key"][len(prefix) :]
        if item.get("Size", 0) > 0 and not is_hidden(relative):
            urls.append(f"s3://{bucket}/{item['Key']}")
    return sorted(urls)


def partition_locations(glue: Any, database: str, table: str) -> list[tuple[tuple[str, ...], str]]:
    """The table's registered partitions: (values, location), sorted by values."""
    return sorted(
        (values, (partition.get("StorageDescriptor") or {}).get("Location", ""))
        for values, partition in existing_partitions(glue, database, table).items()
    )


def table_files(s3: Any, glue: Any, database: str, table: CatalogTable) -> dict[str, tuple[str, ...]]:
    """Every object Athena would read for the table, with its partition values.

    Like Athena, a partitioned table is read through its registered partitions only (a date
    folder the crawler has not seen yet is invisible); an unpartitioned one through its location.
    """
    if not table.partition_keys:
        return dict.fromkeys(list_files(s3, table.location), ())
    files: dict[str, tuple[str, ...]] = {}
    for values, location in partition_locations(glue, database, table.name):
        for url in list_files(s3, location):
            files[url] = values
    return files


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _struct_literal(columns: Mapping[str, str]) -> str:
    return "{" + ", ".join(f"{_sql_string(k)}: {_sql_string(v)}" for k, v in columns.items()) + "}"


def _reader(table: CatalogTable, files: list[str], columns: Mapping[str, str]) -> tuple[str, list[str]]:
    """The DuckDB table function reading the files, and the typed column expressions over it."""
    file_list = "[" + ", ".join(_sql_string(f) for f in files) + "]"
    if table.format == "json":
        reader = (
            f"read_json({file_list}, format='newline_delimited', columns={_struct_literal(columns)}, "
            "filename=true, maximum_object_size=67108864)"
        )
        return reader, [f"r.{_identifier(name)}" for name in columns]
    if table.format == "parquet":
        # Parquet carries its types; the cast only states the catalog's (a no-op when they agree).
        reader = f"read_parquet({file_list}, filename=true)"
        return reader, [
            f"CAST(r.{_identifier(name)} AS {duck_type}) AS {_identifier(name)}"
            for name, duck_type in columns.items()
        ]
    if table.format == "csv":
        params = table.serde_parameters
        delimiter = params.get("field.delim", params.get("separatorChar", ","))
        null_text = params.get("serialization.null.format", "")
        skip = int(table.table_parameters.get("skip.header.line.count", "0") or 0)
        as_text = {name: "VARCHAR" for name in columns}
        reader = (
            f"read_csv({file_list}, delim={_sql_string(delimiter)}, header=false, skip={skip}, "
            f"quote='', escape='', nullstr={_sql_string(null_text)}, columns={_struct_literal(as_text)}, "
            "null_padding=true, auto_detect=false, filename=true)"
        )
        # LazySimpleSerDe reads fields as text and gives NULL for what does not fit the type.
        typed = [
            f"TRY_CAST(r.{_identifier(name)} AS {duck_type}) AS {_identifier(name)}"
            for name, duck_type in columns.items()
        ]
        return reader, typed
    raise CatalogTableError(f"table {table.name}: format {table.serde or 'unknown'!r} is not supported")


def source_select(table: CatalogTable, files: Mapping[str, tuple[str, ...]]) -> str:
    """The DuckDB SELECT reading the files with the catalog's types, partition values joined."""
    if not files:
        return empty_select(table)
    columns = {name: glue_to_duckdb_type(glue_type) for name, glue_type in table.columns}
    reader, selected = _reader(table, sorted(files), columns)
    if not table.partition_keys:
        return f"SELECT {', '.join(selected)} FROM {reader} AS r"  # noqa: S608 - all quoted
    rows = ", ".join(
        "(" + ", ".join(_sql_string(v) for v in (url, *values)) + ")" for url, values in sorted(files.items())
    )
    keys = [_identifier(k) for k in table.partition_keys]
    partition_columns = [f"p.{k}" for k in keys]
    join = f"INNER JOIN (VALUES {rows}) AS p(file_url, {', '.join(keys)}) ON p.file_url = r.filename"
    return f"SELECT {', '.join(selected + partition_columns)} FROM {reader} AS r {join}"  # noqa: S608


def empty_select(table: CatalogTable) -> str:
    """A SELECT with the table's columns and types and no rows (a table without objects yet)."""
    columns = [
        f"CAST(NULL AS {duck_type}) AS {_identifier(name)}"
        for name, duck_type in table.duckdb_columns().items()
    ]
    return f"SELECT {', '.join(columns)} WHERE false"


class DuckDBEngine:
    """One DuckDB session over the lake: tables materialised on first use, queries translated."""

    def __init__(self, settings: Settings, *, glue: Any = None, s3: Any = None) -> None:
        settings.require("glue_database")
        self.settings = settings
        # One boto3 session for the catalog, the listings and DuckDB's S3 secret.
        self._session = aws.session(settings)
        self._glue = glue or aws.client("glue", settings, within=self._session)
        self._s3 = s3 or aws.client("s3", settings, within=self._session)
        self._tables: dict[str, CatalogTable] | None = None
        self._loaded: set[str] = set()
        self._connection: duckdb.DuckDBPyConnection | None = None

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, with httpfs loaded and the S3 secret created."""
        if self._connection is None:
            self._connection = connect(self.settings, session=self._session)
        return self._connection

    @property
    def tables(self) -> dict[str, CatalogTable]:
        """The catalog's tables, read once."""
        if self._tables is None:
            self._tables = catalog_tables(self._glue, self.settings.glue_database)
        return self._tables

    def refresh_catalog(self) -> None:
        """Read the catalog again on next use (after a table was created or moved)."""
        self._tables = None

    def load(self, names: Iterable[str]) -> None:
        """Materialise the named catalog tables as DuckDB temporary tables (once per session)."""
        for name in sorted(set(names) - self._loaded):
            table = self.tables.get(name)
            if table is None:
                raise CatalogTableError(
                    f"table {name!r} is not in the Glue database {self.settings.glue_database!r}; "
                    "run `movielake crawl` (Raw tables) or `movielake refine` (trusted_*, refined_*) first"
                )
            files = table_files(self._s3, self._glue, self.settings.glue_database, table)
            select = source_select(table, files)
            log.debug("loading %s from %d objects", name, len(files))
            self.connection.execute(f"SET threads = {LOAD_THREADS}")
            try:
                self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {_identifier(name)} AS {select}")
            finally:
                self.connection.execute("RESET threads")
            self._loaded.add(name)

    def materialise(self, name: str, sql: str) -> None:
        """Run Athena SQL (translated) into a session temporary table ``name``; later queries
        reading ``name`` use it instead of loading the catalog table of that name."""
        translated = self.translate(sql)
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {_identifier(name)} AS {translated}")
        self._loaded.add(name)

    def schema(self, names: Iterable[str]) -> dict[str, dict[str, str]]:
        """table -> column -> DuckDB type, for the translation."""
        return {name: self.tables[name].duckdb_columns() for name in names}

    def translate(self, sql: str) -> str:
        """The DuckDB SQL for an Athena query over this catalog."""
        names = referenced_tables(sql)
        self.load(names)
        return translate(sql, self.schema(names))

    def execute(self, sql: str) -> pd.DataFrame:
        """Run Athena SQL (translated) and return the result as a DataFrame."""
        return self.connection.execute(self.translate(sql)).df()

    def run(self, query: NamedQuery) -> pd.DataFrame:
        """Run one named query."""
        return self.execute(query.statement)

    def fetch(self, query: NamedQuery) -> QueryResult:
        """Run one named query and return its rows as Python values (no pandas).

        A non-finite float (``corr`` of a constant column is NaN) comes back as ``None``,
        missing, as ``run``'s DataFrame shows it and as JSON can carry it.
        """
        relation = self.connection.sql(self.translate(query.statement))
        columns = [
            f"CASE WHEN isfinite({_identifier(name)}) THEN {_identifier(name)} END AS {_identifier(name)}"
            if str(kind) in FLOATING_TYPES
            else _identifier(name)
            for name, kind in zip(relation.columns, relation.types, strict=True)
        ]
        return QueryResult(tuple(relation.columns), relation.project(", ".join(columns)).fetchall())

    def close(self) -> None:
        """Close the DuckDB connection (temporary tables go with it)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None
            self._loaded.clear()

    def __enter__(self) -> DuckDBEngine:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
