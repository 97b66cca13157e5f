"""The CSV Lambda driven by a real S3 ObjectCreated event (tests/fixtures, shaped as in the AWS docs)."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import LAKE_BUCKET

from movielake import aws
from movielake.config import ConfigError, Settings
from movielake.ingest import handler as lambda_module
from movielake.ingest.handler import handler
from movielake.log import JsonFormatter

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
RAW_KEY = "Raw/Local/CSV/Movies/2026/03/14/movies.csv"  # the fixture's eventTime is 2026-03-14


def s3_event(key: str, etag: str, event_name: str = "ObjectCreated:Put") -> dict:
    """The AWS example event, pointed at one of our Landing objects (key URL-encoded as S3 does)."""
    event = copy.deepcopy(json.loads((FIXTURES / "s3_object_created_event.json").read_text()))
    record = event["Records"][0]
    record["eventName"] = event_name
    record["s3"]["object"].update(key=key, eTag=etag)
    return event


def land(s3, key: str, body: bytes) -> str:
    """Put a Landing object; its bare ETag."""
    return s3.put_object(Bucket=LAKE_BUCKET, Key=key, Body=body)["ETag"].strip('"')


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """The handler configures the root logger for Lambda; leave it as it was for other tests."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers, root.level = handlers, level


@pytest.fixture
def log_lines() -> Iterator[list[dict]]:
    """The JSON lines the handler's logger writes during the test."""
    lines: list[dict] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))

    logger = logging.getLogger(lambda_module.__name__)
    collector = Collect(level=logging.INFO)
    logger.addHandler(collector)
    yield lines
    logger.removeHandler(collector)


def test_an_object_created_event_ingests_the_upload_and_logs_one_line(s3, log_lines: list[dict]) -> None:
    data = (SAMPLE / "movies.csv").read_bytes()
    etag = land(s3, "Landing/movies.csv", data)
    response = handler(s3_event("Landing/movies.csv", etag), None)
    assert response == {
        "results": [
            {
                "source": f"s3://{LAKE_BUCKET}/Landing/movies.csv",
                "status": "ingested",
                "key": RAW_KEY,
                "reason": "",
            }
        ]
    }
    json.dumps(response)
    assert s3.get_object(Bucket=LAKE_BUCKET, Key=RAW_KEY)["Body"].read() == data
    assert log_lines == [
        {
            "level": "INFO",
            "logger": "movielake.ingest.handler",
            "message": "csv ingested",
            **response["results"][0],
        }
    ]


def test_a_second_delivery_of_the_same_event_writes_nothing(s3) -> None:
    event = s3_event(
        "Landing/movies.csv", land(s3, "Landing/movies.csv", (SAMPLE / "movies.csv").read_bytes())
    )
    handler(event, None)
    [result] = handler(event, None)["results"]
    assert result["status"] == "skipped"
    assert result["reason"] == f"already ingested as {RAW_KEY} (repeated event)"
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=LAKE_BUCKET)["Contents"]] == [RAW_KEY]


def test_a_key_with_spaces_arrives_url_encoded_and_a_bad_file_is_rejected(s3, log_lines: list[dict]) -> None:
    etag = land(s3, "Landing/my movies.csv", b"id,tituloPincipal\n")
    [result] = handler(s3_event("Landing/my+movies.csv", etag), None)["results"]
    assert result["source"] == f"s3://{LAKE_BUCKET}/Landing/my movies.csv"
    assert result["status"] == "rejected"
    assert result["key"] == "Rejected/Local/CSV/My movies/2026/03/14/my movies.csv"
    assert "unknown entity 'My movies'" in result["reason"]
    assert log_lines[0]["message"] == "csv rejected"
    assert log_lines[0]["key"] == result["key"]


