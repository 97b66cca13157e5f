"""The real local stack: terraform/ applied onto moto, the deployed wiring driving the built zips.

One apply per session (the ``local_stack`` fixture in conftest.py); the tests share it, so
each one only adds objects or reads.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from movielake import keys
from movielake.config import PROJECT_ROOT, Settings
from movielake.local.stack import LocalStack

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

SAMPLE_MOVIES = PROJECT_ROOT / "data" / "sample" / "movies.csv"


def stack_of(record: dict) -> LocalStack:
    """The LocalStack object behind the fixture's record."""
    directory = Path(record["local_dir"])
    return LocalStack(directory=directory, record_path=Path(record["record_path"]))


def test_the_stack_record_says_what_runs_where(local_stack: dict) -> None:
    assert local_stack["endpoint_url"].startswith("http://127.0.0.1:")
    assert local_stack["region"] == "us-east-1"
    environment = local_stack["environment"]
    assert environment["AWS_ENDPOINT_URL"] == local_stack["endpoint_url"]
    assert environment["MOVIELAKE_LAKE_BUCKET"] == local_stack["outputs"]["lake_bucket"]
    functions = {"csv_ingest", "tmdb_planner", "tmdb_worker", "refine"}
    assert set(local_stack["outputs"]["function_names"]) == functions
    status = stack_of(local_stack).status()
    assert status["up"] and status["moto"]["alive"]


def test_the_emulator_key_is_in_the_secret_and_nowhere_else(local_stack: dict) -> None:
    stack = stack_of(local_stack)
    if not local_stack.get("emulator_url"):
        pytest.skip("the TMDB emulator is not installed")
    secrets = stack.client("secretsmanager", local_stack["endpoint_url"])
    secret_id = local_stack["environment"]["MOVIELAKE_TMDB_SECRET_ID"]
    api_key = json.loads(secrets.get_secret_value(SecretId=secret_id)["SecretString"])["api_key"]

    assert len(api_key) == 32
    assert api_key not in Path(local_stack["record_path"]).read_text()
    assert api_key not in stack.tfvars.read_text()
    assert api_key not in Path(local_stack["local_dir"], "terraform.tfstate").read_text()
    assert api_key not in Path(f"/proc/{local_stack['emulator_pid']}/cmdline").read_text()  # `ps` shows it
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{local_stack['emulator_url']}/3/movie/550?api_key=wrong", timeout=5)
    assert refused.value.code == 401


def test_a_csv_dropped_in_landing_lands_in_raw_through_the_deployed_notification(local_stack: dict) -> None:
    stack = stack_of(local_stack)
    bucket = local_stack["outputs"]["lake_bucket"]
    s3 = stack.client("s3", local_stack["endpoint_url"])
    today = datetime.now(UTC).date()
    s3.upload_file(str(SAMPLE_MOVIES), bucket, keys.LANDING_PREFIX + "movies.csv")

    report = stack.dispatcher().pump()

    ingest = local_stack["outputs"]["function_names"]["csv_ingest"]
    runs = [i for i in report.invocations if i.function == ingest]
    assert [i.status for i in runs] == ["ok"], [i.error for i in runs]
    raw_key = keys.raw_csv_key("movies.csv", today)
    assert raw_key == f"Raw/Local/CSV/Movies/{today:%Y/%m/%d}/movies.csv"
    landed = s3.get_object(Bucket=bucket, Key=raw_key)["Body"].read()
    assert landed == SAMPLE_MOVIES.read_bytes()
    assert stack.dispatcher().pump().invocations == []  # delivered once


def test_up_again_keeps_the_running_stack(local_stack: dict) -> None:
    stack = stack_of(local_stack)
    started = time.monotonic()

    record = stack.up()

    # Nothing changed: no apply at all (a changed terraform/ would re-apply in ~10 s, still
    # on the same servers).
    assert time.monotonic() - started < 60
    assert record["moto_pid"] == local_stack["moto_pid"]
    assert record["endpoint_url"] == local_stack["endpoint_url"]


def test_a_second_plan_shows_no_change(local_stack: dict) -> None:
    stack = stack_of(local_stack)

    assert stack.terraform().plan(stack.tfvars) == 0


def test_the_cli_reads_the_stack_through_settings(local_stack_env: dict) -> None:
    settings = Settings.from_env()

    assert settings.lake_bucket == local_stack_env["outputs"]["lake_bucket"]
    assert settings.endpoint_url == local_stack_env["endpoint_url"]
