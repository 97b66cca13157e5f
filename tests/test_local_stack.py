"""The local stack's bring-up, through ``LocalStack.up``: a failed first apply on the new moto
server is retried once from scratch, a second failure is reported and leaves nothing running.

The module applied is a small stand-in for terraform/ (builtin ``terraform_data`` only, so no
provider is needed): each apply records what it finds in moto and in the state, and fails on
demand, the way a moto hiccup under the provider's parallel requests fails a real apply.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from movielake.local.server import ServerRecord
from movielake.local.stack import LocalStack
from movielake.local.terraform import TerraformError

pytestmark = [
    pytest.mark.terraform,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH"),
]

MODULE = """
variable "aws_endpoint_url" {
  type = string
}

variable "fail" {
  type    = string
  default = "%s"
}

# Created first: present in the state of a failed apply unless the state is dropped.
resource "terraform_data" "first" {
  provisioner "local-exec" {
    command = "\\"$APPLY_PYTHON\\" ${path.module}/attempt.py first ${var.aws_endpoint_url} ${var.fail}"
  }
}

resource "terraform_data" "apply" {
  depends_on = [terraform_data.first]
  provisioner "local-exec" {
    command = "\\"$APPLY_PYTHON\\" ${path.module}/attempt.py apply ${var.aws_endpoint_url} ${var.fail}"
  }
}
"""

ATTEMPT = """
import os, sys
from collections.abc import Iterator
from pathlib import Path

import boto3

step, endpoint, fail = sys.argv[1:4]
log = Path(os.environ["APPLY_LOG"])
lines = log.read_text().splitlines() if log.exists() else []
if step == "first":
    log.write_text("\\n".join([*lines, "first"]) + "\\n")
    sys.exit(0)
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
buckets = ",".join(sorted(b["Name"] for b in s3.list_buckets()["Buckets"])) or "no buckets"
log.write_text("\\n".join([*lines, f"apply: {buckets}"]) + "\\n")
if fail == "always" or sum(line.startswith("apply") for line in lines) == 0:
    s3.create_bucket(Bucket="half-applied")  # what moto made before the apply failed
    sys.exit("ResourceConflictException: already exists")
"""


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalStack]:
    """A stack in tmp_path applying the stand-in module; no emulator (no fixtures)."""
    monkeypatch.setenv("APPLY_PYTHON", sys.executable)
    monkeypatch.setenv("APPLY_LOG", str(tmp_path / "applies.log"))
    made = LocalStack(
        directory=tmp_path / "local",
        record_path=tmp_path / "local" / "stack.json",
        terraform_dir=tmp_path / "module",
        build_dir=tmp_path / "build",
        fixtures=tmp_path / "no-fixtures",
    )
    made.terraform_dir.mkdir()
    (made.terraform_dir / "attempt.py").write_text(ATTEMPT)
    # init installs no provider for this module, so it makes no data directory of its own.
    made.terraform().data_dir.mkdir(parents=True)
    yield made
    made.down(quiet=True)


def module(stack: LocalStack, fail: str) -> None:
    (stack.terraform_dir / "main.tf").write_text(MODULE % fail)


def applies(tmp_path: Path) -> list[str]:
    return (tmp_path / "applies.log").read_text().splitlines()


def test_a_failed_first_apply_is_retried_once_on_a_reset_server_and_state(
    stack: LocalStack, tmp_path: Path
) -> None:
    module(stack, fail="once")
    record = stack.up()
    # The retry found neither the first attempt's bucket nor its state (``first`` ran again).
    assert applies(tmp_path) == ["first", "apply: no buckets", "first", "apply: no buckets"]
    assert stack.is_up(record) and stack.load() == record


def test_a_second_failed_apply_is_reported_and_the_servers_are_stopped(
    stack: LocalStack, tmp_path: Path
) -> None:
    module(stack, fail="always")
    with pytest.raises(TerraformError, match="ResourceConflictException"):
        stack.up()
    assert [line for line in applies(tmp_path) if line.startswith("apply")] == ["apply: no buckets"] * 2
    assert stack.load() is None and ServerRecord.load(stack.directory, "moto") is None
