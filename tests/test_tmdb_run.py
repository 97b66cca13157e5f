"""The TMDB run end to end: real HTTP to the emulator, real objects in (in-process) moto S3/SQS."""

from __future__ import annotations

import dataclasses
import gc
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION, define_crawler

from movielake import keys
from movielake.config import Settings
from movielake.local import synthetic
from movielake.local.tmdb_emulator import Emulator, FaultPlan, synthetic_fixtures
from movielake.tmdb import handlers, run
from movielake.tmdb.client import ClientOptions, Outcome, TmdbAuthError, fetch_movies
from movielake.tmdb.credentials import Credentials
from movielake.tmdb.errors import RunError
from movielake.tmdb.manifest import manifest_for
from movielake.tmdb.plan import Batch, Plan, load_plan
from movielake.tmdb.writer import RunFolder

FILMS = 350  # with every filter off: 4 batches of 100, 100, 100 and 50 ids
DAY = date(2026, 3, 14)
LATER = date(2026, 3, 15)
API_KEY = "test-key"
CRAWLER = "movielake-test-raw-tmdb"


@pytest.fixture(scope="module")
def films() -> list[synthetic.Film]:
    """The synthetic films of the CSV and of the emulator's fixtures."""
    return list(synthetic.films(FILMS))


@pytest.fixture(scope="module")
def emulator(films: list[synthetic.Film]) -> Iterator[Emulator]:
    """The TMDB emulator: knows ~97% of the films; 5% of ids fail their first attempt."""
    faults = FaultPlan(share=0.05, kinds=("500", "503", "truncate"), failures_per_id=1)
    with Emulator(synthetic_fixtures(FILMS), API_KEY, faults=faults) as emu:
        yield emu


@pytest.fixture
def s3(moto_endpoint: str) -> Any:
    """An S3 client on the moto server (DuckDB reads the CSV over HTTP), with the lake bucket."""
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    client.create_bucket(Bucket=LAKE_BUCKET)
    return client


@pytest.fixture
def lake(s3: Any, films: list[synthetic.Film]) -> Any:
    """The lake with the films' CSV ingested on DAY (and an older, different one before it)."""
    old = "".join(synthetic.csv_text(synthetic.films(5, seed=99)))
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", date(2026, 1, 1)), Body=old.encode())
    body = "".join(synthetic.csv_text(films)).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", DAY), Body=body)
    return s3


@pytest.fixture
def glue(moto_endpoint: str) -> Any:
    """A Glue client with the TMDB crawler defined."""
    client = boto3.client("glue", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    define_crawler(client, CRAWLER, keys.TMDB_MOVIES_PREFIX)
    return client


@pytest.fixture
def config(emulator: Emulator, moto_endpoint: str) -> Settings:
    """Every filter off (all 350 films), fast pacing, one retry."""
    return Settings(
        lake_bucket=LAKE_BUCKET,
        endpoint_url=moto_endpoint,
        region=REGION,
        tmdb_base_url=emulator.url,
        tmdb_rate=2000.0,
        tmdb_max_attempts=3,
        tmdb_crawler=CRAWLER,
        min_year=None,
        min_votes=None,
        genres=(),
    )


CREDENTIALS = Credentials(api_key=API_KEY)


def read_ndjson(s3: Any, key: str) -> list[dict[str, Any]]:
    """The lines of an NDJSON object."""
    body = s3.get_object(Bucket=LAKE_BUCKET, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines() if line]


def all_batch_lines(s3: Any) -> list[dict[str, Any]]:
    """Every line of every lote_*.json in Raw/TMDB, any date."""
    listed = s3.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=keys.TMDB_MOVIES_PREFIX).get("Contents", [])
    batches = [o["Key"] for o in listed if keys.batch_number(o["Key"]) and "/_run/" not in o["Key"]]
    return [line for key in batches for line in read_ndjson(s3, key)]


def unknown_ids(films: Iterable[synthetic.Film]) -> set[str]:
    """The ids the emulator answers 404 for, computed from the synthetic data itself."""
    return {f.imdb_id for f in films if not synthetic.known_to_tmdb(f)}


