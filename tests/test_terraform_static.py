"""The Terraform module, checked without deploying: fmt, validate, and plans against moto.

A plan needs the provider but creates nothing; reading the planned values back proves the
module follows docs/architecture.md (names, handlers, environment, wiring) and that the
inputs are validated. Applying it to moto is the local stack's integration test.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "terraform"
EXAMPLES = MODULE / "examples"
ACCOUNT = "123456789012"  # moto's default account
PREFIX = "movielake-local"
CLI_ENVIRONMENT = {
    "MOVIELAKE_LAKE_BUCKET",
    "MOVIELAKE_ATHENA_RESULTS_BUCKET",
    "MOVIELAKE_GLUE_DATABASE",
    "MOVIELAKE_TMDB_CRAWLER",
    "MOVIELAKE_CSV_CRAWLER",
    "MOVIELAKE_ATHENA_WORKGROUP",
    "MOVIELAKE_TMDB_QUEUE_URL",
    "MOVIELAKE_TMDB_SECRET_ID",
    "MOVIELAKE_TMDB_BASE_URL",
}

TERRAFORM = shutil.which("terraform")
needs_terraform = pytest.mark.skipif(TERRAFORM is None, reason="terraform is not on PATH")


def plugin_dir() -> Path | None:
    """The provider mirror: MOVIELAKE_TF_PLUGIN_DIR, else a `tf-plugins` dir <= 3 levels under /."""
    configured = os.environ.get("MOVIELAKE_TF_PLUGIN_DIR", "").strip()
    if configured:
        return Path(configured)
    for pattern in ("tf-plugins", "*/tf-plugins", "*/*/tf-plugins"):
        found = sorted(p for p in Path("/").glob(pattern) if p.is_dir())
        if found:
            return found[0]
    return None


def terraform(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run terraform in ``workdir`` with no user CLI config, no telemetry, no prompts."""
    cli_config = workdir / ".terraformrc"
    cli_config.touch()
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(cli_config),
        "TF_IN_AUTOMATION": "1",
        "CHECKPOINT_DISABLE": "1",
    }
    result = subprocess.run(
        [TERRAFORM or "terraform", f"-chdir={workdir}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"terraform {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def write_zip(path: Path, text: str) -> str:
    """A stand-in Lambda zip; returns its base64 SHA-256 (what source_code_hash must be)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("stub.py", text)
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode()


@pytest.fixture(scope="session")
def module_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The module copied beside a throwaway sql/ and build/, initialised from the mirror."""
    if TERRAFORM is None:
        pytest.skip("terraform is not on PATH")
    mirror = plugin_dir()
    if mirror is None or not mirror.is_dir():
        pytest.skip("no hashicorp/aws provider mirror (set MOVIELAKE_TF_PLUGIN_DIR)")
    base = tmp_path_factory.mktemp("tf")
    workdir = base / "terraform"
    shutil.copytree(MODULE, workdir, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*", "*.tfvars"))
    (base / "sql").mkdir()
    (base / "sql" / "q0_smoke.sql").write_text("-- Smoke test: counts the films\nSELECT 1;\n")
    (base / "sql" / "notes.sql").write_text("SELECT 'not a named query';\n")
    hashes = {
        "csv_ingest": write_zip(base / "build" / "csv_ingest.zip", "csv"),
        "tmdb_enrich": write_zip(base / "build" / "tmdb_enrich.zip", "tmdb"),
    }
    terraform(workdir, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={mirror}")
    yield {"dir": workdir, "hashes": hashes}


def plan(module: dict[str, Any], endpoint: str, *variables: str) -> dict[str, Any]:
    """Plan against moto with the local settings (+ ``variables``); the plan as JSON."""
    workdir: Path = module["dir"]
    out = workdir / "test.tfplan"
    args = [
        f"-var=aws_endpoint_url={endpoint}",
        "-var=environment=local",
        "-var=create_csv_classifier=false",
        *(f"-var={v}" for v in variables),
    ]
    terraform(workdir, "plan", "-input=false", "-no-color", "-lock=false", f"-out={out}", *args)
    shown = terraform(workdir, "show", "-json", str(out))
    return json.loads(shown.stdout)


def console(module: dict[str, Any], endpoint: str, expression: str) -> Any:
    """Evaluate ``expression`` (locals included) against a plan with `terraform console -plan`."""
    workdir: Path = module["dir"]
    env = {**os.environ, "TF_CLI_CONFIG_FILE": str(workdir / ".terraformrc"), "CHECKPOINT_DISABLE": "1"}
    args = ["console", "-plan", f"-var=aws_endpoint_url={endpoint}", "-var=environment=local"]
    result = subprocess.run(
        [TERRAFORM or "terraform", f"-chdir={workdir}", *args, f"-state={workdir / 'absent.tfstate'}"],
        input=f"jsonencode({expression})\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith('"'), f"not known at plan time: {result.stdout}"
    return json.loads(json.loads(result.stdout))


def resources(planned: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Planned resources by address, with their known values."""
    return {r["address"]: r.get("values", {}) for r in planned["planned_values"]["root_module"]["resources"]}


@pytest.fixture(scope="session")
def default_plan(module_copy: dict[str, Any], moto_server: str) -> dict[str, Any]:
    return plan(module_copy, moto_server)


@needs_terraform
def test_module_is_fmt_clean() -> None:
    result = subprocess.run(
        [TERRAFORM or "terraform", "fmt", "-check", "-recursive", "-diff", str(MODULE)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_terraform
@pytest.mark.parametrize("example", ["local.tfvars.example", "aws.tfvars.example"])
def test_example_tfvars_are_fmt_clean(example: str, tmp_path: Path) -> None:
    copy = tmp_path / example.removesuffix(".example")
    shutil.copy(EXAMPLES / example, copy)
    result = subprocess.run(
        [TERRAFORM or "terraform", "fmt", "-check", "-diff", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.terraform
def test_module_validates(module_copy: dict[str, Any]) -> None:
    result = terraform(module_copy["dir"], "validate", "-json", "-no-color")
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["error_count"] == 0 and report["warning_count"] == 0, report["diagnostics"]


@pytest.mark.terraform
@pytest.mark.slow
def test_functions_follow_the_contract(
    default_plan: dict[str, Any], module_copy: dict[str, Any], moto_server: str
) -> None:
    planned = resources(default_plan)
    # The secret ARN and queue URL are unknown until apply, so a plan hides the whole
    # environment map: read its keys, and its other values, from the module's locals.
    env = console(
        module_copy,
        moto_server,
        "{for k, v in local.function_environment : k => {keys = keys(v), known = {for n in"
        ' setsubtract(keys(v), ["MOVIELAKE_TMDB_SECRET_ID", "MOVIELAKE_TMDB_QUEUE_URL"]) : n => v[n]}}}',
    )
    env_keys = {k: v["keys"] for k, v in env.items()}
    env_values = {k: v["known"] for k, v in env.items()}
    expected = {
        "csv_ingest": (f"{PREFIX}-csv-ingest", "movielake.ingest.handler.handler", "csv_ingest", 300),
        "tmdb_planner": (f"{PREFIX}-tmdb-planner", "movielake.tmdb.handlers.plan", "tmdb_enrich", 900),
        "tmdb_worker": (f"{PREFIX}-tmdb-worker", "movielake.tmdb.handlers.work", "tmdb_enrich", 900),
    }
    for key, (name, handler, zip_name, timeout) in expected.items():
        fn = planned[f'aws_lambda_function.this["{key}"]']
        assert fn["function_name"] == name
        assert fn["handler"] == handler
        assert fn["timeout"] == timeout
        assert fn["source_code_hash"] == module_copy["hashes"][zip_name]
        assert env_values[key]["MOVIELAKE_LAKE_BUCKET"] == f"{PREFIX}-lake-{ACCOUNT}"
        assert env_values[key]["MOVIELAKE_GLUE_DATABASE"] == "movielake_local_raw"
        assert not [k for k in env_keys[key] if "API_KEY" in k or "TOKEN" in k], "a credential in env"
    tmdb_keys = {"MOVIELAKE_TMDB_SECRET_ID", "MOVIELAKE_TMDB_QUEUE_URL", "MOVIELAKE_TMDB_CRAWLER"}
    assert tmdb_keys <= set(env_keys["tmdb_planner"]) and tmdb_keys <= set(env_keys["tmdb_worker"])
    planner, worker = env_values["tmdb_planner"], env_values["tmdb_worker"]
    # Two workers share the 40 req/s budget; the planner runs alone.
    assert float(planner["MOVIELAKE_TMDB_RATE"]) == 40
    assert float(worker["MOVIELAKE_TMDB_RATE"]) == 20
    assert planner["MOVIELAKE_TMDB_WORKERS"] == "2"  # a fan-out makes a message per worker at least
    assert worker["MOVIELAKE_TMDB_CRAWLER"] == f"{PREFIX}-raw-tmdb"
    assert worker["MOVIELAKE_GENRES"] == "crime,war"
    assert worker["MOVIELAKE_TMDB_IDS_PER_MESSAGE"] == "2000"


@pytest.mark.terraform
@pytest.mark.slow
def test_wiring_follows_the_contract(default_plan: dict[str, Any]) -> None:
    planned = resources(default_plan)
    assert planned['aws_s3_bucket.this["lake"]']["bucket"] == f"{PREFIX}-lake-{ACCOUNT}"
    assert planned['aws_s3_bucket.this["athena_results"]']["bucket"] == f"{PREFIX}-athena-results-{ACCOUNT}"

    notification = planned["aws_s3_bucket_notification.lake"]["lambda_function"][0]
    assert notification["events"] == ["s3:ObjectCreated:*"]
    assert (notification["filter_prefix"], notification["filter_suffix"]) == ("Landing/", ".csv")

    mapping = planned["aws_lambda_event_source_mapping.tmdb_worker"]
    assert mapping["batch_size"] == 1
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"]
    assert mapping["scaling_config"][0]["maximum_concurrency"] >= 2

    queue = planned["aws_sqs_queue.tmdb_batches"]
    assert queue["name"] == f"{PREFIX}-tmdb-batches"
    assert queue["visibility_timeout_seconds"] >= 6 * 900
    assert planned["aws_sqs_queue.tmdb_batches_dlq"]["name"] == f"{PREFIX}-tmdb-batches-dlq"
    assert planned["aws_secretsmanager_secret.tmdb"]["name"] == f"{PREFIX}/tmdb-api"

    tmdb = planned["aws_glue_crawler.tmdb"]
    assert (tmdb["name"], tmdb["table_prefix"]) == (f"{PREFIX}-raw-tmdb", "tmdb_")
    target = tmdb["s3_target"][0]
    assert target["path"] == f"s3://{PREFIX}-lake-{ACCOUNT}/Raw/TMDB/JSON/Movies/"
    assert "**/erros_geral.json" in target["exclusions"] and "**/_*" in target["exclusions"]
    csv = planned["aws_glue_crawler.csv"]
    assert (csv["name"], csv["table_prefix"]) == (f"{PREFIX}-raw-csv", "csv_")
    assert sorted(t["path"] for t in csv["s3_target"]) == [
        f"s3://{PREFIX}-lake-{ACCOUNT}/Raw/Local/CSV/{entity}/" for entity in ("Movies", "Series")
    ]
    assert csv["classifiers"] == []
    assert not [a for a in planned if a.startswith("aws_glue_classifier.")]
    assert json.loads(csv["configuration"])["CrawlerOutput"]["Partitions"] == {
        "AddOrUpdateBehavior": "InheritFromTable"
    }

    workgroup = planned["aws_athena_workgroup.this"]
    config = workgroup["configuration"][0]
    assert workgroup["name"] == PREFIX and config["enforce_workgroup_configuration"] is True
    assert config["result_configuration"][0]["encryption_configuration"][0]["encryption_option"] == "SSE_KMS"
    queries = {a: v for a, v in planned.items() if a.startswith("aws_athena_named_query.")}
    assert list(queries) == ['aws_athena_named_query.this["q0_smoke"]']
    query = queries['aws_athena_named_query.this["q0_smoke"]']
    assert (query["name"], query["description"]) == ("q0_smoke", "Smoke test: counts the films")
    assert query["database"] == "movielake_local_raw"

    assert not [a for a in planned if a.startswith("aws_cloudwatch_event_")], "schedule is off by default"


@pytest.mark.terraform
@pytest.mark.slow
def test_outputs_carry_the_cli_environment(default_plan: dict[str, Any]) -> None:
    change = default_plan["output_changes"]["cli_environment"]
    keys = set(change.get("after") or {}) | set(change.get("after_unknown") or {})
    assert keys == CLI_ENVIRONMENT
    assert change["after"]["MOVIELAKE_GLUE_DATABASE"] == "movielake_local_raw"
    for name in ("lake_bucket", "tmdb_secret_id", "function_names", "kms_key_arn", "named_query_ids"):
        assert name in default_plan["output_changes"]


@pytest.mark.terraform
@pytest.mark.slow
def test_schedule_and_classifier_are_optional(module_copy: dict[str, Any], moto_server: str) -> None:
    planned = resources(
        plan(module_copy, moto_server, "tmdb_schedule_expression=rate(1 day)", "create_csv_classifier=true")
    )
    assert planned["aws_cloudwatch_event_rule.tmdb_schedule[0]"]["schedule_expression"] == "rate(1 day)"
    assert "aws_cloudwatch_event_target.tmdb_schedule[0]" in planned
    assert "aws_lambda_permission.events_invokes_tmdb_planner[0]" in planned
    classifier = planned["aws_glue_classifier.csv[0]"]["csv_classifier"][0]
    assert (classifier["delimiter"], classifier["contains_header"]) == ("|", "PRESENT")
    assert planned["aws_glue_crawler.csv"]["classifiers"] == [f"{PREFIX}-pipe-csv"]


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("tmdb_worker_concurrency=1", "tmdb_worker_concurrency must be"),
        ("tmdb_rate=80", "tmdb_rate must be"),
        ("log_retention_days=10", "log_retention_days must be"),
        ("environment=Prod_1", "environment must be"),
    ],
)
def test_bad_inputs_are_refused(
    module_copy: dict[str, Any], moto_server: str, variable: str, message: str
) -> None:
    result = terraform(
        module_copy["dir"],
        "plan",
        "-input=false",
        "-no-color",
        "-lock=false",
        f"-var=aws_endpoint_url={moto_server}",
        f"-var={variable}",
        check=False,
    )
    assert result.returncode == 1
    assert message in " ".join(result.stderr.split())


def blocks(kind: str) -> dict[str, str]:
    """Top-level ``<kind> "name" { ... }`` blocks of the module's .tf files, by name."""
    found: dict[str, str] = {}
    for path in sorted(MODULE.glob("*.tf")):
        text = path.read_text()
        for match in re.finditer(rf'^{kind} "([^"]+)" \{{\n(.*?)^\}}', text, re.M | re.S):
            found[match.group(1)] = match.group(2)
    return found


def test_every_variable_is_typed_and_described() -> None:
    variables = blocks("variable")
    assert len(variables) > 20
    for name, body in variables.items():
        assert re.search(r"^  type\s+=", body, re.M), f"variable {name} has no type"
        assert re.search(r'^  description\s+= "\S', body, re.M), f"variable {name} has no description"


def test_every_output_is_described() -> None:
    outputs = blocks("output")
    assert {"lake_bucket", "cli_environment", "named_query_ids"} <= set(outputs)
    for name, body in outputs.items():
        assert re.search(r'^  description\s+= "\S', body, re.M), f"output {name} has no description"


def test_no_secret_or_machine_path_in_the_module() -> None:
    owned = [*MODULE.rglob("*.tf"), *EXAMPLES.glob("*.example"), *(ROOT / "scripts").glob("build_lambdas*")]
    for path in owned:
        text = path.read_text()
        assert "aws_secretsmanager_secret_version" not in text, path
        assert "/opt/tf-plugins" not in text, f"{path} hard-codes the provider mirror"
        assert not re.search(r"^\s*(tmdb_)?(api_key|bearer_token)\s*=", text, re.M), path
    names = set(blocks("variable"))
    assert not [n for n in names if re.search(r"api_key|token|password", n)]
