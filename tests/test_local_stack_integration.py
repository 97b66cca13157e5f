"""The real local stack: terraform/ applied onto moto, the deployed wiring driving the built zips.

One apply per session (the ``local_stack`` fixture in conftest.py); the tests share it, so
each one only adds objects or reads.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from movielake import keys
from movielake.config import PROJECT_ROOT, Settings
from movielake.local.glue.events import crawler_state_event
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


def test_the_deployed_alarms_rule_and_dashboard_notify_the_topic(local_stack: dict) -> None:
    """Issue 17, on the applied stack: the staleness alarm and the crawler-failed rule target
    the alarms topic; the dashboard exists."""
    stack = stack_of(local_stack)
    url = local_stack["endpoint_url"]
    prefix = local_stack["outputs"]["lake_bucket"].split("-lake-")[0]
    topics = [t["TopicArn"] for t in stack.client("sns", url).list_topics()["Topics"]]
    [topic] = [t for t in topics if t.endswith(f":{prefix}-alarms")]
    [stale] = stack.client("cloudwatch", url).describe_alarms(AlarmNames=[f"{prefix}-refine-stale"])[
        "MetricAlarms"
    ]
    assert (stale["MetricName"], stale["Namespace"], stale["TreatMissingData"]) == (
        "RefineSucceeded",
        prefix,
        "breaching",
    )
    assert topic in stale["AlarmActions"]
    events = stack.client("events", url)
    [target] = events.list_targets_by_rule(Rule=f"{prefix}-crawler-failed")["Targets"]
    assert target["Arn"] == topic
    dashboards = stack.client("cloudwatch", url).list_dashboards()["DashboardEntries"]
    assert prefix in [d["DashboardName"] for d in dashboards]

    # A failed TMDB crawl, as the local crawl hands it to the bus, reaches a subscriber of the topic.
    sqs, sns = stack.client("sqs", url), stack.client("sns", url)
    inbox = sqs.create_queue(QueueName=f"{prefix}-test-alarm-inbox")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]
    inbox_arn = attributes["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}
    )["SubscriptionArn"]
    crawler = local_stack["outputs"]["tmdb_crawler"]
    ended = datetime.now(UTC)
    failed = crawler_state_event(
        crawler,
        "FAILED",
        account="123456789012",
        region="us-east-1",
        started=ended - timedelta(seconds=5),
        ended=ended,
        log_group="/aws-glue/crawlers",
        error="AccessDeniedException: the crawler's role may not read Raw",
    )
    try:
        assert stack.dispatcher().deliver_event(failed) == []  # the refine rule wants Succeeded only
        received = sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
        assert [json.loads(m["Body"]) for m in received] == [failed]
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=inbox)


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


def test_the_csv_tables_read_back_are_the_declared_ones(local_stack: dict) -> None:
    """Terraform's declaration, read back from Glue, is what the unit tests' sample lake uses."""
    from movielake.ingest.schema import SCHEMAS
    from movielake.local import sample_lake

    stack = stack_of(local_stack)
    glue = stack.client("glue", local_stack["endpoint_url"])
    database = local_stack["outputs"]["glue_database"]
    bucket = local_stack["outputs"]["lake_bucket"]
    expected = {t["Name"]: t for t in sample_lake.contract_table_inputs(bucket)}
    for entity, header in SCHEMAS.items():
        table = glue.get_table(DatabaseName=database, Name=f"csv_{entity.lower()}")["Table"]
        sd = table["StorageDescriptor"]
        columns = [(c["Name"], c["Type"]) for c in sd["Columns"]]
        assert [name for name, _ in columns] == [c.lower() for c in header]
        declared = expected[table["Name"]]["StorageDescriptor"]
        assert columns == [(c["Name"], c["Type"]) for c in declared["Columns"]]
        assert sd["SerdeInfo"]["SerializationLibrary"] == declared["SerdeInfo"]["SerializationLibrary"]
        assert sd["SerdeInfo"]["Parameters"] == declared["SerdeInfo"]["Parameters"]
        assert sd["Location"] == declared["Location"]
        assert table["Parameters"]["skip.header.line.count"] == "1"
        assert [k["Name"] for k in table["PartitionKeys"]] == list(sample_lake.PARTITION_KEYS)
    crawler = glue.get_crawler(Name=local_stack["outputs"]["csv_crawler"])["Crawler"]
    (target,) = crawler["Targets"]["CatalogTargets"]
    assert sorted(target["Tables"]) == ["csv_movies", "csv_series"]
    assert crawler["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}


def test_failures_reach_someone_through_the_deployed_wiring(local_stack: dict) -> None:
    stack = stack_of(local_stack)
    url = local_stack["endpoint_url"]
    outputs = local_stack["outputs"]
    lam, cloudwatch, sqs = (stack.client(s, url) for s in ("lambda", "cloudwatch", "sqs"))
    failures_arn = sqs.get_queue_attributes(
        QueueUrl=outputs["lambda_failures_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    for key, name in outputs["function_names"].items():
        assert lam.get_function(FunctionName=name)["Configuration"]["Runtime"] == "python3.12"
        if key == "tmdb_worker":  # invoked by its SQS mapping: failures go to the DLQ
            continue
        config = lam.get_function_event_invoke_config(FunctionName=name)
        # The refine retries in its handler what may pass (a failed rule would fail again).
        assert config["MaximumRetryAttempts"] == (0 if key == "refine" else 2), key
        assert config["DestinationConfig"]["OnFailure"]["Destination"] == failures_arn
    alarms = {a["AlarmName"]: a for a in cloudwatch.describe_alarms()["MetricAlarms"]}
    for name in outputs["function_names"].values():
        assert alarms[f"{name}-errors"]["MetricName"] == "Errors"
    # Beside each function's errors: the DLQ, the failure queue and the stale refine.
    assert len(alarms) == len(outputs["function_names"]) + 3
    for alarm in alarms.values():
        assert outputs["alarm_topic_arn"] in alarm["AlarmActions"], alarm["AlarmName"]
    queue_alarms = [a for a in alarms.values() if a["Namespace"] == "AWS/SQS"]
    assert {a["TreatMissingData"] for a in queue_alarms} == {"ignore"}