def test_full_run_writes_batches_errors_and_a_manifest_that_adds_up(
    lake: Any, glue: Any, config: Settings, films: list[synthetic.Film]
) -> None:
    manifest = run.run(lake, config, DAY, CREDENTIALS, glue=glue)

    plan = load_plan(lake, LAKE_BUCKET, DAY)
    assert plan is not None
    assert [len(b.ids) for b in plan.batches] == [100, 100, 100, 50]
    assert [f.imdb_id for f in films] == [i for b in plan.batches for i in b.ids]
    missing = unknown_ids(films)
    assert 0 < len(missing) < 30
    for batch in plan.batches:
        lines = read_ndjson(lake, keys.tmdb_batch_key(DAY, batch.number))
        assert [r["requested_id"] for r in lines] == [i for i in batch.ids if i not in missing]
        assert all(r["imdb_id"] == r["requested_id"] and r["title"] for r in lines)
    errors = read_ndjson(lake, keys.tmdb_errors_key(DAY))
    assert {e["requested_id"] for e in errors} == missing
    # /3/movie answers 404, /3/find confirms with no movie result: two requests, status 404.
    assert all(e["reason"] == "not_found" and e["http_status"] == 404 and e["attempts"] >= 2 for e in errors)
    stored = json.loads(lake.get_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_manifest_key(DAY))["Body"].read())
    assert stored == manifest
    assert (manifest["selected"], manifest["skipped"]) == (FILMS, 0)
    assert (manifest["fetched"], manifest["failed"]) == (FILMS - len(missing), len(missing))
    assert manifest["failed_by_reason"] == {"not_found": len(missing)}
    assert manifest["batches"] == [1, 2, 3, 4]
    assert manifest["requests"] >= FILMS and manifest["requests_per_second"] > 0
    assert manifest["source"].endswith(keys.raw_csv_key("movies.csv", DAY))
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"


def _dies_after(ids_before_death: int) -> run.FetchFunction:
    """A fetch that streams the real outcomes of the first ``n`` ids, then raises.

    Outcomes of later ids are dropped, as if lost with the process, so the batches after the
    first ``n`` ids can never be whole before the death, however the requests are timed.
    """

    async def fetch(
        ids: Iterable[str], credentials: Credentials, options: ClientOptions
    ) -> AsyncIterator[Outcome]:
        ids = list(ids)
        waiting = set(ids[:ids_before_death])
        async for outcome in fetch_movies(ids, credentials, options):
            if outcome.requested_id not in waiting:
                continue
            yield outcome
            waiting.discard(outcome.requested_id)
            if not waiting:
                raise ConnectionError("the process was killed")

    return fetch


def test_the_fetch_runs_with_the_objects_made_before_it_frozen_then_released(
    lake: Any, config: Settings
) -> None:
    frozen: list[int] = []

    def observed(ids: Iterable[str], credentials: Credentials, options: ClientOptions) -> Any:
        frozen.append(gc.get_freeze_count())
        return fetch_movies(ids, credentials, options)

    gc.unfreeze()
    run.run(lake, config, DAY, CREDENTIALS, fetch=observed)
    # The SDK's models and the imported modules alone are tens of thousands of objects.
    assert frozen and frozen[0] > 10_000
    assert gc.get_freeze_count() == 0


def test_a_killed_run_resumes_without_refetching_done_batches_or_duplicating_lines(
    lake: Any, config: Settings, films: list[synthetic.Film]
) -> None:
    with pytest.raises(ConnectionError):
        run.run(lake, config, DAY, CREDENTIALS, fetch=_dies_after(200))
    folder = RunFolder(lake, LAKE_BUCKET, DAY)
    done_before = folder.done_numbers()
    assert done_before == {1, 2}
    assert folder.manifest() is None
    plan = load_plan(lake, LAKE_BUCKET, DAY)

    with Emulator(synthetic_fixtures(FILMS), API_KEY) as fresh:
        manifest = run.run(lake, dataclasses.replace(config, tmdb_base_url=fresh.url), DAY, CREDENTIALS)
        asked = {entry["id"] for entry in fresh.stats()["log"]}

    assert load_plan(lake, LAKE_BUCKET, DAY) == plan
    done_ids = {i for b in plan.batches if b.number in done_before for i in b.ids}
    assert asked and not asked & done_ids
    lines = all_batch_lines(lake)
    fetched = [line["requested_id"] for line in lines]
    assert len(fetched) == len(set(fetched))
    failed = {e["requested_id"] for e in read_ndjson(lake, keys.tmdb_errors_key(DAY))}
    assert set(fetched) | failed == {f.imdb_id for f in films}
    assert not set(fetched) & failed
    assert manifest["fetched"] + manifest["failed"] + manifest["skipped"] == manifest["selected"] == FILMS


