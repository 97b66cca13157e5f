"""The Glue side of a refine: Parquet table entries, and the switch that publishes a version.

Both engines end the same way: the new version of a table is cataloged under a staging name
(``<table>__next``), checked, then the real table is created or updated to the staging
table's storage descriptor, and the staging entry deleted. Readers see the old location or
the new one, never a half-written folder (the high-availability swap dbt-athena popularised).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

STAGING_SUFFIX = "__next"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
VERSION_PARAMETER = "movielake_refine_run"


def staging_name(table: str) -> str:
    """The catalog name a table's next version has until it is published."""
    return f"{table}{STAGING_SUFFIX}"


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


def publish(glue: Any, database: str, table: str, run_id: str) -> str | None:
    """Point ``table`` at its staged version and delete the staging entry; returns the
    location the table had before (None when it is new)."""
    staged = get_table(glue, database, staging_name(table))
    if staged is None:
        raise LookupError(f"no staged version {staging_name(table)} to publish in {database}")
    previous = location_of(get_table(glue, database, table))
    parameters = {**(staged.get("Parameters") or {}), VERSION_PARAMETER: run_id}
    put_table(
        glue,
        database,
        {
            "Name": table,
            "TableType": staged.get("TableType", "EXTERNAL_TABLE"),
            "Parameters": parameters,
            "StorageDescriptor": staged["StorageDescriptor"],
            "PartitionKeys": staged.get("PartitionKeys", []),
        },
    )
    drop_table(glue, database, staging_name(table))
    return previous
