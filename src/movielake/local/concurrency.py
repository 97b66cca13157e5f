"""Reserved concurrency for the local Lambda runtime: at most N invocations of a function at
once, across every process driving the local stack (the dispatcher, ``movielake local
invoke``, a second ``movielake crawl``), as Lambda enforces a function's
``ReservedConcurrentExecutions``.

Each of the N slots is a lock file, ``<local dir>/concurrency/<function>.<slot>.lock``, held
with ``flock`` for the invocation: the kernel frees it when the holder ends, even killed. A
synchronous invocation finding every slot taken is throttled (``ThrottledError``, Lambda's
``TooManyRequestsException``); an asynchronous one waits for a slot, as Lambda keeps a
throttled event and retries it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

POLL_SECONDS = 0.2


class ThrottledError(RuntimeError):
    """Every reserved slot of the function is in use (Lambda: TooManyRequestsException)."""


def _take(folder: Path, function: str, reserved: int) -> int | None:
    """An open, locked slot file's descriptor, or None when all ``reserved`` are held."""
    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(reserved):
        descriptor = os.open(folder / f"{function}.{slot}.lock", os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            continue
        return descriptor
    return None


@contextmanager
def reserved_slot(
    folder: Path, function: str, reserved: int | None, wait_seconds: float = 0.0
) -> Iterator[None]:
    """Hold one of the function's ``reserved`` slots for the block (no limit when None),
    waiting up to ``wait_seconds`` for one; ``ThrottledError`` when none frees up."""
    if reserved is None:
        yield
        return
    deadline = time.monotonic() + wait_seconds
    while (descriptor := _take(folder, function, reserved)) is None:
        if time.monotonic() >= deadline:
            raise ThrottledError(
                f"{function} is throttled: its reserved concurrency ({reserved}) is in use "
                "(Lambda: TooManyRequestsException, Rate Exceeded)"
            )
        time.sleep(POLL_SECONDS)
    try:
        yield
    finally:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
        os.close(descriptor)