def test_gap_detection_skips_fetched_ids_and_refresh_refetches_them(
    lake: Any, config: Settings, films: list[synthetic.Film]
) -> None:
    first = run.run(lake, config, DAY, CREDENTIALS)
    in_raw = {line["requested_id"] for line in all_batch_lines(lake)}

    again = run.run(lake, config, LATER, CREDENTIALS)
    assert again["skipped"] == len(in_raw) == first["fetched"]
    replanned = load_plan(lake, LAKE_BUCKET, LATER)
    assert replanned is not None
    assert {i for b in replanned.batches for i in b.ids} == unknown_ids(films)
    assert [b.number for b in replanned.batches] == [1]
    assert again["fetched"] == 0 and again["failed"] == len(unknown_ids(films))

    same_day = run.run(lake, config, DAY, CREDENTIALS)
    same_plan = load_plan(lake, LAKE_BUCKET, DAY)
    assert same_plan is not None and [b.number for b in same_plan.batches] == [5]
    assert same_day["skipped"] == len(in_raw)

    refreshed = run.run(lake, config, LATER, CREDENTIALS, refresh=True)
    assert refreshed["skipped"] == 0
    assert refreshed["fetched"] == first["fetched"]
    later_lines = [
        line["requested_id"]
        for n in refreshed["batches"]
        if (line_key := keys.tmdb_batch_key(LATER, n))
        and lake.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=line_key).get("KeyCount")
        for line in read_ndjson(lake, line_key)
    ]
    assert sorted(later_lines) == sorted(in_raw)
    assert refreshed["batches"][0] == 2  # after LATER's batch 1


def test_a_refused_key_stops_the_run_and_marks_no_id_failed(lake: Any, config: Settings) -> None:
    with pytest.raises(TmdbAuthError):
        run.run(lake, config, DAY, Credentials(api_key="wrong"))
    listed = [
        o["Key"] for o in lake.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=keys.TMDB_MOVIES_PREFIX)["Contents"]
    ]
    assert listed == [keys.tmdb_run_key(DAY, "plan.json")]


def _two_passes(lake: Any, config: Settings) -> tuple[Plan, RunFolder, list[Batch], run.FetchReport]:
    """A plan fetched by two passes, as two workers' messages: (plan, folder, the other pass's
    batches, this pass's report)."""
    plan = run.prepare(lake, config, DAY)
    options = ClientOptions.from_settings(config)
    others, own = plan.batches[:2], plan.batches[2:]
    run.execute(lake, config, plan, others, CREDENTIALS, options)
    report = run.execute(lake, config, plan, own, CREDENTIALS, options)
    return plan, RunFolder(lake, LAKE_BUCKET, DAY), others, report


def _reads(s3: Any) -> list[str]:
    """The keys the client GETs from now on."""
    read: list[str] = []
    s3.meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: read.append(params["Key"])
    )
    return read


def _bookkeeping(read: list[str]) -> set[str]:
    return {k for k in read if "/_run/done/" in k or "/_run/errors/" in k}


