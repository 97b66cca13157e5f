"""A TMDB that changes over time, for the emulator: a clock, edits, and the change list.

What this stands in for (TMDB's API reference, *Changes*, and its guide *Tracking Changes*):

* ``GET /3/movie/changes?start_date=YYYY-MM-DD&end_date=YYYY-MM-DD&page=N`` lists the TMDB ids
  of the movies edited in the window, ``{"results": [{"id": 550, "adult": false}, ...],
  "page": 1, "total_pages": N, "total_results": M}``: the last 24 hours by default, at most 14
  days per request, 100 results a page, pages 1 to 1000. It lists every movie edited on TMDB,
  not only the ones a client holds, and only edits since 2012-10-05 (when the change log began).
* The reference does not say what a window longer than 14 days answers; the emulator refuses
  it the way TMDB refuses invalid input (HTTP 400, ``status_code`` 47), and a page outside
  1..1000 with HTTP 400 ``status_code`` 22: the strict reading, so a client that would ask for
  more must split its window. Both dates are whole UTC days, both included.

The model: a clock (``now``, UTC, set by the test or bench), and edits, each at a moment, to
one film's fields. An edit is visible once the clock has reached its moment: the film's body
then carries it, and the change list lists the film under the edit's date. Edits come from
two sources, both deterministic:

* ``schedule``: "at this moment, film X's revenue becomes V" (the tests' "on day 2, these
  films change");
* a daily share of the films (``daily_share``, chosen by a hash of seed, day and id), each
  edited once that day at a moment the hash picks: revenue grows, votes accrue, popularity
  drifts, and one budget in ten is corrected. ``unrelated_per_day`` more ids, of movies the
  emulator does not serve, are listed each day, as TMDB lists movies no client asked about.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

PAGE_SIZE = 100
MAX_PAGES = 1000
MAX_WINDOW_DAYS = 14
CHANGE_LOG_START = date(2012, 10, 5)
INVALID_INPUT = {"success": False, "status_code": 47, "status_message": "The input is not valid."}
INVALID_PAGE = {
    "success": False,
    "status_code": 22,
    "status_message": "Invalid page: Pages start at 1 and max at 1000. They are expected to be an integer.",
}
# Ids of the movies TMDB edits that the emulator does not serve (above any synthetic id).
UNRELATED_IDS = 90_000_000
# Seconds into its day a random edit happens: never at midnight sharp, when daily runs start.
EDIT_SECONDS = (60, 86_340)


def _utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive one is taken as UTC already."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _unit(text: str) -> float:
    """A uniform number in [0, 1) fixed by the text."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Edit:
    """One edit of one film: the fields it sets, or (``fields`` None) a drift drawn from the seed."""

    at: datetime
    tmdb_id: int
    fields: Mapping[str, Any] | None = None


def drifted(body: dict[str, Any], key: str) -> dict[str, Any]:
    """The fields a random edit (``key`` seeds it) sets, from the film's current body."""
    changed: dict[str, Any] = {}
    revenue = body.get("revenue") or 0
    if revenue > 0:
        changed["revenue"] = round(revenue * (1 + 0.2 * _unit(f"{key}:revenue")))
    votes = body.get("vote_count") or 0
    changed["vote_count"] = votes + 1 + int(votes * 0.05 * _unit(f"{key}:votes"))
    changed["popularity"] = round((body.get("popularity") or 1.0) * (0.8 + 0.45 * _unit(f"{key}:pop")), 3)
    budget = body.get("budget") or 0
    if budget > 0 and _unit(f"{key}:budget") < 0.1:
        changed["budget"] = round(budget * (0.9 + 0.2 * _unit(f"{key}:budget-by")))
    return changed


