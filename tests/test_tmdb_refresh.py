"""The daily refresh: the emulator's change clock and change list, and the run that follows it.

Real HTTP to the emulator, real objects in (server) moto S3; what should change is computed
from the edits the test schedules, not from the code under test.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
import httpx
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake import keys
from movielake.config import Settings
from movielake.local import synthetic
from movielake.local.tmdb_changes import ChangeLog
from movielake.local.tmdb_emulator import Emulator, synthetic_fixtures
from movielake.tmdb import run
from movielake.tmdb.changes import windows
from movielake.tmdb.cli import status_lines
from movielake.tmdb.credentials import Credentials

FILMS = 150
DAY1 = date(2027, 5, 1)
DAY2 = date(2027, 5, 2)
KEY = "refresh-key"
CREDENTIALS = Credentials(api_key=KEY)
FIXTURES = synthetic_fixtures(FILMS)


def at(day: date, hour: int) -> datetime:
    """``hour`` o'clock UTC of ``day``."""
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


@pytest.fixture
def clock() -> ChangeLog:
    """A change log of the fixtures' films, the clock at DAY1 00:00, unrelated ids listed daily."""
    ids = [p["id"] for p in FIXTURES.values()]
    return ChangeLog(ids, now=at(DAY1, 0), seed="test", unrelated_per_day=7)


@pytest.fixture
def emulator(clock: ChangeLog) -> Iterator[Emulator]:
    """The emulator serving the fixtures through that change log."""
    with Emulator(FIXTURES, KEY, changes=clock) as emu:
        yield emu


def changes(emu: Emulator, **params: str) -> httpx.Response:
    """One ``GET /3/movie/changes``."""
    return httpx.get(f"{emu.url}/3/movie/changes", params={"api_key": KEY, **params}, timeout=5)


def test_the_change_list_pages_what_the_clock_has_reached(emulator: Emulator, clock: ChangeLog) -> None:
    edited = sorted(p["id"] for p in FIXTURES.values())[:130]
    for tmdb_id in edited:
        clock.schedule(at(DAY2, 3), tmdb_id, revenue=123)
    window = {"start_date": DAY1.isoformat(), "end_date": DAY2.isoformat()}

    clock.set_clock(at(DAY2, 0))  # before any edit of DAY2: only DAY1's unrelated ids
    before = changes(emulator, **window).json()
    assert before["total_results"] == 7 and before["total_pages"] == 1

    clock.set_clock(at(DAY2, 23) + timedelta(minutes=59))
    first, second = changes(emulator, **window).json(), changes(emulator, page="2", **window).json()
    listed = [r["id"] for r in first["results"] + second["results"]]
    assert (first["total_results"], first["total_pages"], len(first["results"])) == (144, 2, 100)
    assert listed == sorted(listed) and set(edited) < set(listed)
    assert changes(emulator, page="3", **window).json()["results"] == []
    film = next(p for p in FIXTURES.values() if p["id"] == edited[0])
    body = httpx.get(f"{emulator.url}/3/movie/{film['imdb_id']}", params={"api_key": KEY}).json()
    assert body["revenue"] == 123 and body["vote_count"] == film["vote_count"]
    # The default window is the last 24 hours: DAY2 (and DAY1, still within them).
    assert changes(emulator).json()["total_results"] == 144


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"start_date": "2027-05-01", "end_date": "2027-05-16"}, 47),  # 15 days
        ({"start_date": "2027-05-02", "end_date": "2027-05-01"}, 47),  # backwards
        ({"start_date": "May 1"}, 47),
        ({"page": "0"}, 22),
        ({"page": "1001"}, 22),
    ],
)
def test_the_change_list_refuses_what_tmdb_refuses(emulator: Emulator, params: dict, code: int) -> None:
    answer = changes(emulator, **params)
    assert answer.status_code == 400
    assert answer.json()["status_code"] == code