def test_completing_takes_its_own_batches_and_the_other_passes_summaries(
    lake: Any, config: Settings, films: list[synthetic.Film]
) -> None:
    """A worker completing the run reads no done marker nor error part: its own batches it
    wrote, the others' come in one summary per pass. The manifest and the errors file are
    those the markers and error parts in S3 give."""
    plan, folder, _, report = _two_passes(lake, config)
    numbers = [b.number for b in plan.batches]
    markers = folder.done_markers(numbers)
    error_parts = [line for part in folder.error_parts(numbers).values() for line in part]
    read = _reads(lake)

    manifest = run.complete(lake, config, plan, report=report)

    assert _bookkeeping(read) == set()
    assert len([k for k in read if "/_run/passes/" in k]) == 2  # both passes' summaries listed
    assert manifest is not None
    assert manifest["fetched"] == sum(m["fetched"] for m in markers.values())
    assert manifest["requests"] == sum(m["requests"] for m in markers.values())
    assert manifest["failed"] == len(error_parts) == len(unknown_ids(films))
    errors = read_ndjson(lake, keys.tmdb_errors_key(DAY))
    assert errors == sorted(error_parts, key=lambda e: e["requested_id"])


def test_a_batch_rewritten_after_its_pass_is_read_anew(lake: Any, config: Settings) -> None:
    """A summary's batch counts only while the done marker in S3 is the one that pass wrote:
    a marker rewritten since (another delivery of the message) is read from S3."""
    plan, folder, others, report = _two_passes(lake, config)
    rewritten = others[0].number
    marker = folder.get_json(folder.done_key(rewritten))
    folder.put_json(folder.done_key(rewritten), {**marker, "written_at": "2026-03-14T23:59:59Z"})
    read = _reads(lake)

    manifest = run.complete(lake, config, plan, report=report)

    expected = {folder.done_key(rewritten)} | (
        {folder.error_part_key(rewritten)} if marker["failed"] else set()
    )
    assert _bookkeeping(read) == expected
    assert manifest is not None and manifest["batches"] == [b.number for b in plan.batches]


def test_the_conservation_check_fails_loudly(lake: Any, config: Settings) -> None:
    run.run(lake, config, DAY, CREDENTIALS)
    plan = load_plan(lake, LAKE_BUCKET, DAY)
    assert plan is not None
    folder = RunFolder(lake, LAKE_BUCKET, DAY)
    markers = folder.done_markers(b.number for b in plan.batches)
    errors = [line for part in folder.error_parts(markers).values() for line in part]
    markers[1] = {**markers[1], "fetched": markers[1]["fetched"] - 1}
    with pytest.raises(RunError, match="does not add up"):
        manifest_for(plan, markers, errors)


@pytest.fixture
def queue(moto_endpoint: str) -> tuple[Any, str]:
    """A moto SQS queue for the fan-out path."""
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    return sqs, sqs.create_queue(QueueName="movielake-test-tmdb-batches")["QueueUrl"]


def _environment(monkeypatch: pytest.MonkeyPatch, config: Settings, queue_url: str) -> None:
    """The Lambda's environment for ``config`` (what Terraform would set)."""
    for name, value in {
        "LAKE_BUCKET": LAKE_BUCKET,
        "TMDB_QUEUE_URL": queue_url,
        "TMDB_API_KEY": API_KEY,
        "TMDB_BASE_URL": config.tmdb_base_url,
        "TMDB_RATE": "2000",
        "TMDB_MAX_ATTEMPTS": "3",
        "TMDB_IDS_PER_MESSAGE": "200",
        "TMDB_CRAWLER": CRAWLER,
        "MIN_YEAR": "off",
        "MIN_VOTES": "off",
        "GENRES": "off",
    }.items():
        monkeypatch.setenv(f"MOVIELAKE_{name}", value)


def _receive(sqs: Any, queue_url: str) -> list[dict[str, Any]]:
    """Every message waiting on the queue, as Lambda's SQS event records."""
    records = []
    while answer := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        records += [{"messageId": m["MessageId"], "body": m["Body"]} for m in answer]
    return records


