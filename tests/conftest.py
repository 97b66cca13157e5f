"""Shared fixtures: AWS stand-ins (moto in-process, or a moto server in a child process)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from movielake.config import Settings

REGION = "us-east-1"
LAKE_BUCKET = "movielake-test-lake"
# Fail fast on what moto does not implement instead of retrying its HTTP 500s.
NO_RETRY = Config(retries={"max_attempts": 1, "mode": "standard"})


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


@pytest.fixture
def settings() -> Settings:
    """Settings for tests that only need the lake bucket."""
    return Settings(lake_bucket=LAKE_BUCKET, region=REGION)


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server in a child process (DuckDB and the Lambda runtime reach it over HTTP).

    Session-scoped for speed; use ``moto_endpoint`` to get it reset for each test.
    """
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError("moto server did not start") from None
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def moto_endpoint(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The shared moto server, reset, with ``AWS_ENDPOINT_URL`` pointing at it."""
    request = urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).close()
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    return moto_server
