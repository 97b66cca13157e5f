"""Worker processes that run queries for the moto server, one query each at a time.

DuckDB must not run inside the moto server's process (scanning the server it runs in hangs),
and a query must be stoppable mid-run: each query runs in a worker process, which
StopQueryExecution kills (a fresh one takes its place). Workers are forked from a
``forkserver`` that has imported the engine once, so a replacement is ready in well under a
second. The pool's size is Athena's concurrency here: queries beyond it wait QUEUED.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from movielake.local.athena.worker import Job, Outcome, run

WORKERS_VARIABLE = "MOVIELAKE_ATHENA_WORKERS"
DEFAULT_WORKERS = 2
_POLL_SECONDS = 0.05


def _serve(connection: Connection) -> None:
    """A worker's loop: receive a job, send back its outcome, until the pipe closes."""
    while True:
        try:
            job = connection.recv()
        except EOFError:
            return
        connection.send(run(job))


class Worker:
    """One worker process and the pipe to it."""

    def __init__(self, context: Any) -> None:
        self._context = context
        self._start()

    def _start(self) -> None:
        ours, theirs = self._context.Pipe()
        self.process = self._context.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        self.connection = ours

    def run(self, job: Job, stopped: threading.Event) -> Outcome | None:
        """The job's outcome; None when ``stopped`` was set first (the process is then killed)."""
        self.connection.send(job)
        while not self.connection.poll(_POLL_SECONDS):
            if stopped.is_set():
                self.replace()
                return None
            if not self.process.is_alive():
                self.replace()
                return Outcome("FAILED", "GENERIC_INTERNAL_ERROR: the query's worker process died", 1201, 1)
        return self.connection.recv()

    def replace(self) -> None:
        """Kill the process (mid-query) and start a fresh one."""
        self.process.kill()
        self.process.join()
        self.connection.close()
        self._start()


class Pool:
    """Worker threads, each owning a worker process, taking jobs from one queue in order."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or int(os.environ.get(WORKERS_VARIABLE, DEFAULT_WORKERS))
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["movielake.local.athena.worker"])
        self._queue: list[
            tuple[Job, threading.Event, Callable[[], bool], Callable[[Outcome | None], None]]
        ] = []
        self._ready = threading.Condition()
        for index in range(self.size):
            threading.Thread(target=self._loop, name=f"athena-worker-{index}", daemon=True).start()

    def submit(
        self,
        job: Job,
        stopped: threading.Event,
        begin: Callable[[], bool],
        finish: Callable[[Outcome | None], None],
    ) -> None:
        """Queue a job. ``begin()`` is called when a worker takes it (False: skip it, it was
        stopped while queued); ``finish(outcome)`` when it ends (None: stopped while running)."""
        with self._ready:
            self._queue.append((job, stopped, begin, finish))
            self._ready.notify()

    def _loop(self) -> None:
        worker = Worker(self._context)
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                job, stopped, begin, finish = self._queue.pop(0)
            if not begin():
                continue
            finish(worker.run(job, stopped))
