"""The whole pipeline through Terraform's own wiring on the local stack, on the AWS code path.

CSVs dropped in Landing/ reach Raw through the deployed S3 notification; the deployed planner
fans the TMDB run out through the deployed queue and event source mapping to the worker; a
rerun adds nothing; the crawlers (the moto server's stand-in) catalog Raw and their success
runs the refine Lambda through the deployed rule, on Athena (the local moto server executing it
with the refine role's permissions); the seven SQL files answer on Athena; the named queries
are the SQL files; the report has its seven sections. Then the same lake is refined and queried
on the local engine (DuckDB), and every Trusted/Refined table and all seven answers must be
equal.

It shares the session's ``local_stack`` (one ``terraform apply``) with the other integration
tests, so every expectation holds whatever ran before: the TMDB run uses a date of its own,
and expectations are computed independently from ``data/sample`` with the csv module.
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import json
import math
import os
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from movielake import cli
from movielake.analysis.engines import run_all
from movielake.analysis.queries import discover
from movielake.config import PROJECT_ROOT, Settings
from movielake.local.stack import LocalStack
from movielake.refine.run import run_refine

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

SAMPLE = PROJECT_ROOT / "data" / "sample"
SAMPLE_MOVIES = SAMPLE / "movies.csv"
SAMPLE_SERIES = SAMPLE / "series.csv"
TMDB_FIXTURES = SAMPLE / "tmdb" / "movies.ndjson"
SQL_DIR = PROJECT_ROOT / "sql"
RUN_DAY = date(2031, 1, 2)  # a TMDB run date no other test uses
RUN_FOLDER = f"Raw/TMDB/JSON/Movies/{RUN_DAY:%Y/%m/%d}/"
BATCH_KEY = re.compile(re.escape(RUN_FOLDER) + r"lote_(\d+)\.json$")
ANY_BATCH_KEY = re.compile(r"^Raw/TMDB/JSON/Movies/\d{4}/\d{2}/\d{2}/lote_\d+\.json$")
REQUIRED_COLUMNS = {
    "q1": {"imdb_id", "title", "budget", "revenue", "roi"},
    "q2": {"decade", "films", "avg_roi"},
    "q3": {"corr_budget_revenue"},
    "q4": {"artist", "films", "avg_vote_average", "avg_revenue", "avg_popularity"},
    "q5": {"pearson_vote_popularity", "spearman_vote_popularity"},
    "q6": {"month", "hits", "films"},
    "q7": {"imdb_id", "title", "vote_count", "roi"},
}


# ---------------------------------------------------------------------- independent expectations


def expected_selection() -> list[str]:
    """The films the default filters pick from the sample CSV (year > 1960, votes > 10000,
    Crime or War as a whole genre name, any case), read with the csv module."""
    films: dict[str, dict[str, str]] = {}
    with SAMPLE_MOVIES.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="|", quoting=csv.QUOTE_NONE):
            films.setdefault(row["id"], row)

    def number(text: str) -> float | None:
        try:
            return float(text)
        except ValueError:
            return None

    chosen = []
    for film_id, row in films.items():
        year, votes = number(row["anoLancamento"]), number(row["numeroVotos"])
        genres = {g.strip().lower() for g in row["genero"].split(",")}
        if (
            year is not None
            and year > 1960
            and votes is not None
            and votes > 10000
            and genres & {"crime", "war"}
        ):
            chosen.append(film_id)
    return chosen


def fixture_payloads() -> dict[str, dict[str, Any]]:
    """The TMDB emulator's payloads by IMDb id."""
    lines = TMDB_FIXTURES.read_text(encoding="utf-8").splitlines()
    return {payload["imdb_id"]: payload for payload in map(json.loads, filter(None, lines))}


# ---------------------------------------------------------------------------------- lake helpers


def stack_of(record: dict) -> LocalStack:
    """The LocalStack object behind the fixture's record."""
    return LocalStack(directory=Path(record["local_dir"]), record_path=Path(record["record_path"]))


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    """Every key under ``prefix``."""
    paginator = s3.get_paginator("list_objects_v2")
    return [
        item["Key"]
        for page in paginator.paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
    ]


def read(s3: Any, bucket: str, key: str) -> bytes:
    """One object's bytes."""
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def ndjson(body: bytes) -> list[dict[str, Any]]:
    """The JSON objects of an NDJSON body."""
    return [json.loads(line) for line in body.splitlines() if line.strip()]


def snapshot(s3: Any, bucket: str) -> dict[str, Any]:
    """What the run date's folder holds now: batches (by key), errors and manifest."""
    batch_keys = sorted(k for k in list_keys(s3, bucket, RUN_FOLDER) if BATCH_KEY.match(k))
    keys_now = set(list_keys(s3, bucket, RUN_FOLDER))
    errors_key, manifest_key = RUN_FOLDER + "erros_geral.json", RUN_FOLDER + "_manifest.json"
    return {
        "batches": {key: ndjson(read(s3, bucket, key)) for key in batch_keys},
        "errors": ndjson(read(s3, bucket, errors_key)) if errors_key in keys_now else None,
        "manifest": json.loads(read(s3, bucket, manifest_key)) if manifest_key in keys_now else None,
    }


