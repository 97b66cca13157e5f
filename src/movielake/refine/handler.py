"""The ``refine`` Lambda: EventBridge invokes it when the TMDB crawler run succeeds.

It refines the lake on Athena through boto3, wherever it runs (the local stack's moto server
executes Athena as AWS does, with this function's role), and logs one JSON line at the start
and one with the manifest's figures at the end.

- Deadline: the refine stops ``refine_deadline_margin_seconds`` before the invocation's end
  (``context.get_remaining_time_in_millis()``): its queries are stopped, its staging tables
  dropped, its manifest written with status ``timed_out``.
- One refine at a time: the function's reserved concurrency is 1 (Terraform), and the refine
  lease keeps a ``movielake refine`` beside it out; the handler waits for a held lease up to
  one and a half lease lengths (a dead holder's lease expires by then).
- Retries: Lambda's asynchronous retries are off for this function (Terraform); a failure
  that may pass (a query or API error) is retried here, up to ``refine_attempts`` whole runs,
  each with its own run id and manifest. A failed quality rule, a model error, a timeout and
  a held lease are not: rerunning the same data gives the same answer. Whatever failed in the
  end raises, so the invocation is an error and its event goes to the on-failure destination,
  whose alarm notifies; the previous tables stay published.
"""

from __future__ import annotations

from typing import Any

from movielake.config import Settings
from movielake.lease import LeaseHeldError
from movielake.log import event, lambda_logger
from movielake.refine.deadline import Deadline, DeadlineExceededError
from movielake.refine.models import ModelError
from movielake.refine.run import QualityError, run_refine

# Failures a second run of the same data would repeat.
NOT_RETRIED = (QualityError, ModelError, DeadlineExceededError, LeaseHeldError)


def handler(lambda_event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Refine once (retrying what may pass); returns the run id, status and rows out per table."""
    log = lambda_logger(__name__)
    settings = Settings.from_env()
    detail = lambda_event.get("detail") or {}
    event(
        log,
        "refine started",
        trigger=lambda_event.get("detail-type", "direct invocation"),
        crawler=detail.get("crawlerName"),
        state=detail.get("state"),
    )
    deadline = Deadline.from_context(context, settings.refine_deadline_margin_seconds)
    attempt = 0
    while True:
        attempt += 1
        wait = settings.refine_lease_seconds * 1.5
        try:
            manifest = run_refine(
                settings,
                "aws",
                deadline=deadline,
                wait_seconds=wait if deadline is None else min(wait, deadline.remaining() / 2),
            )
            break
        except NOT_RETRIED:
            log.exception("refine failed; not retried, the previous tables stay published")
            raise
        except Exception:
            retry = attempt < settings.refine_attempts and (deadline is None or not deadline.passed)
            log.exception(
                "refine failed (attempt %d of %d)%s",
                attempt,
                settings.refine_attempts,
                "; retrying" if retry else "; the previous tables stay published",
            )
            if not retry:
                raise
    rows = {table: figures["rows_out"] for table, figures in manifest["tables"].items()}
    event(
        log,
        "refine finished",
        run_id=manifest["run_id"],
        status=manifest["status"],
        attempts=attempt,
        rows_out=rows,
        skipped=manifest["skipped"],
        dropped=manifest["dropped"],
        duration_seconds=manifest["duration_seconds"],
    )
    return {"run_id": manifest["run_id"], "status": manifest["status"], "rows_out": rows}
