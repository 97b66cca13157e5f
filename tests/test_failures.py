"""The failure corpus (issue 10): one test per way a hostile but realistic user breaks things.

Each test drives the real command (``movielake.cli.main``) or the real Lambda handler against a
moto server in a child process and, where TMDB is involved, real HTTP to the TMDB emulator (or
to a port where nothing listens). Each asserts the exit code, the one-line message, and what S3
holds afterwards: nothing half-written, nothing lost. The numbered tests follow the issue's
cases; ``test_csv_defect_*`` covers the malformed files handled before it, on both paths.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import logging
import socket
import threading
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION, define_crawler

from movielake import aws, cli, keys
from movielake.config import Settings
from movielake.ingest import handler
from movielake.ingest.schema import MOVIE_COLUMNS
from movielake.local import synthetic
from movielake.local.tmdb_emulator import Emulator, FaultPlan, synthetic_fixtures
from movielake.tmdb import handlers, run
from movielake.tmdb.client import fetch_movies
from movielake.tmdb.credentials import Credentials
from movielake.tmdb.lease import Lease, LeaseHeldError, lease_key
from movielake.tmdb.plan import Plan, load_plan
from movielake.tmdb.writer import RunFolder

DAY = date(2026, 3, 14)
FILMS = 150  # every filter off: batches of 100 and 50
API_KEY = "test-key"
CRAWLER = "movielake-test-raw-tmdb"
TMDB_PREFIX = keys.tmdb_folder(DAY)
PLAN_KEY = keys.tmdb_run_key(DAY, "plan.json")
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
HEADER = "|".join(MOVIE_COLUMNS)
ROW = (
    "tt0100000|The Golden Mirror|The Golden Mirror|1948|83|Horror|5.6|28344|M|\\N|Felipe Barros|1940|2012"
    "|producer|tt0100000"
)


# ----------------------------------------------------------------------------------- fixtures


@pytest.fixture
def lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The lake bucket on the moto server, with the CLI pointed at it."""
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    return s3


@pytest.fixture(scope="module")
def films() -> list[synthetic.Film]:
    """The films of the movies CSV and of the emulator."""
    return list(synthetic.films(FILMS))


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """The TMDB emulator, serving normally unless a test sets its ``outage``."""
    with Emulator(synthetic_fixtures(FILMS), API_KEY, faults=FaultPlan(hang_seconds=1.5)) as emu:
        yield emu


@pytest.fixture
def tmdb(
    lake: Any, emulator: Emulator, films: list[synthetic.Film], monkeypatch: pytest.MonkeyPatch
) -> Iterator[Emulator]:
    """The movies CSV in Raw, the TMDB crawler defined, and the environment of a fast fetch."""
    body = "".join(synthetic.csv_text(films)).encode()
    lake.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", DAY), Body=body)
    glue = boto3.client("glue", region_name=REGION, config=NO_RETRY)
    define_crawler(glue, CRAWLER, keys.TMDB_MOVIES_PREFIX)
    for name, value in {
        "TMDB_API_KEY": API_KEY,
        "TMDB_BASE_URL": emulator.url,
        "TMDB_RATE": "2000",
        "TMDB_HTTP_CONCURRENCY": "20",
        "TMDB_MAX_ATTEMPTS": "2",
        "TMDB_TIMEOUT": "5",
        "TMDB_CRAWLER": CRAWLER,
        "MIN_YEAR": "off",
        "MIN_VOTES": "off",
        "GENRES": "off",
    }.items():
        monkeypatch.setenv(f"MOVIELAKE_{name}", value)
    emulator.outage = None
    yield emulator
    emulator.outage = None


