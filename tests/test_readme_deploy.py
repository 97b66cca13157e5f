"""The README's "Deploying to a real AWS account" block, executed as written on a moto server.

The block is read from README.md and run by bash in a copy of the checkout. Only the target
differs, the way the README says it may: the copied ``aws.tfvars.example`` gets the moto
endpoint (and the TMDB emulator's URL) appended, the shell has dummy credentials and
``AWS_ENDPOINT_URL``, Terraform installs the provider from the mirror and applies without a
prompt (``TF_CLI_ARGS_apply=-auto-approve``), and the TMDB key arrives on standard input.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from conftest import NO_RETRY, REGION, require_lambda_python

from movielake.local import server
from movielake.local.stack import new_admin_key
from movielake.local.terraform import cli_config_text, find_plugin_dir

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("scripts", "terraform", "sql", "data", "src")


def deploy_block() -> str:
    """The bash block of the README's deployment section."""
    section = (ROOT / "README.md").read_text().split("## Deploying to a real AWS account", 1)[1]
    match = re.search(r"```bash\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    assert match, "the deployment section has no ```bash block"
    return match.group(1)


def copy_checkout(target: Path) -> Path:
    """What the block touches, copied; the venv and the dependency cache are shared (linked)."""
    target.mkdir()
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, target / name)
    ignore = shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars", "__pycache__")
    for name in COPIED:
        shutil.copytree(ROOT / name, target / name, ignore=ignore)
    venv = target / ".venv"
    venv.mkdir()
    for entry in (ROOT / ".venv").iterdir():
        if entry.name != ".installed-stamp":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed-stamp").touch()  # installed: `make build` must not reinstall
    (target / "build").mkdir()
    cache = ROOT / "build" / ".lambda-deps"
    if cache.is_dir():
        (target / "build" / ".lambda-deps").symlink_to(cache)
    return target


def test_the_readme_deploy_commands_run_as_written(tmp_path: Path) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH: install Terraform >= 1.5")
    plugins = find_plugin_dir()
    if plugins is None:
        pytest.skip("no hashicorp/aws provider mirror (set MOVIELAKE_TF_PLUGIN_DIR)")
    if not (ROOT / ".venv" / "bin" / "movielake").exists():
        pytest.skip("no .venv: run `make install`")
    require_lambda_python()
    block = deploy_block()
    assert '["tmdb_planner"]' in block and "tmdb-planner" not in block.split("function_names")[1]

    checkout = copy_checkout(tmp_path / "movielake")
    cli_config = tmp_path / "terraform.rc"
    cli_config.write_text(cli_config_text(plugins))
    api_key = secrets.token_hex(16)
    # IAM enforced, as on an account: the user is the administrator, each Lambda its role.
    admin = new_admin_key()
    admin_key = f"{admin['AWS_ACCESS_KEY_ID']}:{admin['AWS_SECRET_ACCESS_KEY']}"
    moto = server.start_moto(tmp_path / "moto", managed_policies=False, admin_key=admin_key)
    emulator = server.start_emulator(tmp_path / "emulator", api_key, ROOT / "data/sample/tmdb/movies.ndjson")
    try:
        example = checkout / "terraform" / "examples" / "aws.tfvars.example"
        example.write_text(
            example.read_text()
            + f'\naws_endpoint_url         = "{moto.url}"\ntmdb_base_url            = "{emulator.url}"\n'
            + "force_destroy_buckets    = true\nkms_deletion_window_days = 7\n"
        )
        env = {
            # The user's PATH and HOME (where pyenv keeps the runtime's Python).
            **{k: os.environ[k] for k in ("PATH", "HOME", "PYENV_ROOT") if k in os.environ},
            "AWS_ENDPOINT_URL": moto.url,
            "AWS_REGION": REGION,
            **admin,
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_CLI_ARGS_apply": "-auto-approve",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
        }
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=checkout,
            env=env,
            input=api_key + "\n",
            capture_output=True,
            text=True,
            timeout=1200,
            check=False,
        )
        assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-6000:]}"

        outputs = json.loads(
            subprocess.run(
                ["terraform", "-chdir=terraform", "output", "-json"],
                cwd=checkout,
                env=env,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        endpoint = {
            "endpoint_url": moto.url,
            "region_name": REGION,
            "config": NO_RETRY,
            "aws_access_key_id": admin["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": admin["AWS_SECRET_ACCESS_KEY"],
        }
        secret = boto3.client("secretsmanager", **endpoint).get_secret_value(
            SecretId=outputs["tmdb_secret_id"]["value"]
        )
        assert json.loads(secret["SecretString"]) == {"api_key": api_key}
        assert api_key not in result.stdout + result.stderr
        lake = outputs["lake_bucket"]["value"]
        s3 = boto3.client("s3", **endpoint)
        listed = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=lake)
                  for o in page.get("Contents", [])]  # fmt: skip
        assert any(k.startswith("Raw/Local/CSV/Movies/") for k in listed)
        assert any(re.search(r"Raw/TMDB/JSON/Movies/\d{4}/\d\d/\d\d/_manifest\.json$", k) for k in listed)
        glue = boto3.client("glue", **endpoint)
        database = outputs["glue_database"]["value"]
        assert glue.get_partitions(DatabaseName=database, TableName="csv_movies")["Partitions"]
        assert glue.get_partitions(DatabaseName=database, TableName="tmdb_movies")["Partitions"]
        assert (checkout / "build" / "report" / "index.html").is_file()
        planner = outputs["function_names"]["value"]["tmdb_planner"]
        assert f"{planner} <- invoke: ok in " in result.stdout  # the planner's answer
    finally:
        server.stop(emulator)
        server.stop(moto)
