"""``movielake upload``'s core: validate local CSVs and put them into Raw, without the CLI's UI.

The same validation and Raw placement as the Lambda (``ingest.raw_target``); the file goes up
with boto3's managed ``upload_file`` (multipart above ``TRANSFER.multipart_threshold``) and
carries its sha256 as metadata, since a multipart ETag is not an MD5 of the content. A file
that fails validation is not uploaded and stays where it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

from movielake import keys
from movielake.aws import list_objects
from movielake.ingest.ingest import (
    CSV_CONTENT_TYPE,
    INGESTED,
    REJECTED,
    SKIPPED,
    Result,
    raw_metadata,
    raw_target,
)
from movielake.ingest.validation import (
    ValidationError,
    is_compressed_csv_name,
    is_csv_name,
    validate_file,
)

MIB = 1024 * 1024
TRANSFER = TransferConfig(multipart_threshold=16 * MIB, multipart_chunksize=16 * MIB, max_concurrency=8)
# Called with the number of bytes sent since the last call (boto3's Callback contract).
Progress = Callable[[int], None]


def csv_files(folder: Path) -> list[Path]:
    """The CSV files directly in ``folder``, in name order: ``*.csv`` in any case, and
    compressed ones (``*.csv.gz``...) so that validation tells the user to decompress them."""
    return sorted(
        p for p in folder.iterdir() if p.is_file() and (is_csv_name(p.name) or is_compressed_csv_name(p.name))
    )


def upload_file(s3: Any, bucket: str, path: Path, day: date, *, progress: Progress | None = None) -> Result:
    """Validate one local CSV and upload it to its Raw key unless that content is already there."""
    source = str(path)
    try:
        report = validate_file(path)
    except ValidationError as error:
        return Result(source, REJECTED, None, f"{error} (the file was not uploaded)")
    target = raw_target(s3, bucket, path.name, day, report.sha256)
    if target.present:
        return Result(source, SKIPPED, target.key, target.reason)
    s3.upload_file(
        str(path),
        bucket,
        target.key,
        ExtraArgs={"Metadata": raw_metadata(report.sha256, path.name), "ContentType": CSV_CONTENT_TYPE},
        Callback=progress,
        Config=TRANSFER,
    )
    return Result(source, INGESTED, target.key, target.reason)


def raw_listing(s3: Any, bucket: str) -> list[tuple[str, int]]:
    """Every ``(key, size)`` under ``Raw/Local/CSV/``, in key order."""
    return [(item["Key"], item["Size"]) for item in list_objects(s3, bucket, keys.RAW_CSV_PREFIX)]
