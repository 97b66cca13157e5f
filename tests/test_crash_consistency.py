"""Crash consistency: each stage killed before or after one of its S3 or Glue writes, then rerun,
ends exactly as an uninterrupted run of it does; and while a refine lies killed, the previous
tables still answer.

The stages are the product's own code on a moto server: ``upload`` (``ingest.upload``),
``fetch`` (the TMDB run against the emulator), ``crawl`` (the crawler stand-in's crawl, run
in-process) and ``refine`` (DuckDB). For each stage an uninterrupted run from the same starting
lake gives the expected state; then, for sampled kill points (``killpoints.sample``: the first
and last write and evenly between, before and after), the lake is reset to the starting state,
the stage is killed there (``killpoints.KillSwitch``: nothing reaches AWS after the kill, as
after a SIGKILL), rerun as a new process would (taking the dead run's lease over once it
expired), and the lake compared. ``CRASH_KILL_POINTS`` sets the points per stage (``all``:
every write); the default keeps the test near a minute and a half.

What "the same state" means: every object that is not tagged superseded (run ids and timestamps
masked; JSON compared without its clock fields; Parquet by the rows of the tables over it), and
every Glue table with its columns, location and partitions. The TMDB run's bookkeeping under
``_run/`` and the refine manifests are reports of each run, not state. DuckDB writes a table's
Parquet through httpfs, not boto3: a kill between that write and the table's Glue entry is the
kill "before" that ``CreateTable``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION
from killpoints import Killed, kill_switch, sample
from test_crawl import CSV_CRAWLER, TMDB_CRAWLER, create_crawlers, run_crawl

from movielake import keys
from movielake.analysis.engines import run_all
from movielake.aws import list_objects
from movielake.config import Settings
from movielake.ingest.upload import upload_file
from movielake.local import sample_lake, synthetic
from movielake.local.server import reset_moto
from movielake.local.tmdb_emulator import Emulator, synthetic_fixtures
from movielake.refine.catalog import MixedRunsError
from movielake.refine.run import SUPERSEDED_TAG, run_refine
from movielake.tmdb import run as tmdb_run
from movielake.tmdb.credentials import Credentials
from movielake.tmdb.records import to_record

pytestmark = pytest.mark.slow

DATABASE = "movielake_test_raw"
DAY = date(2026, 3, 1)
FILMS = 40
API_KEY = "crash-key"
LEASE_SECONDS = 1.0  # a dead run's lease frees quickly; the rerun waits for it
POINTS = {"upload": 4, "fetch": 5, "crawl": 5, "refine": 5}
# Run ids: the refine's 20261127T101500Z-1a2b3c (or its Glue form), the TMDB run's microseconds.
RUN_ID = re.compile(r"\d{8}T\d{6}(\d{6})?Z([-_][0-9a-f]{6})?", re.IGNORECASE)
# JSON fields that say when, how long or how many requests it took, not what was written (a
# 429 from the emulator's rate limit adds an attempt, in an uninterrupted run too).
CLOCK_FIELDS = re.compile(r"(_at|seconds|per_second|duration|^requests|^attempts)$")


@dataclass
class Lake:
    """Clients and settings on the reset moto server."""

    s3: Any
    glue: Any
    settings: Settings
    tmp: Path


@pytest.fixture(scope="module")
def emulator() -> Any:
    with Emulator(synthetic_fixtures(FILMS), API_KEY) as emu:
        yield emu


@pytest.fixture
def lake(moto_endpoint: str, emulator: Emulator, tmp_path: Path) -> Lake:
    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)

    settings = Settings(
        lake_bucket=LAKE_BUCKET,
        glue_database=DATABASE,
        endpoint_url=moto_endpoint,
        region=REGION,
        tmdb_base_url=emulator.url,
        tmdb_rate=2000.0,
        tmdb_max_attempts=2,
        tmdb_batch_size=10,
        tmdb_lease_seconds=LEASE_SECONDS,
        refine_lease_seconds=LEASE_SECONDS,
        min_year=None,
        min_votes=None,
        genres=(),
    )
    return Lake(client("s3"), client("glue"), settings, tmp_path)


# ------------------------------------------------------------------------ starting states


def films() -> list[synthetic.Film]:
    return list(synthetic.films(FILMS))


def empty(lake: Lake) -> None:
    lake.s3.create_bucket(Bucket=LAKE_BUCKET)
    lake.glue.create_database(DatabaseInput={"Name": DATABASE})


def with_csvs(lake: Lake) -> None:
    empty(lake)
    sample_lake.write_csv(lake.s3, LAKE_BUCKET, "movies.csv", synthetic.csv_text(films()), DAY)
    series = synthetic.films(8, seed=22, series=True, first_id=900000)
    sample_lake.write_csv(lake.s3, LAKE_BUCKET, "series.csv", synthetic.csv_text(series, series=True), DAY)


def with_raw(lake: Lake) -> None:
    with_csvs(lake)
    stamp = f"{DAY:%Y-%m-%d}T01:00:00.000000Z"
    records = [
        to_record(synthetic.tmdb_payload(f), f.imdb_id, stamp) for f in films() if synthetic.known_to_tmdb(f)
    ]
    sample_lake.write_tmdb_batches(lake.s3, LAKE_BUCKET, records, DAY)
    create_crawlers(lake.glue, "UPDATE_IN_DATABASE")


def crawl_both(lake: Lake) -> None:
    """One run of each crawler's work, in this process (so its writes are kill points)."""
    for name in (TMDB_CRAWLER, CSV_CRAWLER):
        run_crawl(lake.glue, lake.s3, name)