def queue_depth(sqs: Any, url: str) -> int:
    """Visible plus in-flight plus delayed messages of a queue."""
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes.get(name, 0)) for name in names)


def crawls(glue: Any, crawler: str) -> list[dict[str, Any]]:
    """The crawler's recorded runs (listing also lets moto advance a running one)."""
    return glue.list_crawls(CrawlerName=crawler).get("Crawls", [])


@contextlib.contextmanager
def stack_environment(record: dict) -> Iterator[None]:
    """The stack's environment exported (as ``local_stack_env`` does), for module-scoped steps."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith(("MOVIELAKE_", "AWS_")):
                patch.delenv(name)
        for name, value in record["environment"].items():
            patch.setenv(name, value)
        patch.setattr("movielake.config.STACK_FILE", Path(record["record_path"]))
        yield


# ----------------------------------------------------------------------- the pipeline, in order


@pytest.fixture(scope="module")
def landed(local_stack: dict) -> dict[str, Any]:
    """``movielake local land movies.csv series.csv`` against the session's stack (csv-ingest
    registers the date partitions), then ``movielake crawl --crawler csv``, so the CSV
    crawler's role and its catalog target run under enforced IAM too."""
    before = datetime.now(UTC).date()
    with stack_environment(local_stack):
        status = cli.main(["local", "land", str(SAMPLE_MOVIES), str(SAMPLE_SERIES)])
        crawled = cli.main(["crawl", "--crawler", "csv"])
    after = datetime.now(UTC).date()
    return {"status": status, "crawl": crawled, "days": sorted({before, after})}


def invoke_planner(record: dict, event: dict[str, Any]) -> dict[str, Any]:
    """Invoke the deployed planner through the local runtime, then pump until quiet."""
    stack = stack_of(record)
    dispatcher = stack.dispatcher()
    planner = dispatcher.spec(record["outputs"]["function_names"]["tmdb_planner"])
    invocation = dispatcher.runtime.invoke(planner, event)
    return {"planner": invocation, "pump": dispatcher.pump()}


@pytest.fixture(scope="module")
def first_run(local_stack: dict, landed: dict) -> dict[str, Any]:
    """The planner fanning a refresh run of RUN_DAY out through the queue to the worker."""
    stack = stack_of(local_stack)
    outputs = local_stack["outputs"]
    s3 = stack.client("s3", local_stack["endpoint_url"])
    sqs = stack.client("sqs", local_stack["endpoint_url"])
    glue = stack.client("glue", local_stack["endpoint_url"])
    crawler = outputs["tmdb_crawler"]
    crawls(glue, crawler)  # let moto finish any earlier run before counting
    crawls_before = len(crawls(glue, crawler))

    result = invoke_planner(local_stack, {"inline": False, "date": RUN_DAY.isoformat(), "refresh": True})

    return {
        **result,
        "snapshot": snapshot(s3, outputs["lake_bucket"]),
        "queue": queue_depth(sqs, outputs["tmdb_queue_url"]),
        "dlq": queue_depth(sqs, outputs["tmdb_dlq_url"]),
        "crawls_before": crawls_before,
        "crawls_after": crawls(glue, crawler),
    }


@pytest.fixture(scope="module")
def rerun(local_stack: dict, first_run: dict) -> dict[str, Any]:
    """The planner again for the same date, without refresh."""
    stack = stack_of(local_stack)
    outputs = local_stack["outputs"]
    s3 = stack.client("s3", local_stack["endpoint_url"])
    sqs = stack.client("sqs", local_stack["endpoint_url"])

    result = invoke_planner(local_stack, {"inline": False, "date": RUN_DAY.isoformat()})

    return {
        **result,
        "snapshot": snapshot(s3, outputs["lake_bucket"]),
        "queue": queue_depth(sqs, outputs["tmdb_queue_url"]),
        "dlq": queue_depth(sqs, outputs["tmdb_dlq_url"]),
    }


def newest_refine_manifest(record: dict) -> dict[str, Any] | None:
    """The newest refine manifest in the lake (run ids sort by time), or None."""
    stack = stack_of(record)
    bucket = record["outputs"]["lake_bucket"]
    s3 = stack.client("s3", record["endpoint_url"])
    manifests = sorted(list_keys(s3, bucket, "Refined/_refine/"))
    return json.loads(read(s3, bucket, manifests[-1])) if manifests else None


