"""``movielake upload`` end to end against a moto server reached through AWS_ENDPOINT_URL."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import boto3
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake import cli

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
PREFIX = "Raw/Local/CSV/"


@pytest.fixture
def lake(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch):
    """An S3 client on the moto server with the lake bucket, configured for the CLI."""
    # Only this concern's subcommand: the test does not depend on the others being present.
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("movielake.ingest.cli",))
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    s3 = boto3.client("s3", region_name=REGION, endpoint_url=moto_endpoint, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    return s3


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A folder holding copies of the sample movies.csv and series.csv."""
    for name in ("movies.csv", "series.csv"):
        shutil.copy(SAMPLE / name, tmp_path / name)
    return tmp_path


def keys_in(s3, prefix: str = PREFIX) -> list[str]:
    """Keys under a prefix."""
    return [o["Key"] for o in s3.list_objects_v2(Bucket=LAKE_BUCKET, Prefix=prefix).get("Contents", [])]


def upload(folder: Path, *extra: str) -> int:
    """Run ``movielake upload FOLDER --date 2026-03-14 ...``."""
    return cli.main(["upload", str(folder), "--date", "2026-03-14", *extra])


def test_upload_validates_uploads_and_lists_raw(lake, folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert upload(folder) == 0
    movies = "Raw/Local/CSV/Movies/2026/03/14/movies.csv"
    series = "Raw/Local/CSV/Series/2026/03/14/series.csv"
    assert keys_in(lake) == [movies, series]
    data = (folder / "movies.csv").read_bytes()
    assert lake.get_object(Bucket=LAKE_BUCKET, Key=movies)["Body"].read() == data
    head = lake.head_object(Bucket=LAKE_BUCKET, Key=movies)
    assert head["Metadata"] == {"sha256": hashlib.sha256(data).hexdigest(), "source": "movies.csv"}
    out = capsys.readouterr().out
    assert f"movies.csv  ingested  {movies}" in out
    assert f"series.csv  ingested  {series}" in out
    assert f"s3://{LAKE_BUCKET}/Raw/Local/CSV/ holds 2 object(s):" in out
    assert f"  {movies}  ({len(data):,} bytes)" in out


def test_the_same_files_again_are_skipped(lake, folder: Path, capsys: pytest.CaptureFixture) -> None:
    assert upload(folder) == 0
    capsys.readouterr()
    assert upload(folder) == 0
    out = capsys.readouterr().out
    assert "movies.csv  skipped  Raw/Local/CSV/Movies/2026/03/14/movies.csv" in out
    assert "already in Raw as Raw/Local/CSV/Movies/2026/03/14/movies.csv" in out
    assert len(keys_in(lake)) == 2


def test_a_changed_file_the_same_day_gets_its_own_key(lake, folder: Path) -> None:
    assert upload(folder) == 0
    path = folder / "movies.csv"
    path.write_bytes(path.read_bytes() + path.read_bytes().split(b"\n")[1] + b"\n")
    assert upload(folder) == 0
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    assert f"Raw/Local/CSV/Movies/2026/03/14/movies_{digest}.csv" in keys_in(lake)
    assert len(keys_in(lake)) == 3


def test_a_bad_file_is_not_uploaded_and_stays_put(lake, folder: Path, capsys: pytest.CaptureFixture) -> None:
    bad = folder / "series.csv"
    original = bad.read_bytes().replace(b"\n", b"\r\n")
    bad.write_bytes(original)
    assert upload(folder) == 1
    captured = capsys.readouterr()
    assert keys_in(lake) == ["Raw/Local/CSV/Movies/2026/03/14/movies.csv"]
    assert keys_in(lake, "Rejected/") == []
    assert bad.read_bytes() == original
    assert "series.csv  rejected  -" in captured.out
    assert "rejected: series.csv: line 1: the line ends with CRLF" in captured.err
    assert "dos2unix" in captured.err


def test_bucket_flag_and_backfill_date(lake, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MOVIELAKE_LAKE_BUCKET")
    lake.create_bucket(Bucket="other-lake")
    assert cli.main(["upload", str(folder), "--bucket", "other-lake", "--date", "2024-02-29"]) == 0
    listed = lake.list_objects_v2(Bucket="other-lake")["Contents"]
    assert [o["Key"] for o in listed] == [
        "Raw/Local/CSV/Movies/2024/02/29/movies.csv",
        "Raw/Local/CSV/Series/2024/02/29/series.csv",
    ]


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no-csv", "no *.csv files in"),
        ("not-a-folder", "is not a folder"),
        ("no-bucket", "missing configuration: MOVIELAKE_LAKE_BUCKET"),
        ("unknown-bucket", "cannot write to s3://nobody-has-this-bucket/ ("),
    ],
)
def test_usage_errors_exit_2_with_one_line(
    lake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
    setup: str,
    message: str,
) -> None:
    target = tmp_path
    if setup == "not-a-folder":
        target = tmp_path / "missing"
    elif setup == "no-bucket":
        monkeypatch.delenv("MOVIELAKE_LAKE_BUCKET")
        shutil.copy(SAMPLE / "movies.csv", tmp_path / "movies.csv")
    elif setup == "unknown-bucket":
        monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", "nobody-has-this-bucket")
        shutil.copy(SAMPLE / "movies.csv", tmp_path / "movies.csv")
    assert upload(target) == 2
    err = capsys.readouterr().err
    assert err.startswith("movielake upload: error: ")
    assert message in err


def test_a_malformed_date_is_refused(lake, folder: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["upload", str(folder), "--date", "14/03/2026"])
    assert exit_info.value.code == 2
    assert "'14/03/2026' is not a date; use YYYY-MM-DD" in capsys.readouterr().err


def test_help_explains_keys_dedupe_and_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.setattr(cli, "COMMAND_MODULES", ("movielake.ingest.cli",))
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["upload", "--help"])
    assert exit_info.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for expected in (
        "Raw/Local/CSV/<Entity>/<YYYY>/<MM>/<DD>/<file>",
        "--date",
        "--bucket",
        "1 some file rejected",
    ):
        assert expected in text


@pytest.mark.slow
def test_a_large_file_goes_up_multipart_with_its_hash(lake, tmp_path: Path) -> None:
    data = (SAMPLE / "movies.csv").read_bytes()
    header, rows = data.split(b"\n", 1)
    path = tmp_path / "movies.csv"
    with path.open("wb") as handle:
        handle.write(header + b"\n")
        while handle.tell() < 20 * 1024 * 1024:
            handle.write(rows)
    assert upload(tmp_path) == 0
    head = lake.head_object(Bucket=LAKE_BUCKET, Key="Raw/Local/CSV/Movies/2026/03/14/movies.csv")
    assert head["ETag"].strip('"').endswith("-2")  # two 16 MiB parts
    assert head["Metadata"]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_progress_is_reported_in_bytes_up_to_the_file_size(lake, folder: Path) -> None:
    from datetime import date

    from movielake.ingest.upload import upload_file

    sent: list[int] = []
    path = folder / "movies.csv"
    result = upload_file(lake, LAKE_BUCKET, path, date(2026, 3, 14), progress=sent.append)
    assert result.status == "ingested"
    assert sum(sent) == path.stat().st_size
