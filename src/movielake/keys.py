"""The lake's key scheme, in one place.

Zones are top-level prefixes of the lake bucket. Raw keeps the layout of the systems movielake
replaces: ``<Zone>/<Origin>/<Format>/<Entity>/<YYYY>/<MM>/<DD>/<file>``. ``Local`` in ``Raw/Local/CSV``
is that scheme's name for the CSV origin (files produced on premises, not by an API); it has
nothing to do with the local stack, and is kept as the seed named it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import PurePosixPath

LANDING_PREFIX = "Landing/"
RAW_PREFIX = "Raw/"
RAW_CSV_PREFIX = "Raw/Local/CSV/"
REJECTED_PREFIX = "Rejected/Local/CSV/"
TMDB_MOVIES_PREFIX = "Raw/TMDB/JSON/Movies/"
TMDB_BATCH_PATTERN = re.compile(r"lote_(\d+)\.json$")
TMDB_ERRORS_FILE = "erros_geral.json"
TMDB_MANIFEST_FILE = "_manifest.json"
# Run bookkeeping (plan, finished-batch markers, per-batch error parts) lives under an
# underscore folder: Hive, Glue crawlers and Athena skip names that start with "_".
TMDB_RUN_FOLDER = "_run"
TMDB_DONE_FOLDER = "done"
TMDB_ERRORS_FOLDER = "errors"
TMDB_PASSES_FOLDER = "passes"
TMDB_PLAN_FILE = "plan.json"
# A batch directly in a date folder; not the same-named done markers and error parts in _run/.
TMDB_DATED_BATCH_PATTERN = re.compile(re.escape(TMDB_MOVIES_PREFIX) + r"\d{4}/\d{2}/\d{2}/lote_\d+\.json$")
# A run's completion report, directly in a date folder.
TMDB_DATED_MANIFEST_PATTERN = re.compile(
    re.escape(TMDB_MOVIES_PREFIX) + r"\d{4}/\d{2}/\d{2}/" + re.escape(TMDB_MANIFEST_FILE) + "$"
)
# A movies CSV of one day in Raw, the day's ``YYYY``, ``MM``, ``DD`` as groups.
RAW_MOVIES_CSV_PATTERN = re.compile(
    "^" + re.escape(RAW_CSV_PREFIX) + r"Movies/(\d{4})/(\d{2})/(\d{2})/movies[^/]*\.csv$", re.IGNORECASE
)


def date_path(day: date) -> str:
    """``YYYY/MM/DD`` for a run date."""
    return f"{day:%Y/%m/%d}"


def entity_for(file_name: str) -> str:
    """The entity a CSV file holds, from its name before the first dot: ``movies.csv`` and
    ``movies.csv.gz`` -> ``Movies`` (``.DS_Store``, dropped in Landing by a Mac, -> ``Ds_store``)."""
    stem = PurePosixPath(file_name).name.lstrip(".").split(".", 1)[0]
    if not stem:
        raise ValueError(f"cannot tell the entity of {file_name!r}: the file name has no stem")
    return stem[:1].upper() + stem[1:].lower()


def raw_csv_key(file_name: str, day: date) -> str:
    """``Raw/Local/CSV/<Entity>/<YYYY>/<MM>/<DD>/<file>``, the extension lower-cased
    (``series.CSV`` is stored as ``series.csv``, where the planner and the crawl look)."""
    path = PurePosixPath(file_name)
    name = path.stem + path.suffix.lower()
    return f"{RAW_CSV_PREFIX}{entity_for(name)}/{date_path(day)}/{name}"


def raw_csv_prefix(entity: str) -> str:
    """Where every day's CSVs of one entity live: ``Raw/Local/CSV/Movies/``."""
    return f"{RAW_CSV_PREFIX}{entity}/"


def rejected_key(file_name: str, day: date) -> str:
    """Where a CSV that failed validation is kept, beside a ``.why.json`` note."""
    name = PurePosixPath(file_name).name
    return f"{REJECTED_PREFIX}{entity_for(name)}/{date_path(day)}/{name}"


def with_digest(key: str, digest: str) -> str:
    """The key a second, different file takes beside ``key``: ``.../<stem>_<first 8 hex>.csv``."""
    path = PurePosixPath(key)
    return str(path.with_name(f"{path.stem}_{digest[:8]}{path.suffix}"))