def test_fan_out_through_sqs_completes_once_and_redelivery_rewrites_nothing(
    lake: Any, glue: Any, config: Settings, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, queue_url = queue
    _environment(monkeypatch, config, queue_url)

    planned = handlers.plan({"date": DAY.isoformat(), "inline": False}, None)
    assert (planned["mode"], planned["messages"], planned["manifest"]) == ("queue", 2, None)
    # A standard queue does not promise order: sort by the first batch number.
    messages = sorted(_receive(sqs, queue_url), key=lambda m: json.loads(m["body"])["batches"][0]["number"])
    assert [[b["number"] for b in json.loads(m["body"])["batches"]] for m in messages] == [[1, 2], [3, 4]]

    assert handlers.work({"Records": messages[:1]}, None) == {"batchItemFailures": []}
    folder = RunFolder(lake, LAKE_BUCKET, DAY)
    assert folder.manifest() is None
    assert handlers.work({"Records": messages[1:]}, None) == {"batchItemFailures": []}
    manifest = folder.manifest()
    assert manifest is not None and manifest["selected"] == FILMS
    assert manifest["fetched"] + manifest["failed"] == FILMS

    before = {
        n: lake.get_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(DAY, n))["Body"].read() for n in (1, 2)
    }
    assert handlers.work({"Records": messages[:1]}, None) == {"batchItemFailures": []}
    after = {
        n: lake.get_object(Bucket=LAKE_BUCKET, Key=keys.tmdb_batch_key(DAY, n))["Body"].read() for n in (1, 2)
    }
    assert after == before
    assert folder.manifest() == manifest
    fetched = [line["requested_id"] for line in all_batch_lines(lake)]
    assert len(fetched) == len(set(fetched)) == manifest["fetched"]


def test_a_worker_reports_a_message_whose_plan_is_missing(
    lake: Any, config: Settings, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, config, queue[1])
    body = {"run_date": "2026-01-02", "run_id": "x", "batches": [{"number": 1, "ids": ["tt0100000"]}]}
    answer = handlers.work({"Records": [{"messageId": "m-1", "body": json.dumps(body)}]}, None)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m-1"}]}


