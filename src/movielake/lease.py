"""A lease on one S3 object, so two runs of the same job cannot interleave.

The lease is one object (the TMDB run's ``.../<YYYY>/<MM>/<DD>/_run/lease.json``, the
refine's ``Refined/_refine/lease.json``), created with an S3 conditional write
(``IfNoneMatch="*"``): of two runs starting together exactly one creates it. It names its
holder and an expiry; the holder renews it every third of its length from a background thread
and deletes it when done. A run that dies (kill -9, a Lambda timeout) leaves it behind, and
once it has expired the next run takes it over with a write conditional on the ETag it read
(``IfMatch``), so of two runs taking over at once only one wins.

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
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from movielake.log import event

log = logging.getLogger(__name__)

# Seconds between two looks at a held lease while waiting for it.
POLL_SECONDS = 2.0
_LOST_RACE = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "404"}


class LeaseHeldError(RuntimeError):
    """Another run holds the lease; the message says whose and until when."""


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Lease:
    """The lease ``s3://<bucket>/<key>``, held (or wanted) by this process.

    ``what`` names the job in messages (``fetch of 2026-03-01``, ``refine``); ``hint`` tells
    the user what to do when it is held; ``details`` go into the lease document (the refine's
    run id). ``took_over`` is the document of the expired lease this process took over, if any.
    """

    def __init__(
        self,
        s3: Any,
        bucket: str,
        key: str,
        seconds: float,
        *,
        what: str,
        hint: str = "",
        details: dict[str, str] | None = None,
    ) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.key = key
        self.seconds = seconds
        self.what = what
        self.hint = hint
        self.details = details or {}
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.etag: str | None = None
        self.took_over: dict[str, Any] | None = None
        self._renewing = threading.Lock()  # the heartbeat and the holder may renew at once

    def _document(self) -> bytes:
        now = datetime.now(UTC)
        return json.dumps(
            {
                **self.details,
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
            event(log, "took over an expired lease", lease=self.key, previous=document)
            self.took_over = document
            return None
        return document

    def acquire(self, wait_seconds: float = 0.0) -> None:
        """Take the lease, waiting up to ``wait_seconds`` for its holder; else ``LeaseHeldError``."""
        deadline = time.monotonic() + wait_seconds
        while (document := self.try_acquire()) is not None:
            if time.monotonic() >= deadline:
                raise LeaseHeldError(
                    f"another {self.what} is running: {document.get('owner', 'an unknown run')} "
                    f"holds s3://{self.bucket}/{self.key} until {document.get('expires_at', '?')} "
                    f"(renewed while it runs). {self.hint}the lease of a run that died "
                    "expires by itself."
                )
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))
        event(log, "lease taken", lease=self.key, owner=self.owner, seconds=self.seconds)

    def renew(self) -> bool:
        """Extend the lease; False (and a warning) when it is no longer this process's."""
        with self._renewing:
            if self.etag is not None and self._put(IfMatch=self.etag):
                return True
        log.warning("lost the lease", extra={"fields": {"lease": self.key, "owner": self.owner}})
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
def holding(lease: Lease, *, wait_seconds: float = 0.0) -> Iterator[Lease]:
    """Hold ``lease`` for the ``with`` block, renewing it every third of its length."""
    lease.acquire(wait_seconds)
    stop = threading.Event()

    def heartbeat() -> None:
        while not stop.wait(lease.seconds / 3) and lease.renew():
            pass

    thread = threading.Thread(target=heartbeat, name=f"lease {lease.key}", daemon=True)
    thread.start()
    try:
        yield lease
    finally:
        stop.set()
        thread.join()
        lease.release()