def test_random_edits_are_deterministic_per_seed_and_move_the_bodies() -> None:
    ids = [p["id"] for p in FIXTURES.values()]
    one, two = (ChangeLog(ids, now=at(DAY2, 0), seed="s", daily_share=0.1, since=DAY1) for _ in range(2))
    other = ChangeLog(ids, now=at(DAY2, 0), seed="t", daily_share=0.1, since=DAY1)
    listed = one.changed_ids(DAY1, DAY2)
    assert listed == two.changed_ids(DAY1, DAY2) != other.changed_ids(DAY1, DAY2)
    assert 0.03 * len(ids) < len(listed) < 0.2 * len(ids)
    for payload in FIXTURES.values():
        body, edits = one.current(payload)
        assert (edits > 0) == (payload["id"] in listed)
        if edits:
            assert body["vote_count"] > payload["vote_count"]
            assert body["revenue"] >= payload["revenue"]


def test_windows_are_cut_into_requests_of_at_most_14_days() -> None:
    spans = windows(date(2027, 1, 1), date(2027, 1, 30))
    assert spans == [
        (date(2027, 1, 1), date(2027, 1, 14)),
        (date(2027, 1, 15), date(2027, 1, 28)),
        (date(2027, 1, 29), date(2027, 1, 30)),
    ]
    assert windows(DAY1, DAY1) == [(DAY1, DAY1)]


@pytest.fixture
def lake(moto_endpoint: str) -> Any:
    """The lake bucket with the films' CSV on DAY1 but the last ten (``land_day_two`` adds them)."""
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    first = "".join(synthetic.csv_text(list(synthetic.films(FILMS))[:-10])).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", DAY1), Body=first)
    return s3


def land_day_two(s3: Any) -> None:
    """DAY2's CSV: every film, ten of them new."""
    second = "".join(synthetic.csv_text(synthetic.films(FILMS))).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", DAY2), Body=second)


def config_for(emulator: Emulator, endpoint: str) -> Settings:
    """Every filter off, fast pacing."""
    return Settings(
        lake_bucket=LAKE_BUCKET,
        endpoint_url=endpoint,
        region=REGION,
        tmdb_base_url=emulator.url,
        tmdb_rate=2000.0,
        tmdb_max_attempts=2,
        min_year=None,
        min_votes=None,
        genres=(),
    )


def records_of(s3: Any, day: date) -> list[dict[str, Any]]:
    """The records of one run date's batches."""
    listed = s3.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=keys.tmdb_folder(day)).get("Contents", [])
    found = [o["Key"] for o in listed if keys.TMDB_DATED_BATCH_PATTERN.match(o["Key"])]
    body = b"".join(s3.get_object(Bucket=LAKE_BUCKET, Key=k)["Body"].read() for k in found)
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def test_day_two_fetches_the_edited_films_and_the_new_ones_and_raw_keeps_both(
    lake: Any, emulator: Emulator, clock: ChangeLog, moto_endpoint: str
) -> None:
    config = config_for(emulator, moto_endpoint)
    day1 = run.run(lake, config, DAY1, CREDENTIALS)
    assert day1["change_window"]["status"] == "first_run"
    assert (day1["new"], day1["refreshed"], day1["unchanged"]) == (FILMS - 10, 0, 0)
    fetched = {r["requested_id"]: r for r in records_of(lake, DAY1)}
    edited = sorted(fetched)[:5]
    for n, film in enumerate(edited):
        clock.schedule(at(DAY2, 1), fetched[film]["id"], revenue=1_000_000 * (n + 1))
    clock.set_clock(at(DAY2, 6))
    land_day_two(lake)
    day_one_requests = len(emulator.stats()["log"])

    day2 = run.run(lake, config, DAY2, CREDENTIALS)

    new = {f.imdb_id for f in list(synthetic.films(FILMS))[-10:]}
    unknown_before = {f.imdb_id for f in list(synthetic.films(FILMS))[:-10] if not synthetic.known_to_tmdb(f)}
    plan = run.load_plan(lake, LAKE_BUCKET, DAY2)
    assert plan is not None
    assert {i for b in plan.batches for i in b.ids} == set(edited) | new | unknown_before
    assert (day2["refreshed"], day2["new"]) == (5, len(new | unknown_before))
    assert day2["unchanged"] == day2["skipped"] == len(fetched) - 5
    assert day2["selected"] == day2["skipped"] + day2["fetched"] + day2["failed"]
    window = day2["change_window"]
    assert (window["status"], window["start"], window["end"]) == (
        "covered",
        DAY1.isoformat(),
        DAY2.isoformat(),
    )
    # TMDB lists more than our films (the unrelated ids of DAY1, and of DAY2 until 06:00).
    assert (window["listed"], window["edited"]) == (len(clock.changed_ids(DAY1, DAY2)), 5)
    assert window["listed"] >= 5 + 7
    requests = emulator.stats()["log"][day_one_requests:]
    assert [r["route"] for r in requests].count("changes") == window["requests"] == 1
    status = "\n".join(status_lines(lake, LAKE_BUCKET, DAY2))
    assert f"new {day2['new']}, refreshed 5, unchanged {day2['unchanged']}" in status
    assert f"change window {DAY1}..{DAY2} (since run {day1['run_id']})" in status
    refreshed = {r["requested_id"]: r for r in records_of(lake, DAY2) if r["requested_id"] in fetched}
    assert sorted(refreshed) == edited
    for n, film in enumerate(edited):  # Raw keeps both: the day-1 record and the new one
        assert fetched[film]["revenue"] != refreshed[film]["revenue"] == 1_000_000 * (n + 1)