def main(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run the command; its exit code, standard output and last line of standard error."""
    code = cli.main(argv)
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    return code, captured.out, lines[-1] if lines else ""


def fetch(capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    """``movielake tmdb fetch --date DAY ...``."""
    return main(["tmdb", "fetch", "--date", DAY.isoformat(), *extra], capsys)


def objects(s3: Any, prefix: str = "") -> list[str]:
    """Every key under ``prefix``, in order."""
    return [item["Key"] for item in aws.list_objects(s3, LAKE_BUCKET, prefix)]


def crawler_state() -> str:
    """The TMDB crawler's state (RUNNING once a run completed and started it)."""
    glue = boto3.client("glue", region_name=REGION, config=NO_RETRY)
    return glue.get_crawler(Name=CRAWLER)["Crawler"]["State"]


def closed_port_url() -> str:
    """A loopback URL where nothing listens (the port was free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def movies(*rows: str, end: str = "\n") -> bytes:
    """A movies CSV with the PB header."""
    return "".join(line + end for line in (HEADER, *rows)).encode()


def land_and_handle(s3: Any, name: str, data: bytes) -> dict[str, Any]:
    """Put ``Landing/<name>`` and run the csv-ingest handler on its S3 event; its one result."""
    key = keys.LANDING_PREFIX + name
    etag = s3.put_object(Bucket=LAKE_BUCKET, Key=key, Body=data)["ETag"].strip('"')
    record = {
        "eventName": "ObjectCreated:Put",
        "eventTime": f"{DAY.isoformat()}T10:00:00.000Z",
        "s3": {"bucket": {"name": LAKE_BUCKET}, "object": {"key": quote_plus(key), "eTag": etag}},
    }
    (result,) = handler.handler({"Records": [record]}, None)["results"]
    return result


def assert_rejected_by_the_lambda(s3: Any, name: str, data: bytes, expected: str) -> dict[str, Any]:
    """The Lambda path: the upload moves to Rejected beside its note; Raw and Landing stay empty."""
    result = land_and_handle(s3, name, data)
    rejected = keys.rejected_key(name, DAY)
    assert (result["status"], result["key"]) == ("rejected", rejected)
    assert expected in result["reason"]
    assert objects(s3) == [rejected, rejected + ".why.json"]
    assert s3.get_object(Bucket=LAKE_BUCKET, Key=rejected)["Body"].read() == data  # nothing lost
    return json.loads(s3.get_object(Bucket=LAKE_BUCKET, Key=rejected + ".why.json")["Body"].read())


def upload_rejection(
    s3: Any, tmp_path: Path, name: str, data: bytes, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    """Run ``movielake upload`` on a folder holding only ``name``; exit code and its rejected: line."""
    folder = tmp_path / "upload"
    folder.mkdir(exist_ok=True)
    (folder / name).write_bytes(data)
    code = cli.main(["upload", str(folder), "--date", DAY.isoformat()])
    err = capsys.readouterr().err
    rejected = [line for line in err.splitlines() if line.startswith("rejected: ")]
    assert (folder / name).read_bytes() == data  # left where it was
    return code, "\n".join(rejected)


# -------------------------------------------------------------------------- the CSV defects


CSV_DEFECTS = {
    "empty": (b"", 1, "the file is empty (0 bytes)"),
    "header-only": (movies(), 1, "has a header but no data rows"),
    "comma": (
        movies(ROW.replace("|", ","), ROW).replace(HEADER.encode(), HEADER.replace("|", ",").encode()),
        1,
        "looks comma-separated",
    ),
    "wrong-header": (movies(ROW).replace(b"|numeroVotos", b""), 1, "missing column(s) numeroVotos"),
    "field-count": (movies(ROW, ROW + "|extra"), 3, "the row has 16 fields, expected 15"),
    "blank-line": (movies(ROW, "", ROW), 3, "the line is empty"),
    "crlf": (movies(ROW, end="\r\n"), 1, "dos2unix"),
    "bom": (b"\xef\xbb\xbf" + movies(ROW), 1, "without BOM"),
    "latin1": (movies(ROW, ROW.replace("Barros", "Bárros")).decode().encode("latin-1"), 3, "iconv"),
    "nul": (movies(ROW, ROW.replace("Barros", "Bar\0ros")), 3, "NUL byte 0x00 at byte offset"),
    "control": (movies(ROW, ROW, ROW.replace("Horror", "Hor\x1bror")), 4, "control byte 0x1B at byte offset"),
}


@pytest.mark.parametrize("defect", CSV_DEFECTS)
def test_csv_defect_is_refused_on_both_paths_with_its_line(
    lake: Any, tmp_path: Path, defect: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data, line, expected = CSV_DEFECTS[defect]

    code, rejected = upload_rejection(lake, tmp_path, "movies.csv", data, capsys)
    assert code == 1
    assert rejected.count("\n") == 0 and expected in rejected
    assert f"movies.csv: line {line}: " in rejected
    assert objects(lake) == []

    note = assert_rejected_by_the_lambda(lake, "movies.csv", data, expected)
    assert note["line"] == line and expected in note["reason"]


# ------------------------------------------------------------------------- 1. an outage


# A hang or a slow TMDB costs each request its timeout: some 15 s, so those two are marked slow.
# "portal" answers 200 with an HTML page, "other-service" is a base URL where another HTTP
# service answers 404 with its own body (the moto server's): no TMDB answer either (issue 17).
@pytest.mark.parametrize(
    "kind",
    [
        "refused",
        "reset",
        pytest.param("hang", marks=pytest.mark.slow),
        pytest.param("slow", marks=pytest.mark.slow),
        "cut",
        "portal",
        "other-service",
    ],
)
def test_01_an_outage_stops_the_run_like_a_refused_key_and_a_rerun_resumes(
    tmdb: Emulator,
    lake: Any,
    films: list[synthetic.Film],
    kind: str,
    moto_endpoint: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if kind == "refused":
        monkeypatch.setenv("MOVIELAKE_TMDB_BASE_URL", closed_port_url())
    elif kind == "other-service":
        monkeypatch.setenv("MOVIELAKE_TMDB_BASE_URL", moto_endpoint)
    else:
        tmdb.outage = kind
    if kind in ("hang", "slow"):  # the emulator waits 1.5 s; the client gives up sooner
        monkeypatch.setenv("MOVIELAKE_TMDB_TIMEOUT", "0.5")

    code, out, error = fetch(capsys)

    assert code == 2 and out == ""
    assert error.startswith("movielake tmdb: error: no request for the ")
    assert "got an answer from TMDB" in error and "No film was marked failed" in error
    if kind in ("portal", "other-service"):
        assert ("invalid_body" if kind == "portal" else "http_404") in error
    assert objects(lake, TMDB_PREFIX) == [PLAN_KEY]  # no batch, no error line, no manifest
    assert crawler_state() == "READY"

    monkeypatch.setenv("MOVIELAKE_TMDB_BASE_URL", tmdb.url)
    monkeypatch.setenv("MOVIELAKE_TMDB_TIMEOUT", "5")
    tmdb.outage = None
    code, out, _ = fetch(capsys)
    manifest = json.loads(out)
    assert code == 0
    known = [f for f in films if synthetic.known_to_tmdb(f)]
    assert (manifest["selected"], manifest["fetched"]) == (FILMS, len(known))
    assert manifest["failed_by_reason"] == {"not_found": FILMS - len(known)}
    assert crawler_state() == "RUNNING"


def test_01_an_outage_fails_the_workers_messages_and_redelivery_completes_the_run(
    tmdb: Emulator, lake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqs = boto3.client("sqs", region_name=REGION, config=NO_RETRY)
    queue_url = sqs.create_queue(QueueName="movielake-test-tmdb-batches")["QueueUrl"]
    monkeypatch.setenv("MOVIELAKE_TMDB_QUEUE_URL", queue_url)
    monkeypatch.setenv("MOVIELAKE_TMDB_IDS_PER_MESSAGE", "100")  # one message per batch
    assert handlers.plan({"date": DAY.isoformat(), "inline": False}, None)["messages"] == 2
    received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in received]
    tmdb.outage = "reset"

    answer = handlers.work({"Records": records}, None)

    assert answer == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}
    assert objects(lake, TMDB_PREFIX) == [PLAN_KEY]
    tmdb.outage = None
    assert handlers.work({"Records": records}, None) == {"batchItemFailures": []}
    manifest = RunFolder(lake, LAKE_BUCKET, DAY).manifest()
    assert manifest is not None and manifest["selected"] == FILMS
    assert crawler_state() == "RUNNING"


# -------------------------------------------------------------- 2. a bad number in a row


def test_02_a_non_numeric_year_is_refused_with_line_and_byte_offset_on_both_paths(
    lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = ROW.replace("|1948|", "|nineteen-ninety|")
    data = movies(ROW, bad, ROW.replace("|83|", "|\\N|"))
    offset = data.index(b"nineteen-ninety")

    code, rejected = upload_rejection(lake, tmp_path, "movies.csv", data, capsys)
    assert code == 1
    assert (
        f"movies.csv: line 3: column anoLancamento at byte offset {offset} is 'nineteen-ninety', "
        "not a whole number" in rejected
    )
    assert objects(lake) == []

    note = assert_rejected_by_the_lambda(lake, "movies.csv", data, "column anoLancamento")
    assert (note["line"], note["byte_offset"]) == (3, offset)


@pytest.mark.parametrize(
    ("column", "value"),
    [("tempoMinutos", "1h40"), ("notaMedia", "7,5"), ("numeroVotos", "-3"), ("anoFalecimento", "")],
)
def test_02_every_numeric_column_is_checked(lake: Any, column: str, value: str) -> None:
    fields = ROW.split("|")
    fields[MOVIE_COLUMNS.index(column)] = value
    note = assert_rejected_by_the_lambda(
        lake, "movies.csv", movies(ROW, "|".join(fields)), f"column {column}"
    )
    assert note["line"] == 3


# --------------------------------------------------------- 3. numbers that are not settings


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--rate", "inf"),
        ("--rate", "nan"),
        ("--rate", "-5"),
        ("--http-concurrency", "0"),
        ("--min-year", "-1960"),
        ("--wait", "inf"),
    ],
)
def test_03_a_flag_that_is_not_a_finite_positive_number_is_refused_before_anything_is_written(
    tmdb: Emulator, lake: Any, flag: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["tmdb", "fetch", "--date", DAY.isoformat(), flag, value])

    assert exited.value.code == 2  # argparse's usage error: the usage line, then the message
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"error: argument {flag}: '{value}' is not a " in error
    assert "> 0" in error
    assert objects(lake, keys.TMDB_MOVIES_PREFIX) == []


@pytest.mark.parametrize(
    ("variable", "value"),
    [("TMDB_RATE", "inf"), ("TMDB_TIMEOUT", "nan"), ("TMDB_MAX_ATTEMPTS", "0"), ("MIN_VOTES", "-10")],
)
def test_03_a_variable_that_is_not_a_finite_positive_number_is_refused_before_anything_is_written(
    tmdb: Emulator,
    lake: Any,
    variable: str,
    value: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(f"MOVIELAKE_{variable}", value)

    code, _, error = fetch(capsys)

    assert code == 2
    assert error.startswith(f"movielake tmdb: error: MOVIELAKE_{variable}: '{value}' is not a ")
    assert "> 0" in error
    assert objects(lake, keys.TMDB_MOVIES_PREFIX) == []


# -------------------------------------------------------------------- 4. a dead local stack


FETCH = ["tmdb", "fetch", "--date", DAY.isoformat()]


@pytest.mark.parametrize(
    ("argv", "secret"),
    [
        (["query", "q1_roi"], False),
        (["tmdb", "status", "--date", DAY.isoformat()], False),
        (["crawl"], False),
        (["report"], False),
        (FETCH, False),
        (FETCH, True),
    ],
    ids=["query", "tmdb-status", "crawl", "report", "fetch-direct-key", "fetch-secret"],
)
def test_04_a_dead_local_stack_is_one_line_for_every_command(
    argv: list[str],
    secret: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    dead = closed_port_url()
    record = tmp_path / "stack.json"
    environment = {
        "AWS_ENDPOINT_URL": dead,
        "AWS_REGION": REGION,
        "MOVIELAKE_LAKE_BUCKET": LAKE_BUCKET,
        "MOVIELAKE_ATHENA_RESULTS_BUCKET": "results",
        "MOVIELAKE_GLUE_DATABASE": "movielake_raw",
        "MOVIELAKE_ATHENA_WORKGROUP": "movielake",
        "MOVIELAKE_TMDB_CRAWLER": CRAWLER,
        "MOVIELAKE_CSV_CRAWLER": "movielake-raw-csv",
    }
    # A direct key skips Secrets Manager, so S3 is the first call; the secret is read first otherwise.
    if secret:
        environment["MOVIELAKE_TMDB_SECRET_ID"] = "movielake-tmdb"
    else:
        environment["MOVIELAKE_TMDB_API_KEY"] = API_KEY
    record.write_text(json.dumps({"environment": environment}))
    monkeypatch.setattr("movielake.config.STACK_FILE", record)
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)  # what the CLI would export from the record
    monkeypatch.setattr(aws, "_CONFIG", NO_RETRY)  # the real retries only make this slower
    monkeypatch.chdir(tmp_path)  # `report` writes nothing here, but keep the checkout clean

    code, out, error = main(argv, capsys)

    assert code == 2 and out == ""
    command = argv[0]
    assert error == f"movielake {command}: error: the local stack is not running: run `movielake local up`"
    assert "Traceback" not in capsys.readouterr().err


# ------------------------------------------------------------------ 5. no movies CSV in Raw


def test_05_no_movies_csv_in_raw_is_one_line_whose_hint_works(
    tmdb: Emulator, lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lake.delete_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", DAY))

    code, _, error = fetch(capsys)

    assert code == 2
    assert error.startswith("movielake tmdb: error: no movies CSV under s3://")
    assert "`movielake upload DIR` (DIR holding movies.csv)" in error
    assert objects(lake) == []  # no plan, no lease left behind
    folder = tmp_path / "csvs"
    folder.mkdir()
    (folder / "movies.csv").write_bytes((SAMPLE / "movies.csv").read_bytes())
    assert main(["upload", str(folder), "--date", DAY.isoformat()], capsys)[0] == 0  # the hint, as given
    code, out, _ = fetch(capsys)
    assert code == 0 and json.loads(out)["selected"] > 0


# ------------------------------------------------------------------- 6 and 7: local land


def _stack_of(record: dict) -> Any:
    from movielake.local.stack import LocalStack

    directory = Path(record["local_dir"])
    return LocalStack(directory=directory, record_path=Path(record["record_path"]))


@pytest.fixture
def landing(local_stack: dict, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, str]:
    """``movielake local land`` on the session's local stack; its S3 client and lake bucket."""
    from movielake.local import cli as local_cli

    stack = _stack_of(local_stack)
    monkeypatch.setattr(local_cli, "_stack", lambda: stack)
    return stack.client("s3", local_stack["endpoint_url"]), local_stack["outputs"]["lake_bucket"]


@pytest.mark.terraform
@pytest.mark.slow
def test_06_local_land_exits_1_when_the_file_is_rejected_saying_where_it_went(
    landing: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, bucket = landing
    # Not movies.csv or series.csv: the stack is shared, and the pipeline test lands those.
    bad = tmp_path / "ratings.csv"
    bad.write_bytes((SAMPLE / "movies.csv").read_bytes())

    code = cli.main(["local", "land", str(bad)])

    err = capsys.readouterr().err.splitlines()
    rejected = [line for line in err if line.startswith("rejected: ")]
    assert code == 1 and len(rejected) == 1
    target = f"s3://{bucket}/Rejected/Local/CSV/Ratings/"
    assert f"s3://{bucket}/Landing/ratings.csv was moved to {target}" in rejected[0]
    assert "/ratings.csv.why.json: ratings.csv: unknown entity 'Ratings' (from the file name)" in rejected[0]
    landed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="Landing/").get("Contents", [])]
    assert landed == []
    notes = s3.list_objects_v2(Bucket=bucket, Prefix="Rejected/Local/CSV/Ratings/").get("Contents", [])
    assert {o["Key"].rsplit("/", 1)[1] for o in notes} == {"ratings.csv", "ratings.csv.why.json"}