def digest_variants_prefix(key: str) -> str:
    """The prefix ``key`` shares with every ``with_digest`` variant of it: ``.../<stem>``."""
    path = PurePosixPath(key)
    return f"{path.parent}/{path.stem}"


def tmdb_folder(day: date) -> str:
    """``Raw/TMDB/JSON/Movies/<YYYY>/<MM>/<DD>/``."""
    return f"{TMDB_MOVIES_PREFIX}{date_path(day)}/"


def tmdb_batch_key(day: date, number: int) -> str:
    """``Raw/TMDB/JSON/Movies/<YYYY>/<MM>/<DD>/lote_<N>.json`` (N from 1)."""
    if number < 1:
        raise ValueError(f"batch numbers start at 1, got {number}")
    return f"{tmdb_folder(day)}lote_{number}.json"


def tmdb_errors_key(day: date) -> str:
    """The run's merged errors file, ``.../erros_geral.json``."""
    return f"{tmdb_folder(day)}{TMDB_ERRORS_FILE}"


def tmdb_manifest_key(day: date) -> str:
    """The run's completion report, ``.../_manifest.json``."""
    return f"{tmdb_folder(day)}{TMDB_MANIFEST_FILE}"


def tmdb_run_key(day: date, name: str) -> str:
    """Run bookkeeping under ``.../_run/<name>``."""
    return f"{tmdb_folder(day)}{TMDB_RUN_FOLDER}/{name}"


def tmdb_done_prefix(day: date) -> str:
    """``.../_run/done/``: the finished-batch markers of a run date."""
    return tmdb_run_key(day, f"{TMDB_DONE_FOLDER}/")


def tmdb_done_key(day: date, number: int) -> str:
    """``.../_run/done/lote_<N>.json``: batch N is finished; its counts."""
    return f"{tmdb_done_prefix(day)}lote_{number}.json"


def tmdb_error_part_key(day: date, number: int) -> str:
    """``.../_run/errors/lote_<N>.json``: the failed ids of batch N, NDJSON."""
    return tmdb_run_key(day, f"{TMDB_ERRORS_FOLDER}/lote_{number}.json")


def tmdb_pass_prefix(day: date) -> str:
    """``.../_run/passes/``: one summary per fetch pass of the batches it wrote."""
    return tmdb_run_key(day, f"{TMDB_PASSES_FOLDER}/")


def tmdb_pass_key(day: date, name: str) -> str:
    """``.../_run/passes/<name>.json``: the summary of one fetch pass."""
    return f"{tmdb_pass_prefix(day)}{name}.json"


def tmdb_plan_key(day: date) -> str:
    """``.../_run/plan.json``: the run's plan."""
    return tmdb_run_key(day, TMDB_PLAN_FILE)


def tmdb_completed_key(day: date, run_id: str) -> str:
    """``.../_run/completed/<run id>.json``: the record of one finished run."""
    return tmdb_run_key(day, f"completed/{run_id}.json")


def batch_number(key: str) -> int | None:
    """The N of a ``lote_<N>.json`` key, or None for any other key."""
    match = TMDB_BATCH_PATTERN.search(key)
    return int(match.group(1)) if match else None


# Trusted and Refined: one folder per table, one ``v=<run id>`` folder per refine that built
# it; the Glue table points at one version at a time.
TRUSTED_PREFIX = "Trusted/"
REFINED_PREFIX = "Refined/"
ZONE_PREFIXES = {"trusted": TRUSTED_PREFIX, "refined": REFINED_PREFIX}
VERSION_FOLDER = "v="
REFINE_MANIFESTS_PREFIX = f"{REFINED_PREFIX}_refine/"


def table_prefix(zone: str, table: str) -> str:
    """``Trusted/<table>/``: every version of one table (zone ``trusted`` or ``refined``)."""
    return f"{ZONE_PREFIXES[zone]}{table}/"


def table_version_prefix(zone: str, table: str, run_id: str) -> str:
    """``Trusted/<table>/v=<run id>/``: the objects one refine wrote for one table."""
    return f"{table_prefix(zone, table)}{VERSION_FOLDER}{run_id}/"


# The refine's lease (movielake.lease): one refine at a time.
REFINE_LEASE_KEY = f"{REFINE_MANIFESTS_PREFIX}lease.json"


def refine_manifest_key(run_id: str) -> str:
    """``Refined/_refine/<run id>.json``: a refine's report (skipped by Athena: ``_`` name)."""
    return f"{REFINE_MANIFESTS_PREFIX}{run_id}.json"
