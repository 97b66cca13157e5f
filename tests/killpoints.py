"""A kill-point harness: the process "dies" just before or just after its n-th write to AWS.

``KillSwitch`` wraps every boto3 client's API call (``BaseClient._make_api_call``). It counts
the writes (S3 and Glue calls that change state, ``WRITES``) made by the stage under test;
at the chosen one it raises ``Killed`` before sending it, or after AWS took it. From then on
every call of the process, in any thread, raises ``Killed`` too: a dead process sends nothing
more, so no cleanup, ``finally`` or heartbeat reaches AWS, as after a SIGKILL. ``revive``
starts a new process, as a rerun does.

A lease's renewals (its heartbeat thread, named ``lease ...``) are not counted: their number
depends on timing, so counting them would move every later kill point between runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

WRITES = {
    "s3": {
        "PutObject",
        "CopyObject",
        "DeleteObject",
        "DeleteObjects",
        "PutObjectTagging",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    },
    "glue": {
        "CreateTable",
        "UpdateTable",
        "DeleteTable",
        "CreatePartition",
        "BatchCreatePartition",
        "UpdatePartition",
        "BatchUpdatePartition",
        "DeletePartition",
        "BatchDeletePartition",
        "StartCrawler",
    },
}


class Killed(BaseException):
    """The process died here."""


@dataclass
class KillSwitch:
    """Counts writes; kills at ``at`` (1-based write number, ``before`` or ``after`` it)."""

    at: tuple[int, str] | None = None
    writes: list[str] = field(default_factory=list)  # "s3:PutObject", in order
    targets: list[str] = field(default_factory=list)  # the key or table each write was for
    dead: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def revive(self) -> None:
        """A new process: nothing killed, nothing counted."""
        self.at, self.dead, self.writes, self.targets = None, False, [], []

    def _counted(self, service: str, operation: str, params: dict[str, Any]) -> int | None:
        if operation not in WRITES.get(service, ()) or threading.current_thread().name.startswith("lease "):
            return None
        target = params.get("Key") or params.get("Name") or params.get("TableInput", {}).get("Name", "")
        with self._lock:
            self.writes.append(f"{service}:{operation}")
            self.targets.append(str(target or params.get("TableName", "")))
            return len(self.writes)

    def call(self, original: Callable[..., Any], client: Any, operation: str, params: Any) -> Any:
        """The wrapped ``_make_api_call``."""
        if self.dead:
            raise Killed(f"{operation} after the kill")
        number = self._counted(client.meta.service_model.service_name, operation, params)
        if number is not None and self.at == (number, "before"):
            self.dead = True
            raise Killed(f"killed before write {number} ({operation})")
        try:
            return original(client, operation, params)
        finally:  # after AWS answered, even with an error (a CreateTable finding the table)
            if number is not None and self.at == (number, "after"):
                self.dead = True
                raise Killed(f"killed after write {number} ({operation})")


@contextmanager
def kill_switch() -> Iterator[KillSwitch]:
    """Every boto3 client's calls go through a ``KillSwitch`` for the block."""
    switch = KillSwitch()
    original = BaseClient._make_api_call

    def patched(client: Any, operation: str, params: Any) -> Any:
        return switch.call(original, client, operation, params)

    BaseClient._make_api_call = patched  # type: ignore[method-assign]
    previous_hook = threading.excepthook
    # A dead process's threads die with it: their Killed is not a test failure.
    threading.excepthook = lambda info: None if info.exc_type is Killed else previous_hook(info)
    try:
        yield switch
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
        threading.excepthook = previous_hook


def sample(writes: list[str], count: int) -> list[tuple[int, str]]:
    """``count`` kill points of a run that made ``writes``: after the last write (the run had
    finished), before the first, after the first write of each kind (``glue:UpdateTable``...),
    then evenly between; every point when ``count`` covers them all."""
    total = len(writes)
    points = [(n, side) for n in range(1, total + 1) for side in ("before", "after")]
    if count >= len(points):
        return points
    firsts = [(writes.index(kind) + 1, "after") for kind in dict.fromkeys(writes)]
    spread = [points[round(i * (len(points) - 1) / max(count - 1, 1))] for i in range(count)]
    chosen = list(dict.fromkeys([(total, "after"), (1, "before"), *firsts, *spread]))
    return sorted(chosen[:count])
