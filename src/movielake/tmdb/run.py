"""A TMDB run: plan -> fetch -> write -> complete, shared by the CLI and both Lambdas.

* **plan**: select films from the newest movies CSV; of the ids already in Raw (any date),
  keep only those TMDB's change list says were edited since the last run (``changes``; all
  of them with ``refresh``) and skip the rest as unchanged; split the new and the refreshed
  into numbered batches continuing after the date folder's highest batch number, and write
  ``_run/plan.json`` first. An unfinished plan of the same date is resumed instead of replaced.
* **fetch/write**: one ``fetch_movies`` stream over the ids of the batches to do; as soon as a
  batch has all its outcomes it is written (``lote_N.json``, error part, done marker last)
  while the others are still being fetched. A batch with a done marker is never fetched again.
* **complete**: once every planned batch is done, merge the error parts into
  ``erros_geral.json``, check that every selected id is accounted for exactly once
  (selected = skipped + fetched + failed), write the manifest, start the crawler.

A 401/403 (``TmdbAuthError``) stops everything at once: the batch in flight is not written,
so no id is recorded as failed, and a rerun picks the batch up again. So does an outage
(``TmdbUnreachableError``): a whole batch in which no id got TMDB's answer (a movie body or
TMDB's JSON 404, ``Outcome.answered``) never reached TMDB: timeouts and refused connections,
but also a captive portal or a proxy's error page answering 200 or 404 with a body of its
own. Recording its films as failed would file the outage as a finished day.

Each done marker records when its fetch pass started, so the manifest can tell the time spent
fetching (``active_seconds``, the union of the passes) from the wall time since the plan
(``wall_seconds``, which includes the time an interrupted run lay dead).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from movielake import keys
from movielake.config import Settings
from movielake.log import event
from movielake.tmdb import records
from movielake.tmdb.changes import ChangeLister, Refresh, change_lister, plan_refresh
from movielake.tmdb.client import ClientOptions, Outcome, fetch_movies
from movielake.tmdb.credentials import Credentials
from movielake.tmdb.errors import PlanMismatchError, RunError, TmdbUnreachableError
from movielake.tmdb.lease import held
from movielake.tmdb.manifest import manifest_for
from movielake.tmdb.metrics import emit_run_metrics
from movielake.tmdb.plan import Batch, Plan, filter_changes, is_complete, load_plan, make_plan
from movielake.tmdb.selection import Filters, select_from_s3
from movielake.tmdb.writer import RunFolder, WrittenBatch, raw_films

log = logging.getLogger(__name__)

# A crawl running when a run completes is waited for, then followed by another (start_crawler).
CRAWLER_WAIT_SECONDS = 600.0
CRAWLER_POLL_SECONDS = 5.0

FetchFunction = Callable[[Iterable[str], Credentials, ClientOptions], AsyncIterator[Outcome]]


@dataclass
class FetchReport:
    """What one fetch pass did."""

    batches: int = 0
    fetched: int = 0
    failed: int = 0
    requests: int = 0
    seconds: float = 0.0
    # The batches this pass wrote, as written: completing the run needs not read them back.
    written: dict[int, WrittenBatch] = field(default_factory=dict)


def prepare(
    s3: Any, settings: Settings, day: date, *, refresh: bool = False, changes: ChangeLister | None = None
) -> Plan:
    """The plan to work on for ``day``: the unfinished one, or a new one written first.

    ``changes`` reads TMDB's change list (``changes.change_lister``); without it no film of
    Raw is refreshed (unless ``refresh``), and the plan's change window says ``not_asked``.

    An unfinished plan made with other filters is not resumed silently: the run stops with
    ``PlanMismatchError`` unless ``refresh`` asks for a new plan with these filters.
    """
    folder = RunFolder(s3, settings.lake_bucket, day)
    plan = load_plan(s3, settings.lake_bucket, day)
    filters = Filters.from_settings(settings)
    if plan is not None and not is_complete(folder, plan):
        changes = filter_changes(plan.filters, filters.as_dict())
        if changes and not refresh:
            raise PlanMismatchError(
                f"the unfinished run {plan.run_id} of {day} was planned with other filters "
                f"({'; '.join(changes)}): run again with its filters to resume it, or add "
                "--refresh to replace its plan with these filters"
            )
        if not changes:
            done = folder.done_numbers()
            event(
                log,
                "resuming unfinished plan",
                run_date=day.isoformat(),
                run_id=plan.run_id,
                batches=len(plan.batches),
                done=len(done & {b.number for b in plan.batches}),
            )
            return plan
    selection = select_from_s3(s3, settings, filters)
    raw = raw_films(s3, settings.lake_bucket)
    if refresh:
        again = Refresh(frozenset(raw.tmdb_ids), {"status": "refresh", "end": day.isoformat()})
    else:
        again = plan_refresh(s3, settings, day, raw, selection.ids, changes)
    first = max(folder.batch_numbers() | folder.done_numbers(), default=0) + 1
    plan = make_plan(
        selection,
        set(raw.tmdb_ids),
        day=day,
        first_number=first,
        batch_size=settings.tmdb_batch_size,
        filters=filters,
        refresh=refresh,
        again=again.ids,
        change_window=again.window,
    )
    folder.put_json(folder.plan_key, plan.to_json())
    # The change list's last requests leave the upstream rate window before any fetch begins.
    time.sleep(max(0.0, again.quiet_at - time.monotonic()))
    event(
        log,
        "plan written",
        run_date=day.isoformat(),
        run_id=plan.run_id,
        source=plan.source,
        source_bytes=selection.bytes_read,
        selected=plan.selected,
        skipped_unchanged=plan.skipped,
        planned=plan.planned,
        new=plan.new,
        refreshed=plan.refreshed,
        change_window=plan.change_window,
        batches=len(plan.batches),
        first_batch=first,
        filters=plan.filters,
    )
    return plan


def pending(folder: RunFolder, batches: Iterable[Batch]) -> list[Batch]:
    """The batches that have no done marker yet."""
    done = folder.done_numbers()
    return [b for b in batches if b.number not in done]


class _BatchAssembler:
    """Routes outcomes (in completion order) to their batches and says when one is whole."""

    def __init__(self, batches: Iterable[Batch]) -> None:
        self.batch_of: dict[str, Batch] = {}
        for batch in batches:
            for requested_id in batch.ids:
                if requested_id in self.batch_of:
                    first = self.batch_of[requested_id].number
                    raise RunError(f"id {requested_id} is planned twice (batches {first} and {batch.number})")
                self.batch_of[requested_id] = batch
        self.outcomes: dict[int, dict[str, Outcome]] = {}
        self.incomplete = {batch.number: batch for batch in self.batch_of.values()}

    def add(self, outcome: Outcome) -> tuple[Batch, list[Outcome]] | None:
        """File one outcome; the batch and its outcomes once the batch has all of them."""
        batch = self.batch_of.get(outcome.requested_id)
        if batch is None:
            raise RunError(f"the client answered for id {outcome.requested_id}, which no batch asked for")
        got = self.outcomes.setdefault(batch.number, {})
        if outcome.requested_id in got:
            raise RunError(f"the client answered twice for id {outcome.requested_id} (batch {batch.number})")
        got[outcome.requested_id] = outcome
        if len(got) < len(batch.ids):
            return None
        del self.outcomes[batch.number], self.incomplete[batch.number]
        return batch, [got[i] for i in batch.ids]

    def unfinished(self) -> dict[int, int]:
        """Batch number -> how many of its ids got no outcome."""
        return {n: len(b.ids) - len(self.outcomes.get(n, {})) for n, b in self.incomplete.items()}


def batch_documents(outcomes: list[Outcome]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Raw records and the error lines of one batch's outcomes."""
    fetched, failed = [], []
    for outcome in outcomes:
        stamp = records.utc_timestamp()
        if not outcome.ok:
            failed.append(
                records.error_record(
                    outcome.requested_id, str(outcome.reason), outcome.http_status, outcome.attempts, stamp
                )
            )
        elif outcome.payload is None:
            raise RunError(f"the client reported id {outcome.requested_id} fetched but gave no body")
        else:
            fetched.append(records.to_record(outcome.payload, outcome.requested_id, stamp))
    return fetched, failed


