"""The daily refresh: which films already in Raw were edited on TMDB since they were fetched.

TMDB publishes what changed (its guide *Tracking Changes* recommends following it to stay in
sync): ``GET /3/movie/changes?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD&page=N`` lists the
TMDB ids of every movie edited in the window (all of TMDB, not only ours: the list is
intersected with Raw), 100 a page, pages 1 to 1000, the last 24 hours by default and at most
14 days per request; the change log starts on 2012-10-05. ``client.list_changes`` reads it
through the fetch's own pacing and retries, so its requests count against the same rate.

**The window comes from Raw.** The newest manifest (the last run that completed) names its
run date; every film in Raw was fetched on or before that run. The window runs from that date
to this run's date, both included, asked in requests of at most 14 days. It starts on the last
run's date, not the day after, because TMDB dates its list by day, not by time: an edit made
that day after the film was fetched would otherwise be missed for good. The price is that a
film edited that day *before* the last run fetched it is fetched once more; the schedule runs
just after midnight UTC, so that is rare. The films of Raw the last run tried to refresh and
failed (its errors file) are tried again, since the window moves on without them.

**When the last run is too old** (its date before the change log began, or more than
``MOVIELAKE_TMDB_CHANGE_DAYS`` days, default 90, before this run), the change list is not
walked: the run fetches the new films, refreshes none, and says so (a warning log line, the
manifest's ``change_window.status`` ``too_old`` with a note, ``movielake tmdb status``). The
user then chooses ``--refresh``, which re-fetches every selected film at a known cost (films /
rate). Refreshing by release date instead was rejected: it would refresh recent films and
silently miss the corrections to older ones (budgets, revenues) that the questions read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from movielake.config import Settings
from movielake.log import event
from movielake.tmdb.client import ChangeListing, ClientOptions, list_changes
from movielake.tmdb.credentials import Credentials
from movielake.tmdb.writer import RawFilms, RunFolder

log = logging.getLogger(__name__)

CHANGE_LOG_START = date(2012, 10, 5)
# Days one change-list request spans, both ends included (TMDB serves at most 14).
WINDOW_DAYS = 14

ChangeLister = Callable[[list[tuple[date, date]]], ChangeListing]


@dataclass(frozen=True)
class Refresh:
    """The films of Raw to fetch again today, and what the plan and manifest say about why."""

    ids: frozenset[str]
    window: dict[str, Any] = field(default_factory=dict)
    quiet_at: float = 0.0  # when the change list's requests have left the rate window (monotonic)


def windows(start: date, end: date, span: int = WINDOW_DAYS) -> list[tuple[date, date]]:
    """``start``..``end`` cut into consecutive requests of at most ``span`` days each."""
    cuts = range(0, (end - start).days + 1, span)
    return [(start + timedelta(days=n), min(end, start + timedelta(days=n + span - 1))) for n in cuts]


def change_lister(credentials: Credentials, options: ClientOptions) -> ChangeLister:
    """A synchronous ``client.list_changes`` with these credentials and options."""
    return lambda spans: asyncio.run(list_changes(spans, credentials, options))


def previous_run(s3: Any, bucket: str, raw: RawFilms) -> dict[str, Any] | None:
    """The newest manifest's document (the last run that completed), if any."""
    if raw.newest_manifest is None:
        return None
    return RunFolder(s3, bucket, date.min).get_json(raw.newest_manifest)


def failed_refreshes(s3: Any, bucket: str, manifest: dict[str, Any], raw: RawFilms) -> set[str]:
    """The films of Raw in the last run's errors file: refreshes that did not happen."""
    key = manifest.get("errors_key")
    if not key:
        return set()
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    failed = {json.loads(line)["requested_id"] for line in body.splitlines() if line.strip()}
    return failed & raw.tmdb_ids.keys()


def plan_refresh(
    s3: Any,
    settings: Settings,
    day: date,
    raw: RawFilms,
    selected: Iterable[str],
    changes: ChangeLister | None,
) -> Refresh:
    """Which of the ``selected`` films in Raw to fetch again on ``day`` (module docstring)."""
    manifest = previous_run(s3, settings.lake_bucket, raw)
    if manifest is None:
        return Refresh(frozenset(), {"status": "first_run", "end": day.isoformat()})
    start = min(date.fromisoformat(manifest["run_date"]), day)
    window: dict[str, Any] = {
        "since_run": manifest["run_id"],
        "start": start.isoformat(),
        "end": day.isoformat(),
    }
    if changes is None:
        return Refresh(frozenset(), {**window, "status": "not_asked"})
    if start < CHANGE_LOG_START or (day - start).days > settings.tmdb_change_days:
        note = (
            f"the last completed run is of {start}, older than TMDB's change list serves here "
            f"(since {CHANGE_LOG_START}, at most MOVIELAKE_TMDB_CHANGE_DAYS={settings.tmdb_change_days} "
            "days back): no film in Raw was refreshed. Run `movielake tmdb fetch --refresh` (or the "
            'planner with {"refresh": true}) to fetch every selected film again.'
        )
        log.warning(note, extra={"fields": {"run_date": day.isoformat()}})
        return Refresh(frozenset(), {**window, "status": "too_old", "note": note})
    spans = windows(start, day)
    listing = changes(spans)
    chosen = set(selected)
    edited = {film for film, tmdb_id in raw.tmdb_ids.items() if tmdb_id in listing.ids} & chosen
    retried = failed_refreshes(s3, settings.lake_bucket, manifest, raw) & chosen
    window.update(
        status="covered",
        requests=listing.requests,
        pages=listing.pages,
        listed=len(listing.ids),
        edited=len(edited),
        retried=len(retried - edited),
    )
    event(log, "change list read", run_date=day.isoformat(), windows=len(spans), **window)
    return Refresh(frozenset(edited | retried), window, listing.quiet_at)