@pytest.fixture(scope="module")
def analysed(local_stack: dict, rerun: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """``movielake crawl``, ``local pump`` (the crawlers' events to the deployed rules: the
    refine), ``query --all --format json`` and ``report`` on the stack with the default engine
    (aws), and the manifest of the refine the crawl's event ran."""
    out = tmp_path_factory.mktemp("analyses")
    results, report_dir = out / "results.json", out / "report"
    with stack_environment(local_stack):
        crawled = cli.main(["crawl"])
        pumped = cli.main(["local", "pump"])
        manifest = newest_refine_manifest(local_stack)
        queried = cli.main(["query", "--all", "--format", "json", "--out", str(results)])
        reported = cli.main(["report", "--out", str(report_dir)])
    return {
        "status": {"crawl": crawled, "pump": pumped, "query": queried, "report": reported},
        "results": results,
        "report": report_dir / "index.html",
        "manifest": manifest,
    }


# ------------------------------------------------------------------------------------ the tests


def test_csvs_dropped_in_landing_land_in_raw_by_entity_and_date(local_stack: dict, landed: dict) -> None:
    stack = stack_of(local_stack)
    bucket = local_stack["outputs"]["lake_bucket"]
    s3 = stack.client("s3", local_stack["endpoint_url"])

    assert landed["status"] == 0  # every csv-ingest invocation of the pump succeeded
    assert landed["crawl"] == 0  # the CSV crawler (the stand-in, as the crawler role) succeeded
    for path, entity in ((SAMPLE_MOVIES, "Movies"), (SAMPLE_SERIES, "Series")):
        pattern = re.compile(
            rf"^Raw/Local/CSV/{entity}/\d{{4}}/\d{{2}}/\d{{2}}/{path.stem}(_[0-9a-f]{{8}})?\.csv$"
        )
        candidates = [
            key
            for day in landed["days"]
            for key in list_keys(s3, bucket, f"Raw/Local/CSV/{entity}/{day:%Y/%m/%d}/")
        ]
        same = [key for key in candidates if read(s3, bucket, key) == path.read_bytes()]
        assert same, f"{path.name} is not under Raw/Local/CSV/{entity}/<today>/: {candidates}"
        assert all(pattern.match(key) for key in same), same
        rejected = [
            key
            for day in landed["days"]
            for key in list_keys(s3, bucket, f"Rejected/Local/CSV/{entity}/{day:%Y/%m/%d}/{path.stem}")
        ]
        assert rejected == [], f"{path.name} was rejected"
    # csv-ingest registered each landed date as a partition itself: no CSV crawl needed (issue 17).
    glue = stack.client("glue", local_stack["endpoint_url"])
    database = local_stack["outputs"]["glue_database"]
    for table in ("csv_movies", "csv_series"):
        partitions = glue.get_partitions(DatabaseName=database, TableName=table)["Partitions"]
        values = {tuple(p["Values"]) for p in partitions}
        assert {(f"{d:%Y}", f"{d:%m}", f"{d:%d}") for d in landed["days"]} & values, (table, values)


def test_the_planner_fans_out_through_the_queue_to_the_worker(local_stack: dict, first_run: dict) -> None:
    selected = expected_selection()
    payloads = fixture_payloads()
    known = [i for i in selected if i in payloads]
    unknown = [i for i in selected if i not in payloads]
    assert known and unknown  # the sample has both, or this test proves little

    planner = first_run["planner"]
    assert planner.ok, planner.error
    assert planner.result["mode"] == "queue"
    assert planner.result["messages"] >= 1
    assert planner.result["selected"] == len(selected)
    assert planner.result["skipped"] == 0
    assert planner.result["pending_ids"] == len(selected)
    assert planner.result["manifest"] is None  # the worker completes the run, not the planner

    functions = local_stack["outputs"]["function_names"]
    invocations = first_run["pump"].invocations
    # The workers, then the refine: the crawler the completing worker started succeeded, and
    # the pump delivered its state change through the deployed rule.
    workers, refine = invocations[:-1], invocations[-1]
    assert [i.function for i in workers] == [functions["tmdb_worker"]] * planner.result["messages"]
    assert (refine.function, refine.ok) == (functions["refine"], True), refine.error
    assert all(i.ok and i.result == {"batchItemFailures": []} for i in workers), [
        (i.status, i.result, i.error) for i in workers
    ]
    assert first_run["queue"] == 0
    assert first_run["dlq"] == 0

    batches = first_run["snapshot"]["batches"]
    assert batches, f"no lote_N.json under {RUN_FOLDER}"
    requested = [record["requested_id"] for lines in batches.values() for record in lines]
    assert [i for i, n in Counter(requested).items() if n > 1] == []
    assert sorted(requested) == sorted(known)
    for lines in batches.values():
        for record in lines:
            source = payloads[record["requested_id"]]
            assert record["imdb_id"] == record["requested_id"]
            assert (record["budget"], record["revenue"]) == (source["budget"], source["revenue"])

    errors = first_run["snapshot"]["errors"]
    assert errors is not None, "no erros_geral.json"
    assert sorted(e["requested_id"] for e in errors) == sorted(unknown)
    assert {e["reason"] for e in errors} == {"not_found"}

    manifest = first_run["snapshot"]["manifest"]
    assert manifest is not None, "no _manifest.json"
    assert manifest["selected"] == manifest["skipped"] + manifest["fetched"] + manifest["failed"]
    assert (manifest["selected"], manifest["skipped"], manifest["fetched"], manifest["failed"]) == (
        len(selected),
        0,
        len(known),
        len(unknown),
    )
    assert manifest["failed_by_reason"] == {"not_found": len(unknown)}
    numbers = sorted(int(BATCH_KEY.match(key).group(1)) for key in batches)  # type: ignore[union-attr]
    assert set(numbers) <= set(manifest["batches"])

    # The completing worker started the TMDB crawler: moto records one more crawl.
    assert len(first_run["crawls_after"]) == first_run["crawls_before"] + 1


def test_a_rerun_without_refresh_fetches_nothing_again(
    local_stack: dict, first_run: dict, rerun: dict
) -> None:
    selected = expected_selection()
    payloads = fixture_payloads()
    known = [i for i in selected if i in payloads]
    unknown = [i for i in selected if i not in payloads]

    planner = rerun["planner"]
    assert planner.ok, planner.error
    assert planner.result["selected"] == len(selected)
    assert planner.result["skipped"] == len(known)  # every film already in Raw
    invocations = rerun["pump"].invocations  # workers, and the refine if the crawler ran again
    assert all(i.ok for i in invocations), [(i.function, i.status, i.error) for i in invocations]
    worker = local_stack["outputs"]["function_names"]["tmdb_worker"]
    assert all(i.result == {"batchItemFailures": []} for i in invocations if i.function == worker)
    assert rerun["queue"] == 0
    assert rerun["dlq"] == 0

    before, after = first_run["snapshot"], rerun["snapshot"]
    assert after["batches"] == before["batches"]  # no new record, no duplicate line
    requested = [record["requested_id"] for lines in after["batches"].values() for record in lines]
    assert len(requested) == len(set(requested)) == len(known)
    manifest = after["manifest"]
    assert manifest["run_id"] != before["manifest"]["run_id"]
    assert manifest["fetched"] == 0
    assert manifest["skipped"] == len(known)
    assert manifest["selected"] == manifest["skipped"] + manifest["fetched"] + manifest["failed"]
    assert after["errors"] is not None
    failed = [e["requested_id"] for e in after["errors"]]
    assert len(failed) == len(set(failed)) == manifest["failed"]
    # The unknown films are not in Raw, so the rerun asks for them again: still 404, listed once.
    assert sorted(failed) == sorted(unknown)
    assert {e["reason"] for e in after["errors"]} == {"not_found"}
    assert manifest["failed"] == len(unknown)


def fetched_films(record: dict) -> set[str]:
    """Every requested_id in a lote_N.json of Raw, any date, as the lake holds them now."""
    stack = stack_of(record)
    bucket = record["outputs"]["lake_bucket"]
    s3 = stack.client("s3", record["endpoint_url"])
    return {
        line["requested_id"]
        for key in list_keys(s3, bucket, "Raw/TMDB/JSON/Movies/")
        if ANY_BATCH_KEY.match(key)
        for line in ndjson(read(s3, bucket, key))
    }


def hidden_gems(films: list[dict[str, Any]]) -> set[str]:
    """q7's definition, computed in Python: vote_count < P25 and roi > P90 (nearest rank)."""
    population = [
        (f["vote_count"], (f["revenue"] - f["budget"]) / f["budget"], f["imdb_id"])
        for f in films
        if f["budget"] > 0 and f["revenue"] > 0
    ]
    n = len(population)
    votes = sorted(p[0] for p in population)
    rois = sorted(p[1] for p in population)
    p25, p90 = votes[math.ceil(25 * n / 100) - 1], rois[math.ceil(90 * n / 100) - 1]
    return {film for vote_count, roi, film in population if vote_count < p25 and roi > p90}


def test_the_catalog_answers_the_seven_queries(local_stack_env: dict, analysed: dict) -> None:
    assert analysed["status"]["crawl"] == 0
    assert analysed["status"]["pump"] == 0
    assert analysed["status"]["query"] == 0
    document = json.loads(analysed["results"].read_text())
    assert sorted(document) == sorted(q.stem for q in SQL_DIR.glob("q*.sql"))
    by_number = {name.split("_", 1)[0]: rows for name, rows in document.items()}
    assert set(by_number) == set(REQUIRED_COLUMNS)

    # Every result frame has its columns (checked on the frames: an empty result has no JSON row).
    frames = run_all(Settings.from_env(), "local")
    for name, frame in frames.items():
        number = name.split("_", 1)[0]
        assert REQUIRED_COLUMNS[number] <= set(frame.columns), (name, list(frame.columns))
        assert len(frame) == len(by_number[number]), name
    assert len(by_number["q6"]) == 12
    assert sorted(row["month"] for row in by_number["q6"]) == list(range(1, 13))
    for number in ("q2", "q3", "q4", "q5"):
        assert by_number[number], f"{number} returned no rows"

    # q1: one row per distinct fetched film whose budget and revenue are both known (> 0).
    payloads = fixture_payloads()
    films = [payloads[i] for i in fetched_films(local_stack_env)]
    with_roi = {f["imdb_id"] for f in films if f["budget"] > 0 and f["revenue"] > 0}
    assert 0 < len(with_roi) < len(films)  # the sample has unknown money, or this proves little
    assert len(by_number["q1"]) == len(with_roi)
    assert {row["imdb_id"] for row in by_number["q1"]} == with_roi
    # q7: the hidden gems by its own definition (the sample has at least two).
    assert len(hidden_gems(films)) >= 2
    assert {row["imdb_id"] for row in by_number["q7"]} == hidden_gems(films)


def test_the_crawl_event_ran_the_refine_lambda(local_stack_env: dict, analysed: dict) -> None:
    """The TMDB crawler's run (in the moto server's stand-in) put its success on the default
    bus; the pump delivered it through the deployed rule to the refine Lambda (from
    build/refine.zip), which published every table and its manifest."""
    stack = stack_of(local_stack_env)
    url, outputs = local_stack_env["endpoint_url"], local_stack_env["outputs"]
    glue = stack.client("glue", url)
    manifest = analysed["manifest"]
    assert manifest is not None, "the refine Lambda wrote no manifest"
    # The Lambda ran its Athena engine, as on AWS: no DuckDB in refine.zip, no loopback shortcut.
    assert manifest["status"] == "succeeded" and manifest["engine"] == "athena"
    for table, figures in manifest["tables"].items():
        described = glue.get_table(DatabaseName=outputs["glue_database"], Name=table)["Table"]
        assert described["StorageDescriptor"]["Location"] == figures["location"], table
        assert f"/v={manifest['run_id']}/" in figures["location"]
    films = manifest["tables"]["refined_film_facts"]
    assert films["rows_out"] == len(fetched_films(local_stack_env))
    # The refine Lambda's EMF lines, kept by the local runtime (issue 17): its figures.
    refine_sets = stack.status()["metrics"][outputs["function_names"]["refine"]]
    rows_out = {s["dimensions"].get("table"): s["metrics"].get("RowsOut") for s in refine_sets}
    assert refine_sets[0]["metrics"]["RefineSucceeded"] == 1
    assert rows_out["refined_film_facts"] == films["rows_out"]


def test_the_runs_metrics_are_kept_and_local_status_shows_them(
    local_stack_env: dict, rerun: dict, analysed: dict, capsys: pytest.CaptureFixture[str]
) -> None:
    """The worker that completed the last fanned-out run (the rerun: its unknown films asked
    again) emitted the manifest's figures (EMF); `local status` prints each function's last."""
    stack = stack_of(local_stack_env)
    worker = local_stack_env["outputs"]["function_names"]["tmdb_worker"]
    [run_set, *by_reason] = stack.status()["metrics"][worker]
    manifest = rerun["snapshot"]["manifest"]
    selected = expected_selection()
    assert manifest["selected"] == len(selected) and manifest["failed"] > 0  # or this proves little
    figures = {name: run_set["metrics"][name] for name in ("IdsSelected", "IdsSkipped", "IdsFetched")}
    assert figures == {
        "IdsSelected": manifest["selected"],
        "IdsSkipped": manifest["skipped"],
        "IdsFetched": manifest["fetched"],
    }
    assert run_set["metrics"]["IdsFailed"] == manifest["failed"]
    assert run_set["metrics"]["RequestsPerSecond"] == manifest["requests_per_second"]
    assert {s["dimensions"]["reason"]: s["metrics"]["IdsFailed"] for s in by_reason} == manifest[
        "failed_by_reason"
    ]
    capsys.readouterr()
    with stack_environment(local_stack_env):
        cli.main(["local", "status"])
    shown = capsys.readouterr().out
    assert "last run's metrics:" in shown
    assert f"IdsSelected {len(selected)}" in shown and "RefineSucceeded 1" in shown


def test_each_sql_file_is_a_named_query_in_the_workgroup(local_stack: dict) -> None:
    stack = stack_of(local_stack)
    athena = stack.client("athena", local_stack["endpoint_url"])
    outputs = local_stack["outputs"]
    ids: list[str] = []
    kwargs: dict[str, Any] = {"WorkGroup": outputs["athena_workgroup"]}
    while True:
        page = athena.list_named_queries(**kwargs)
        ids += page.get("NamedQueryIds", [])
        if not page.get("NextToken"):
            break
        kwargs["NextToken"] = page["NextToken"]
    named = [athena.get_named_query(NamedQueryId=i)["NamedQuery"] for i in ids]

    files = {path.stem: path.read_text(encoding="utf-8") for path in SQL_DIR.glob("q*.sql")}
    assert len(files) == 7
    assert sorted(q["Name"] for q in named) == sorted(files)  # exactly one per file
    for query in named:
        assert query["QueryString"] == files[query["Name"]], query["Name"]
        assert query["Database"] == outputs["glue_database"]
        assert query["WorkGroup"] == outputs["athena_workgroup"]


def test_the_report_has_a_section_per_question(analysed: dict) -> None:
    assert analysed["status"]["report"] == 0
    page = analysed["report"].read_text(encoding="utf-8")
    assert len(re.findall(r'<section id="q\d">', page)) == 7
    assert '<section id="moved">' in page  # what moved since the last run (day 1: nothing refreshed)
    for query in discover().values():
        assert html.escape(query.title) in page, query.title
    sections = dict(re.findall(r'<section id="(q\d)">(.*?)</section>', page, flags=re.DOTALL))
    assert sorted(sections) == sorted(REQUIRED_COLUMNS)
    for number, body in sections.items():
        assert '<p class="answer">' in body, f"{number} has no answer sentence"
    # With data in the lake only q7 may lack a chart (the sample's films hold no hidden gem).
    assert [n for n, body in sorted(sections.items()) if 'class="missing"' in body] in ([], ["q7"])


# --------------------------------------------------------- the AWS path equals the local engine


def table_rows(record: dict, location: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """A table version's columns and rows, read from every Parquet object under ``location``
    (pyarrow over boto3: neither engine's reader)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    stack = stack_of(record)
    s3 = stack.client("s3", record["endpoint_url"])
    bucket, prefix = location.removeprefix("s3://").split("/", 1)
    keys = [k for k in list_keys(s3, bucket, prefix) if not k.rsplit("/", 1)[-1].startswith(("_", "."))]
    assert keys, f"no object under {location}"
    table = pa.concat_tables(
        [pq.read_table(io.BytesIO(read(s3, bucket, key))) for key in keys], promote_options="permissive"
    )
    return table.column_names, [tuple(row.values()) for row in table.to_pylist()]


def comparable(value: Any) -> Any:
    """A value as both engines must agree on it: numbers compared to 9 significant digits
    (float sums may differ in the last bits), NaN as missing, dates and decimals by value."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float) or type(value).__name__ == "Decimal":
        number = float(value)
        return None if math.isnan(number) else float(f"{number:.9g}")
    if isinstance(value, list | tuple):
        return tuple(comparable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, comparable(v)) for k, v in value.items()))
    return value if isinstance(value, str) else str(value)


