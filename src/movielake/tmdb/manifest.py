"""A TMDB run's manifest: the completion report, checked to add up before it is written.

Every selected id is accounted for exactly once: selected = skipped + fetched + failed, where
the skipped are the films of Raw left unchanged and the planned (fetched + failed) are the new
films and the refreshed ones: selected = unchanged + new + refreshed. The
manifest tells the time spent fetching (``active_seconds``, the union of the fetch passes)
from the wall time since the plan (``wall_seconds``, which includes the time an interrupted
run lay dead).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from movielake.tmdb import records
from movielake.tmdb.errors import RunError
from movielake.tmdb.plan import Plan


def manifest_for(
    plan: Plan, markers: dict[int, dict[str, Any]], errors: list[dict[str, Any]]
) -> dict[str, Any]:
    """The completion report; raises ``RunError`` when the counts do not add up."""
    fetched = sum(m["fetched"] for m in markers.values())
    failed = len(errors)
    marked_failed = sum(m["failed"] for m in markers.values())
    failed_ids = [e["requested_id"] for e in errors]
    problems = []
    if plan.selected != plan.skipped + fetched + failed:
        problems.append(
            f"selected {plan.selected} != skipped {plan.skipped} + fetched {fetched} + failed {failed}"
        )
    if plan.new + plan.refreshed != plan.planned:
        problems.append(f"new {plan.new} + refreshed {plan.refreshed} != planned {plan.planned}")
    if marked_failed != failed:
        problems.append(f"done markers count {marked_failed} failures, the error parts hold {failed}")
    if len(set(failed_ids)) != failed:
        repeated = [i for i, n in Counter(failed_ids).items() if n > 1]
        problems.append(f"ids failed more than once: {repeated[:10]}")
    if problems:
        raise RunError(f"run {plan.run_id} of {plan.run_date} does not add up: " + "; ".join(problems))
    started = datetime.strptime(plan.run_id, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=UTC)
    finished = datetime.now(UTC)
    wall = (finished - started).total_seconds()
    active = active_seconds(markers.values())
    requests = sum(m["requests"] for m in markers.values())
    return {
        "run_id": plan.run_id,
        "run_date": plan.run_date.isoformat(),
        "source": plan.source,
        "filters": plan.filters,
        "refresh": plan.refresh,
        "selected": plan.selected,
        "skipped": plan.skipped,
        "new": plan.new,
        "refreshed": plan.refreshed,
        "unchanged": plan.skipped,
        "change_window": plan.change_window,
        "fetched": fetched,
        "failed": failed,
        "failed_by_reason": dict(sorted(Counter(e["reason"] for e in errors).items())),
        "batches": sorted(markers),
        "batch_count": len(markers),
        "requests": requests,
        "started_at": records.utc_timestamp(started),
        "completed_at": records.utc_timestamp(finished),
        "active_seconds": round(active, 3),
        "wall_seconds": round(wall, 3),
        "requests_per_second": round(requests / active, 2) if active > 0 else None,
    }


def active_seconds(markers: Iterable[dict[str, Any]]) -> float:
    """Seconds spent fetching: the union of the passes' spans, each from its start to its last
    batch written (a pass killed mid-way counts up to its last finished batch)."""
    ends: dict[str, str] = {}
    for marker in markers:
        start = marker.get("pass_started_at")
        if start:
            ends[start] = max(ends.get(start, start), marker["written_at"])
    total, reach = 0.0, None
    for start, end in sorted((_moment(a), _moment(b)) for a, b in ends.items()):
        if reach is None or start > reach:
            total += (end - start).total_seconds()
            reach = end
        elif end > reach:
            total += (end - reach).total_seconds()
            reach = end
    return total


def _moment(stamp: str) -> datetime:
    """A ``records.utc_timestamp`` back as a datetime."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
