"""The local stack's bring-up, apart from Terraform itself (the integration tests apply it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from movielake.local.server import ServerRecord
from movielake.local.stack import LocalStack
from movielake.local.terraform import TerraformError


def test_a_failed_apply_on_a_new_server_is_retried_once_from_scratch(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = LocalStack(directory=tmp_path, record_path=tmp_path / "stack.json")
    moto = ServerRecord("moto", pid=0, port=0, url=moto_endpoint, log="", marker="")
    state = stack.terraform().state_file
    s3 = boto3.client("s3", endpoint_url=moto_endpoint)
    applies: list[bool] = []

    def deploy(moto_record: dict[str, Any], emulator: Any, api_key: str | None) -> dict[str, Any]:
        # What the previous apply left behind is gone before the next one starts.
        buckets = s3.list_buckets()["Buckets"]
        applies.append(bool(buckets) or state.exists())
        if len(applies) == 1:
            s3.create_bucket(Bucket="half-applied")  # a resource moto made, the state lost
            state.write_text("{}")
            raise TerraformError("`terraform apply` failed; ResourceConflictException: already exist")
        return {"endpoint_url": moto_record["url"]}

    monkeypatch.setattr(stack, "_deploy", deploy)
    assert stack._deploy_onto_new_server(moto, None, "key") == {"endpoint_url": moto_endpoint}
    assert applies == [False, False]


def test_a_second_failed_apply_is_reported(moto_endpoint: str, tmp_path: Path, monkeypatch) -> None:
    stack = LocalStack(directory=tmp_path, record_path=tmp_path / "stack.json")
    moto = ServerRecord("moto", pid=0, port=0, url=moto_endpoint, log="", marker="")

    def deploy(*_: Any) -> dict[str, Any]:
        raise TerraformError("`terraform apply` failed: invalid configuration")

    monkeypatch.setattr(stack, "_deploy", deploy)
    with pytest.raises(TerraformError, match="invalid configuration"):
        stack._deploy_onto_new_server(moto, None, "key")