def test_the_run_date_can_be_overridden_for_a_backfill(s3, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIELAKE_RUN_DATE", "2025-12-31")
    etag = land(s3, "Landing/series.csv", (SAMPLE / "series.csv").read_bytes())
    [result] = handler(s3_event("Landing/series.csv", etag), None)["results"]
    assert result["key"] == "Raw/Local/CSV/Series/2025/12/31/series.csv"


def test_a_malformed_run_date_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIELAKE_RUN_DATE", "31/12/2025")
    with pytest.raises(ConfigError, match="use YYYY-MM-DD"):
        handler({"Records": []}, None)


@pytest.mark.parametrize(
    ("key", "event_name", "reason"),
    [
        ("Raw/Local/CSV/Movies/2026/03/14/movies.csv", "ObjectCreated:Copy", "only files under Landing/"),
        ("Landing/movies.csv", "ObjectRemoved:Delete", "is not an ObjectCreated event"),
    ],
)
def test_events_outside_landing_or_not_creations_are_skipped(
    s3, key: str, event_name: str, reason: str
) -> None:
    [result] = handler(s3_event(key, "0" * 32, event_name), None)["results"]
    assert result["status"] == "skipped"
    assert reason in result["reason"]
    assert "Contents" not in s3.list_objects_v2(Bucket=LAKE_BUCKET)


def test_s3s_test_event_does_nothing_and_makes_no_client(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("no client should be made for an event without records")

    monkeypatch.setattr(aws, "client", no_client)
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": LAKE_BUCKET}
    assert handler(test_event, None) == {"results": []}


def test_a_record_that_is_not_an_s3_record_is_an_error() -> None:
    with pytest.raises(ValueError, match="not an S3 event record"):
        lambda_module.handle_record(None, {"eventName": "ObjectCreated:Put"})


def test_the_handler_imports_only_what_the_lambda_zip_ships() -> None:
    code = (
        "import sys, json, movielake.ingest.handler;"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('movielake', 'pandas', 'tqdm', 'duckdb', 'httpx'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    shipped = {"movielake", "movielake.config", "movielake.aws", "movielake.keys", "movielake.log"}
    imported = set(json.loads(out.stdout))
    assert {m for m in imported if not m.startswith("movielake.ingest")} <= shipped


def test_an_ingested_file_registers_its_date_partition_once(
    s3, monkeypatch: pytest.MonkeyPatch, log_lines: list[dict]
) -> None:
    """Issue 17: the refine must see the new date without a CSV crawl, and reruns change nothing."""
    from movielake.catalog.descriptors import storage_descriptor
    from movielake.ingest.schema import MOVIE_COLUMNS

    glue = aws.client("glue", Settings.from_env())
    glue.create_database(DatabaseInput={"Name": "raw"})
    table_location = f"s3://{LAKE_BUCKET}/Raw/Local/CSV/Movies/"
    declared = storage_descriptor("csv", [(c.lower(), "string") for c in MOVIE_COLUMNS], table_location)
    glue.create_table(
        DatabaseName="raw",
        TableInput={
            "Name": "csv_movies",
            "StorageDescriptor": declared,
            "PartitionKeys": [{"Name": f"partition_{n}", "Type": "string"} for n in range(3)],
        },
    )
    monkeypatch.setenv("MOVIELAKE_GLUE_DATABASE", "raw")
    data = (SAMPLE / "movies.csv").read_bytes()

    [first] = handler(s3_event("Landing/movies.csv", land(s3, "Landing/movies.csv", data)), None)["results"]
    etag = land(s3, "Landing/movies.csv", data + data.split(b"\n", 1)[1])  # another file, same day
    [second] = handler(s3_event("Landing/movies.csv", etag), None)["results"]
    handler(s3_event("Landing/movies.csv", etag), None)  # a repeated event

    assert (first["status"], second["status"]) == ("ingested", "ingested")
    [partition] = glue.get_partitions(DatabaseName="raw", TableName="csv_movies")["Partitions"]
    assert partition["Values"] == ["2026", "03", "14"]
    descriptor = partition["StorageDescriptor"]
    assert descriptor["Location"] == f"{table_location}2026/03/14/"
    assert descriptor["SerdeInfo"] == declared["SerdeInfo"]
    assert [c["Name"] for c in descriptor["Columns"]] == [c.lower() for c in MOVIE_COLUMNS]
    messages = [line["message"] for line in log_lines if "partition" in line["message"]]
    assert messages == ["csv partition registered"] + ["csv partition already registered"] * 2
