"""Shared fixtures: AWS stand-ins (moto in-process, or a moto server in a child process)."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from movielake.config import Settings
from movielake.local.server import reset_moto
from movielake.log import CHATTY_LOGGERS

REGION = "us-east-1"
LAKE_BUCKET = "movielake-test-lake"
# Fail fast on what moto does not implement instead of retrying its HTTP 500s.
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


def endless_query(table: str, column: str) -> str:
    """Athena SQL that runs for hours on any machine, for the tests that stop a running query:
    a six-way cross join of ``table`` (~100 rows: ~10^12 combinations) whose filter needs every
    combination's ``column`` (a number). A bare ``count(*)`` of a five-way cross join is no such
    query: DuckDB counts a cross product chunk by chunk, billions of rows a second on its 8+
    threads, so 100 rows^5 ends in a few seconds, sooner than a test's deadline on a fast machine."""
    joined = ", ".join(f"{table} t{i}" for i in range(6))
    total = " + ".join(f"t{i}.{column}" for i in range(6))
    return f"SELECT count(*) AS n FROM {joined} WHERE ({total}) % 7 = 3"  # noqa: S608 - test constants


@pytest.fixture(autouse=True)
def _aws_sandbox(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test can reach a real account: dummy credentials, a fixed region, no profile."""
    for name in list(os.environ):
        if name.startswith(("MOVIELAKE_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    # Keep tests off any local stack the developer has running.
    monkeypatch.setattr("movielake.config.STACK_FILE", tmp_path / "no-stack.json")


@pytest.fixture(autouse=True)
def _restore_library_log_levels() -> Iterator[None]:
    """``movielake.cli.main`` quiets chatty library loggers; undo it so no test sees another's."""
    loggers = [logging.getLogger(name) for name in CHATTY_LOGGERS]
    levels = [logger.level for logger in loggers]
    yield
    for logger, level in zip(loggers, levels, strict=True):
        logger.setLevel(level)


@pytest.fixture
def mock_aws_env() -> Iterator[None]:
    """moto in this process: fast, for unit tests."""
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def s3(mock_aws_env: None):
    """An S3 client on in-process moto, with the lake bucket created."""
    client = boto3.client("s3", region_name=REGION, config=NO_RETRY)
    client.create_bucket(Bucket=LAKE_BUCKET)
    return client


def define_crawler(glue: Any, name: str, prefix: str) -> None:
    """A Glue database and a crawler ``name`` over ``s3://<lake>/<prefix>`` (as Terraform makes)."""
    glue.create_database(DatabaseInput={"Name": "movielake_test_raw"})
    glue.create_crawler(
        Name=name,
        Role="arn:aws:iam::123456789012:role/crawler",
        DatabaseName="movielake_test_raw",
        Targets={"S3Targets": [{"Path": f"s3://{LAKE_BUCKET}/{prefix}"}]},
    )


@pytest.fixture
def settings() -> Settings:
    """Settings for tests that only need the lake bucket."""
    return Settings(lake_bucket=LAKE_BUCKET, region=REGION)


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in a child process (DuckDB and the Lambda runtime reach it over HTTP).

    Session-scoped for speed; use ``moto_endpoint`` to get it reset for each test. It is the
    local stack's server (moto's own Lambda triggers off: the local runtime delivers events).
    """
    from movielake.local.server import temporary_moto

    with temporary_moto() as url:
        yield url


@pytest.fixture
def moto_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shared moto server, reset, with ``AWS_ENDPOINT_URL`` pointing at it."""
    reset_moto(moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The whole local stack (moto, TMDB emulator, terraform/ applied), brought up once per session.

    Yields the stack record (``stack.json``: ``endpoint_url``, ``outputs``, ``environment``...)
    plus ``local_dir`` and ``record_path``; its state lives in a temporary directory, never in
    the developer's ``build/local``. Skips when Terraform, the provider or the zips are missing.
    Use ``local_stack_env`` in a test to point ``Settings.from_env()`` and boto3 at it.
    """
    import shutil

    from movielake.local.runtime import BUILD_DIR
    from movielake.local.stack import LocalStack
    from movielake.local.terraform import find_plugin_dir

    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.5 to run the local-stack tests")
    if find_plugin_dir() is None:
        pytest.skip("no hashicorp/aws provider mirror (set MOVIELAKE_TF_PLUGIN_DIR) and no registry access")
    require_lambda_python()
    zips = ("csv_ingest.zip", "tmdb_enrich.zip", "refine.zip")
    missing = [name for name in zips if not (BUILD_DIR / name).exists()]
    if missing:
        pytest.skip(f"Lambda zips missing in build/ ({', '.join(missing)}): run `make build`")
    directory = tmp_path_factory.mktemp("local-stack")
    stack = LocalStack(directory=directory, record_path=directory / "stack.json", echo=print)
    try:
        record = stack.up()
        yield {**record, "local_dir": str(directory), "record_path": str(stack.record_path)}
    finally:
        stack.down(quiet=True)


@pytest.fixture
def local_stack_env(local_stack: dict, monkeypatch: pytest.MonkeyPatch) -> dict:
    """``local_stack`` with its environment exported (``MOVIELAKE_*``, ``AWS_ENDPOINT_URL``...)."""
    for name, value in local_stack["environment"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr("movielake.config.STACK_FILE", Path(local_stack["record_path"]))
    return local_stack


# The Lambda runtime Terraform declares (var.lambda_runtime's default); the local runtime runs
# handlers under this Python.
LAMBDA_RUNTIME = "python3.12"


def require_lambda_python() -> str:
    """The interpreter of the Lambda runtime, or skip saying what to install."""
    from movielake.local.runtime import LocalRuntimeError, find_interpreter

    try:
        return find_interpreter(LAMBDA_RUNTIME)
    except LocalRuntimeError as exc:
        pytest.skip(f"SKIPPED LOUDLY: {exc}")


@pytest.fixture(scope="session")
def lambda_python() -> str:
    """The interpreter the local runtime uses for ``python3.12`` functions (skips when absent)."""
    return require_lambda_python()


def load_build_script():
    """``scripts/build_lambdas.py`` as a module (it is a script, not part of the package)."""
    import importlib.util
    import sys

    path = Path(__file__).resolve().parents[1] / "scripts" / "build_lambdas.py"
    spec = importlib.util.spec_from_file_location("build_lambdas", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_lambdas"] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def lambda_sdk() -> dict[str, Path]:
    """Archive name -> file of the pinned AWS SDK the zips ship (from the build's cache)."""
    build = load_build_script()
    site = build.install_dependencies(build.SDK, build.Target(), build.DEPS_CACHE)
    return build.dependency_files(site)
