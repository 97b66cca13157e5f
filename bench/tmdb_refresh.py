"""Benchmark: the daily refresh from TMDB's change list, day after day.

A fresh moto server and a TMDB emulator (child processes) serving ``synthetic.films(--films)``
at ``--rate`` requests per sliding second. The emulator's change clock edits ``--share`` of
the films each day (revenue, votes, popularity, now and then the budget), each at a moment
within its day, and lists ``--unrelated`` more ids a day of movies nobody here holds, as TMDB's
change list does. Every filter is off: all films are selected. The run is the CLI's
(``movielake.tmdb.run.run``, the code ``movielake tmdb fetch`` runs), once per day at 00:00
UTC of the emulator's clock:

* day 1 fetches every film (the first run: nothing to refresh);
* each following day, the change list is read for the window Raw gives (the previous run's
  date to today) and the edited films are fetched again.

Per refresh day it prints: the films edited since the previous run (computed from the
emulator's own model with the same seed, not from the run), the films the run refreshed,
how many unchanged films it re-fetched and how many edited ones it missed; the change-list
requests against the day's requests (all the emulator accepted that day) and against a
whole day at the rate (``rate x 86,400``); and the fetch's rate as a share of the limit
(the manifest's requests over its active seconds, and the emulator's accepted fetch requests
between the first and the last). With ``--repeat K`` the medians of K
whole runs.

    .venv/bin/python bench/tmdb_refresh.py --films 10000 --share 0.02 --days 3 --rate 200 --repeat 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import urllib.request
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import boto3
from tmdb_fetch import emulator_process

from movielake import keys
from movielake.config import Settings
from movielake.local import synthetic
from movielake.local.server import temporary_moto
from movielake.local.tmdb_changes import ChangeLog
from movielake.local.tmdb_emulator import synthetic_fixtures
from movielake.tmdb import run
from movielake.tmdb.credentials import Credentials

API_KEY = "bench-key"
BUCKET = "bench-lake"
REGION = "us-east-1"
FIRST_DAY = date(2030, 6, 1)
SEED = "bench"
TARGETS = {"fetch_share": 0.95, "change_share_of_day": 0.02}


def midnight(day: date) -> datetime:
    """00:00 UTC of ``day``: when the daily schedule runs."""
    return datetime.combine(day, time(), UTC)


def emulator(args: argparse.Namespace) -> contextlib.AbstractContextManager[str]:
    """The emulator in a child process, its change clock at day 1's midnight; its base URL."""
    return emulator_process(
        "--synthetic",
        str(args.films),
        "--rate",
        str(args.rate),
        "--change-share",
        str(args.share),
        "--change-seed",
        SEED,
        "--unrelated-per-day",
        str(args.unrelated),
        "--clock",
        midnight(FIRST_DAY).isoformat(),
    )


def get_json(url: str) -> dict[str, Any]:
    """One GET of the emulator's control endpoints."""
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.load(response)


def edited_films(args: argparse.Namespace, day: date) -> set[str]:
    """The films (IMDb ids) the emulator edits on ``day``, from its model with the bench's seed."""
    fixtures = synthetic_fixtures(args.films)
    by_tmdb = {p["id"]: imdb for imdb, p in fixtures.items()}
    model = ChangeLog(
        by_tmdb, now=midnight(day + timedelta(days=1)), seed=SEED, daily_share=args.share, since=FIRST_DAY
    )
    return {by_tmdb[i] for i in model.changed_ids(day, day) if i in by_tmdb}