async def fetch_batches(
    folder: RunFolder,
    batches: list[Batch],
    credentials: Credentials,
    options: ClientOptions,
    *,
    fetch: FetchFunction = fetch_movies,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> FetchReport:
    """Fetch every id of ``batches`` in one stream and write each batch as soon as it is whole.

    Writes run in threads so fetching never waits for S3. If the stream fails (or is
    cancelled), the batches already whole are still written before the error propagates.
    """
    assembler = _BatchAssembler(batches)
    report = FetchReport()
    writes: list[asyncio.Task[None]] = []
    started = time.monotonic()
    pass_started_at = records.utc_timestamp()
    ids = [i for b in batches for i in b.ids]
    try:
        async for outcome in fetch(ids, credentials, options):
            if on_outcome is not None:
                on_outcome(outcome)
            report.requests += outcome.attempts
            whole = assembler.add(outcome)
            if whole is None:
                continue
            batch, outcomes = whole
            if not any(o.answered for o in outcomes):
                raise TmdbUnreachableError(unreached_message(batch, outcomes, options))
            fetched, failed = batch_documents(outcomes)
            done = {
                "number": batch.number,
                "ids": len(batch.ids),
                "fetched": len(fetched),
                "failed": len(failed),
                "requests": sum(o.attempts for o in outcomes),
                "pass_started_at": pass_started_at,
                "written_at": records.utc_timestamp(),
            }
            writes.append(
                asyncio.create_task(
                    asyncio.to_thread(folder.write_batch, batch.number, fetched, failed, done)
                )
            )
            report.batches += 1
            report.fetched += len(fetched)
            report.failed += len(failed)
    finally:
        results = await asyncio.gather(*writes, return_exceptions=True)
        report.seconds = time.monotonic() - started
    errors = [r for r in results if isinstance(r, BaseException)]
    report.written = {w.done["number"]: w for w in results if isinstance(w, WrittenBatch)}
    if errors:
        raise RunError(f"{len(errors)} batch write(s) failed; first: {errors[0]!r}") from errors[0]
    unfinished = assembler.unfinished()
    if unfinished:
        raise RunError(
            f"the client gave no outcome for some ids of batches {sorted(unfinished)}: {unfinished}"
        )
    return report


def unreached_message(batch: Batch, outcomes: list[Outcome], options: ClientOptions) -> str:
    """Why the run stopped on an outage, and what to do."""
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(Counter(o.reason for o in outcomes).items()))
    return (
        f"no request for the {len(outcomes)} ids of batch {batch.number} got an answer from TMDB "
        f"at {options.base_url} ({reasons}, after up to {options.max_attempts} attempts each): "
        "TMDB or the network is down, something in between answers in TMDB's place (a captive "
        "portal, a proxy's error page), or MOVIELAKE_TMDB_BASE_URL is wrong. No film was marked "
        "failed; run the same command again to resume."
    )


