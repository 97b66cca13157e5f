"""Configuration, read in one place.

Every setting comes from an environment variable named ``MOVIELAKE_<NAME>`` (the Lambdas get
them from Terraform). When the lake bucket is not set in the environment and the local stack
is up, the values it recorded in ``build/local/stack.json`` are used instead: that is the
embedded default, and exporting the variables of a real deployment switches to AWS with no
code change. Standard AWS variables (``AWS_ENDPOINT_URL``, ``AWS_REGION``, ``AWS_PROFILE``)
are left to boto3, which already honours them.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlparse

ENV_PREFIX = "MOVIELAKE_"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE_DIR = Path(os.environ.get("MOVIELAKE_LOCAL_DIR", PROJECT_ROOT / "build" / "local"))
STACK_FILE = LOCAL_STATE_DIR / "stack.json"
# What signs requests to the local stack; its own key replaces the shell's.
LOCAL_STACK_CREDENTIALS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE")
# Where crawl, refine, query and report do their work (``--engine``): ``aws`` the AWS services
# (Athena, the Glue crawlers), which the local stack's moto server executes as AWS does;
# ``local`` DuckDB in this process, over the same S3 objects and Glue catalog (query, report and
# refine: the faster way to iterate on SQL, and the reference the AWS path is compared with).
ENGINES = ("local", "aws")
# The default everywhere, the local stack included: the code path a real account runs.
DEFAULT_ENGINE = "aws"
# The SQL engines' names, which refine, query and report took before: still accepted.
ENGINE_ALIASES = {"duckdb": "local", "athena": "aws"}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message says which and how to set it."""


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    """What movielake needs to know about where it runs.

    Field names match the environment variables: ``lake_bucket`` is ``MOVIELAKE_LAKE_BUCKET``.
    """

    lake_bucket: str = ""
    athena_results_bucket: str = ""
    glue_database: str = ""
    tmdb_crawler: str = ""
    csv_crawler: str = ""
    athena_workgroup: str = ""
    # The refine's Athena workgroup: it does not override client-side settings, so the refine's
    # CTAS may write each table version into the lake (external_location).
    refine_workgroup: str = ""
    tmdb_queue_url: str = ""
    tmdb_secret_id: str = ""
    # Local development only: a key given directly instead of through Secrets Manager.
    tmdb_api_key: str = field(default="", repr=False)
    tmdb_base_url: str = "https://api.themoviedb.org"
    tmdb_language: str = "pt-BR"
    # "movie" asks /3/movie/{imdb_id}; "find" resolves through /3/find first.
    tmdb_lookup: str = "movie"
    tmdb_rate: float = 40.0
    tmdb_http_concurrency: int = 20
    tmdb_max_attempts: int = 6
    tmdb_timeout: float = 10.0
    tmdb_batch_size: int = 100
    # Films per SQS message in the fan-out path; one worker invocation fetches one message.
    tmdb_ids_per_message: int = 2000
    # Seconds a run's lease on its date lasts unless renewed (every third of it while running):
    # how long a run that died blocks the next one of the same date.
    tmdb_lease_seconds: float = 60.0
    # The refine's lease (one refine at a time, CLI and Lambda alike): how long a refine that
    # died blocks the next one; a running refine renews it every third of it.
    refine_lease_seconds: float = 120.0
    # Seconds of its invocation the refine Lambda keeps for stopping: after the deadline it
    # stops its queries, drops its staging tables and writes a ``timed_out`` manifest.
    refine_deadline_margin_seconds: float = 45.0
    # Whole refines the Lambda runs for one event when one fails for a reason that may pass (a
    # query or API error); a failed quality rule, a timeout or a held lease is not retried.
    refine_attempts: int = 2
    # Worker invocations running side by side (the SQS event source's maximum concurrency): the
    # planner spreads a run over at least this many messages so every worker's share is busy.
    tmdb_workers: int = 1
    # How many days back the daily refresh walks TMDB's change list; a last run older than this
    # refreshes nothing and says so (``movielake.tmdb.changes``): use --refresh then.
    tmdb_change_days: int = 90
    min_year: int | None = 1960
    min_votes: int | None = 10000
    genres: tuple[str, ...] = ("crime", "war")
    # Run date (YYYY-MM-DD) of the keys the CSV Lambda writes, for a backfill; empty: the event's date.
    run_date: str = ""
    endpoint_url: str = ""
    region: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from the environment, falling back to the local stack's record."""
        env = dict(os.environ if environ is None else environ)
        values: dict[str, str] = {}
        if f"{ENV_PREFIX}LAKE_BUCKET" not in env and STACK_FILE.exists():
            values.update(local_stack_environment())
        values.update({k: v for k, v in env.items() if k.startswith(ENV_PREFIX)})
        kwargs: dict[str, object] = {}
        for f in fields(cls):
            raw = values.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            try:
                kwargs[f.name] = parse_setting(f.name, raw)
            except ValueError as exc:
                raise ConfigError(f"{ENV_PREFIX}{f.name.upper()}: {exc}") from None
        if not kwargs.get("endpoint_url"):
            kwargs["endpoint_url"] = env.get("AWS_ENDPOINT_URL", "")
        if not kwargs.get("region"):
            kwargs["region"] = env.get("AWS_REGION", env.get("AWS_DEFAULT_REGION", ""))
        return cls(**kwargs)  # type: ignore[arg-type]

    @property
    def is_local(self) -> bool:
        """Whether the AWS endpoint is on this machine (localhost, 127.0.0.0/8, ::1): the local
        stack (what an unreachable endpoint means, and where `movielake invoke` runs a handler)."""
        host = urlparse(self.endpoint_url).hostname if self.endpoint_url else None
        if host == "localhost":
            return True
        try:
            return host is not None and ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def require(self, *names: str) -> None:
        """Fail with one clear message listing every required setting that is empty."""
        missing = [n for n in names if not getattr(self, n)]
        if missing:
            variables = ", ".join(ENV_PREFIX + n.upper() for n in missing)
            raise ConfigError(
                f"missing configuration: {variables}. Start the local stack with "
                "`movielake local up`, or export the values printed by "
                "`terraform -chdir=terraform output cli_environment` for a real deployment."
            )