def with_catalog_and_refined(lake: Lake) -> None:
    with_raw(lake)
    crawl_both(lake)
    run_refine(lake.settings, "local")  # the previous tables


# -------------------------------------------------------------------------------- stages


def upload(lake: Lake, rerun: bool) -> None:
    folder = lake.tmp / "csvs"
    folder.mkdir(exist_ok=True)
    (folder / "movies.csv").write_text("".join(synthetic.csv_text(films())))
    series = synthetic.films(8, seed=22, series=True, first_id=900000)
    (folder / "series.csv").write_text("".join(synthetic.csv_text(series, series=True)))
    for path in sorted(folder.glob("*.csv")):
        upload_file(lake.s3, LAKE_BUCKET, path, DAY)


def fetch(lake: Lake, rerun: bool) -> None:
    credentials = Credentials(api_key=API_KEY)
    tmdb_run.run(lake.s3, lake.settings, DAY, credentials, wait_seconds=10 * LEASE_SECONDS if rerun else 0)


def crawl(lake: Lake, rerun: bool) -> None:
    crawl_both(lake)


def refine(lake: Lake, rerun: bool) -> None:
    run_refine(lake.settings, "local", wait_seconds=10 * LEASE_SECONDS if rerun else 0)


STAGES: dict[str, tuple[Callable[[Lake], None], Callable[[Lake, bool], None]]] = {
    "upload": (empty, upload),
    "fetch": (with_csvs, fetch),
    "crawl": (with_raw, crawl),
    "refine": (with_catalog_and_refined, refine),
}
# The write after which a stage's run is complete, when that is not its last write: the TMDB
# run is complete once its manifest is written; a rerun after that is a second run (which
# tries the failed ids again, by design).
FINISHED_BY = {"fetch": "_manifest.json"}


# -------------------------------------------------------------------------------- the state


def masked(text: str) -> str:
    return RUN_ID.sub("<run>", text)


def without_clocks(value: Any) -> Any:
    """A JSON value with its clock fields dropped, run ids masked."""
    if isinstance(value, dict):
        return {k: without_clocks(v) for k, v in value.items() if not CLOCK_FIELDS.search(k)}
    if isinstance(value, list):
        return [without_clocks(v) for v in value]
    return masked(value) if isinstance(value, str) else value


def content(s3: Any, key: str) -> Any:
    body = s3.get_object(Bucket=LAKE_BUCKET, Key=key)["Body"].read()
    if key.endswith(".parquet"):
        return "parquet"  # compared by the tables' rows
    if key.endswith(".json"):  # one document, or NDJSON (batches, errors)
        try:
            documents = [json.loads(body)]
        except ValueError:
            documents = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        return sorted(json.dumps(without_clocks(document), sort_keys=True) for document in documents)
    return hashlib.sha256(body).hexdigest()


def objects_state(s3: Any) -> dict[str, list[Any]]:
    """Masked key -> the contents of the live objects under it (one per version folder)."""
    state: dict[str, list[Any]] = {}
    for item in list_objects(s3, LAKE_BUCKET, ""):
        key = item["Key"]
        if "/_run/" in key or key.startswith(keys.REFINE_MANIFESTS_PREFIX):
            continue
        if SUPERSEDED_TAG in s3.get_object_tagging(Bucket=LAKE_BUCKET, Key=key)["TagSet"]:
            continue
        state.setdefault(masked(key), []).append(content(s3, key))
    return state


def catalog_state(glue: Any) -> dict[str, Any]:
    state = {}
    for table in glue.get_tables(DatabaseName=DATABASE)["TableList"]:
        descriptor = table["StorageDescriptor"]
        partitions = glue.get_partitions(DatabaseName=DATABASE, TableName=table["Name"])["Partitions"]
        state[masked(table["Name"])] = {
            "columns": [(c["Name"], c["Type"]) for c in descriptor.get("Columns", [])],
            "location": masked(descriptor.get("Location", "")),
            "keys": [k["Name"] for k in table.get("PartitionKeys", [])],
            "partitions": sorted(
                (p["Values"], masked(p["StorageDescriptor"]["Location"])) for p in partitions
            ),
        }
    return state