# The parameters of fetch_batches, whose synchronous entry point this is.
def execute(
    s3: Any,
    settings: Settings,
    plan: Plan,
    batches: list[Batch],
    credentials: Credentials,
    options: ClientOptions,
    *,
    fetch: FetchFunction = fetch_movies,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> FetchReport:
    """Fetch and write ``batches`` of ``plan`` (sync entry point; see ``pending``)."""
    folder = RunFolder(s3, settings.lake_bucket, plan.run_date)
    todo = list(batches)
    if not todo:
        return FetchReport()
    event(log, "fetching", run_id=plan.run_id, batches=len(todo), ids=sum(len(b.ids) for b in todo))
    # The SDK's service models, the imported modules and the plan live for the whole fetch:
    # frozen, the collector's full passes skip them. Scanning them (~80,000 objects, ~40 ms)
    # stalled the event loop mid-cadence, and two requests then left one slot apart.
    gc.freeze()
    try:
        report = asyncio.run(
            fetch_batches(folder, todo, credentials, options, fetch=fetch, on_outcome=on_outcome)
        )
    finally:
        gc.unfreeze()
    if report.written:
        folder.write_pass(report.written)
    event(
        log,
        "fetched",
        run_id=plan.run_id,
        batches=report.batches,
        fetched=report.fetched,
        failed=report.failed,
        requests=report.requests,
        seconds=round(report.seconds, 3),
        requests_per_second=round(report.requests / report.seconds, 2) if report.seconds else None,
    )
    return report


def complete(
    s3: Any, settings: Settings, plan: Plan, *, glue: Any = None, report: FetchReport | None = None
) -> dict[str, Any] | None:
    """Finish the run if every planned batch is done; the manifest, or None if not yet.

    Workers finishing together may both write the (same) errors file and manifest; only the
    one that creates ``_run/completed/<run id>.json`` (an S3 conditional write) logs the
    completion and starts the crawler. The batches this process just wrote (``report``, its
    fetch pass) are taken from it, the others from the passes' summaries (``RunFolder.written_batches``).
    """
    folder = RunFolder(s3, settings.lake_bucket, plan.run_date)
    numbers = [b.number for b in plan.batches]
    etags = folder.done_etags()
    if set(numbers) - etags.keys():
        return None
    if is_complete(folder, plan):
        return folder.manifest()
    batches = folder.written_batches(numbers, etags, report.written if report else {})
    markers = {n: w.done for n, w in batches.items()}
    errors = sorted((line for w in batches.values() for line in w.errors), key=lambda e: e["requested_id"])
    try:
        manifest = manifest_for(plan, markers, errors)
    except RunError:
        log.exception("conservation check failed")
        raise
    manifest["errors_key"] = folder.write_errors(errors)
    manifest["manifest_key"] = keys.tmdb_manifest_key(plan.run_date)
    folder.write_manifest(manifest)
    if not folder.put_once(folder.completed_key(plan.run_id), {"completed_at": manifest["completed_at"]}):
        return manifest
    event(log, "run complete", **{k: v for k, v in manifest.items() if k != "batches"})
    emit_run_metrics(manifest)
    if settings.tmdb_crawler and glue is not None:
        start_crawler(glue, settings.tmdb_crawler)
    return manifest


def start_crawler(
    glue: Any,
    name: str,
    *,
    wait_seconds: float = CRAWLER_WAIT_SECONDS,
    poll_seconds: float = CRAWLER_POLL_SECONDS,
) -> None:
    """Start the TMDB crawler, after the crawl already running if there is one.

    A crawl that started before this run's last batch was written is not guaranteed to catalog
    it (it may have listed the folder already), so it is followed by another: wait (polling
    ``GetCrawler``) until the crawler is ``READY`` again, then start it. If someone else started
    it meanwhile, that crawl began after the data landed and is enough. Raises ``RunError`` when
    the running crawl outlasts ``wait_seconds``: the run is written but not yet cataloged.
    """
    deadline = time.monotonic() + wait_seconds
    waited = False
    while True:
        try:
            glue.start_crawler(Name=name)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "CrawlerRunningException":
                raise
            if waited:  # started by someone else after our data landed
                event(log, "crawler restarted by another run", crawler=name)
                return
            event(log, "crawler already running; crawling again once it ends", crawler=name)
            _wait_until_ready(glue, name, deadline, poll_seconds)
            waited = True
            continue
        event(log, "crawler started", crawler=name, after_running_crawl=waited)
        return


def _wait_until_ready(glue: Any, name: str, deadline: float, poll_seconds: float) -> None:
    """Poll the crawler until it is ``READY``; ``RunError`` past ``deadline``."""
    while (state := glue.get_crawler(Name=name)["Crawler"]["State"]) != "READY":
        if time.monotonic() >= deadline:
            raise RunError(
                f"crawler {name} was already running when the run completed and is still {state}: "
                "the new batches may not be cataloged. Run `movielake crawl` once it is READY."
            )
        time.sleep(poll_seconds)


def run(
    s3: Any,
    settings: Settings,
    day: date,
    credentials: Credentials,
    *,
    refresh: bool = False,
    glue: Any = None,
    fetch: FetchFunction = fetch_movies,
    on_plan: Callable[[Plan, list[Batch]], None] | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    wait_seconds: float = 0.0,
) -> dict[str, Any]:
    """The whole run in this process, holding the date's lease (``LeaseHeldError`` when another
    run holds it for longer than ``wait_seconds``): plan (or resume), fetch what is not done,
    complete."""
    with held(s3, settings.lake_bucket, day, settings.tmdb_lease_seconds, wait_seconds=wait_seconds):
        return _run_held(s3, settings, day, credentials, refresh, glue, fetch, on_plan, on_outcome)


def _run_held(
    s3: Any,
    settings: Settings,
    day: date,
    credentials: Credentials,
    refresh: bool,
    glue: Any,
    fetch: FetchFunction,
    on_plan: Callable[[Plan, list[Batch]], None] | None,
    on_outcome: Callable[[Outcome], None] | None,
) -> dict[str, Any]:
    """``run`` once the lease is held."""
    options = ClientOptions.from_settings(settings)
    plan = prepare(s3, settings, day, refresh=refresh, changes=change_lister(credentials, options))
    folder = RunFolder(s3, settings.lake_bucket, day)
    todo = pending(folder, plan.batches)
    if on_plan is not None:
        on_plan(plan, todo)
    report = execute(
        s3,
        settings,
        plan,
        todo,
        credentials,
        options,
        fetch=fetch,
        on_outcome=on_outcome,
    )
    manifest = complete(s3, settings, plan, glue=glue, report=report)
    if manifest is None:
        raise RunError(f"run {plan.run_id} of {day} has batches without a done marker after fetching")
    return manifest