def test_the_planner_runs_a_small_plan_inline(
    lake: Any, glue: Any, config: Settings, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _environment(monkeypatch, config, queue[1])
    monkeypatch.setenv("MOVIELAKE_TMDB_IDS_PER_MESSAGE", "1000")

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 900_000

    answer = handlers.plan({"date": DAY.isoformat()}, Context())
    assert answer["mode"] == "inline"
    assert answer["manifest"]["fetched"] + answer["manifest"]["failed"] == FILMS
    assert not queue[0].receive_message(QueueUrl=queue[1]).get("Messages")
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"


def test_the_cli_fetches_with_filter_overrides_and_reports_status(
    lake: Any,
    config: Settings,
    queue: tuple[Any, str],
    films: list[synthetic.Film],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from movielake.cli import main

    _environment(monkeypatch, config, queue[1])
    monkeypatch.setenv("MOVIELAKE_TMDB_CRAWLER", "")
    argv = [
        "tmdb",
        "fetch",
        "--date",
        DAY.isoformat(),
        "--min-year",
        "2000",
        "--genres",
        "off",
        "--rate",
        "500",
    ]
    assert main(argv) == 0
    manifest = json.loads(capsys.readouterr().out)
    assert manifest["filters"] == {"min_year": 2000, "min_votes": None, "genres": []}
    assert manifest["selected"] == len([f for f in films if f.year > 2000])

    assert main(["tmdb", "status", "--date", DAY.isoformat()]) == 0
    status = capsys.readouterr().out
    assert f"selected {manifest['selected']}: new {manifest['selected']}, refreshed 0, unchanged 0" in status
    assert "first run: nothing in Raw to refresh" in status
    assert f"complete: fetched {manifest['fetched']}, failed {manifest['failed']}" in status


def test_ids_that_keep_failing_are_recorded_with_their_reason(
    lake: Any, config: Settings, films: list[synthetic.Film]
) -> None:
    known = [f.imdb_id for f in films if synthetic.known_to_tmdb(f)]
    broken = {known[10]: "500", known[150]: "503"}
    faults = FaultPlan(forced=broken, failures_per_id=99)
    with Emulator(synthetic_fixtures(FILMS), API_KEY, faults=faults) as emu:
        manifest = run.run(lake, dataclasses.replace(config, tmdb_base_url=emu.url), DAY, CREDENTIALS)
    errors = {e["requested_id"]: e for e in read_ndjson(lake, keys.tmdb_errors_key(DAY))}
    for requested_id, status in broken.items():
        assert errors[requested_id]["reason"] == "server_error"
        assert errors[requested_id]["http_status"] == int(status)
        assert errors[requested_id]["attempts"] == config.tmdb_max_attempts
    assert manifest["failed_by_reason"] == {"not_found": len(unknown_ids(films)), "server_error": 2}
    assert manifest["fetched"] == FILMS - len(unknown_ids(films)) - 2


def test_a_worker_refused_by_tmdb_fails_its_messages_and_records_no_failure(
    lake: Any, config: Settings, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs, queue_url = queue
    _environment(monkeypatch, config, queue_url)
    handlers.plan({"date": DAY.isoformat(), "inline": False}, None)
    messages = _receive(sqs, queue_url)
    monkeypatch.setenv("MOVIELAKE_TMDB_API_KEY", "revoked")

    answer = handlers.work({"Records": messages}, None)

    assert answer == {"batchItemFailures": [{"itemIdentifier": m["messageId"]} for m in messages]}
    listed = lake.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=keys.TMDB_MOVIES_PREFIX)["Contents"]
    assert [o["Key"] for o in listed] == [keys.tmdb_run_key(DAY, "plan.json")]


@pytest.mark.parametrize(
    ("ids", "workers", "sizes"),
    [
        (2050, 3, [700, 700, 650]),  # one message per worker, whole batches
        (2050, 1, [1100, 950]),  # one worker: as few messages as the limit allows
        (9000, 2, [1500] * 6),  # never above tmdb_ids_per_message, whole rounds of workers
        (100_000, 4, [2000] * 12 + [1900] * 40),  # 52 messages, not 50: 13 whole rounds
    ],
)
def test_a_fan_out_gives_every_worker_the_same_number_of_even_messages(
    ids: int, workers: int, sizes: list[int]
) -> None:
    settings = Settings(tmdb_workers=workers, tmdb_ids_per_message=2000, tmdb_batch_size=100)
    todo = [
        Batch(n + 1, tuple(f"tt{i}" for i in range(s, min(s + 100, ids))))
        for n, s in enumerate(range(0, ids, 100))
    ]
    plan = Plan(DAY, "r", "s", {}, ids, 0, False, todo)
    bodies = handlers.messages(plan, todo, handlers.message_count(len(todo), settings))
    assert [sum(len(b["ids"]) for b in body["batches"]) for body in bodies] == sizes
    assert [b["number"] for body in bodies for b in body["batches"]] == [b.number for b in todo]


def test_a_fan_out_of_large_messages_is_sent_in_calls_sqs_accepts(moto_endpoint: str) -> None:
    """Ten messages of ~8,300 ids are ~1.1 MB, over SendMessageBatch's 1 MiB: the calls are
    split by size too, and the queue ends up with every id once."""
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    queue_url = sqs.create_queue(QueueName="tmdb-large-messages")["QueueUrl"]
    settings = Settings(tmdb_workers=4, tmdb_ids_per_message=10_000, tmdb_batch_size=100)
    todo = [
        Batch(n + 1, tuple(f"tt{i:07d}" for i in range(s, s + 100)))
        for n, s in enumerate(range(0, 100_000, 100))
    ]
    plan = Plan(DAY, "r", "s", {}, 100_000, 0, False, todo)
    bodies = handlers.messages(plan, todo, handlers.message_count(len(todo), settings))
    texts = [json.dumps(body) for body in bodies]
    assert sum(len(t) for t in texts[:10]) > handlers.SQS_BATCH_BYTES  # ten a call would be refused

    assert handlers.enqueue(sqs, queue_url, bodies) == len(bodies) == 12
    received: list[str] = []
    while page := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages"):
        for message in page:
            received += [i for b in json.loads(message["Body"])["batches"] for i in b["ids"]]
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    assert sorted(received) == [i for b in todo for i in b.ids]
    groups = handlers.send_groups(texts)
    assert [n for group in groups for n in group] == list(range(len(texts)))
    assert all(sum(len(texts[n]) for n in g) <= handlers.SQS_BATCH_BYTES and len(g) <= 10 for g in groups)