def default_engine(settings: Settings) -> str:
    """The engine a command runs on without ``--engine``: ``aws`` whatever the endpoint, so the
    local stack runs the code a real account runs (no product shortcut on a loopback endpoint)."""
    return DEFAULT_ENGINE


def parse_setting(name: str, raw: str) -> object:
    """The value of setting ``name`` from its text, as ``MOVIELAKE_<NAME>`` or a command-line
    flag gives it; ``off`` (or empty) switches a filter off. ValueError says what was expected.

    Every number must be finite and above zero: ``inf`` would make the client pace at no rate
    at all (a busy loop), ``nan`` passes every comparison, and a zero or negative rate, size or
    filter is a typo, not a setting. A filter is switched off with ``off``, not with 0.
    """
    kind = str(Settings.__dataclass_fields__[name].type)
    switched_off = raw.strip().lower() in {"", "off", "none"}
    expected = {
        "int": "a whole number > 0",
        "float": "a finite number > 0",
        "int | None": "a whole number > 0, or 'off'",
    }
    if kind.startswith("tuple"):
        return () if switched_off else _split_list(raw)
    if kind not in expected:
        return raw
    if kind == "int | None" and switched_off:
        return None
    try:
        number: float = float(raw) if kind == "float" else int(raw)
    except ValueError:
        number = math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{raw!r} is not {expected[kind]}")
    return number


def local_stack_environment() -> dict[str, str]:
    """The ``MOVIELAKE_*`` and AWS variables the local stack recorded when it came up."""
    try:
        record = json.loads(STACK_FILE.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{STACK_FILE} is unreadable ({exc}); run `movielake local up` again") from exc
    return {str(k): str(v) for k, v in record.get("environment", {}).items()}


def use_local_stack_aws_environment(environ: MutableMapping[str, str] | None = None) -> None:
    """Point boto3 at the local stack when the shell targets no deployment of its own.

    When ``MOVIELAKE_LAKE_BUCKET`` is unset and the local stack is up, the stack's
    ``AWS_ENDPOINT_URL`` and region are exported without overriding a variable the shell
    already has (the CLI calls this once at start-up). When the stack's endpoint is the one
    used, so are its administrator's credentials: the local moto server enforces IAM and
    knows no other key (a shell's key, session token or profile is set aside).
    """
    env = os.environ if environ is None else environ
    if f"{ENV_PREFIX}LAKE_BUCKET" in env or not STACK_FILE.exists():
        return
    stack = {k: v for k, v in local_stack_environment().items() if k.startswith("AWS_")}
    if "AWS_ENDPOINT_URL" not in env:
        for key in LOCAL_STACK_CREDENTIALS:
            env.pop(key, None)
    for key, value in stack.items():
        env.setdefault(key, value)
