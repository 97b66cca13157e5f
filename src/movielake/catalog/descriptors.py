"""Storage descriptors and table parameters as the contract (and the real crawler) writes them,
and the partitions a catalog table holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
# The contract's CSV dialect (docs/architecture.md), as Terraform declares the CSV tables; used
# by ``storage_descriptor`` for tables built outside Terraform (the analyses' sample lake).
CSV_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
CSV_DELIMITER = "|"
CSV_NULL = r"\N"


def storage_descriptor(
    fmt: str, columns: Sequence[tuple[str, str]], location: str, json_paths: Sequence[str] = ()
) -> dict[str, Any]:
    """The StorageDescriptor of a table or partition of format ``json`` or ``csv``."""
    if fmt == "json":
        serde = {"SerializationLibrary": JSON_SERDE, "Parameters": {"paths": ",".join(sorted(json_paths))}}
    else:
        serde = {
            "SerializationLibrary": CSV_SERDE,
            "Parameters": {"field.delim": CSV_DELIMITER, "serialization.null.format": CSV_NULL},
        }
    return {
        "Columns": [{"Name": name, "Type": kind} for name, kind in columns],
        "Location": location,
        "InputFormat": TEXT_INPUT_FORMAT,
        "OutputFormat": TEXT_OUTPUT_FORMAT,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": serde,
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": format_parameters(fmt),
        "StoredAsSubDirectories": False,
    }


def format_parameters(fmt: str) -> dict[str, str]:
    """The classification parameters the crawler sets on tables and their descriptors."""
    params = {"classification": fmt, "compressionType": "none", "typeOfData": "file"}
    if fmt == "csv":
        params.update(
            {
                "delimiter": CSV_DELIMITER,
                "skip.header.line.count": "1",
                "areColumnsQuoted": "false",
                "columnsOrdered": "true",
            }
        )
    return params


def existing_partitions(glue: Any, database: str, table: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """The table's partitions in the catalog, by their values."""
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return {tuple(p["Values"]): p for page in pages for p in page.get("Partitions", [])}
