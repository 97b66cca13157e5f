"""A completed TMDB run's metrics (EMF, see ``movielake.metrics``), from its manifest.

Emitted once per run, by the process that completes it: ``TmdbRunCompleted`` (1), the ids
``IdsSelected``, ``IdsSkipped``, ``IdsFetched``, ``IdsFailed`` (and ``IdsFailed`` per
``reason``), ``Requests`` and the achieved rate ``RequestsPerSecond`` over the active time.
"""

from __future__ import annotations

from typing import Any

from movielake.metrics import emit

SERVICE = "tmdb"


def emit_run_metrics(manifest: dict[str, Any]) -> None:
    """Emit the metrics of one completed run (nothing outside a Lambda)."""
    rate = manifest.get("requests_per_second")
    emit(
        SERVICE,
        {
            "TmdbRunCompleted": 1,
            "IdsSelected": manifest["selected"],
            "IdsSkipped": manifest["skipped"],
            "IdsFetched": manifest["fetched"],
            "IdsFailed": manifest["failed"],
            "Requests": manifest["requests"],
        },
        rates={"RequestsPerSecond": rate} if rate is not None else None,
        breakdowns={"IdsFailed": ("reason", manifest["failed_by_reason"])},
    )
