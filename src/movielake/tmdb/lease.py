"""The TMDB run's lease on its run date (``movielake.lease``), so two fetches of the same date
cannot interleave their plans: ``.../<YYYY>/<MM>/<DD>/_run/lease.json``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

from movielake import keys
from movielake.lease import Lease as ObjectLease
from movielake.lease import LeaseHeldError, holding

__all__ = ["Lease", "LeaseHeldError", "held", "lease_key"]

LEASE_FILE = "lease.json"


def lease_key(day: date) -> str:
    """``Raw/TMDB/JSON/Movies/<YYYY>/<MM>/<DD>/_run/lease.json``."""
    return keys.tmdb_run_key(day, LEASE_FILE)


class Lease(ObjectLease):
    """The lease of one run date."""

    def __init__(self, s3: Any, bucket: str, day: date, seconds: float) -> None:
        hint = f"Wait for it (`movielake tmdb status --date {day}` shows its progress) or add --wait; "
        super().__init__(s3, bucket, lease_key(day), seconds, what=f"fetch of {day}", hint=hint)
        self.day = day


@contextmanager
def held(s3: Any, bucket: str, day: date, seconds: float, *, wait_seconds: float = 0.0) -> Iterator[Lease]:
    """Hold the date's lease for the ``with`` block, renewing it every ``seconds / 3``."""
    with holding(Lease(s3, bucket, day, seconds), wait_seconds=wait_seconds) as lease:
        yield lease
