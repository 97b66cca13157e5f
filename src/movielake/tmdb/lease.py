"""A lease on a run date, so two fetches of the same date cannot interleave their plans.

The lease is one object, ``.../<YYYY>/<MM>/<DD>/_run/lease.json``, created with an S3
conditional write (``IfNoneMatch="*"``): of two runs starting together exactly one creates it.
It names its holder and an expiry; the holder renews it every third of its length from a
background thread and deletes it when done. A run that dies (kill -9, a Lambda timeout)
leaves it behind, and once it has expired the next run takes it over with a write conditional
on the ETag it read (``IfMatch``), so of two runs taking over at once only one wins.

A run that finds the lease held stops with ``LeaseHeldError`` saying who holds it and until
when, or waits for it with ``wait_seconds``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from movielake import keys
from movielake.log import event

log = logging.getLogger(__name__)

LEASE_FILE = "lease.json"
# Seconds between two looks at a held lease while waiting for it.
POLL_SECONDS = 2.0
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404"}


class LeaseHeldError(RuntimeError):
    """Another run holds the date's lease; the message says whose and until when."""


def lease_key(day: date) -> str:
    """``Raw/TMDB/JSON/Movies/<YYYY>/<MM>/<DD>/_run/lease.json``."""
    return keys.tmdb_run_key(day, LEASE_FILE)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Lease:
    """The lease of one run date, held (or wanted) by this process."""

    def __init__(self, s3: Any, bucket: str, day: date, seconds: float) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.day = day
        self.key = lease_key(day)
        self.seconds = seconds
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None

    def _document(self) -> bytes:
        now = datetime.now(UTC)
        return json.dumps(
            {
                "owner": self.owner,
                "renewed_at": _stamp(now),
                "expires_at": _stamp(now + timedelta(seconds=self.seconds)),
            }
        ).encode()

    def _put(self, **condition: str) -> bool:
        """Write the lease under ``condition``; False when another writer got there first."""
        try:
            body = self._document()
            answer = self.s3.put_object(Bucket=self.bucket, Key=self.key, Body=body, **condition)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _LOST_RACE:
                return False
            raise
        self.etag = answer["ETag"]
        return True

    def holder(self) -> tuple[dict[str, Any], str] | None:
        """The lease document now in S3 and its ETag, or None when there is none."""
        try:
            obj = self.s3.get_object(Bucket=self.bucket, Key=self.key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                return None
            raise
        try:
            document = json.loads(obj["Body"].read())
        except ValueError:
            document = {}
        return document, obj["ETag"]

    def try_acquire(self) -> dict[str, Any] | None:
        """Take the lease if it is free or expired; None when taken, else the holder's document."""
        if self._put(IfNoneMatch="*"):
            return None
        found = self.holder()
        if found is None:  # released between the two calls
            return None if self._put(IfNoneMatch="*") else {}
        document, etag = found
        expires = document.get("expires_at", "")
        if expires and expires < _stamp(datetime.now(UTC)) and self._put(IfMatch=etag):
            event(log, "took over an expired lease", run_date=self.day.isoformat(), previous=document)
            return None
        return document

    def acquire(self, wait_seconds: float = 0.0) -> None:
        """Take the lease, waiting up to ``wait_seconds`` for its holder; else ``LeaseHeldError``."""
        deadline = time.monotonic() + wait_seconds
        while (document := self.try_acquire()) is not None:
            if time.monotonic() >= deadline:
                raise LeaseHeldError(
                    f"another fetch of {self.day} is running: {document.get('owner', 'an unknown run')} "
                    f"holds s3://{self.bucket}/{self.key} until {document.get('expires_at', '?')} "
                    "(renewed while it runs). Wait for it (`movielake tmdb status --date "
                    f"{self.day}` shows its progress) or add --wait; the lease of a run that died "
                    "expires by itself."
                )
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
        event(log, "lease taken", run_date=self.day.isoformat(), owner=self.owner, seconds=self.seconds)

    def renew(self) -> bool:
        """Extend the lease; False (and a warning) when it is no longer this process's."""
        if self.etag is not None and self._put(IfMatch=self.etag):
            return True
        fields = {"run_date": self.day.isoformat(), "owner": self.owner}
        log.warning("lost the lease", extra={"fields": fields})
        return False

    def release(self) -> None:
        """Delete the lease if it is still this process's."""
        if self.etag is None:
            return
        try:
            self.s3.delete_object(Bucket=self.bucket, Key=self.key, IfMatch=self.etag)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _LOST_RACE:
                raise
        self.etag = None


@contextmanager
def held(s3: Any, bucket: str, day: date, seconds: float, *, wait_seconds: float = 0.0) -> Iterator[Lease]:
    """Hold the date's lease for the ``with`` block, renewing it every ``seconds / 3``."""
    lease = Lease(s3, bucket, day, seconds)
    lease.acquire(wait_seconds)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(seconds / 3) and lease.renew():
            pass

    thread = threading.Thread(target=heartbeat, name="tmdb-lease", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()
        lease.release()