def one_run(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Day 1 and ``--days - 1`` refresh days; one figures dict per refresh day."""
    figures = []
    with temporary_moto() as endpoint, emulator(args) as url:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
        s3.create_bucket(Bucket=BUCKET)
        csv = "".join(synthetic.csv_text(synthetic.films(args.films))).encode()
        s3.put_object(Bucket=BUCKET, Key=keys.raw_csv_key("movies.csv", FIRST_DAY), Body=csv)
        settings = Settings(
            lake_bucket=BUCKET,
            endpoint_url=endpoint,
            region=REGION,
            tmdb_base_url=url,
            tmdb_rate=args.rate,
            min_year=None,
            min_votes=None,
            genres=(),
        )
        credentials = Credentials(api_key=API_KEY)
        in_raw: set[str] = set()
        for n in range(args.days):
            day = FIRST_DAY + timedelta(days=n)
            get_json(f"{url}/__clock?now={midnight(day).isoformat().replace('+', '%2B')}")
            logged = len(get_json(f"{url}/__stats")["log"])
            manifest = run.run(s3, settings, day, credentials)
            log = get_json(f"{url}/__stats")["log"][logged:]
            plan = run.load_plan(s3, BUCKET, day)
            assert plan is not None
            planned = {i for b in plan.batches for i in b.ids}
            if n:
                figures.append(day_figures(args, day, manifest, planned & in_raw, log))
                print_day(figures[-1])
            else:
                rate = share(manifest, args.rate)
                print(f"day 1: fetched {manifest['fetched']} films at {rate:.3f} of the limit")
            in_raw |= {
                line["requested_id"]
                for b in manifest["batches"]
                for line in batch_lines(s3, keys.tmdb_batch_key(day, b))
            }
    return figures


def batch_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    """The records of one batch (none when the batch held only failures)."""
    try:
        body = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return []
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def share(manifest: dict[str, Any], rate: float) -> float:
    """The fetch's requests per active second, as a share of the limit."""
    return (manifest["requests_per_second"] or 0.0) / rate


def paced(accepted: list[dict[str, Any]], rate: float) -> float:
    """The fetch's rate between its first and its last request, as a share of the limit (the
    pacing alone, without the start-up and the last batch's write)."""
    times = sorted(r["t"] for r in accepted if r["route"] != "changes")
    return (len(times) - 1) / (times[-1] - times[0]) / rate if len(times) > 1 else 0.0


def day_figures(
    args: argparse.Namespace, day: date, manifest: dict[str, Any], refreshed: set[str], log: list[dict]
) -> dict[str, Any]:
    """What one refresh day did, against what it should have done."""
    edited = edited_films(args, day - timedelta(days=1))
    accepted = [r for r in log if r["status"] != 429]
    changes = sum(1 for r in accepted if r["route"] == "changes")
    return {
        "day": day.isoformat(),
        "edited": len(edited),
        "refreshed": len(refreshed),
        "unchanged_refetched": len(refreshed - edited),
        "missed": len(edited - refreshed),
        "change_requests": changes,
        "day_requests": len(accepted),
        "change_share_of_day": changes / len(accepted),
        "change_share_of_capacity": changes / (args.rate * 86_400),
        "fetch_share": share(manifest, args.rate),
        "paced_share": paced(accepted, args.rate),
        "manifest": {k: manifest[k] for k in ("new", "refreshed", "unchanged", "fetched", "failed")},
    }


def print_day(f: dict[str, Any]) -> None:
    """One refresh day's line."""
    print(
        f"{f['day']}: edited {f['edited']}, refreshed {f['refreshed']} "
        f"(unchanged re-fetched {f['unchanged_refetched']}, missed {f['missed']}); change list "
        f"{f['change_requests']} of the day's {f['day_requests']} requests "
        f"({f['change_share_of_day']:.2%}; {f['change_share_of_capacity']:.5%} of a day at the rate); "
        f"fetch at {f['fetch_share']:.3f} of the limit ({f['paced_share']:.3f} between its first and "
        f"last request); manifest {f['manifest']}"
    )


def main() -> None:
    """Run, print each day, then the medians and the targets."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--films", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.02, help="share of the films edited a day")
    parser.add_argument("--unrelated", type=int, default=1_000, help="other movies TMDB lists a day")
    parser.add_argument("--days", type=int, default=3, help="days, the first fetching every film")
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    # moto takes any key; these keep the bench (and DuckDB's S3 reads) off the shell's own.
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_REGION=REGION)  # noqa: S106
    days = [figures for _ in range(args.repeat) for figures in one_run(args)]
    print(f"\nmedians over {len(days)} refresh days ({args.repeat} runs of {args.days} days):")
    for name in ("unchanged_refetched", "missed", "change_share_of_day", "fetch_share", "paced_share"):
        print(f"  {name}: {statistics.median(d[name] for d in days):.4f}")
    print(
        f"  exact every day: {all(d['unchanged_refetched'] == d['missed'] == 0 for d in days)}; "
        f"change list <= {TARGETS['change_share_of_day']:.0%} of the day's requests every day: "
        f"{all(d['change_share_of_day'] <= TARGETS['change_share_of_day'] for d in days)}; "
        f"fetch >= {TARGETS['fetch_share']} of the limit (median): "
        f"{statistics.median(d['fetch_share'] for d in days) >= TARGETS['fetch_share']}"
    )


if __name__ == "__main__":
    main()
