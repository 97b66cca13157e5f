"""The TMDB Lambdas: ``plan`` (planner) and ``work`` (SQS worker), over ``movielake.tmdb.run``.

The planner selects, detects gaps and writes the plan. A small plan that fits in the time
left runs in the same invocation; a larger one goes out as SQS messages of up to
``tmdb_ids_per_message`` ids each, whole batches only, in whole rounds of the workers and of
even sizes (``message_count``). Each worker invocation fetches the
batches of its messages that are not done yet (a redelivered message rewrites nothing) and
completes the run when it finds every batch done. Failed messages are reported back to SQS
(``batchItemFailures``) so only they are retried; the dead-letter queue after N receives is
Terraform's.
"""

from __future__ import annotations

import json
import logging
import math
from datetime import UTC, date, datetime
from typing import Any

from movielake import aws
from movielake.config import Settings
from movielake.log import event, lambda_logger
from movielake.tmdb import run
from movielake.tmdb.client import ClientOptions, TmdbAuthError
from movielake.tmdb.credentials import Credentials, load_credentials
from movielake.tmdb.errors import RunError, TmdbUnreachableError
from movielake.tmdb.lease import held
from movielake.tmdb.plan import Batch, Plan, load_plan

log = logging.getLogger(__name__)

# Seconds kept free at the end of an inline run (completion, crawler, slow S3) and the
# factor on the paced fetch time for retries and the tail of the stream.
INLINE_MARGIN_SECONDS = 60.0
INLINE_SLOWDOWN = 1.5
SQS_BATCH_LIMIT = 10
# SendMessageBatch: the sum of the bodies' lengths in one call (SQS API reference: 1 MiB).
SQS_BATCH_BYTES = 1_048_576


def run_date(value: str | None) -> date:
    """The event's ``date`` (YYYY-MM-DD), else today in UTC."""
    if not value:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"date {value!r} is not YYYY-MM-DD") from None


def fits_inline(ids: int, settings: Settings, context: Any) -> bool:
    """Whether ``ids`` are few enough, and the invocation has time enough, to fetch them here."""
    if ids > settings.tmdb_ids_per_message:
        return False
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return True
    needed = ids / settings.tmdb_rate * INLINE_SLOWDOWN + INLINE_MARGIN_SECONDS
    return remaining() / 1000 >= needed


