"""Putting a validated CSV into Raw: the one path both the Lambda and ``movielake upload`` take.

Both ways in validate with ``validation.validate_stream`` (which yields the file's sha256), ask
``raw_target`` where the content belongs, and write it with the same metadata. Raw is
immutable and de-duplicated by content:

* the day's key is free -> the file goes there;
* it holds an object whose ``sha256`` metadata equals this file's -> nothing is written
  ("already in Raw");
* it holds a different file (or one without ``sha256`` metadata, e.g. written by the old
  uploader) -> the file goes to ``<stem>_<first 8 hex of sha256>.csv`` beside it, and the
  result says so.

The check is head-then-write: two writers racing with *different* files of the same name on
the same day could both see the key free. S3 notifications deliver one upload per event, so
that needs two different uploads of one name within the same instant; it is accepted, not
handled.

A Landing object that passes is server-side copied (boto3's managed ``copy``: multipart for
big objects, never through the Lambda's memory) and then deleted; one that fails is copied to
``Rejected/`` beside a ``.why.json`` note and deleted. Every copy records the source key and
ETag in its metadata, so a second delivery of the same event, which finds Landing empty, can
report what the first one did instead of failing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from botocore.exceptions import ClientError

from movielake import keys
from movielake.aws import list_objects
from movielake.ingest.validation import CHUNK_BYTES, ValidationError, validate_stream

INGESTED, SKIPPED, REJECTED = "ingested", "skipped", "rejected"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
NOTE_SUFFIX = ".why.json"
# User metadata (x-amz-meta-*) of every object movielake writes into Raw or Rejected.
META_SHA256 = "sha256"
META_SOURCE = "source"
META_SOURCE_ETAG = "source-etag"
_MISSING = {"404", "NoSuchKey", "NotFound"}


class KeyConflictError(RuntimeError):
    """A key and its digest variant both hold other files; movielake never overwrites them."""


@dataclass(frozen=True)
class Result:
    """The outcome for one file: what it was, what happened, where it is now and why."""

    source: str
    status: str
    key: str | None
    reason: str = ""

    def to_dict(self) -> dict[str, str | None]:
        """The JSON-serialisable form the Lambda returns and logs."""
        return asdict(self)


@dataclass(frozen=True)
class Target:
    """Where a file's content belongs in Raw, and whether it is already there."""

    key: str
    present: bool
    reason: str = ""


def raw_target(s3: Any, bucket: str, file_name: str, day: date, sha256: str) -> Target:
    """The Raw key for content with this sha256 on this day, never one holding other content."""
    base = keys.raw_csv_key(file_name, day)
    variant = keys.with_digest(base, sha256)
    for key in (base, variant):
        metadata = head_metadata(s3, bucket, key)
        if metadata is None:
            reason = "" if key == base else f"{base} already holds a different file; stored beside it"
            return Target(key, present=False, reason=reason)
        if metadata.get(META_SHA256) == sha256:
            return Target(key, present=True, reason=f"already in Raw as {key}")
    raise KeyConflictError(
        f"{base} and {variant} both hold other files; Raw is never overwritten. "
        "Rename the file (the entity comes from the name, so keep its stem) and upload it again."
    )


def raw_metadata(sha256: str, source: str, source_etag: str | None = None) -> dict[str, str]:
    """The metadata recorded on a Raw object (ASCII only, as S3 headers require)."""
    metadata = {META_SHA256: sha256, META_SOURCE: quote(source, safe="/:")}
    if source_etag:
        metadata[META_SOURCE_ETAG] = source_etag
    return metadata


def head_metadata(s3: Any, bucket: str, key: str) -> dict[str, str] | None:
    """An object's user metadata, or None when there is no such object."""
    try:
        return s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] in _MISSING:
            return None
        raise


def ingest_landing_object(
    s3: Any, bucket: str, key: str, day: date, *, event_etag: str | None = None
) -> Result:
    """Validate ``Landing/<file>`` by streaming it, then move it to Raw or to Rejected.

    ``event_etag`` (from the S3 event) identifies the upload when the object is already gone,
    i.e. on a second delivery of the same event.
    """
    source = s3_uri(bucket, key)
    name = PurePosixPath(key).name
    try:
        obj = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] not in _MISSING:
            raise
        return earlier_outcome(s3, bucket, key, day, event_etag)
    etag = obj["ETag"]
    try:
        report = validate_stream(name, obj["Body"].iter_chunks(CHUNK_BYTES))
    except ValidationError as error:
        return _reject(s3, bucket, key, etag, day, error)
    finally:
        obj["Body"].close()
    target = raw_target(s3, bucket, name, day, report.sha256)
    if not target.present:
        metadata = raw_metadata(report.sha256, source, bare_etag(etag))
        _copy(s3, bucket, key, etag, target.key, metadata)
    reasons = [target.reason, _remove_from_landing(s3, bucket, key, etag)]
    status = SKIPPED if target.present else INGESTED
    return Result(source, status, target.key, "; ".join(r for r in reasons if r))


