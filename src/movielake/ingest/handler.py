"""The CSV Lambda: an S3 ``ObjectCreated`` event on ``Landing/`` moves each upload to Raw or Rejected.

Handler ``movielake.ingest.handler.handler``. It returns ``{"results": [...]}`` with one
``{"source", "status", "key", "reason"}`` per record (status ``ingested``, ``skipped`` or
``rejected``) and logs the same as one JSON line per record.

The run date of the keys is, in order: ``MOVIELAKE_RUN_DATE`` (a backfill), the event's
``eventTime`` (so a delivery repeated after midnight still finds the first one's work), today
in UTC. The S3 client is made per invocation, never at import.

A file in Raw (ingested, or already there) has its date folder registered as a partition of
its catalog table (``partitions.register_partition``) when ``MOVIELAKE_GLUE_DATABASE`` is set,
as Terraform sets it: the refine then sees the new date without a CSV crawl.

A validation failure is a result (``rejected``), not an error. An AWS error propagates, so
Lambda's retries and its failure destination take over; every step is idempotent (content
de-duplication, the source ETag recorded on every copy), so a retry is safe.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote_plus

from movielake import aws, keys
from movielake.config import ConfigError, Settings
from movielake.ingest.ingest import SKIPPED, Result, ingest_landing_object, s3_uri
from movielake.ingest.partitions import register_raw_partitions
from movielake.log import event as log_event
from movielake.log import lambda_logger


def handler(event: dict[str, Any], context: object) -> dict[str, list[dict[str, str | None]]]:
    """Process every record of an S3 notification; S3's test event has none and does nothing."""
    log = lambda_logger(__name__)
    records = event.get("Records") or []
    settings = Settings.from_env()
    override = run_date_override(settings)
    s3 = aws.client("s3", settings) if records else None
    results = []
    for record in records:
        result = handle_record(s3, record, override)
        log_event(log, f"csv {result.status}", **result.to_dict())
        results.append(result)
    if settings.glue_database:
        register_raw_partitions(aws.client("glue", settings), settings.glue_database, results, log)
    return {"results": [r.to_dict() for r in results]}


def handle_record(s3: Any, record: dict[str, Any], override: date | None = None) -> Result:
    """One event record: an object created under ``Landing/`` is ingested; anything else skipped."""
    try:
        bucket = record["s3"]["bucket"]["name"]
        obj = record["s3"]["object"]
        # Keys arrive URL-encoded, spaces as '+'.
        key = unquote_plus(obj["key"])
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"not an S3 event record (missing {exc}); the Lambda expects S3 notifications"
        ) from exc
    source = s3_uri(bucket, key)
    if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
        return Result(
            source, SKIPPED, None, f"event {record.get('eventName')!r} is not an ObjectCreated event"
        )
    if not key.startswith(keys.LANDING_PREFIX) or key.endswith("/"):
        return Result(source, SKIPPED, None, f"only files under {keys.LANDING_PREFIX} are ingested")
    day = override or event_date(record)
    return ingest_landing_object(s3, bucket, key, day, event_etag=obj.get("eTag"))


def run_date_override(settings: Settings) -> date | None:
    """``MOVIELAKE_RUN_DATE`` as a date, None when unset."""
    if not settings.run_date:
        return None
    try:
        return date.fromisoformat(settings.run_date)
    except ValueError:
        raise ConfigError(f"MOVIELAKE_RUN_DATE={settings.run_date!r} is not a date; use YYYY-MM-DD") from None


def event_date(record: dict[str, Any]) -> date:
    """The UTC date of the record's ``eventTime`` (``1970-01-01T00:00:00.000Z``), else today."""
    stamp = record.get("eventTime")
    if not stamp:
        return datetime.now(UTC).date()
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(UTC).date()
