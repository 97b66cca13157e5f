"""The Glue side of a refine: Parquet table entries, and the switch that publishes a version.

Both engines end the same way: the new version of a table is cataloged under a staging name
that carries the run id (``<table>__next_<run id>``), checked, then the real table is created
or updated to the staging table's storage descriptor, and the staging entry deleted. Readers
see the old location or the new one, never a half-written folder (the high-availability swap
dbt-athena popularised).

Every published table carries the run that wrote it (the ``movielake_refine_run`` table
parameter); ``mixed_runs`` tells the query path when the tables a question reads come from two
runs (a publish killed half-way), so it refuses instead of answering from both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STAGING_MARKER = "__next_"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
VERSION_PARAMETER = "movielake_refine_run"


class MixedRunsError(RuntimeError):
    """The tables a query reads were published by different refine runs; says which."""


def staging_name(table: str, run_id: str) -> str:
    """The catalog name a table's next version has until run ``run_id`` publishes it
    (Glue names are lower case: ``trusted_films__next_20261127t101500z_1a2b3c``)."""
    return f"{table}{STAGING_MARKER}{run_id.lower().replace('-', '_')}"


def is_staging_of(name: str, run_id: str | None = None) -> bool:
    """True for a staging entry (of ``run_id`` when given)."""
    if run_id is None:
        return STAGING_MARKER in name
    return name.endswith(staging_name("", run_id))


def parquet_table_input(name: str, location: str, columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A ``TableInput`` for an unpartitioned Parquet table, as Athena's CTAS catalogs one."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "StorageDescriptor": {
            "Columns": [{"Name": column, "Type": glue_type} for column, glue_type in columns],
            "Location": location,
            "InputFormat": PARQUET_INPUT_FORMAT,
            "OutputFormat": PARQUET_OUTPUT_FORMAT,
            "Compressed": False,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
        },
        "PartitionKeys": [],
    }


def get_table(glue: Any, database: str, name: str) -> dict[str, Any] | None:
    """The Glue table, or None when there is none of that name."""
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        return None


def put_table(glue: Any, database: str, table_input: dict[str, Any]) -> None:
    """Create the table, or update it in place when it exists (Glue keeps the old version)."""
    try:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        glue.update_table(DatabaseName=database, TableInput=table_input)


def drop_table(glue: Any, database: str, name: str) -> None:
    """Delete a catalog entry if it exists (its objects stay: lifecycle expires them)."""
    try:
        glue.delete_table(DatabaseName=database, Name=name)
    except glue.exceptions.EntityNotFoundException:
        return


def location_of(table: dict[str, Any] | None) -> str | None:
    """A Glue table's S3 location (None for no table)."""
    return None if table is None else table.get("StorageDescriptor", {}).get("Location")


def table_input(table: dict[str, Any], name: str, **parameters: str) -> dict[str, Any]:
    """The ``TableInput`` that recreates a ``GetTable`` answer as ``name`` (plus parameters)."""
    return {
        "Name": name,
        "TableType": table.get("TableType", "EXTERNAL_TABLE"),
        "Parameters": {**(table.get("Parameters") or {}), **parameters},
        "StorageDescriptor": table["StorageDescriptor"],
        "PartitionKeys": table.get("PartitionKeys", []),
    }


def publish(glue: Any, database: str, table: str, run_id: str) -> dict[str, Any] | None:
    """Point ``table`` at run ``run_id``'s staged version; returns the table as it was before
    (None when it is new), which ``unpublish`` puts back. The staging entry stays until the
    whole run is published (``drop_table``)."""
    staged = get_table(glue, database, staging_name(table, run_id))
    if staged is None:
        raise LookupError(f"no staged version {staging_name(table, run_id)} to publish in {database}")
    previous = get_table(glue, database, table)
    put_table(glue, database, table_input(staged, table, **{VERSION_PARAMETER: run_id}))
    return previous


def unpublish(glue: Any, database: str, table: str, previous: dict[str, Any] | None) -> None:
    """Undo ``publish``: put the table back as it was, or delete it when it was new."""
    if previous is None:
        drop_table(glue, database, table)
    else:
        put_table(glue, database, table_input(previous, table))


def run_of(table: dict[str, Any] | None) -> str | None:
    """The refine run that published a table (None: not a refine's table, or none)."""
    return None if table is None else (table.get("Parameters") or {}).get(VERSION_PARAMETER)


def mixed_runs(glue: Any, database: str, tables: Sequence[str]) -> dict[str, str]:
    """The refine run of each of ``tables`` when they come from more than one run, else {}.

    Only tables a refine publishes count (sources such as ``tmdb_movies`` carry no run)."""
    runs = {name: run_of(get_table(glue, database, name)) for name in sorted(set(tables))}
    published = {name: run for name, run in runs.items() if run is not None}
    return published if len(set(published.values())) > 1 else {}


def refuse_mixed_runs(glue: Any, database: str, tables: Sequence[str]) -> None:
    """``MixedRunsError`` when the tables come from two refine runs (a publish killed midway)."""
    runs = mixed_runs(glue, database, tables)
    if runs:
        listed = ", ".join(f"{name} from {run}" for name, run in runs.items())
        raise MixedRunsError(
            f"the tables this query reads come from different refine runs ({listed}): a refine was "
            "stopped while publishing. Run `movielake refine` to publish one whole version."
        )