def earlier_outcome(s3: Any, bucket: str, key: str, day: date, event_etag: str | None) -> Result:
    """What an earlier delivery did with a Landing object that is gone now."""
    source = s3_uri(bucket, key)
    name = PurePosixPath(key).name
    wanted = bare_etag(event_etag) if event_etag else None
    for home, verb in ((keys.raw_csv_key(name, day), "ingested"), (keys.rejected_key(name, day), "rejected")):
        for candidate in _siblings(s3, bucket, home):
            metadata = head_metadata(s3, bucket, candidate) or {}
            if metadata.get(META_SOURCE) == quote(source, safe="/:") and (
                wanted is None or metadata.get(META_SOURCE_ETAG) == wanted
            ):
                return Result(source, SKIPPED, candidate, f"already {verb} as {candidate} (repeated event)")
    return Result(
        source,
        SKIPPED,
        None,
        f"{source} no longer exists and nothing in Raw or Rejected for {day:%Y-%m-%d} came from it; "
        "nothing to do (upload the file again if it was deleted by mistake)",
    )


def s3_uri(bucket: str, key: str) -> str:
    """``s3://bucket/key``."""
    return f"s3://{bucket}/{key}"


def bare_etag(etag: str) -> str:
    """An ETag without its quotes (S3 events carry it bare, API responses quoted)."""
    return etag.strip('"')


def _siblings(s3: Any, bucket: str, key: str) -> list[str]:
    """``key`` and its ``<stem>_<digest>`` variants that exist, without ``.why.json`` notes."""
    path = PurePosixPath(key)
    found = []
    for item in list_objects(s3, bucket, keys.digest_variants_prefix(key)):
        candidate = item["Key"]
        if candidate.endswith(path.suffix) and not candidate.endswith(NOTE_SUFFIX):
            found.append(candidate)
    return found


def _copy(s3: Any, bucket: str, key: str, etag: str, target: str, metadata: dict[str, str]) -> None:
    """Server-side copy of exactly the object that was validated (``CopySourceIfMatch``)."""
    s3.copy(
        {"Bucket": bucket, "Key": key},
        bucket,
        target,
        ExtraArgs={
            "Metadata": metadata,
            "MetadataDirective": "REPLACE",
            "ContentType": CSV_CONTENT_TYPE,
            "CopySourceIfMatch": etag,
        },
    )


def _reject(s3: Any, bucket: str, key: str, etag: str, day: date, error: ValidationError) -> Result:
    """Move a failing Landing object to Rejected, beside a note saying why."""
    source = s3_uri(bucket, key)
    target = _rejected_target(s3, bucket, keys.rejected_key(PurePosixPath(key).name, day), source, etag)
    metadata = {META_SOURCE: quote(source, safe="/:"), META_SOURCE_ETAG: bare_etag(etag)}
    _copy(s3, bucket, key, etag, target, metadata)
    note = {
        "source": source,
        "reason": str(error),
        "problem": error.problem,
        "hint": error.hint,
        "line": error.line,
        "byte_offset": error.byte_offset,
        "rejected_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    s3.put_object(
        Bucket=bucket,
        Key=target + NOTE_SUFFIX,
        Body=json.dumps(note, indent=2).encode(),
        ContentType="application/json",
    )
    reasons = [str(error), _remove_from_landing(s3, bucket, key, etag)]
    return Result(source, REJECTED, target, "; ".join(r for r in reasons if r))


def _rejected_target(s3: Any, bucket: str, base: str, source: str, etag: str) -> str:
    """The Rejected key for this upload: the day's key, or its ETag variant if another file has it."""
    variant = keys.with_digest(base, bare_etag(etag))
    for key in (base, variant):
        metadata = head_metadata(s3, bucket, key)
        if metadata is None or (
            metadata.get(META_SOURCE) == quote(source, safe="/:")
            and metadata.get(META_SOURCE_ETAG) == bare_etag(etag)
        ):
            return key
    raise KeyConflictError(f"{base} and {variant} both hold other rejected files; clear them first")


def _remove_from_landing(s3: Any, bucket: str, key: str, etag: str) -> str:
    """Delete the processed upload, unless a newer one replaced it meanwhile (then say so)."""
    try:
        s3.delete_object(Bucket=bucket, Key=key, IfMatch=etag)
    except ClientError as exc:
        code = exc.response["Error"]["Code"]
        if code == "PreconditionFailed":
            return (
                f"{s3_uri(bucket, key)} was replaced during ingestion; the new upload waits for its own event"
            )
        if code not in _MISSING:
            raise
    return ""