def test_a_last_run_older_than_the_change_log_serves_refreshes_nothing_and_says_so(
    lake: Any, emulator: Emulator, moto_endpoint: str
) -> None:
    config = config_for(emulator, moto_endpoint)
    run.run(lake, config, DAY1, CREDENTIALS)
    later = DAY1 + timedelta(days=config.tmdb_change_days + 1)
    manifest = run.run(lake, config, later, CREDENTIALS)
    window = manifest["change_window"]
    assert window["status"] == "too_old" and "--refresh" in window["note"]
    assert manifest["refreshed"] == 0
    assert "changes" not in [r["route"] for r in emulator.stats()["log"]]


def test_a_window_past_page_1000_is_halved_and_a_failing_page_stops_the_plan() -> None:
    import asyncio

    from movielake.tmdb.client import ChangeListError, ClientOptions, list_changes

    asked: list[tuple[str, str, str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        start, end, page = (request.url.params[k] for k in ("start_date", "end_date", "page"))
        asked.append((start, end, page))
        days = (date.fromisoformat(end) - date.fromisoformat(start)).days + 1
        pages = 1500 if days > 2 else 2  # more than 1000 pages over more than two days
        ids = [int(start.replace("-", "")) * 10 + int(page)]
        return httpx.Response(
            200, json={"results": [{"id": i} for i in ids], "page": int(page), "total_pages": pages}
        )

    options = ClientOptions(base_url="http://tmdb.test", rate=1000.0, max_attempts=2, backoff_base=0.01)
    spans = [(date(2027, 1, 1), date(2027, 1, 4))]
    listing = asyncio.run(list_changes(spans, CREDENTIALS, options, transport=httpx.MockTransport(answer)))
    windows_asked = sorted({(s, e) for s, e, _ in asked})
    assert windows_asked == [
        ("2027-01-01", "2027-01-02"),
        ("2027-01-01", "2027-01-04"),
        ("2027-01-03", "2027-01-04"),
    ]
    assert listing.requests == listing.pages == len(asked) == 1 + 2 + 2
    assert len(listing.ids) == 4  # pages 1 and 2 of each half (the whole window's page 1 is the first's)

    def broken(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"status_code": 11})

    with pytest.raises(ChangeListError, match=re.escape("2027-01-01..2027-01-04 page 1 failed")):
        asyncio.run(list_changes(spans, CREDENTIALS, options, transport=httpx.MockTransport(broken)))
