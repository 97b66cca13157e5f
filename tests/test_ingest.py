"""Landing -> Raw or Rejected against moto: key scheme, rejection, idempotency, immutability."""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest
from conftest import LAKE_BUCKET

from movielake import keys
from movielake.ingest import ingest
from movielake.ingest.ingest import REJECTED, SKIPPED, ingest_landing_object, raw_target

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
DAY = date(2026, 3, 14)
MOVIES = (SAMPLE / "movies.csv").read_bytes()
HEADER = MOVIES.split(b"\n", 1)[0]


def land(s3, name: str, body: bytes) -> str:
    """Upload ``body`` as ``Landing/<name>`` and return its bare ETag."""
    return s3.put_object(Bucket=LAKE_BUCKET, Key=f"Landing/{name}", Body=body)["ETag"].strip('"')


def run(s3, name: str, etag: str | None = None) -> ingest.Result:
    """Ingest ``Landing/<name>`` for ``DAY``."""
    return ingest_landing_object(s3, LAKE_BUCKET, f"Landing/{name}", DAY, event_etag=etag)


def listing(s3, prefix: str) -> list[str]:
    """Keys under ``prefix``."""
    return [o["Key"] for o in s3.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=prefix).get("Contents", [])]


def body(s3, key: str) -> bytes:
    """An object's bytes."""
    return s3.get_object(Bucket=LAKE_BUCKET, Key=key)["Body"].read()


def test_the_key_scheme() -> None:
    assert keys.raw_csv_key("movies.csv", DAY) == "Raw/Local/CSV/Movies/2026/03/14/movies.csv"
    assert keys.rejected_key("series.csv", DAY) == "Rejected/Local/CSV/Series/2026/03/14/series.csv"
    assert keys.with_digest("Raw/Local/CSV/Movies/2026/03/14/movies.csv", "0123456789abcdef") == (
        "Raw/Local/CSV/Movies/2026/03/14/movies_01234567.csv"
    )


def test_a_valid_upload_is_copied_to_raw_with_its_hash_and_leaves_landing(s3) -> None:
    etag = land(s3, "movies.csv", MOVIES)
    result = run(s3, "movies.csv", etag)
    key = "Raw/Local/CSV/Movies/2026/03/14/movies.csv"
    assert result.to_dict() == {
        "source": f"s3://{LAKE_BUCKET}/Landing/movies.csv",
        "status": "ingested",
        "key": key,
        "reason": "",
    }
    assert body(s3, key) == MOVIES
    head = s3.head_object(Bucket=LAKE_BUCKET, Key=key)
    assert head["Metadata"]["sha256"] == hashlib.sha256(MOVIES).hexdigest()
    assert head["Metadata"]["source-etag"] == etag
    assert head["ContentType"] == ingest.CSV_CONTENT_TYPE
    assert listing(s3, "Landing/") == []


def test_a_repeated_event_reports_already_ingested_and_writes_nothing(s3) -> None:
    etag = land(s3, "movies.csv", MOVIES)
    first = run(s3, "movies.csv", etag)
    second = run(s3, "movies.csv", etag)
    assert second.status == SKIPPED
    assert second.key == first.key
    assert second.reason == f"already ingested as {first.key} (repeated event)"
    assert listing(s3, "Raw/") == [first.key]


def test_the_same_file_uploaded_again_is_skipped_and_still_leaves_landing(s3) -> None:
    first = run(s3, "movies.csv", land(s3, "movies.csv", MOVIES))
    again = run(s3, "movies.csv", land(s3, "movies.csv", MOVIES))
    assert (again.status, again.key) == (SKIPPED, first.key)
    assert again.reason == f"already in Raw as {first.key}"
    assert listing(s3, "Raw/") == [first.key]
    assert listing(s3, "Landing/") == []


def test_a_different_file_the_same_day_gets_a_distinct_key_and_raw_is_not_overwritten(s3) -> None:
    first = run(s3, "movies.csv", land(s3, "movies.csv", MOVIES))
    other = MOVIES + MOVIES.split(b"\n")[1] + b"\n"
    second = run(s3, "movies.csv", land(s3, "movies.csv", other))
    digest = hashlib.sha256(other).hexdigest()
    assert second.status == "ingested"
    assert second.key == f"Raw/Local/CSV/Movies/2026/03/14/movies_{digest[:8]}.csv"
    assert second.reason == f"{first.key} already holds a different file; stored beside it"
    assert body(s3, first.key) == MOVIES
    assert body(s3, second.key) == other
    third = run(s3, "movies.csv", land(s3, "movies.csv", other))
    assert (third.status, third.key) == (SKIPPED, second.key)


def test_an_object_without_a_recorded_hash_is_treated_as_different(s3) -> None:
    base = keys.raw_csv_key("movies.csv", DAY)
    s3.put_object(Bucket=LAKE_BUCKET, Key=base, Body=MOVIES)  # as the old uploader wrote it
    target = raw_target(s3, LAKE_BUCKET, "movies.csv", DAY, hashlib.sha256(MOVIES).hexdigest())
    assert not target.present
    assert target.key == keys.with_digest(base, hashlib.sha256(MOVIES).hexdigest())


