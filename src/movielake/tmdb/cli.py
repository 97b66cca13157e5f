"""``movielake tmdb fetch|status|set-key``: the TMDB run from a terminal, and its key.

``fetch`` runs the same ``movielake.tmdb.run`` code as the Lambdas, in this process (or, with
``--queue``, plans here and fans out through SQS to the worker Lambda). ``status`` reads a
date's plan, done markers and manifest and prints how far the run got. ``set-key`` stores the
TMDB key in the deployed secret, read from standard input so it is never on a command line.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import sys
from datetime import UTC, date, datetime
from typing import Any

from movielake import aws
from movielake.cli import UserError, iso_date, setting
from movielake.config import Settings
from movielake.tmdb import handlers, run
from movielake.tmdb.client import LOOKUPS, ChangeListError, ClientOptions, Outcome, TmdbAuthError
from movielake.tmdb.credentials import Credentials, secret_string
from movielake.tmdb.errors import RunStoppedError
from movielake.tmdb.lease import LeaseHeldError
from movielake.tmdb.plan import Batch, Plan, load_plan
from movielake.tmdb.selection import SelectionError
from movielake.tmdb.writer import RunFolder

# Errors that stop a fetch before it does harm, printed as one line: a refused key, an outage,
# no movies CSV, another run holding the date, a resume with other filters, a change list that
# kept failing.
STOPS = (TmdbAuthError, ChangeListError, SelectionError, LeaseHeldError, RunStoppedError)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake tmdb fetch`` and ``movielake tmdb status``."""
    tmdb = subparsers.add_parser("tmdb", help="enrich the selected films from the TMDB API")
    commands = tmdb.add_subparsers(dest="tmdb_command", required=True, metavar="SUBCOMMAND")
    fetch = commands.add_parser(
        "fetch",
        help="select films from the newest movies CSV and fetch them from TMDB into Raw",
        description=(
            "Select films from the newest Raw/Local/CSV/Movies/<date>/movies*.csv, skip those "
            "already fetched into Raw/TMDB unless TMDB's change list says they were edited since "
            "the last run (all of them with --refresh), and fetch the new and the edited ones into "
            "Raw/TMDB/JSON/Movies/<date>/lote_N.json (100 per file), errors into "
            "erros_geral.json and a _manifest.json. Rerunning an interrupted date resumes it."
        ),
    )
    # SUPPRESS: an absent flag leaves the attribute unset, so "off" (None) stays distinguishable.
    fetch.add_argument(
        "--min-year",
        type=setting("min_year"),
        default=argparse.SUPPRESS,
        help="release year > N, or 'off' (default 1960)",
    )
    fetch.add_argument(
        "--min-votes",
        type=setting("min_votes"),
        default=argparse.SUPPRESS,
        help="votes > N, or 'off' (default 10000)",
    )
    fetch.add_argument(
        "--genres",
        type=setting("genres"),
        default=argparse.SUPPRESS,
        help="comma list of whole genre names, or 'off' (default crime,war)",
    )
    fetch.add_argument(
        "--rate", type=setting("tmdb_rate"), help="requests per second, retries included (default 40)"
    )
    fetch.add_argument(
        "--http-concurrency", type=setting("tmdb_http_concurrency"), help="simultaneous requests (default 20)"
    )
    fetch.add_argument("--lookup", choices=LOOKUPS, help="movie: /3/movie/{imdb id}; find: /3/find first")
    fetch.add_argument(
        "--refresh",
        action="store_true",
        help="refetch ids already in Raw; also replaces an unfinished plan made with other filters",
    )
    fetch.add_argument("--date", type=iso_date, help="run date YYYY-MM-DD (default: today, UTC)")
    fetch.add_argument("--queue", action="store_true", help="fan out through SQS to the worker Lambda")
    fetch.add_argument(
        "--wait",
        type=setting("tmdb_lease_seconds"),
        default=0.0,
        metavar="SECONDS",
        help="when another fetch of the date is running, wait up to SECONDS for it to finish "
        "(default: exit at once, saying who holds the date)",
    )
    fetch.set_defaults(func=fetch_command)
    status = commands.add_parser("status", help="show the progress of a date's TMDB run")
    status.add_argument("--date", type=iso_date, help="run date YYYY-MM-DD (default: today, UTC)")
    status.set_defaults(func=status_command)
    register_set_key(commands)


# Argument declarations below are alike in shape (argparse), each with its own words.
def register_set_key(commands: argparse._SubParsersAction) -> None:
    """Add ``movielake tmdb set-key``."""
    set_key = commands.add_parser(
        "set-key",
        help="store the TMDB key in the deployed Secrets Manager secret",
        description="Read a TMDB v3 API key (with --bearer, a v4 read access token) from standard "
        "input, or prompt for it without echo on a terminal, and store it as the value of the "
        "secret MOVIELAKE_TMDB_SECRET_ID names. The key is never an argument, a log line or a "
        "Terraform value.",
    )
    set_key.add_argument("--bearer", action="store_true", help="the input is a v4 read access token")
    set_key.set_defaults(func=set_key_command)


def set_key_command(args: argparse.Namespace) -> int:
    """movielake tmdb set-key."""
    settings = Settings.from_env()
    if not settings.tmdb_secret_id:
        raise UserError(
            "MOVIELAKE_TMDB_SECRET_ID is not set: export the deployment's `terraform output -json "
            "cli_environment` first (see the README)"
        )
    text = getpass.getpass("TMDB key: ") if sys.stdin.isatty() else sys.stdin.readline()
    key = text.strip()
    if not key:
        raise UserError("no TMDB key on standard input: pipe it in, or run this in a terminal")
    credentials = Credentials(bearer_token=key) if args.bearer else Credentials(api_key=key)
    secrets = aws.client("secretsmanager", settings)
    secrets.put_secret_value(SecretId=settings.tmdb_secret_id, SecretString=secret_string(credentials))
    print(f"TMDB {'token' if args.bearer else 'key'} stored in secret {settings.tmdb_secret_id}")
    return 0


