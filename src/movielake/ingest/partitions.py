"""Registering an ingested CSV's date folder as a partition of its catalog table.

The refine reads ``csv_movies`` and ``csv_series`` through the Glue catalog. Their date
folders used to become partitions only when the CSV crawler ran, and nothing ran it after an
upload: a refine triggered by the TMDB crawl could read the CSV tables without the newest
date, and Trusted came out stale without an error. So ingestion registers the partition itself
(``BatchCreatePartition``) as soon as the file is in Raw, and the CSV side needs no crawl.

The partition is the one the crawler would add (``InheritFromTable``): the table's storage
descriptor, as ``terraform/glue.tf`` declares it, with the date folder as its location, and
the values ``[YYYY, MM, DD]`` of ``partition_0..2``. Registering it again (a second file the
same day, a repeated S3 event, a rerun) finds it there and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import PurePosixPath
from typing import Any

from movielake import keys
from movielake.ingest.ingest import REJECTED, Result
from movielake.log import event

# Raw/Local/CSV/<Entity>/<YYYY>/<MM>/<DD>/<file>: where the entity and the date sit in a key.
_ENTITY, _DATE = 3, slice(4, 7)
ALREADY_EXISTS = "AlreadyExistsException"


class PartitionError(RuntimeError):
    """Glue refused the partition for a reason other than its being there already."""


def csv_table(entity: str) -> str:
    """The catalog table of an entity's CSVs (``Movies`` -> ``csv_movies``)."""
    return f"csv_{entity.lower()}"


def register_partition(glue: Any, database: str, raw_key: str) -> bool:
    """Make the date folder of ``raw_key`` a partition of its CSV table; False if it already was.

    Raises ``PartitionError`` (naming the table and partition) for any other Glue error entry.
    """
    parts = PurePosixPath(raw_key).parts
    if not raw_key.startswith(keys.RAW_CSV_PREFIX) or len(parts) != 8:
        raise ValueError(f"{raw_key} is not an ingested CSV's key ({keys.RAW_CSV_PREFIX}<Entity>/<date>/...)")
    table = csv_table(parts[_ENTITY])
    values = list(parts[_DATE])
    descriptor = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
    location = f"{descriptor['Location'].rstrip('/')}/{'/'.join(values)}/"
    answer = glue.batch_create_partition(
        DatabaseName=database,
        TableName=table,
        PartitionInputList=[{"Values": values, "StorageDescriptor": {**descriptor, "Location": location}}],
    )
    errors = answer.get("Errors", [])
    refused = [e for e in errors if e.get("ErrorDetail", {}).get("ErrorCode") != ALREADY_EXISTS]
    if refused:
        detail = refused[0].get("ErrorDetail", {})
        raise PartitionError(
            f"Glue refused partition {values} of {database}.{table}: {detail.get('ErrorCode')}: "
            f"{detail.get('ErrorMessage')}"
        )
    return not errors


def register_raw_partitions(glue: Any, database: str, results: Iterable[Result], log: logging.Logger) -> None:
    """Register the partition of every result that is in Raw (ingested or already there), once
    per date folder; one log line each."""
    folders: dict[str, str] = {}
    for result in results:
        if result.status != REJECTED and result.key and result.key.startswith(keys.RAW_CSV_PREFIX):
            folders.setdefault(str(PurePosixPath(result.key).parent), result.key)
    for folder, key in sorted(folders.items()):
        created = register_partition(glue, database, key)
        message = "csv partition registered" if created else "csv partition already registered"
        event(log, message, folder=folder)