def test_raw_refuses_when_both_keys_hold_other_files(s3) -> None:
    sha = hashlib.sha256(MOVIES).hexdigest()
    base = keys.raw_csv_key("movies.csv", DAY)
    for key in (base, keys.with_digest(base, sha)):
        s3.put_object(Bucket=LAKE_BUCKET, Key=key, Body=b"x", Metadata={"sha256": "f" * 64})
    with pytest.raises(ingest.KeyConflictError, match="Raw is never overwritten"):
        raw_target(s3, LAKE_BUCKET, "movies.csv", DAY, sha)


LATIN1 = HEADER + b"\ntt1|Cora\xe7\xe3o|x|1990|90|Drama|7.0|20000|F|\\N|Ana|1950|\\N|actress|tt1\n"


@pytest.mark.parametrize(
    ("name", "data", "line", "message"),
    [
        ("movies.csv", b"", 1, "movies.csv: line 1: the file is empty (0 bytes)"),
        ("movies.csv", HEADER + b"\n", 1, "movies.csv: line 1: the file has a header but no data rows"),
        ("movies.csv", MOVIES.replace(b"|", b","), 1, "looks comma-separated; movielake expects '|'"),
        ("movies.csv", MOVIES.replace(b"|generoArtista", b""), 1, "missing column(s) generoArtista"),
        ("movies.csv", LATIN1, 2, "byte 0xE7 at byte offset"),
        ("movies.csv", MOVIES.replace(b"\n", b"\r\n"), 1, "CRLF"),
        ("movies.csv", b"\xef\xbb\xbf" + MOVIES, 1, "byte-order mark"),
        ("series.csv", MOVIES, 1, "missing column(s) anoTermino"),
        ("actors.csv", MOVIES, 0, "unknown entity 'Actors'"),
    ],
    ids=[
        "empty",
        "header-only",
        "comma",
        "missing-column",
        "latin1",
        "crlf",
        "bom",
        "wrong-schema",
        "entity",
    ],
)
def test_bad_input_goes_to_rejected_with_a_note_and_nothing_is_lost(
    s3, name: str, data: bytes, line: int, message: str
) -> None:
    etag = land(s3, name, data)
    result = run(s3, name, etag)
    rejected = keys.rejected_key(name, DAY)
    assert (result.status, result.key) == (REJECTED, rejected)
    assert message in result.reason
    assert body(s3, rejected) == data
    note = json.loads(body(s3, rejected + ".why.json"))
    assert note["source"] == f"s3://{LAKE_BUCKET}/Landing/{name}"
    assert note["reason"] == result.reason
    assert note["line"] == line
    assert note["rejected_at"].endswith("Z")
    assert listing(s3, "Raw/") == []
    assert listing(s3, "Landing/") == []
    again = run(s3, name, etag)
    assert (again.status, again.key) == (SKIPPED, rejected)
    assert again.reason == f"already rejected as {rejected} (repeated event)"


def test_two_different_bad_files_of_one_name_are_both_kept(s3) -> None:
    first = run(s3, "movies.csv", land(s3, "movies.csv", b""))
    etag = land(s3, "movies.csv", HEADER + b"\n")
    second = run(s3, "movies.csv", etag)
    assert second.key == keys.with_digest(first.key, etag)
    assert body(s3, first.key) == b""
    assert body(s3, second.key) == HEADER + b"\n"
    assert sorted(listing(s3, "Rejected/")) == sorted(
        [first.key, first.key + ".why.json", second.key, second.key + ".why.json"]
    )


def test_an_event_for_an_object_nobody_saw_is_skipped_with_an_explanation(s3) -> None:
    result = run(s3, "movies.csv", "0" * 32)
    assert (result.status, result.key) == (SKIPPED, None)
    assert "no longer exists and nothing in Raw or Rejected for 2026-03-14 came from it" in result.reason


def test_an_upload_replaced_during_ingestion_is_left_for_its_own_event(s3) -> None:
    old = s3.put_object(Bucket=LAKE_BUCKET, Key="Landing/movies.csv", Body=MOVIES)["ETag"]
    land(s3, "movies.csv", MOVIES + MOVIES.split(b"\n")[1] + b"\n")
    note = ingest._remove_from_landing(s3, LAKE_BUCKET, "Landing/movies.csv", old)
    assert "was replaced during ingestion" in note
    assert listing(s3, "Landing/") == ["Landing/movies.csv"]


@pytest.mark.slow
def test_a_large_upload_is_copied_multipart_with_its_metadata(s3) -> None:
    rows = MOVIES.split(b"\n", 1)[1]
    data = HEADER + b"\n" + rows * (20 * 1024 * 1024 // len(rows) + 1)
    result = run(s3, "movies.csv", land(s3, "movies.csv", data))
    assert result.status == "ingested"
    head = s3.head_object(Bucket=LAKE_BUCKET, Key=result.key)
    assert head["ContentLength"] == len(data)
    assert "-" in head["ETag"]  # a multipart copy: the ETag is not the content's MD5
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