def sorted_rows(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows made comparable and sorted (ties in an ORDER BY may come in either order)."""
    normal = [comparable(tuple(row.values()) if isinstance(row, dict) else row) for row in rows]
    return sorted(normal, key=repr)


@pytest.fixture(scope="module")
def compared(local_stack: dict, analysed: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """What the AWS path published and answered (the Lambda's Athena refine, ``query --all`` on
    Athena), ``movielake refine --engine aws`` from the command, then the same lake refined and
    queried on the local engine (DuckDB)."""
    aws_manifest = analysed["manifest"]
    assert aws_manifest is not None, "the refine Lambda wrote no manifest"
    local_results = tmp_path_factory.mktemp("local") / "results.json"
    with stack_environment(local_stack):
        aws_tables = {t: table_rows(local_stack, f["location"]) for t, f in aws_manifest["tables"].items()}
        refined_by_command = cli.main(["refine", "--engine", "aws"])
        command_manifest = newest_refine_manifest(local_stack)
        local_manifest = run_refine(Settings.from_env(), "local")
        local_tables = {
            t: table_rows(local_stack, f["location"]) for t, f in local_manifest["tables"].items()
        }
        queried = cli.main(
            ["query", "--all", "--engine", "local", "--format", "json", "--out", str(local_results)]
        )
    return {
        "manifests": {"aws": aws_manifest, "local": local_manifest},
        "tables": {"aws": aws_tables, "local": local_tables},
        "answers": {
            "aws": json.loads(analysed["results"].read_text()),
            "local": json.loads(local_results.read_text()),
        },
        "status": {"refine": refined_by_command, "query": queried},
        "command_manifest": command_manifest,
    }


def test_the_aws_path_publishes_and_answers_what_the_local_engine_does(compared: dict) -> None:
    """Every Trusted/Refined table the Lambda's Athena refine published holds the rows the
    DuckDB refine builds from the same Raw, and the seven answers on Athena are DuckDB's."""
    manifests, tables, answers = compared["manifests"], compared["tables"], compared["answers"]
    assert (manifests["aws"]["engine"], manifests["local"]["engine"]) == ("athena", "duckdb")
    assert sorted(tables["aws"]) == sorted(tables["local"])
    assert {"trusted_films", "refined_film_facts", "refined_artist_films"} <= set(tables["aws"])
    for table, (columns, rows) in tables["aws"].items():
        local_columns, local_rows = tables["local"][table]
        assert columns == local_columns, table
        assert rows, f"{table} is empty, or this proves little"
        assert manifests["aws"]["tables"][table]["rows_out"] == len(rows), table
        assert sorted_rows(rows) == sorted_rows(local_rows), table
    assert compared["status"] == {"refine": 0, "query": 0}
    command = compared["command_manifest"]  # `movielake refine --engine aws`, on Athena too
    assert (command["engine"], command["status"]) == ("athena", "succeeded")
    rows = {table: figures["rows_out"] for table, figures in manifests["aws"]["tables"].items()}
    assert {table: figures["rows_out"] for table, figures in command["tables"].items()} == rows
    assert (
        sorted(answers["aws"]) == sorted(answers["local"]) == sorted(q.stem for q in SQL_DIR.glob("q*.sql"))
    )
    for name, rows in answers["aws"].items():
        assert rows or name.startswith("q7"), f"{name} answered nothing on Athena"
        assert sorted_rows(rows) == sorted_rows(answers["local"][name]), name


# ------------------------------------------------------------------------- permissions used


INLINE_DAY = date(2031, 1, 3)  # a small run the planner fetches itself, as `make demo` does


@pytest.fixture(scope="module")
def inline_run(local_stack: dict, analysed: dict) -> dict[str, Any]:
    """The planner fetching a refresh run of INLINE_DAY inline (no queue)."""
    return invoke_planner(local_stack, {"inline": True, "date": INLINE_DAY.isoformat(), "refresh": True})


def test_every_use_is_granted_and_every_grant_used_or_justified(
    local_stack_env: dict, analysed: dict, inline_run: dict
) -> None:
    """The run above, under enforced IAM, against the roles' policies; writes build/permissions.*"""
    assert inline_run["planner"].ok, inline_run["planner"].error

    status = cli.main(["local", "permissions"])

    report = json.loads((PROJECT_ROOT / "build" / "permissions.json").read_text())
    roles = {entry["role"]: entry for entry in report}
    prefix = "movielake-local-"
    assert set(roles) == {
        prefix + name for name in ("csv-ingest", "tmdb-planner", "tmdb-worker", "glue-crawler", "refine")
    }
    assert {role: entry["problems"] for role, entry in roles.items()} == {role: [] for role in roles}
    assert status == 0
    used = {role: {u["action"] for u in entry["used"]} for role, entry in roles.items()}
    assert {"s3:GetObject", "s3:PutObject", "s3:DeleteObject", "kms:Decrypt"} <= used[prefix + "csv-ingest"]
    assert {"secretsmanager:GetSecretValue", "glue:StartCrawler", "sqs:SendMessage"} <= used[
        prefix + "tmdb-planner"
    ]
    assert {"sqs:ReceiveMessage", "sqs:DeleteMessage", "s3:DeleteObject"} <= used[prefix + "tmdb-worker"]
    assert {"glue:CreateTable", "glue:BatchCreatePartition", "s3:GetObject"} <= used[prefix + "glue-crawler"]


# ------------------------------------------------------------------ day 2: the daily refresh


DAY_TWO = date(2031, 1, 4)  # after RUN_DAY (day 1) and INLINE_DAY
EMULATOR_KEY = "day-two-key"


def answers(record: dict, out: Path) -> dict[str, list[dict[str, Any]]]:
    """``movielake query --all --format json`` on the stack, by query number."""
    with stack_environment(record):
        assert cli.main(["query", "--all", "--format", "json", "--out", str(out)]) == 0
    return {name.split("_", 1)[0]: rows for name, rows in json.loads(out.read_text()).items()}


def raw_records(record: dict) -> list[tuple[str, dict[str, Any]]]:
    """Every record of every lote_N.json in Raw, with its key."""
    stack = stack_of(record)
    bucket = record["outputs"]["lake_bucket"]
    s3 = stack.client("s3", record["endpoint_url"])
    return [
        (key, line)
        for key in list_keys(s3, bucket, "Raw/TMDB/JSON/Movies/")
        if ANY_BATCH_KEY.match(key)
        for line in ndjson(read(s3, bucket, key))
    ]


@pytest.fixture(scope="module")
def day_two(local_stack: dict, analysed: dict, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Day 1 was ``first_run`` + ``analysed`` (fetch, crawl, refine, answers). On day 2 TMDB
    (an emulator with a change clock) has edited five films' revenue and one hidden gem's vote
    count, and learnt one film it did not know; ``movielake tmdb fetch``, ``crawl``, ``local
    pump`` (the crawl's event to the refine Lambda), ``query`` and ``report`` run again."""
    from movielake.local.tmdb_changes import ChangeLog
    from movielake.local.tmdb_emulator import Emulator

    out = tmp_path_factory.mktemp("day-two")
    before = answers(local_stack, out / "day-one.json")
    in_raw = fetched_films(local_stack)
    payloads = fixture_payloads()
    gem = before["q7"][0]["imdb_id"]
    money = [row["imdb_id"] for row in before["q1"] if row["imdb_id"] != gem][:5]
    highest_votes = max(p["vote_count"] for p in payloads.values())
    edits = {film: {"revenue": payloads[film]["revenue"] * 3 + 12_345} for film in money}
    edits[gem] = {"vote_count": highest_votes + 1_000}  # far above P25: no longer a gem
    learnt = sorted(set(expected_selection()) - set(payloads))[0]  # unknown to TMDB on day 1
    template = payloads[money[0]]
    served = {
        **payloads,
        learnt: {**template, "id": 99_000_001, "imdb_id": learnt, "title": "Learnt Overnight"},
    }

    midnight = datetime(DAY_TWO.year, DAY_TWO.month, DAY_TWO.day, tzinfo=UTC)
    clock = ChangeLog((p["id"] for p in served.values()), now=midnight, unrelated_per_day=30)
    for film, fields in edits.items():
        clock.schedule(midnight.replace(hour=1), payloads[film]["id"], **fields)
    clock.set_clock(midnight.replace(hour=6))
    printed = io.StringIO()
    with (
        Emulator(served, EMULATOR_KEY, changes=clock) as emulator,
        stack_environment(local_stack),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("MOVIELAKE_TMDB_BASE_URL", emulator.url)
        patch.setenv("MOVIELAKE_TMDB_API_KEY", EMULATOR_KEY)
        with contextlib.redirect_stdout(printed):
            fetched = cli.main(["tmdb", "fetch", "--date", DAY_TWO.isoformat()])
        status = io.StringIO()
        with contextlib.redirect_stdout(status):
            cli.main(["tmdb", "status", "--date", DAY_TWO.isoformat()])
        requests = emulator.stats()["log"]
    with stack_environment(local_stack):
        crawled = cli.main(["crawl"])
        pumped = cli.main(["local", "pump"])  # the TMDB crawler's event runs the refine Lambda
        reported = cli.main(["report", "--out", str(out / "report")])
    return {
        "status": {"fetch": fetched, "crawl": crawled, "pump": pumped, "report": reported},
        "manifest": json.loads(printed.getvalue()),
        "tmdb_status": status.getvalue(),
        "requests": requests,
        "before": before,
        "after": answers(local_stack, out / "day-two.json"),
        "in_raw": in_raw,
        "edits": edits,
        "gem": gem,
        "learnt": learnt,
        "served": served,
        "report": (out / "report" / "index.html").read_text(encoding="utf-8"),
    }


def test_day_two_refreshes_exactly_the_edited_films_and_the_answers_move(
    local_stack: dict, day_two: dict
) -> None:
    assert day_two["status"] == {"fetch": 0, "crawl": 0, "pump": 0, "report": 0}
    edits, gem, learnt = day_two["edits"], day_two["gem"], day_two["learnt"]
    selected = set(expected_selection())
    new = selected - day_two["in_raw"]
    assert learnt in new

    # The run fetched exactly the edited films and the films new to Raw, and counted them.
    manifest = day_two["manifest"]
    assert (manifest["refreshed"], manifest["new"]) == (len(edits), len(new))
    assert manifest["unchanged"] == len(selected) - len(edits) - len(new)
    assert manifest["selected"] == manifest["skipped"] + manifest["fetched"] + manifest["failed"]
    assert manifest["change_window"]["status"] == "covered"
    assert manifest["change_window"]["end"] == DAY_TWO.isoformat()
    movie_requests = {r["id"] for r in day_two["requests"] if r["route"] == "movie"}
    assert movie_requests == set(edits) | new
    assert "refreshed 6, unchanged" in day_two["tmdb_status"]

    # Raw holds both records of every edited film; the newest carries the edit.
    records: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for key, line in raw_records(local_stack):
        records.setdefault(line["requested_id"], []).append((key, line))
    for film, fields in edits.items():
        folders = {key.rsplit("/", 1)[0] for key, _ in records[film]}
        assert len(folders) >= 2 and any(f"/{DAY_TWO:%Y/%m/%d}" in f for f in folders), film
        newest = max(records[film], key=lambda item: item[1]["ingested_at"])[1]
        assert {name: newest[name] for name in fields} == fields
    assert learnt in records

    # The answers show the new values: q1's revenues, q7 recomputed from the newest records.
    q1 = {row["imdb_id"]: row for row in day_two["after"]["q1"]}
    for film, fields in edits.items():
        if "revenue" in fields:
            assert q1[film]["revenue"] == fields["revenue"]
    newest_payloads = {**day_two["served"]}
    for film, fields in edits.items():
        newest_payloads[film] = {**newest_payloads[film], **fields}
    films = [newest_payloads[i] for i in fetched_films(local_stack)]
    gems_now = hidden_gems(films)
    assert gem not in gems_now
    assert {row["imdb_id"] for row in day_two["after"]["q7"]} == gems_now
    gems_before = {row["imdb_id"] for row in day_two["before"]["q7"]}

    # The report says what moved: the six films refreshed, and the gems gained and lost.
    section = re.search(r'<section id="moved">(.*?)</section>', day_two["report"], flags=re.DOTALL)
    assert section is not None, "the report has no 'what moved' section"
    sentence = html.unescape(section.group(1))
    assert f"refreshed {len(edits)} films; {len(edits)} of them moved an answer" in sentence
    for lost in gems_before - gems_now:
        assert f"({lost})" in sentence.split("lost:")[1]
    for gained in gems_now - gems_before:
        assert f"({gained})" in sentence.split("gained:")[1].split("lost:")[0]