def settings_from(args: argparse.Namespace) -> Settings:
    """The environment's settings with the command-line overrides applied."""
    overrides: dict[str, Any] = {
        name: value
        for name, value in (
            ("tmdb_rate", args.rate),
            ("tmdb_http_concurrency", args.http_concurrency),
            ("tmdb_lookup", args.lookup),
        )
        if value is not None
    }
    overrides.update(
        {name: getattr(args, name) for name in ("min_year", "min_votes", "genres") if name in args}
    )
    settings = dataclasses.replace(Settings.from_env(), **overrides)
    settings.require("lake_bucket")
    return settings


def fetch_command(args: argparse.Namespace) -> int:
    """Run (or resume) the date's fetch in this process, or fan it out with ``--queue``."""
    settings = settings_from(args)
    day = args.date or datetime.now(UTC).date()
    if args.queue:
        try:
            result = handlers.start(settings, day, refresh=args.refresh, inline=False)
        except STOPS as exc:
            raise UserError(str(exc)) from None
        print(json.dumps(result, indent=1, default=str))
        return 0
    session = aws.session(settings)
    s3 = aws.client("s3", settings, within=session)
    glue = handlers.glue_client(settings, session)
    credentials = handlers.tmdb_credentials(settings, session)
    ClientOptions.from_settings(settings)  # reject bad --rate/--http-concurrency before planning
    bar = _ProgressBar()
    try:
        manifest = run.run(
            s3,
            settings,
            day,
            credentials,
            refresh=args.refresh,
            glue=glue,
            on_plan=bar.start,
            on_outcome=bar.update,
            wait_seconds=args.wait,
        )
    except STOPS as exc:
        raise UserError(str(exc)) from None
    finally:
        bar.close()
    print(json.dumps({k: v for k, v in manifest.items() if k != "batches"}, indent=1))
    return 0


class _ProgressBar:
    """A tqdm bar of ids, created once the plan says how many; tqdm is imported lazily (the
    Lambda zip does not ship it)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def start(self, plan: Plan, todo: list[Batch]) -> None:
        """Announce the plan and open the bar."""
        from tqdm import tqdm

        print(
            f"{plan.run_date}: selected {plan.selected}: {plan.new} new, {plan.refreshed} refreshed, "
            f"{plan.skipped} unchanged in Raw; {len(plan.batches)} batches ({len(todo)} to do)",
            file=sys.stderr,
        )
        if plan.change_window.get("note"):
            print(f"warning: {plan.change_window['note']}", file=sys.stderr)
        self.bar = tqdm(total=sum(len(b.ids) for b in todo), unit="id", file=sys.stderr, disable=None)

    def update(self, outcome: Outcome) -> None:
        """One more id done."""
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """Close the bar if it was opened."""
        if self.bar is not None:
            self.bar.close()


def status_lines(s3: Any, bucket: str, day: date) -> list[str]:
    """What the date's plan, done markers and manifest say, as printable lines."""
    folder = RunFolder(s3, bucket, day)
    plan = load_plan(s3, bucket, day)
    if plan is None:
        return [f"{day}: no TMDB run planned"]
    numbers = {b.number for b in plan.batches}
    done = folder.done_numbers() & numbers
    done_ids = sum(len(b.ids) for b in plan.batches if b.number in done)
    lines = [
        f"{day}: run {plan.run_id} from {plan.source}",
        f"  filters {json.dumps(plan.filters)}{' (refresh)' if plan.refresh else ''}",
        f"  selected {plan.selected}: new {plan.new}, refreshed {plan.refreshed}, unchanged "
        f"{plan.skipped}; planned {plan.planned}",
        f"  change window {change_window_text(plan.change_window)}",
        f"  batches done {len(done)}/{len(numbers)}, ids {done_ids}/{plan.planned}",
    ]
    manifest = folder.manifest()
    if manifest is not None and manifest.get("run_id") == plan.run_id:
        lines.append(
            f"  complete: fetched {manifest['fetched']}, failed {manifest['failed']} "
            f"{manifest['failed_by_reason']}, {manifest['active_seconds']} s fetching "
            f"({manifest['wall_seconds']} s wall), {manifest['requests_per_second']} req/s"
        )
    else:
        missing = sorted(numbers - done)
        lines.append(f"  not complete; batches to do: {missing[:20]}{' ...' if len(missing) > 20 else ''}")
    return lines


def change_window_text(window: dict[str, Any]) -> str:
    """How the plan's refresh window reads in ``status``."""
    status = window.get("status", "not recorded")
    span = f"{window['start']}..{window['end']}" if window.get("start") else window.get("end", "")
    if status == "covered":
        return (
            f"{span} (since run {window['since_run']}): TMDB listed {window['listed']} edited "
            f"movies in {window['requests']} requests, {window['edited']} of them ours"
            + (f", {window['retried']} failed refreshes retried" if window.get("retried") else "")
        )
    meaning = {
        "first_run": "first run: nothing in Raw to refresh",
        "refresh": "--refresh: every selected film in Raw fetched again",
        "not_asked": "the change list was not asked",
    }
    return f"{span} {window.get('note') or meaning.get(status, status)}".strip()


def status_command(args: argparse.Namespace) -> int:
    """Print the date's run progress."""
    settings = Settings.from_env()
    settings.require("lake_bucket")
    day = args.date or datetime.now(UTC).date()
    print("\n".join(status_lines(aws.client("s3", settings), settings.lake_bucket, day)))
    return 0