def rows_state(settings: Settings, glue: Any) -> dict[str, list[str]]:
    """The rows of every Trusted and Refined table, order-free."""
    from movielake.analysis.duckdb_engine import DuckDBEngine

    names = [t["Name"] for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]]
    zone_tables = sorted(n for n in names if n.startswith(("trusted_", "refined_")))
    with DuckDBEngine(settings) as engine:
        frames = {name: engine.execute(f'SELECT * FROM "{name}"') for name in zone_tables}  # noqa: S608
    return {name: sorted(map(repr, frame.astype(str).values.tolist())) for name, frame in frames.items()}


def lake_state(lake: Lake) -> dict[str, Any]:
    return {
        "objects": objects_state(lake.s3),
        "catalog": catalog_state(lake.glue),
        "rows": rows_state(lake.settings, lake.glue),
    }


# --------------------------------------------------------------------------------- the test


def points_per_stage(stage: str, writes: list[str]) -> list[tuple[int, str]]:
    wanted = os.environ.get("CRASH_KILL_POINTS", "")
    count = 2 * len(writes) if wanted == "all" else int(wanted or POINTS[stage])
    return sample(writes, count)


@pytest.mark.parametrize("stage", list(STAGES))
def test_a_stage_killed_at_a_write_then_rerun_ends_as_an_uninterrupted_run(
    stage: str, lake: Lake, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("movielake.lease.POLL_SECONDS", 0.2)  # the rerun looks at the dead lease often
    prepare, run_stage = STAGES[stage]
    prepare(lake)
    with kill_switch() as switch:
        run_stage(lake, rerun=False)
        writes, targets = list(switch.writes), list(switch.targets)
    expected = lake_state(lake)
    assert writes, f"{stage} made no write"
    # Killed after its last write, the stage had finished: the rerun is a second run, so the
    # state to reach is an uninterrupted run's followed by a second run (the same for every
    # stage but the fetch, whose second run tries its failed ids again by design).
    run_stage(lake, rerun=True)
    finished_then_rerun = lake_state(lake)
    marker = FINISHED_BY.get(stage)
    finished_at = max(n for n, t in enumerate(targets, 1) if marker in t) if marker else len(writes)
    previous_answers = None

    print(
        stage, "writes:", *(f"{n}. {w} {t}" for n, (w, t) in enumerate(zip(writes, targets, strict=True), 1))
    )
    for point in points_per_stage(stage, writes):
        reset_moto(moto_endpoint)
        prepare(lake)
        if stage == "refine":
            previous_answers = run_all(lake.settings, "local")
        with kill_switch() as switch:
            switch.at = point
            # A kill in a worker thread (s3transfer's) may leave the main thread running on,
            # but nothing it does after the kill reaches AWS: the process is dead either way.
            with contextlib.suppress(Killed):
                run_stage(lake, rerun=False)
            assert switch.dead, f"{stage} made fewer writes than before: {switch.writes}"
            killed_at = f"{switch.writes[point[0] - 1]} {switch.targets[point[0] - 1]}"
            done = switch.writes[: point[0] - (point[1] == "before")]  # what reached AWS
            switching = "glue:UpdateTable" in done  # killed once the switch had begun
            switch.revive()
            if previous_answers is not None:
                assert_previous_tables_answer(lake, previous_answers, killed_at, switching)
            run_stage(lake, rerun=True)
        got = lake_state(lake)
        finished = point[0] > finished_at or point == (finished_at, "after")
        want = finished_then_rerun if finished else expected
        where = f"{stage} killed {point[1]} write {point[0]} ({killed_at}) of {len(writes)}"
        assert got == want, f"{where}: {differences(got, want)}"


def differences(got: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """What differs between two states, part by part and key by key."""
    found = []
    for part in expected:
        for key in sorted(set(got[part]) | set(expected[part])):
            mine, theirs = repr(got[part].get(key)), repr(expected[part].get(key))
            if mine != theirs:
                start = next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), 0)
                window = slice(max(start - 80, 0), start + 120)
                found.append(f"{part} {key}: {mine[window]} != {theirs[window]}")
    return found


def assert_previous_tables_answer(
    lake: Lake, previous: dict[str, Any], killed_at: str, switching: bool
) -> None:
    """The previous tables answer as before, or, killed once the switch had begun (an
    ``UpdateTable`` went through), the query path refuses rather than mix two runs."""
    import pandas as pd

    try:
        answers = run_all(lake.settings, "local")
    except MixedRunsError:
        assert switching, f"tables of two runs after a kill at {killed_at}, before any switch"
        return
    for name, frame in answers.items():
        pd.testing.assert_frame_equal(frame, previous[name], obj=name)


def test_the_sample_covers_the_ends_and_each_kind_of_write() -> None:
    writes = ["s3:PutObject", "glue:CreateTable", "glue:CreateTable", "glue:UpdateTable", "s3:DeleteObject"]
    points = sample(writes, 5)
    assert set(points) == {(1, "before"), (1, "after"), (2, "after"), (4, "after"), (5, "after")}
    assert len(sample(writes, 100)) == 10
