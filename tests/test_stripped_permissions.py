"""Each role's policy is needed: without one of its statements, the run fails with AccessDenied.

On the session's local stack (one ``terraform apply``, shared with the other integration
tests), each case removes one statement from a role's inline policy through the IAM API
(``put_role_policy``), runs the part of the pipeline that role serves, checks that it fails
with an AccessDenied naming the missing action, then puts the policy back. The moto server's
audit of authorization decisions is restored too, so the permission report keeps describing
the successful run. Runs after tests/test_pipeline_end_to_end.py (file order), which writes
that report.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from movielake import keys
from movielake.catalog.aws_crawl import crawl_aws
from movielake.config import PROJECT_ROOT, Settings
from movielake.local.server import audit_file
from movielake.local.stack import LocalStack

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

SAMPLE_MOVIES = PROJECT_ROOT / "data" / "sample" / "movies.csv"


def stack_of(record: dict) -> LocalStack:
    """The LocalStack object behind the fixture's record."""
    return LocalStack(directory=Path(record["local_dir"]), record_path=Path(record["record_path"]))


@contextlib.contextmanager
def without_statement(record: dict, role: str, sid: str) -> Iterator[None]:
    """The role's inline policy minus statement ``sid`` for the block; then restored."""
    stack = stack_of(record)
    iam = stack.client("iam", record["endpoint_url"])
    [name] = iam.list_role_policies(RoleName=role)["PolicyNames"]
    original = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = json.loads(original) if isinstance(original, str) else original
    kept = [s for s in document["Statement"] if s.get("Sid") != sid]
    assert len(kept) == len(document["Statement"]) - 1, f"{role} has no statement {sid}"
    audit = audit_file(stack.directory)
    recorded = audit.read_bytes() if audit.exists() else b""
    iam.put_role_policy(
        RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**document, "Statement": kept})
    )
    try:
        yield
    finally:
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(document))
        audit.write_bytes(recorded)


def role_of(record: dict, function: str) -> str:
    """The role name Terraform gave a function (or, for ``crawler``, the crawlers)."""
    stack = stack_of(record)
    if function == "crawler":
        glue = stack.client("glue", record["endpoint_url"])
        arn = glue.get_crawler(Name=record["outputs"]["tmdb_crawler"])["Crawler"]["Role"]
    else:
        lambda_client = stack.client("lambda", record["endpoint_url"])
        name = record["outputs"]["function_names"][function]
        arn = lambda_client.get_function(FunctionName=name)["Configuration"]["Role"]
    return str(arn.rsplit("/", 1)[-1])


def errors_of(invocations: list[Any]) -> list[str]:
    """The errors of failed invocations, and the error log lines of those that reported
    failed messages (the worker returns ``batchItemFailures`` and logs why)."""
    errors = [f"{i.error.get('errorType')}: {i.error.get('errorMessage')}" for i in invocations if not i.ok]
    for invocation in invocations:
        if (
            invocation.ok
            and isinstance(invocation.result, dict)
            and invocation.result.get("batchItemFailures")
        ):
            errors += [line for line in invocation.logs if '"level": "ERROR"' in line]
    return errors


@pytest.fixture(scope="module")
def csv_in_raw(local_stack: dict) -> dict:
    """The sample movies CSV ingested (the planner selects from it); idempotent."""
    stack = stack_of(local_stack)
    s3 = stack.client("s3", local_stack["endpoint_url"])
    s3.upload_file(
        str(SAMPLE_MOVIES), local_stack["outputs"]["lake_bucket"], keys.LANDING_PREFIX + "movies.csv"
    )
    report = stack.dispatcher().pump()
    assert not report.failed, errors_of(report.invocations)
    assert run_crawl(local_stack) == []  # its date partition, which the refine reads
    return local_stack


def run_csv_ingest(record: dict) -> list[str]:
    """Drop the sample movies CSV in Landing/ and deliver its notification; the errors.

    It is in Raw already (``csv_in_raw``), so a successful run only clears Landing/.
    """
    stack = stack_of(record)
    s3 = stack.client("s3", record["endpoint_url"])
    bucket, key = record["outputs"]["lake_bucket"], keys.LANDING_PREFIX + "movies.csv"
    s3.upload_file(str(SAMPLE_MOVIES), bucket, key)
    try:
        return errors_of(stack.dispatcher().pump().invocations)
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


def run_planner(record: dict, day: date) -> list[str]:
    """The planner fanning a run out to the worker through the queue; the errors of both."""
    dispatcher = stack_of(record).dispatcher()
    planner = dispatcher.spec(record["outputs"]["function_names"]["tmdb_planner"])
    event = {"inline": False, "date": day.isoformat(), "refresh": True}
    return errors_of([dispatcher.runtime.invoke(planner, event), *dispatcher.pump().invocations])


def run_crawl(record: dict) -> list[str]:
    """The crawlers started and waited for, as ``movielake crawl`` runs them (the moto server's
    stand-in crawls as the crawler role); the status and error of each run that failed."""
    settings = Settings.from_env(record["environment"])
    glue = stack_of(record).client("glue", record["endpoint_url"])
    summary = crawl_aws(glue, [settings.tmdb_crawler, settings.csv_crawler], poll_seconds=0.2)
    return [f"{name}: {status}" for name, status in summary.crawler_status.items() if status != "SUCCEEDED"]


def run_refine_lambda(record: dict) -> list[str]:
    """The refine Lambda invoked as EventBridge does after a TMDB crawl; the errors."""
    dispatcher = stack_of(record).dispatcher()
    refine = dispatcher.spec(record["outputs"]["function_names"]["refine"])
    event = {"detail-type": "Glue Crawler State Change", "detail": {"state": "Succeeded"}}
    return errors_of([dispatcher.runtime.invoke(refine, event)])


CASES = [
    # role (function name, or the crawlers'), statement removed, what runs, the action denied
    ("csv_ingest", "ReadLandingRawAndRejected", "csv", "s3:GetObject"),
    ("csv_ingest", "RegisterCsvPartitions", "csv", "glue:GetTable"),
    ("tmdb_planner", "FanOutBatches", "planner", "sqs:SendMessage"),
    ("tmdb_worker", "ReadTmdbSecret", "planner", "secretsmanager:GetSecretValue"),
    ("crawler", "WriteRawCatalog", "crawl", "glue:GetDatabase"),
    ("refine", "RunAthenaQueries", "refine", "athena:StartQueryExecution"),
]


@pytest.mark.parametrize(("role", "sid", "run", "action"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_a_role_without_one_needed_statement_fails_with_access_denied_naming_the_action(
    csv_in_raw: dict, local_stack_env: dict, role: str, sid: str, run: str, action: str
) -> None:
    record = csv_in_raw
    day = date(2031, 2, 1 + [c[:2] for c in CASES].index((role, sid)))  # a TMDB run date of its own
    runs = {
        "csv": run_csv_ingest,
        "planner": lambda r: run_planner(r, day),
        "crawl": run_crawl,
        "refine": run_refine_lambda,
    }

    with without_statement(record, role_of(record, role), sid):
        errors = runs[run](record)

    assert errors, f"{role} ran without {sid}"
    assert any("AccessDenied" in e and f"perform: {action}" in e for e in errors), errors
    assert runs[run](record) == []  # the policy restored, the same run succeeds (or resumes)
