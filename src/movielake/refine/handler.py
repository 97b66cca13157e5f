"""The ``refine`` Lambda: EventBridge invokes it when the TMDB crawler run succeeds.

It refines the lake on Athena through boto3, wherever it runs (the local stack's moto server
executes Athena as AWS does, with this function's role), and logs one JSON line at the start
and one with the manifest's figures at the end. A failed quality rule or query raises, so the
invocation counts as an error (the manifest says why) and the previous tables stay published.
"""

from __future__ import annotations

from typing import Any

from movielake.config import Settings
from movielake.log import event, lambda_logger
from movielake.refine.run import run_refine


def handler(lambda_event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refine once; returns the run id, status and rows out per table."""
    log = lambda_logger(__name__)
    detail = lambda_event.get("detail") or {}
    event(
        log,
        "refine started",
        trigger=lambda_event.get("detail-type", "direct invocation"),
        crawler=detail.get("crawlerName"),
        state=detail.get("state"),
    )
    try:
        manifest = run_refine(Settings.from_env(), "aws")
    except Exception:
        log.exception("refine failed; the previous tables stay published")
        raise
    rows = {table: figures["rows_out"] for table, figures in manifest["tables"].items()}
    event(
        log,
        "refine finished",
        run_id=manifest["run_id"],
        status=manifest["status"],
        rows_out=rows,
        skipped=manifest["skipped"],
        dropped=manifest["dropped"],
        duration_seconds=manifest["duration_seconds"],
    )
    return {"run_id": manifest["run_id"], "status": manifest["status"], "rows_out": rows}