@pytest.mark.terraform
@pytest.mark.slow
def test_07_an_upper_case_extension_is_ingested_through_the_deployed_notification(
    landing: tuple[Any, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s3, bucket = landing
    upper = tmp_path / "series.CSV"
    upper.write_bytes((SAMPLE / "series.csv").read_bytes())
    other = tmp_path / "notes.txt"
    other.write_text("not a CSV\n")

    assert cli.main(["local", "land", str(upper)]) == 0
    raw = s3.list_objects_v2(Bucket=bucket, Prefix="Raw/Local/CSV/Series/").get("Contents", [])
    assert [o["Key"].rsplit("/", 1)[1] for o in raw] == ["series.csv"]
    assert cli.main(["local", "land", str(other)]) == 1
    assert "the file name does not end in .csv" in capsys.readouterr().err
    assert not s3.list_objects_v2(Bucket=bucket, Prefix="Landing/").get("Contents")


def test_07_upper_case_csv_is_one_rule_on_both_paths(
    lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (SAMPLE / "series.csv").read_bytes()
    raw_key = keys.raw_csv_key("series.csv", DAY)
    # The deployed notification has no suffix filter (test_terraform_static, test 07 on the stack).
    result = land_and_handle(lake, "series.CSV", data)
    assert (result["status"], result["key"]) == ("ingested", raw_key)
    lake.delete_object(Bucket=LAKE_BUCKET, Key=raw_key)

    folder = tmp_path / "csvs"
    folder.mkdir()
    (folder / "series.CSV").write_bytes(data)
    assert main(["upload", str(folder), "--date", DAY.isoformat()], capsys)[0] == 0
    assert objects(lake) == [raw_key]
    assert lake.get_object(Bucket=LAKE_BUCKET, Key=raw_key)["Body"].read() == data

    for name in ("notes.txt", ".DS_Store"):
        note = assert_rejected_by_the_lambda_after(lake, name, b"hello\n")
        assert note["line"] == 0 and "does not end in .csv" in note["reason"]


def assert_rejected_by_the_lambda_after(s3: Any, name: str, data: bytes) -> dict[str, Any]:
    """Like ``assert_rejected_by_the_lambda`` on a lake that already holds other objects."""
    before = set(objects(s3))
    result = land_and_handle(s3, name, data)
    rejected = keys.rejected_key(name, DAY)
    assert (result["status"], result["key"]) == ("rejected", rejected)
    assert set(objects(s3)) - before == {rejected, rejected + ".why.json"}
    return json.loads(s3.get_object(Bucket=LAKE_BUCKET, Key=rejected + ".why.json")["Body"].read())


# ---------------------------------------------------------------------- 8. compressed input


def _zip(data: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("movies.csv", data)
    return buffer.getvalue()


COMPRESSORS = {"gzip": (gzip.compress, "gunzip"), "zip": (_zip, "unzip"), "bzip2": (bz2.compress, "bunzip2")}


@pytest.mark.parametrize("kind", COMPRESSORS)
def test_08_compressed_input_is_recognised_by_its_bytes_on_both_paths(
    lake: Any, tmp_path: Path, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    compress, command = COMPRESSORS[kind]
    data = compress((SAMPLE / "movies.csv").read_bytes())

    code, rejected = upload_rejection(lake, tmp_path, "movies.csv", data, capsys)
    assert code == 1
    assert (
        f"movies.csv: line 1: the file is {kind}-compressed (it starts with the {kind} magic bytes"
        in rejected
    )
    assert f"`{command} -k FILE`" in rejected or f"`{command} FILE`" in rejected
    assert "iconv" not in rejected
    assert objects(lake) == []

    note = assert_rejected_by_the_lambda(lake, "movies.csv", data, f"{kind}-compressed")
    assert (note["line"], note["byte_offset"]) == (1, 0)


def test_08_a_csv_gz_is_refused_by_its_name_with_how_to_decompress(
    lake: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = gzip.compress((SAMPLE / "movies.csv").read_bytes())

    code, rejected = upload_rejection(lake, tmp_path, "movies.csv.gz", data, capsys)

    assert code == 1
    assert "movies.csv.gz: the file is gzip-compressed (from its name)" in rejected
    assert "`gunzip -k FILE`" in rejected
    assert objects(lake) == []
    note = assert_rejected_by_the_lambda(lake, "movies.csv.gz", data, "gzip-compressed")
    assert note["line"] == 0


# -------------------------------------------------------------- 9. two fetches of one date


def test_09_a_second_fetch_of_a_date_in_progress_exits_saying_who_holds_it(
    tmdb: Emulator, lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Lease(lake, LAKE_BUCKET, DAY, seconds=600)
    other.acquire()

    code, _, error = fetch(capsys)

    assert code == 2
    assert error.startswith(f"movielake tmdb: error: another fetch of {DAY} is running: {other.owner} holds ")
    assert "--wait" in error
    assert objects(lake, TMDB_PREFIX) == [lease_key(DAY)]  # no plan was written
    other.release()
    code, out, _ = fetch(capsys)
    assert code == 0 and json.loads(out)["selected"] == FILMS
    assert lease_key(DAY) not in objects(lake, TMDB_PREFIX)


def test_09_two_fetches_started_together_make_one_run(tmdb: Emulator, lake: Any) -> None:
    settings = Settings.from_env()
    s3 = aws.client("s3", settings)
    results: list[Any] = []
    start = threading.Barrier(2)

    def one_run() -> None:
        start.wait()
        try:
            results.append(run.run(s3, settings, DAY, Credentials(api_key=API_KEY)))
        except LeaseHeldError as exc:
            results.append(exc)

    threads = [threading.Thread(target=one_run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    manifests = [r for r in results if isinstance(r, dict)]
    assert (
        len(manifests) == 1
        and len(results) == 2
        and isinstance(results[1 - results.index(manifests[0])], LeaseHeldError)
    )
    plan = load_plan(lake, LAKE_BUCKET, DAY)
    assert plan is not None and plan.run_id == manifests[0]["run_id"]
    folder = RunFolder(lake, LAKE_BUCKET, DAY)
    assert folder.done_numbers() == {b.number for b in plan.batches}


def test_09_the_lease_of_a_run_that_died_is_taken_over_once_expired(
    tmdb: Emulator, lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    expired = (datetime.now().astimezone() - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    dead = {"owner": "host:4242:dead", "renewed_at": expired, "expires_at": expired}
    lake.put_object(Bucket=LAKE_BUCKET, Key=lease_key(DAY), Body=json.dumps(dead).encode())

    code, out, _ = fetch(capsys)

    assert code == 0 and json.loads(out)["selected"] == FILMS
    assert lease_key(DAY) not in objects(lake, TMDB_PREFIX)


def test_09_wait_waits_for_the_holder_to_finish(
    tmdb: Emulator, lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    other = Lease(lake, LAKE_BUCKET, DAY, seconds=600)
    other.acquire()
    released = threading.Timer(1.0, other.release)
    released.start()
    try:
        code, out, _ = fetch(capsys, "--wait", "30")
    finally:
        released.join()
    assert code == 0 and json.loads(out)["selected"] == FILMS


# ----------------------------------------------------------- 10. resuming with other filters


def _dies_after_the_first_batch(ids, credentials, options):  # type: ignore[no-untyped-def]
    """A fetch that answers the first batch's 100 ids, then stops like a killed process."""

    async def fetch():  # type: ignore[no-untyped-def]
        async for outcome in fetch_movies(list(ids)[:100], credentials, options):
            yield outcome
        raise ConnectionError("the process was killed")

    return fetch()


def _killed_run(lake: Any) -> Plan:
    """A run of DAY killed after its first batch; its plan."""
    with pytest.raises(ConnectionError):
        run.run(
            lake, Settings.from_env(), DAY, Credentials(api_key=API_KEY), fetch=_dies_after_the_first_batch
        )
    plan = load_plan(lake, LAKE_BUCKET, DAY)
    assert plan is not None and RunFolder(lake, LAKE_BUCKET, DAY).done_numbers() == {1}
    return plan


def test_10_resuming_with_other_filters_is_refused_unless_refresh(
    tmdb: Emulator, lake: Any, films: list[synthetic.Film], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _killed_run(lake)
    before = objects(lake, TMDB_PREFIX)

    code, _, error = fetch(capsys, "--min-year", "2000", "--genres", "crime")

    assert code == 2
    assert error == (
        f"movielake tmdb: error: the unfinished run {plan.run_id} of {DAY} was planned with other filters "
        "(min_year off -> 2000; genres off -> crime): run again with its filters to resume it, or add "
        "--refresh to replace its plan with these filters"
    )
    assert objects(lake, TMDB_PREFIX) == before

    code, out, _ = fetch(capsys, "--min-year", "2000", "--genres", "crime", "--refresh")
    manifest = json.loads(out)
    assert code == 0
    assert manifest["filters"] == {"min_year": 2000, "min_votes": None, "genres": ["crime"]}
    chosen = {f.imdb_id for f in films if f.year > 2000 and "crime" in {g.lower() for g in f.genres}}
    assert manifest["selected"] == len(chosen) > 0
    replanned = load_plan(lake, LAKE_BUCKET, DAY)
    assert replanned is not None and replanned.run_id == manifest["run_id"] != plan.run_id
    assert replanned.batches[0].number == 2  # numbered after the killed run's finished batch 1


# ------------------------------------------------------------- 11. active time and wall time


def test_11_the_manifest_tells_active_time_from_wall_time(
    tmdb: Emulator, lake: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = _killed_run(lake)
    # The run lay dead for an hour: its plan is an hour older than its passes.
    started = datetime.strptime(plan.run_id, "%Y%m%dT%H%M%S%fZ") - timedelta(hours=1)
    plan.run_id = started.strftime("%Y%m%dT%H%M%S%fZ")
    RunFolder(lake, LAKE_BUCKET, DAY).put_json(PLAN_KEY, plan.to_json())

    code, out, _ = fetch(capsys)

    manifest = json.loads(out)
    assert code == 0
    folder = RunFolder(lake, LAKE_BUCKET, DAY)
    markers = folder.done_markers(b.number for b in plan.batches).values()
    passes: dict[str, str] = {}
    for marker in markers:
        passes[marker["pass_started_at"]] = max(
            passes.get(marker["pass_started_at"], ""), marker["written_at"]
        )
    assert len(passes) == 2  # the killed pass and the resuming one
    moment = lambda stamp: datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ")  # noqa: E731
    active = sum((moment(end) - moment(start)).total_seconds() for start, end in passes.items())
    assert manifest["active_seconds"] == pytest.approx(active, abs=0.002)
    assert manifest["wall_seconds"] >= 3600 > 60 > manifest["active_seconds"]
    assert manifest["requests_per_second"] == pytest.approx(manifest["requests"] / active, abs=0.01)
    status = main(["tmdb", "status", "--date", DAY.isoformat()], capsys)[1]
    assert f"{manifest['active_seconds']} s fetching ({manifest['wall_seconds']} s wall)" in status


# -------------------------------------------------------------- 12. the S3 connection pool


def test_12_a_fetch_never_overflows_the_s3_connection_pool(
    tmdb: Emulator, lake: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MOVIELAKE_TMDB_BATCH_SIZE", "5")  # 30 batches: the reader threads all busy
    caplog.set_level(logging.WARNING, logger="urllib3.connectionpool")

    settings = Settings.from_env()
    manifest = run.run(aws.client("s3", settings), settings, DAY, Credentials(api_key=API_KEY))

    assert manifest["batch_count"] == FILMS // 5
    full = [r.getMessage() for r in caplog.records if "Connection pool is full" in r.getMessage()]
    assert full == []


# ------------------------------------------- 13. nothing stops silently: the runs' metrics (issue 17)


def test_13_a_completed_run_emits_its_figures_as_emf_and_local_status_shows_them(
    tmdb: Emulator,
    lake: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from movielake.local import cli as local_cli
    from movielake.local import metric_lines

    tmdb.faults = FaultPlan(
        forced={f.imdb_id: "503" for f in list(synthetic.films(FILMS))[:3]}, failures_per_id=9
    )
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "movielake-test-tmdb-planner")  # as in a Lambda
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "movielake-test")
    try:
        code = cli.main(["tmdb", "fetch", "--date", DAY.isoformat()])
    finally:
        tmdb.faults = FaultPlan(hang_seconds=1.5)
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    manifest = RunFolder(lake, LAKE_BUCKET, DAY).manifest()
    assert manifest is not None

    sets = [metric_lines.figures(r) for r in map(metric_lines.emf_line, out) if r]
    assert {s["namespace"] for s in sets} == {"movielake-test"}
    [run_set, *by_reason] = sets
    assert run_set["dimensions"] == {"service": "tmdb"}
    assert run_set["metrics"] == {
        "TmdbRunCompleted": 1,
        "IdsSelected": FILMS,
        "IdsSkipped": 0,
        "IdsFetched": manifest["fetched"],
        "IdsFailed": manifest["failed"],
        "Requests": manifest["requests"],
        "RequestsPerSecond": manifest["requests_per_second"],
    }
    assert {s["dimensions"]["reason"]: s["metrics"]["IdsFailed"] for s in by_reason} == manifest[
        "failed_by_reason"
    ]
    assert manifest["failed_by_reason"]["server_error"] == 3

    kept = tmp_path / "metrics.jsonl"
    assert metric_lines.keep(kept, "movielake-test-tmdb-planner", "request-1", out) == len(sets)
    local_cli._print_metrics(metric_lines.last_run(kept))
    shown = capsys.readouterr().out
    assert f"IdsSelected {FILMS}" in shown and "reason=server_error: IdsFailed 3" in shown
