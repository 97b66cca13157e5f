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
from conftest import load_build_script

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
    "MOVIELAKE_REFINE_WORKGROUP",
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
        # The plans run against a moto server that enforces no IAM; any key will do.
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
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
    (base / "sql" / "trusted").mkdir()  # the refine's models are not named queries either
    (base / "sql" / "trusted" / "q9_model.sql").write_text("-- A model\nSELECT 1;\n")
    hashes = {
        "csv_ingest": write_zip(base / "build" / "csv_ingest.zip", "csv"),
        "tmdb_enrich": write_zip(base / "build" / "tmdb_enrich.zip", "tmdb"),
        "refine": write_zip(base / "build" / "refine.zip", "refine"),
    }
    build = load_build_script()
    for name in hashes:  # each zip's build record, as scripts/build_lambdas.py writes it
        record = build.target_record_path(base / "build" / f"{name}.zip")
        record.write_text(json.dumps(build.Target().record()))
    terraform(workdir, "init", "-backend=false", "-input=false", "-no-color", f"-plugin-dir={mirror}")
    yield {"dir": workdir, "hashes": hashes}


def plan(module: dict[str, Any], endpoint: str, *variables: str) -> dict[str, Any]:
    """Plan against moto with the local settings (+ ``variables``); the plan as JSON."""
    workdir: Path = module["dir"]
    out = workdir / "test.tfplan"
    args = [
        f"-var=aws_endpoint_url={endpoint}",
        "-var=environment=local",
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


@pytest.mark.terraform
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


@pytest.mark.terraform
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
        "refine": (f"{PREFIX}-refine", "movielake.refine.handler.handler", "refine", 900),
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
    # The refine runs its CTAS in its own workgroup, not in the analyses' (enforced) one.
    assert env_values["refine"]["MOVIELAKE_REFINE_WORKGROUP"] == f"{PREFIX}-refine"
    assert "MOVIELAKE_ATHENA_WORKGROUP" not in env_keys["refine"]


@pytest.mark.terraform
@pytest.mark.slow
def test_wiring_follows_the_contract(default_plan: dict[str, Any]) -> None:
    planned = resources(default_plan)
    assert planned['aws_s3_bucket.this["lake"]']["bucket"] == f"{PREFIX}-lake-{ACCOUNT}"
    assert planned['aws_s3_bucket.this["athena_results"]']["bucket"] == f"{PREFIX}-athena-results-{ACCOUNT}"

    notification = planned["aws_s3_bucket_notification.lake"]["lambda_function"][0]
    assert notification["events"] == ["s3:ObjectCreated:*"]
    # No suffix filter: S3's is case-sensitive; the handler rejects what is not *.csv (any case).
    assert notification["filter_prefix"] == "Landing/"
    assert not notification.get("filter_suffix")

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
    assert csv["name"] == f"{PREFIX}-raw-csv"
    assert csv["s3_target"] == []
    (catalog_target,) = csv["catalog_target"]
    assert catalog_target["database_name"] == "movielake_local_raw"
    assert sorted(catalog_target["tables"]) == ["csv_movies", "csv_series"]
    assert csv["schema_change_policy"] == [{"update_behavior": "LOG", "delete_behavior": "LOG"}]
    assert not [a for a in planned if a.startswith("aws_glue_classifier.")]
    assert json.loads(csv["configuration"])["CrawlerOutput"]["Partitions"] == {
        "AddOrUpdateBehavior": "InheritFromTable"
    }

    workgroup = planned['aws_athena_workgroup.this["analyses"]']
    config = workgroup["configuration"][0]
    assert workgroup["name"] == PREFIX and config["enforce_workgroup_configuration"] is True
    assert config["result_configuration"][0]["encryption_configuration"][0]["encryption_option"] == "SSE_KMS"
    # The refine's CTAS gives external_location (the lake's v=<run id>/ folder), which Athena
    # refuses in a workgroup that overrides client-side settings; without it the table would land
    # under the results location, which expire-athena-results deletes.
    refine = planned['aws_athena_workgroup.this["refine"]']
    refine_config = refine["configuration"][0]
    assert refine["name"] == f"{PREFIX}-refine" and refine_config["enforce_workgroup_configuration"] is False
    refine_results = refine_config["result_configuration"][0]
    assert refine_results["encryption_configuration"][0]["encryption_option"] == "SSE_KMS"
    assert refine_results["output_location"] == config["result_configuration"][0]["output_location"]
    assert refine_config["bytes_scanned_cutoff_per_query"] == config["bytes_scanned_cutoff_per_query"]
    queries = {a: v for a, v in planned.items() if a.startswith("aws_athena_named_query.")}
    assert list(queries) == ['aws_athena_named_query.this["q0_smoke"]']
    query = queries['aws_athena_named_query.this["q0_smoke"]']
    assert (query["name"], query["description"]) == ("q0_smoke", "Smoke test: counts the films")
    assert query["database"] == "movielake_local_raw"

    assert "aws_cloudwatch_event_rule.tmdb_schedule[0]" not in planned, "schedule is off by default"
    rule = planned["aws_cloudwatch_event_rule.refine_after_tmdb_crawl"]
    assert json.loads(rule["event_pattern"]) == {
        "source": ["aws.glue"],
        "detail-type": ["Glue Crawler State Change"],
        "detail": {"crawlerName": [f"{PREFIX}-raw-tmdb"], "state": ["Succeeded"]},
    }
    assert planned["aws_lambda_permission.events_invokes_refine"]["principal"] == "events.amazonaws.com"
    lake_rules = planned['aws_s3_bucket_lifecycle_configuration.this["lake"]']["rule"]
    superseded = next(r for r in lake_rules if r["id"] == "expire-superseded-table-versions")
    assert superseded["filter"][0]["tag"] == [{"key": "movielake-superseded", "value": "true"}]
    assert superseded["expiration"][0]["days"] == 1


@pytest.mark.terraform
@pytest.mark.slow
def test_the_tmdb_crawler_fixes_its_table_root(default_plan: dict[str, Any]) -> None:
    """Grouping.TableLevelConfiguration puts the table at the crawler's target folder, so it is
    tmdb_movies with partition_0..2 whatever the batches' schemas (the CSV crawler, with a
    catalog target, takes no table level)."""
    planned = resources(default_plan)
    tmdb = planned["aws_glue_crawler.tmdb"]
    grouping = json.loads(tmdb["configuration"])["Grouping"]
    bucket_and_folders = tmdb["s3_target"][0]["path"].removeprefix("s3://").rstrip("/").split("/")
    assert bucket_and_folders[1:] == ["Raw", "TMDB", "JSON", "Movies"]
    assert grouping["TableLevelConfiguration"] == len(bucket_and_folders[1:])
    assert grouping["TableGroupingPolicy"] == "CombineCompatibleSchemas"
    csv = json.loads(planned["aws_glue_crawler.csv"]["configuration"])
    assert "TableLevelConfiguration" not in csv["Grouping"]


def test_outputs_carry_the_cli_environment(default_plan: dict[str, Any]) -> None:
    change = default_plan["output_changes"]["cli_environment"]
    keys = set(change.get("after") or {}) | set(change.get("after_unknown") or {})
    assert keys == CLI_ENVIRONMENT
    assert change["after"]["MOVIELAKE_GLUE_DATABASE"] == "movielake_local_raw"
    for name in ("lake_bucket", "tmdb_secret_id", "function_names", "kms_key_arn", "named_query_ids"):
        assert name in default_plan["output_changes"]


@pytest.mark.terraform
@pytest.mark.slow
def test_the_schedule_is_optional(module_copy: dict[str, Any], moto_server: str) -> None:
    planned = resources(plan(module_copy, moto_server, "tmdb_schedule_expression=rate(1 day)"))
    assert planned["aws_cloudwatch_event_rule.tmdb_schedule[0]"]["schedule_expression"] == "rate(1 day)"
    assert "aws_cloudwatch_event_target.tmdb_schedule[0]" in planned
    assert "aws_lambda_permission.events_invokes_tmdb_planner[0]" in planned


@pytest.mark.terraform
@pytest.mark.slow
def test_csv_tables_are_declared_with_the_pb_schema(default_plan: dict[str, Any]) -> None:
    from movielake.ingest.schema import SCHEMAS

    planned = resources(default_plan)
    for entity, columns in SCHEMAS.items():
        table = planned[f'aws_glue_catalog_table.csv["{entity.lower()}"]']
        assert table["name"] == f"csv_{entity.lower()}"
        assert table["table_type"] == "EXTERNAL_TABLE"
        assert table["parameters"]["skip.header.line.count"] == "1"
        assert table["parameters"]["classification"] == "csv"
        assert [k["name"] for k in table["partition_keys"]] == ["partition_0", "partition_1", "partition_2"]
        assert {k["type"] for k in table["partition_keys"]} == {"string"}
        (sd,) = table["storage_descriptor"]
        assert sd["location"] == f"s3://{PREFIX}-lake-{ACCOUNT}/Raw/Local/CSV/{entity}/"
        (serde,) = sd["ser_de_info"]
        assert serde["serialization_library"] == "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
        assert serde["parameters"] == {"field.delim": "|", "serialization.null.format": "\\N"}
        declared = {c["name"]: c["type"] for c in sd["columns"]}
        assert list(declared) == [c.lower() for c in columns], entity
        assert declared["notamedia"] == "double"
        assert declared["numerovotos"] == declared["anolancamento"] == "bigint"
        assert declared["id"] == declared["personagem"] == "string"


@pytest.mark.terraform
@pytest.mark.slow
def test_failures_are_never_silent(default_plan: dict[str, Any]) -> None:
    planned = resources(default_plan)
    topic = planned["aws_sns_topic.alarms"]
    assert topic["name"] == f"{PREFIX}-alarms"
    failures = planned["aws_sqs_queue.lambda_failures"]
    assert failures["name"] == f"{PREFIX}-lambda-failures"
    configs = {a: v for a, v in planned.items() if a.startswith("aws_lambda_function_event_invoke_config.")}
    asynchronous = ("csv_ingest", "refine", "tmdb_planner")
    assert sorted(configs) == [f'aws_lambda_function_event_invoke_config.async["{k}"]' for k in asynchronous]
    # The refine is not retried by Lambda (its handler retries what may pass) and runs one at a time.
    retries = {a.split('"')[1]: v["maximum_retry_attempts"] for a, v in configs.items()}
    assert retries == {"csv_ingest": 2, "refine": 0, "tmdb_planner": 2}
    assert planned['aws_lambda_function.this["refine"]']["reserved_concurrent_executions"] == 1
    assert planned['aws_lambda_function.this["tmdb_worker"]']["reserved_concurrent_executions"] == -1
    errors = {a: v for a, v in planned.items() if a.endswith('_errors"]')}
    assert sorted(v["dimensions"]["FunctionName"] for v in errors.values()) == [
        f"{PREFIX}-{n}" for n in ("csv-ingest", "refine", "tmdb-planner", "tmdb-worker")
    ]
    assert {v["metric_name"] for v in errors.values()} == {"Errors"}
    for name in ("tmdb_dlq", "lambda_failures"):
        alarm = planned[f'aws_cloudwatch_metric_alarm.this["{name}_not_empty"]']
        assert alarm["treat_missing_data"] == "ignore"
        assert alarm["metric_name"] == "ApproximateNumberOfMessagesVisible"
    # Every alarm notifies someone even when alarm_actions is left empty (the topic's ARN is
    # unknown at plan time, so it shows as an unknown entry).
    alarms = [c for c in default_plan["resource_changes"] if c["type"] == "aws_cloudwatch_metric_alarm"]
    assert len(alarms) == len(errors) + 3  # an Errors alarm per function, two queue alarms, staleness
    for change in alarms:
        assert change["change"]["after_unknown"]["alarm_actions"] in (True, [True]), change["address"]
    lake_rules = planned['aws_s3_bucket_lifecycle_configuration.this["lake"]']["rule"]
    markers = [r for r in lake_rules if r["id"] == "expired-delete-markers"]
    assert markers[0]["expiration"][0]["expired_object_delete_marker"] is True
    engine = planned['aws_athena_workgroup.this["analyses"]']["configuration"][0]["engine_version"][0]
    assert engine["selected_engine_version"] == "Athena engine version 3"


def test_a_failed_crawl_and_a_stale_refine_notify_the_alarms_topic(default_plan: dict[str, Any]) -> None:
    """Issue 17: nothing stops silently (the rule, the staleness alarm, the dashboard)."""
    planned = resources(default_plan)
    rule = planned["aws_cloudwatch_event_rule.crawler_failed"]
    pattern = json.loads(rule["event_pattern"])
    assert pattern["source"] == ["aws.glue"] and pattern["detail"]["state"] == ["Failed"]
    assert sorted(pattern["detail"]["crawlerName"]) == [f"{PREFIX}-raw-csv", f"{PREFIX}-raw-tmdb"]
    configured = {r["address"]: r for r in default_plan["configuration"]["root_module"]["resources"]}
    target = configured["aws_cloudwatch_event_target.crawler_failed"]["expressions"]
    assert "aws_sns_topic.alarms.arn" in target["arn"]["references"]
    stale = planned["aws_cloudwatch_metric_alarm.refine_stale"]
    assert (stale["metric_name"], stale["namespace"], stale["dimensions"]) == (
        "RefineSucceeded",
        PREFIX,
        {"service": "refine"},
    )
    assert stale["treat_missing_data"] == "breaching"
    assert (stale["comparison_operator"], stale["threshold"], stale["evaluation_periods"]) == (
        "LessThanThreshold",
        1,
        26,
    )
    alarm_actions = configured["aws_cloudwatch_metric_alarm.refine_stale"]["expressions"]["alarm_actions"]
    assert "local.alarm_actions" in alarm_actions["references"]
    assert "aws_cloudwatch_dashboard.this" in configured


def refused_plan(module: dict[str, Any], endpoint: str, *variables: str) -> str:
    """A local plan with ``variables`` that Terraform refuses: its error, on one line."""
    args = [f"-var=aws_endpoint_url={endpoint}", "-var=environment=local", *(f"-var={v}" for v in variables)]
    result = terraform(module["dir"], "plan", "-input=false", "-no-color", "-lock=false", *args, check=False)
    assert result.returncode == 1, result.stdout
    return " ".join(result.stderr.split())


@pytest.mark.terraform
@pytest.mark.slow
def test_a_message_too_large_for_the_rate_is_refused(module_copy: dict[str, Any], moto_server: str) -> None:
    # 10000 ids at 10/2 = 5 req/s per worker need 2000 s, over half the 900 s timeout.
    message = refused_plan(module_copy, moto_server, "tmdb_ids_per_message=10000", "tmdb_rate=10")
    assert "tmdb_ids_per_message is too large for the rate: 10000 ids at 10/2 req/s" in message
    assert "at least 2000 s" in message
    assert "Resource precondition failed" in message


@pytest.mark.terraform
@pytest.mark.slow
def test_a_runtime_the_zips_were_not_built_for_is_refused(
    module_copy: dict[str, Any], moto_server: str
) -> None:
    """The zips' build records say python3.12 on x86_64: an arm64 or python3.13 plan fails,
    saying what the zips were built for and what to rebuild or set."""
    message = refused_plan(module_copy, moto_server, "lambda_runtime=python3.13", "lambda_architecture=arm64")
    assert "Resource precondition failed" in message
    assert "refine.zip was built for python3.12 on x86_64 (" in message
    assert 'lambda_runtime = "python3.13" and lambda_architecture = "arm64"' in message
    assert "scripts/build_lambdas.sh --architecture arm64" in message


@pytest.mark.terraform
@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("tmdb_workers=1", "tmdb_workers must be"),
        ("tmdb_rate=80", "tmdb_rate must be"),
        ("log_retention_days=10", "log_retention_days must be"),
        ("environment=Prod_1", "environment must be"),
        ("quicksight_principal_arn=analysts", "quicksight_principal_arn must be"),
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


QUICKSIGHT_PRINCIPAL = "arn:aws:quicksight:us-east-1:123456789012:group/default/analysts"
QUICKSIGHT_ON = ("enable_quicksight=true", f"quicksight_principal_arn={QUICKSIGHT_PRINCIPAL}")


def references(planned: dict[str, Any], address: str) -> str:
    """Every reference in the configuration of ``address`` (values unknown at plan time, e.g.
    ARNs, are checked by what they refer to), as one string."""
    found = [r for r in planned["configuration"]["root_module"]["resources"] if r["address"] == address]
    return json.dumps(found[0]["expressions"])


@pytest.mark.terraform
@pytest.mark.slow
def test_quicksight_is_opt_in_and_reads_the_workgroup_and_the_refined_tables(
    module_copy: dict[str, Any], moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    local = resources(plan(module_copy, moto_server, *QUICKSIGHT_ON))
    assert not [a for a in local if "quicksight" in a]  # never on the local stack, even when asked

    # As on AWS (no aws_endpoint_url): only the provider's account lookup reaches moto, through
    # the SDK's AWS_ENDPOINT_URL; a plan creates nothing.
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    workdir: Path = module_copy["dir"]
    out = workdir / "quicksight.tfplan"
    variables = [f"-var={v}" for v in ("environment=dev", *QUICKSIGHT_ON)]
    terraform(workdir, "plan", "-input=false", "-no-color", "-lock=false", f"-out={out}", *variables)
    planned = json.loads(terraform(workdir, "show", "-json", str(out)).stdout)
    found = resources(planned)
    workgroup, database = "movielake-dev", "movielake_dev_raw"
    assert found['aws_athena_workgroup.this["analyses"]']["name"] == workgroup

    source = found["aws_quicksight_data_source.athena[0]"]
    assert source["type"] == "ATHENA" and source["parameters"][0]["athena"][0]["work_group"] == workgroup
    assert source["permission"][0]["principal"] == QUICKSIGHT_PRINCIPAL

    facts = found["aws_quicksight_data_set.film_facts[0]"]["physical_table_map"][0]["relational_table"][0]
    assert (facts["catalog"], facts["schema"], facts["name"]) == (
        "AwsDataCatalog",
        database,
        "refined_film_facts",
    )
    artists = found["aws_quicksight_data_set.artist_films[0]"]["physical_table_map"][0]["custom_sql"][0]
    assert f'"{database}"."refined_artist_films"' in artists["sql_query"]
    assert f'"{database}"."refined_film_facts"' in artists["sql_query"]
    for data_set in ("film_facts", "artist_films"):
        assert "aws_quicksight_data_source.athena" in references(
            planned, f"aws_quicksight_data_set.{data_set}"
        )

    dashboard = found["aws_quicksight_dashboard.questions[0]"]
    definition = dashboard["definition"][0]
    assert [d["identifier"] for d in definition["data_set_identifiers_declarations"]] == [
        "film_facts",
        "artist_films",
    ]
    dashboard_refs = references(planned, "aws_quicksight_dashboard.questions")
    assert "aws_quicksight_data_set.film_facts" in dashboard_refs
    assert "aws_quicksight_data_set.artist_films" in dashboard_refs
    visual_ids = [
        kind[0]["visual_id"]
        for visual in definition["sheets"][0]["visuals"]
        for kind in visual.values()
        if isinstance(kind, list) and kind
    ]
    assert [v.split("-")[0] for v in visual_ids] == [f"q{n}" for n in range(1, 8)]  # one per question
    assert dashboard["permissions"][0]["principal"] == QUICKSIGHT_PRINCIPAL

    role_policy = found["aws_iam_role_policy.quicksight_lake[0]"]
    assert role_policy["role"] == "aws-quicksight-service-role-v0"
    grants = references(planned, "data.aws_iam_policy_document.quicksight_lake")
    for target in (
        "aws_athena_workgroup.this",
        "local.glue_tables_arn",
        "local.refined_prefix",
        "aws_kms_key.this",
    ):
        assert target in grants, target


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


def test_the_zips_are_built_for_the_runtime_terraform_declares() -> None:
    """var.lambda_runtime / lambda_architecture defaults = what scripts/build_lambdas.py targets."""
    build = load_build_script()
    variables = blocks("variable")
    runtime = re.search(r'^  default\s+= "([^"]+)"', variables["lambda_runtime"], re.M).group(1)
    architecture = re.search(r'^  default\s+= "([^"]+)"', variables["lambda_architecture"], re.M).group(1)
    assert runtime == f"python{build.LAMBDA_PYTHON}"
    assert architecture == build.DEFAULT_ARCHITECTURE and architecture in build.PLATFORMS