def message_count(batches: int, settings: Settings) -> int:
    """How many messages to make of ``batches`` batches: none above ``tmdb_ids_per_message`` ids,
    and a multiple of the worker count (at least one each), since each worker has only its
    share of the rate: with 50 messages for 4 workers, two workers would idle through the
    whole last round while the other two fetch it."""
    workers = max(1, settings.tmdb_workers)
    per_message = max(1, settings.tmdb_ids_per_message // settings.tmdb_batch_size)
    needed = max(workers, math.ceil(batches / per_message))
    return max(1, min(batches, math.ceil(needed / workers) * workers))


def messages(plan: Plan, batches: list[Batch], count: int) -> list[dict[str, Any]]:
    """Split the batches, in order, into ``count`` message bodies of as many batches each as
    can be (the sizes differ by one batch at most, the larger ones first)."""
    size, larger = divmod(len(batches), count)
    groups: list[list[Batch]] = []
    start = 0
    for number in range(count):
        end = start + size + (1 if number < larger else 0)
        groups.append(batches[start:end])
        start = end
    return [
        {
            "run_date": plan.run_date.isoformat(),
            "run_id": plan.run_id,
            "batches": [{"number": b.number, "ids": list(b.ids)} for b in group],
        }
        for group in groups
        if group
    ]


def send_groups(bodies: list[str]) -> list[list[int]]:
    """The message bodies' indexes grouped for ``SendMessageBatch``: at most ten a call, and
    at most ``SQS_BATCH_BYTES`` of bodies in all (a message has ``tmdb_ids_per_message`` ids
    and ten messages of 10,000 ids are ~1.1 MB: SQS refuses the whole call)."""
    groups: list[list[int]] = []
    size = 0
    for index, body in enumerate(bodies):
        length = len(body.encode())
        if not groups or len(groups[-1]) == SQS_BATCH_LIMIT or size + length > SQS_BATCH_BYTES:
            groups.append([])
            size = 0
        groups[-1].append(index)
        size += length
    return groups


def enqueue(sqs: Any, queue_url: str, bodies: list[dict[str, Any]]) -> int:
    """Send the message bodies, grouped as ``send_groups`` says; raises naming the batches SQS
    refused."""
    texts = [json.dumps(body) for body in bodies]
    for group in send_groups(texts):
        entries = [{"Id": str(n), "MessageBody": texts[n]} for n in group]
        answer = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        if answer.get("Failed"):
            refused = [
                [b["number"] for b in bodies[int(f["Id"])]["batches"]] + [f.get("Message", f.get("Code"))]
                for f in answer["Failed"]
            ]
            raise RuntimeError(f"SQS refused messages for batches {refused}")
    return len(bodies)


def start(
    settings: Settings, day: date, *, refresh: bool, inline: bool | None, context: Any = None
) -> dict[str, Any]:
    """Plan (or resume) ``day``'s run, then fetch inline or fan out; a summary of what was done.

    ``inline=None`` decides: inline when no queue is configured or the ids fit this invocation.
    The date's lease is held meanwhile (``LeaseHeldError`` when another run holds it); the
    workers of a fan-out do not take it: they share one run by design.
    """
    session = aws.session(settings)
    s3 = aws.client("s3", settings, within=session)
    with held(s3, settings.lake_bucket, day, settings.tmdb_lease_seconds):
        return _start_held(session, s3, settings, day, refresh=refresh, inline=inline, context=context)


def _start_held(
    session: Any, s3: Any, settings: Settings, day: date, *, refresh: bool, inline: bool | None, context: Any
) -> dict[str, Any]:
    """``start`` once the lease is held; ``session`` makes the other clients."""
    glue = glue_client(settings, session)
    credentials = tmdb_credentials(settings, session)
    options = ClientOptions.from_settings(settings)
    changes = run.change_lister(credentials, options)
    the_plan = run.prepare(s3, settings, day, refresh=refresh, changes=changes)
    todo = run.pending(run.RunFolder(s3, settings.lake_bucket, day), the_plan.batches)
    ids = sum(len(b.ids) for b in todo)
    if inline is None:
        inline = not settings.tmdb_queue_url or fits_inline(ids, settings, context)
    summary: dict[str, Any] = {
        "run_date": day.isoformat(),
        "run_id": the_plan.run_id,
        "selected": the_plan.selected,
        "skipped": the_plan.skipped,
        "new": the_plan.new,
        "refreshed": the_plan.refreshed,
        "change_window": the_plan.change_window,
        "pending_batches": len(todo),
        "pending_ids": ids,
        "mode": "inline" if inline else "queue",
    }
    report: run.FetchReport | None = None
    if inline:
        event(log, "running inline", **summary)
        report = run.execute(s3, settings, the_plan, todo, credentials, options)
    elif todo:
        settings.require("tmdb_queue_url")
        bodies = messages(the_plan, todo, message_count(len(todo), settings))
        sqs = aws.client("sqs", settings, within=session)
        summary["messages"] = enqueue(sqs, settings.tmdb_queue_url, bodies)
        event(log, "fanned out", **summary)
    summary["manifest"] = run.complete(s3, settings, the_plan, glue=glue, report=report)
    return summary


def plan(event_: dict[str, Any], context: Any) -> dict[str, Any]:
    """Planner Lambda: select + gap detection + the change list (films of Raw edited on TMDB
    since the last run) + plan, then run inline or fan out through SQS.

    Event overrides: ``{"date": "YYYY-MM-DD", "refresh": bool, "inline": bool}``.
    """
    lambda_logger(__name__)
    event_ = event_ or {}
    settings = Settings.from_env()
    settings.require("lake_bucket")
    day = run_date(event_.get("date"))
    return start(
        settings,
        day,
        refresh=bool(event_.get("refresh", False)),
        inline=event_.get("inline"),
        context=context,
    )


def glue_client(settings: Settings, session: Any) -> Any:
    """A Glue client of ``session`` when a crawler is configured, else None (nothing to start).

    A run's clients share one session: a client of a new session costs ~60 ms more (its
    service models and credentials are loaded again), paid before the first request.
    """
    return aws.client("glue", settings, within=session) if settings.tmdb_crawler else None


def tmdb_credentials(settings: Settings, session: Any) -> Credentials:
    """The TMDB credentials, from Secrets Manager (a client of ``session``) unless a local key is set."""
    secrets = None if settings.tmdb_api_key else aws.client("secretsmanager", settings, within=session)
    return load_credentials(settings, secrets)


def work_message(
    s3: Any, settings: Settings, body: dict[str, Any], credentials: Credentials, glue: Any
) -> None:
    """Fetch and write the message's batches that are not done, then try to complete the run."""
    day = date.fromisoformat(body["run_date"])
    the_plan = load_plan(s3, settings.lake_bucket, day)
    if the_plan is None:
        raise RunError(f"no plan for {day}: the message for batches {[b['number'] for b in body['batches']]}")
    batches = [Batch(int(b["number"]), tuple(b["ids"])) for b in body["batches"]]
    todo = run.pending(run.RunFolder(s3, settings.lake_bucket, day), batches)
    event(log, "message", run_date=day.isoformat(), batches=len(batches), pending=len(todo))
    report = run.execute(s3, settings, the_plan, todo, credentials, ClientOptions.from_settings(settings))
    run.complete(s3, settings, the_plan, glue=glue, report=report)


def work(event_: dict[str, Any], context: Any) -> dict[str, Any]:
    """Worker: one SQS event; reports the messages that failed so SQS retries only them.

    A 401/403, or an outage (no id of a batch got TMDB's answer), fails the message in hand and
    every one after it without trying them; SQS redelivers them later.
    """
    lambda_logger(__name__)
    settings = Settings.from_env()
    settings.require("lake_bucket")
    session = aws.session(settings)
    s3 = aws.client("s3", settings, within=session)
    glue = glue_client(settings, session)
    credentials: Credentials | None = None
    failures: list[dict[str, str]] = []
    records = event_.get("Records", [])
    for position, record in enumerate(records):
        message_id = record.get("messageId", str(position))
        try:
            credentials = credentials or tmdb_credentials(settings, session)
            work_message(s3, settings, json.loads(record["body"]), credentials, glue)
        except (TmdbAuthError, TmdbUnreachableError) as exc:
            log.error(
                "TMDB refused the credentials or is unreachable; stopping",
                extra={"fields": {"error": str(exc)}},
            )
            failures.extend(
                {"itemIdentifier": r.get("messageId", str(n))} for n, r in enumerate(records) if n >= position
            )
            break
        except Exception:
            log.exception("message failed", extra={"fields": {"message_id": message_id}})
            failures.append({"itemIdentifier": message_id})
    return {"batchItemFailures": failures}
