"""A refine's deadline, and the watchdog that stops its engine when it comes.

On Lambda the deadline is the invocation's end (``context.get_remaining_time_in_millis()``)
less a margin for what a stopped run still has to do: drop its staging tables, tag its
folders, write its manifest with status ``timed_out``, release the lease. When the deadline
comes, the watchdog calls the engine's ``stop`` (``StopQueryExecution`` for the running Athena
queries, ``interrupt`` for the DuckDB session), so the running query ends at once instead of
running on after Lambda froze the sandbox; the run then raises ``DeadlineExceededError``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class DeadlineExceededError(RuntimeError):
    """The refine ran out of time; it stopped its queries and published nothing."""


@dataclass(frozen=True)
class Deadline:
    """A moment on the monotonic clock by which the refine must have stopped."""

    at: float

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        """``seconds`` from now."""
        return cls(time.monotonic() + seconds)

    @classmethod
    def from_context(cls, context: Any, margin_seconds: float) -> Deadline | None:
        """The Lambda invocation's end less ``margin_seconds``; None without a context."""
        if context is None or not hasattr(context, "get_remaining_time_in_millis"):
            return None
        return cls.after(max(context.get_remaining_time_in_millis() / 1000 - margin_seconds, 0.0))

    def remaining(self) -> float:
        """Seconds left (0 once passed)."""
        return max(self.at - time.monotonic(), 0.0)

    @property
    def passed(self) -> bool:
        """True once the deadline has come."""
        return time.monotonic() >= self.at

    def check(self, what: str) -> None:
        """``DeadlineExceededError`` when the deadline has passed, before starting ``what``."""
        if self.passed:
            raise DeadlineExceededError(f"the refine's deadline passed before {what}")


@contextmanager
def watchdog(deadline: Deadline | None, stop: Callable[[], None]) -> Iterator[None]:
    """Call ``stop`` when ``deadline`` comes during the ``with`` block (never after it)."""
    if deadline is None:
        yield
        return
    timer = threading.Timer(deadline.remaining(), stop)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
