"""A small lake for the analyses' tests and benchmark: Raw objects plus the contract's tables.

``register_contract_tables`` creates ``tmdb_movies``, ``csv_movies`` and ``csv_series`` in a
Glue database exactly as ``docs/architecture.md`` describes them (the shape ``movielake crawl``
registers), so the analyses can be exercised on their own. The writers put TMDB batches and
movie CSVs where the key scheme says.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from movielake import keys
from movielake.aws import list_objects
from movielake.catalog.descriptors import existing_partitions, format_parameters, storage_descriptor

TMDB_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "int"),
    ("imdb_id", "string"),
    ("title", "string"),
    ("original_title", "string"),
    ("runtime", "int"),
    ("release_date", "string"),
    ("budget", "bigint"),
    ("revenue", "bigint"),
    ("popularity", "double"),
    ("vote_average", "double"),
    ("vote_count", "int"),
    ("original_language", "string"),
    ("genres", "array<struct<id:int,name:string>>"),
    ("production_companies", "array<struct<id:int,name:string,origin_country:string>>"),
    ("cast", "array<struct<name:string,character:string,order:int>>"),
    ("crew", "array<struct<name:string,job:string>>"),
    ("requested_id", "string"),
    ("ingested_at", "string"),
)
MOVIE_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "string"),
    ("titulopincipal", "string"),
    ("titulooriginal", "string"),
    ("anolancamento", "bigint"),
    ("tempominutos", "bigint"),
    ("genero", "string"),
    ("notamedia", "double"),
    ("numerovotos", "bigint"),
    ("generoartista", "string"),
    ("personagem", "string"),
    ("nomeartista", "string"),
    ("anonascimento", "bigint"),
    ("anofalecimento", "bigint"),
    ("profissao", "string"),
    ("titulosmaisconhecidos", "string"),
)
SERIES_CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    *MOVIE_CSV_COLUMNS[:4],
    ("anotermino", "bigint"),
    *MOVIE_CSV_COLUMNS[4:],
)
PARTITION_KEYS = ("partition_0", "partition_1", "partition_2")


def _table_input(name: str, fmt: str, location: str, columns: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """A ``TableInput`` with the descriptor and parameters the (local) crawler registers."""
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": format_parameters(fmt),
        "PartitionKeys": [{"Name": key, "Type": "string"} for key in PARTITION_KEYS],
        "StorageDescriptor": storage_descriptor(fmt, columns, location),
    }


def contract_table_inputs(bucket: str) -> list[dict[str, Any]]:
    """The ``TableInput`` of each catalog table the contract defines, with its contract types."""
    return [
        _table_input("tmdb_movies", "json", f"s3://{bucket}/{keys.TMDB_MOVIES_PREFIX}", TMDB_COLUMNS),
        _table_input(
            "csv_movies", "csv", f"s3://{bucket}/{keys.raw_csv_prefix('Movies')}", MOVIE_CSV_COLUMNS
        ),
        _table_input(
            "csv_series", "csv", f"s3://{bucket}/{keys.raw_csv_prefix('Series')}", SERIES_CSV_COLUMNS
        ),
    ]


def register_contract_tables(glue: Any, database: str, bucket: str) -> None:
    """Create the Glue database (if needed) and the contract's three tables in it."""
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": database})
    for table_input in contract_table_inputs(bucket):
        try:
            glue.create_table(DatabaseName=database, TableInput=table_input)
        except glue.exceptions.AlreadyExistsException:
            glue.update_table(DatabaseName=database, TableInput=table_input)


def register_partitions(glue: Any, s3: Any, database: str, table: str) -> list[tuple[str, ...]]:
    """Register every ``YYYY/MM/DD`` folder under the table's location as a partition (as a crawl)."""
    described = glue.get_table(DatabaseName=database, Name=table)["Table"]
    descriptor = described["StorageDescriptor"]
    bucket, _, prefix = descriptor["Location"].removeprefix("s3://").partition("/")
    folders: set[tuple[str, ...]] = set()
    for item in list_objects(s3, bucket, prefix):
        parts = item["Key"][len(prefix) :].split("/")
        if len(parts) > len(PARTITION_KEYS):
            folders.add(tuple(parts[: len(PARTITION_KEYS)]))
    for values in sorted(folders - set(existing_partitions(glue, database, table))):
        location = f"s3://{bucket}/{prefix}{'/'.join(values)}/"
        glue.create_partition(
            DatabaseName=database,
            TableName=table,
            PartitionInput={
                "Values": list(values),
                "StorageDescriptor": {**descriptor, "Location": location},
            },
        )
    return sorted(folders)


def register_all_partitions(glue: Any, s3: Any, database: str) -> None:
    """Register the date-folder partitions of the contract's three tables."""
    for table in ("tmdb_movies", "csv_movies", "csv_series"):
        register_partitions(glue, s3, database, table)


def ndjson(records: Iterable[dict[str, Any]]) -> bytes:
    """Records as NDJSON bytes, one compact JSON object a line."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode()


def write_tmdb_batches(
    s3: Any, bucket: str, records: Sequence[dict[str, Any]], day: date, batch_size: int = 100
) -> list[str]:
    """Write records as ``lote_<N>.json`` batches of the day's folder; returns the keys."""
    written = []
    for number, start in enumerate(range(0, len(records), batch_size), start=1):
        key = keys.tmdb_batch_key(day, number)
        s3.put_object(Bucket=bucket, Key=key, Body=ndjson(records[start : start + batch_size]))
        written.append(key)
    return written


def write_csv(s3: Any, bucket: str, file_name: str, lines: Iterable[str], day: date) -> str:
    """Write a CSV (its lines, header first) to its Raw key; returns the key."""
    key = keys.raw_csv_key(file_name, day)
    s3.put_object(Bucket=bucket, Key=key, Body="".join(lines).encode())
    return key


def create_workgroups(athena: Any, results_bucket: str, analyses: str, refine: str) -> None:
    """The two Athena workgroups as terraform/athena.tf configures them: results under
    ``s3://<results_bucket>/athena/``, engine version 3, the analyses' workgroup enforcing its
    configuration and the refine's not (so its CTAS may name a lake folder)."""
    for name, enforced in ((analyses, True), (refine, False)):
        athena.create_work_group(
            Name=name,
            Configuration={
                "ResultConfiguration": {"OutputLocation": f"s3://{results_bucket}/athena/"},
                "EnforceWorkGroupConfiguration": enforced,
                "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3"},
            },
        )
