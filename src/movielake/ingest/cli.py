"""``movielake upload DIR``: validate a folder of PB CSVs and put them into the Raw zone."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from boto3.exceptions import S3UploadFailedError
from botocore.exceptions import BotoCoreError, ClientError

from movielake import aws, keys
from movielake.cli import UserError, iso_date
from movielake.config import Settings
from movielake.ingest.ingest import REJECTED, Result
from movielake.ingest.partitions import register_raw_partitions
from movielake.ingest.upload import csv_files, raw_listing, upload_file

EXIT_REJECTED = 1
log = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake upload``."""
    parser = subparsers.add_parser(
        "upload",
        help="validate local CSVs and upload them to the Raw zone",
        description=(
            "Validate every *.csv in DIR (header, '|' delimiter, UTF-8, field counts; the whole "
            "file, streamed) and upload each valid one to "
            "s3://<lake>/Raw/Local/CSV/<Entity>/<YYYY>/<MM>/<DD>/<file>, the entity coming from "
            "the file name (movies.csv -> Movies, series.csv -> Series). A file whose content "
            "is already in Raw that day is skipped; a different file of the same name goes to "
            "<stem>_<first 8 hex of sha256>.csv, since Raw is never overwritten. An invalid "
            "file is not uploaded and the error says what to fix. Finally lists Raw/Local/CSV/."
        ),
        epilog="exit status: 0 all files ingested or skipped, 1 some file rejected, 2 usage error",
    )
    parser.add_argument("folder", metavar="DIR", type=Path, help="folder holding the CSV files")
    parser.add_argument(
        "--date",
        type=iso_date,
        default=None,
        help="run date YYYY-MM-DD for the key (default: today, UTC); for backfills",
    )
    parser.add_argument("--bucket", default=None, help="lake bucket (default: MOVIELAKE_LAKE_BUCKET)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Upload the folder, print the summary table and what Raw holds; 1 if any file was rejected."""
    folder: Path = args.folder
    if not folder.is_dir():
        raise UserError(f"{folder} is not a folder; give the folder that holds movies.csv and series.csv")
    files = csv_files(folder)
    if not files:
        raise UserError(f"no *.csv files in {folder}")
    settings = Settings.from_env()
    bucket = args.bucket or settings.lake_bucket
    if not bucket:
        settings.require("lake_bucket")
    day = args.date or datetime.now(UTC).date()
    s3 = aws.client("s3", settings)
    results = []
    try:
        for path in files:
            with _progress_bar(path) as bar:
                results.append(upload_file(s3, bucket, path, day, progress=bar.update))
        if settings.glue_database and bucket == settings.lake_bucket:  # the catalog's lake
            register_raw_partitions(aws.client("glue", settings), settings.glue_database, results, log)
        listing = raw_listing(s3, bucket)
    except (BotoCoreError, ClientError, S3UploadFailedError) as exc:
        raise UserError(
            f"cannot write to s3://{bucket}/ ({exc}); check the bucket name, AWS_ENDPOINT_URL and "
            "credentials, or start the local stack with `movielake local up`"
        ) from exc
    _print_summary(results)
    for result in results:
        if result.status == REJECTED:
            print(f"rejected: {result.reason}", file=sys.stderr)
    print(f"\ns3://{bucket}/{keys.RAW_CSV_PREFIX} holds {len(listing)} object(s):")
    for key, size in listing:
        print(f"  {key}  ({size:,} bytes)")
    return EXIT_REJECTED if any(r.status == REJECTED for r in results) else 0


def _progress_bar(path: Path) -> Any:
    """A tqdm byte progress bar on stderr, hidden when stderr is not a terminal.

    tqdm is imported here, not at module level: the CSV Lambda zip does not ship it.
    """
    from tqdm import tqdm

    return tqdm(
        total=path.stat().st_size,
        desc=path.name,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        file=sys.stderr,
        disable=None,
        leave=False,
    )


def _print_summary(results: list[Result]) -> None:
    """One line per file: file, status, key (or -), and the reason when there is one."""
    rows = [(Path(r.source).name, r.status, r.key or "-") for r in results]
    widths = [max(len(row[i]) for row in [("file", "status", "key"), *rows]) for i in range(3)]
    for row in [("file", "status", "key"), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    for result in results:
        if result.reason and result.status != REJECTED:
            print(f"  {Path(result.source).name}: {result.reason}")