@dataclass
class ChangeLog:
    """The clock and the edits of an emulated TMDB (see the module docstring)."""

    tmdb_ids: Iterable[int]
    now: datetime
    seed: str = "changes"
    daily_share: float = 0.0
    unrelated_per_day: int = 0
    since: date | None = None  # first day of random edits (default: the clock's first day)
    _ids: list[int] = field(init=False)
    _scheduled: list[Edit] = field(init=False, default_factory=list)
    _days: dict[date, list[Edit]] = field(init=False, default_factory=dict)
    _lock: threading.Lock = field(init=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._ids = sorted(set(self.tmdb_ids))
        self.now = _utc(self.now)
        self.since = self.since or self.now.date()

    def schedule(self, at: datetime, tmdb_id: int, **fields: Any) -> None:
        """Edit film ``tmdb_id`` at ``at``: its body then says ``fields``."""
        with self._lock:
            self._scheduled.append(Edit(_utc(at), int(tmdb_id), dict(fields)))

    def set_clock(self, now: datetime) -> None:
        """Move the clock (forward or back): edits up to ``now`` are visible."""
        self.now = _utc(now)

    def daily_edits(self, day: date) -> list[Edit]:
        """The random edits of one day (none before ``since``), each at its hashed moment."""
        if self.daily_share <= 0 and self.unrelated_per_day <= 0:
            return []
        assert self.since is not None
        if day < self.since:
            return []
        with self._lock:
            found = self._days.get(day)
        if found is not None:
            return found
        chosen = [i for i in self._ids if self._edited(day, i)]
        unrelated = [
            UNRELATED_IDS + (day - CHANGE_LOG_START).days * 10_000 + n for n in range(self.unrelated_per_day)
        ]
        found = [Edit(self._moment(day, i), i) for i in chosen]
        found += [Edit(self._moment(day, i), i, {}) for i in unrelated]
        with self._lock:
            self._days[day] = found
        return found

    def _edited(self, day: date, tmdb_id: int) -> bool:
        """Whether the seed picks this film for a random edit on ``day``."""
        return _unit(f"{self.seed}:{day}:{tmdb_id}") < self.daily_share

    def _moment(self, day: date, tmdb_id: int) -> datetime:
        """When on ``day`` the film's random edit happens."""
        low, high = EDIT_SECONDS
        offset = low + int((high - low) * _unit(f"{self.seed}:{day}:{tmdb_id}:at"))
        return datetime.combine(day, time(), UTC) + timedelta(seconds=offset)

    def film_edits(self, tmdb_id: int) -> list[Edit]:
        """One film's edits the clock has reached, in time order (its days only: no scan of all)."""
        assert self.since is not None
        with self._lock:
            found = [e for e in self._scheduled if e.tmdb_id == tmdb_id]
        if self.daily_share > 0:
            days = range((self.now.date() - self.since).days + 1)
            picked = (self.since + timedelta(days=n) for n in days)
            found += [Edit(self._moment(d, tmdb_id), tmdb_id) for d in picked if self._edited(d, tmdb_id)]
        return sorted((e for e in found if e.at <= self.now), key=lambda e: e.at)

    def visible(self, start: date, end: date) -> list[Edit]:
        """The edits dated ``start``..``end`` (both included) that the clock has reached."""
        with self._lock:
            scheduled = list(self._scheduled)
        days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
        random = (edit for day in days for edit in self.daily_edits(day))
        return [e for e in (*scheduled, *random) if start <= e.at.date() <= end and e.at <= self.now]

    def changed_ids(self, start: date, end: date) -> list[int]:
        """The ids edited in ``start``..``end``, ascending (as the change list pages them)."""
        return sorted({e.tmdb_id for e in self.visible(max(start, CHANGE_LOG_START), end)})

    def current(self, payload: dict[str, Any]) -> tuple[dict[str, Any], int]:
        """The film's body as of the clock, and how many edits it carries (a cache version)."""
        tmdb_id = payload.get("id")
        edits = self.film_edits(tmdb_id) if isinstance(tmdb_id, int) else []
        if not edits:
            return payload, 0
        body = dict(payload)
        for edit in edits:
            body.update(
                edit.fields if edit.fields is not None else drifted(body, f"{self.seed}:{edit.at}:{tmdb_id}")
            )
        return body, len(edits)

    def answer(self, query: Mapping[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """The status and body of ``GET /3/movie/changes`` with this query."""
        try:
            start, end = self.window(query)
            page = int(query.get("page", ["1"])[0])
        except ValueError:
            return 400, INVALID_INPUT
        if (end - start).days > MAX_WINDOW_DAYS or end < start:
            return 400, INVALID_INPUT
        if not 1 <= page <= MAX_PAGES:
            return 400, INVALID_PAGE
        ids = self.changed_ids(start, end)
        shown = ids[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
        return 200, {
            "results": [{"id": i, "adult": False} for i in shown],
            "page": page,
            "total_pages": -(-len(ids) // PAGE_SIZE),
            "total_results": len(ids),
        }

    def window(self, query: Mapping[str, list[str]]) -> tuple[date, date]:
        """The query's days; the last 24 hours (as days) when it gives none."""
        start = query.get("start_date", [""])[0]
        end = query.get("end_date", [""])[0]
        last = date.fromisoformat(end) if end else self.now.date()
        first = date.fromisoformat(start) if start else (self.now - timedelta(hours=24)).date()
        return first, last
