"""The local Lambda runtime and event dispatch, against a moto server with wiring made by boto3.

Each test deploys a tiny handler zip (built here) with real S3 notifications, SQS queues,
event source mappings and EventBridge rules, then lets the runtime deliver the events.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import queue as queue_module
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import LAMBDA_RUNTIME, NO_RETRY, REGION

from movielake.local.concurrency import ThrottledError
from movielake.local.dispatch import DeliveredLog, Dispatcher, queue_mappings
from movielake.local.runtime import (
    Invocation,
    LambdaRuntime,
    LocalRuntimeError,
    StaleZipError,
    code_sha256,
    find_interpreter,
    safe_name,
)

HANDLER = """
import json, os, sys, threading, time

def s3_event(event, context):
    import boto3  # from the zip: the sandbox has no other

    print("handling", context.aws_request_id)
    try:
        import movielake  # the repository's source must not leak into the sandbox
        repo_importable = True
    except ImportError:
        repo_importable = False
    key = event["Records"][0]["s3"]["object"]["key"]
    seen = {
        "event": event,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "env_function_name": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
        "shell_leak": os.environ.get("LEAKY"),
        "repo_importable": repo_importable,
    }
    s3 = boto3.client("s3")
    s3.put_object(Bucket=os.environ["TARGET_BUCKET"], Key="seen/" + key, Body=json.dumps(seen))
    return {"written": "seen/" + key}

def sqs_batch(event, context):
    bodies = [r["body"] for r in event["Records"]]
    print("bodies", bodies)
    if "boom" in bodies:
        raise RuntimeError("boom")
    failures = [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "bad"]
    return {"batchItemFailures": failures}

def echo(event, context):
    return {"event": event, "remaining_ms": context.get_remaining_time_in_millis()}

def sdk(event, context):
    import boto3, botocore

    return {
        "boto3": [boto3.__version__, boto3.__file__],
        "botocore": [botocore.__version__, botocore.__file__],
        "python": "%d.%d" % sys.version_info[:2],
        "executable": sys.executable,
    }

def slow(event, context):
    time.sleep(30)

def broken(event, context):
    print("attempt", context.aws_request_id)
    raise ValueError("cannot ingest " + event["Records"][0]["s3"]["object"]["key"])

def lingering(event, context):
    threading.Thread(target=time.sleep, args=(120,)).start()  # not a daemon
    return "answered"

def timed(event, context):
    started = time.time()
    time.sleep(1.0)
    return {"start": started, "end": time.time(), "pid": os.getpid(), "body": event["Records"][0]["body"]}
"""


def make_zip(
    build_dir: Path, name: str = "fn.zip", source: str = HANDLER, sdk: dict[str, Path] | None = None
) -> Path:
    """A Lambda zip holding ``handler.py``, plus the pinned SDK's files when ``sdk`` is given."""
    build_dir.mkdir(parents=True, exist_ok=True)
    path = build_dir / name
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("handler.py", source)
        for arcname, file in (sdk or {}).items():
            archive.write(file, arcname)
    return path


def client(service: str, endpoint: str) -> Any:
    """A boto3 client on the test moto server."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)


@pytest.fixture
def aws(moto_endpoint: str) -> dict[str, Any]:
    """Clients on a fresh moto server, plus a Lambda execution role."""
    clients = {name: client(name, moto_endpoint) for name in ("s3", "sqs", "lambda", "iam", "events")}
    role = clients["iam"].create_role(RoleName="fn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    clients["role"] = role
    clients["endpoint"] = moto_endpoint
    return clients


def deploy(
    aws: dict[str, Any], zip_path: Path, name: str, handler: str, timeout: int = 30, **env: str
) -> str:
    """Create the function from ``zip_path``; returns its ARN."""
    return aws["lambda"].create_function(
        FunctionName=name,
        Runtime=LAMBDA_RUNTIME,
        Role=aws["role"],
        Handler=handler,
        Code={"ZipFile": zip_path.read_bytes()},
        Timeout=timeout,
        MemorySize=256,
        Environment={"Variables": env},
    )["FunctionArn"]


@pytest.fixture
def logs() -> list[str]:
    """Log lines the runtime streamed."""
    return []


@pytest.fixture
def dispatcher(aws: dict[str, Any], tmp_path: Path, logs: list[str], lambda_python: str) -> Dispatcher:
    """Runtime + dispatch on the test server, with build/ and caches in tmp_path."""
    runtime = LambdaRuntime(
        lambda_client=aws["lambda"],
        endpoint_url=aws["endpoint"],
        region=REGION,
        build_dir=tmp_path / "build",
        cache_dir=tmp_path / "local" / "lambda",
        log_sink=logs.append,
    )
    return Dispatcher(
        runtime=runtime,
        s3=aws["s3"],
        sqs=aws["sqs"],
        events=aws["events"],
        delivered=DeliveredLog(tmp_path / "local" / "delivered.json"),
        region=REGION,
    )


def queue(aws: dict[str, Any], name: str, max_receive: int | None = None) -> tuple[str, str, str | None]:
    """A queue (with a DLQ when ``max_receive`` is given): (url, arn, dlq url)."""
    sqs = aws["sqs"]
    attributes: dict[str, str] = {}
    dlq_url = None
    if max_receive is not None:
        dlq_url = sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
        policy = {"deadLetterTargetArn": dlq_arn["QueueArn"], "maxReceiveCount": max_receive}
        attributes["RedrivePolicy"] = json.dumps(policy)
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn, dlq_url


def mapped_worker(
    aws: dict[str, Any], tmp_path: Path, handler: str, max_receive: int | None = None, **mapping: Any
) -> tuple[str, str | None]:
    """A queue feeding a ``handler`` function through an event source mapping: (url, dlq url)."""
    url, arn, dlq_url = queue(aws, "batches", max_receive)
    fn = deploy(aws, make_zip(tmp_path / "build"), "worker", handler)
    aws["lambda"].create_event_source_mapping(EventSourceArn=arn, FunctionName=fn, **mapping)
    return url, dlq_url


def bodies(sqs: Any, url: str) -> list[str]:
    """Every visible message body (received with visibility 0, so they stay)."""
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return sorted(m["Body"] for m in response.get("Messages", []))


def test_s3_notification_delivers_the_aws_event_to_the_handler(
    aws: dict[str, Any],
    dispatcher: Dispatcher,
    tmp_path: Path,
    logs: list[str],
    monkeypatch,
    lambda_sdk: dict[str, Path],
) -> None:
    monkeypatch.setenv("LEAKY", "from the shell")
    s3 = aws["s3"]
    s3.create_bucket(Bucket="lake")
    s3.create_bucket(Bucket="out")
    zip_path = make_zip(tmp_path / "build", sdk=lambda_sdk)
    arn = deploy(aws, zip_path, "ingest", "handler.s3_event", timeout=20, TARGET_BUCKET="out")
    s3.put_bucket_notification_configuration(
        Bucket="lake",
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "Id": "landing-csv",
                    "LambdaFunctionArn": arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {
                        "Key": {
                            "FilterRules": [
                                {"Name": "prefix", "Value": "Landing/"},
                                {"Name": "suffix", "Value": ".csv"},
                            ]
                        }
                    },
                }
            ]
        },
    )
    s3.put_object(Bucket="lake", Key="Landing/my movies.csv", Body=b"id|title\n1|x\n")
    s3.put_object(Bucket="lake", Key="Landing/notes.txt", Body=b"not a csv")
    s3.put_object(Bucket="lake", Key="Raw/elsewhere.csv", Body=b"not landing")

    report = dispatcher.pump()

    assert [i.status for i in report.invocations] == ["ok"]
    assert report.invocations[0].result == {"written": "seen/Landing/my+movies.csv"}
    seen = json.loads(s3.get_object(Bucket="out", Key="seen/Landing/my+movies.csv")["Body"].read())
    record = seen["event"]["Records"][0]
    assert record["eventVersion"] == "2.1"
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["awsRegion"] == REGION
    assert record["eventTime"].endswith("Z")
    assert record["s3"]["configurationId"] == "landing-csv"
    assert record["s3"]["bucket"] == {
        "name": "lake",
        "ownerIdentity": {"principalId": "LOCAL"},
        "arn": "arn:aws:s3:::lake",
    }
    head = s3.head_object(Bucket="lake", Key="Landing/my movies.csv")
    assert record["s3"]["object"]["key"] == "Landing/my+movies.csv"
    assert record["s3"]["object"]["size"] == head["ContentLength"]
    assert record["s3"]["object"]["eTag"] == head["ETag"].strip('"')
    assert record["s3"]["object"]["sequencer"]
    assert seen["function_name"] == seen["env_function_name"] == "ingest"
    assert seen["arn"] == arn
    assert seen["memory"] == 256
    assert 0 < seen["remaining_ms"] <= 20_000
    assert seen["shell_leak"] is None
    assert seen["repo_importable"] is False
    assert any("handling" in line for line in logs)

    assert dispatcher.pump().invocations == []  # delivered once
    s3.put_object(Bucket="lake", Key="Landing/my movies.csv", Body=b"id|title\n2|y\n")
    assert [i.status for i in dispatcher.pump().invocations] == ["ok"]  # a re-upload is new


def test_sqs_partial_batch_failure_deletes_only_the_processed_messages(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    url, _ = mapped_worker(
        aws, tmp_path, "handler.sqs_batch", BatchSize=10, FunctionResponseTypes=["ReportBatchItemFailures"]
    )
    for body in ("good-1", "bad", "good-2"):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
    (mapping,) = queue_mappings(aws["lambda"])
    assert mapping.batch_size == 10 and mapping.report_item_failures

    invocation = dispatcher.deliver_batch(mapping)

    assert invocation is not None and invocation.ok
    assert len(invocation.result["batchItemFailures"]) == 1
    assert bodies(aws["sqs"], url) == ["bad"]


def test_a_failing_message_reaches_the_dead_letter_queue_after_max_receive_count(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    url, dlq_url = mapped_worker(aws, tmp_path, "handler.sqs_batch", max_receive=2, BatchSize=1)
    aws["sqs"].send_message(QueueUrl=url, MessageBody="boom")
    aws["sqs"].send_message(QueueUrl=url, MessageBody="fine")

    report = dispatcher.pump()

    statuses = sorted(i.status for i in report.invocations)
    assert statuses == ["error", "error", "ok"]  # "boom" tried maxReceiveCount times
    assert report.failed[0].error["errorMessage"] == "boom"
    assert bodies(aws["sqs"], url) == []
    assert bodies(aws["sqs"], dlq_url) == ["boom"]


def most_at_once(intervals: list[tuple[float, float]]) -> int:
    """The largest number of intervals open at the same instant."""
    edges = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = best = 0
    for _, step in edges:
        running += step
        best = max(best, running)
    return best


def test_queue_workers_run_up_to_the_mappings_maximum_concurrency_at_once(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    url, _ = mapped_worker(
        aws, tmp_path, "handler.timed", BatchSize=1, ScalingConfig={"MaximumConcurrency": 3}
    )
    sent = [f"message-{n}" for n in range(7)]
    for body in sent:
        aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
    (mapping,) = queue_mappings(aws["lambda"])
    assert mapping.maximum_concurrency == 3

    report = dispatcher.pump()

    results = [i.result for i in report.invocations]
    assert all(i.ok for i in report.invocations)
    assert sorted(r["body"] for r in results) == sorted(sent)  # each message once
    assert most_at_once([(r["start"], r["end"]) for r in results]) == 3  # never more, and reached
    assert len({r["pid"] for r in results}) == len(sent)  # each invocation its own process
    assert bodies(aws["sqs"], url) == []


def test_moto_itself_leaves_messages_of_a_mapped_queue_alone(aws: dict[str, Any], tmp_path: Path) -> None:
    # Plain moto would receive them on send (Docker invocation), raising their receive count.
    url, dlq_url = mapped_worker(aws, tmp_path, "handler.sqs_batch", max_receive=1, BatchSize=5)
    for n in range(3):
        aws["sqs"].send_message(QueueUrl=url, MessageBody=f"m{n}")
    received = aws["sqs"].receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"])
    counts = [m["Attributes"]["ApproximateReceiveCount"] for m in received["Messages"]]
    assert counts == ["1", "1", "1"]
    assert bodies(aws["sqs"], dlq_url) == []


def test_a_stale_zip_is_refused(aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path) -> None:
    zip_path = make_zip(tmp_path / "build")
    deploy(aws, zip_path, "echo", "handler.echo")
    make_zip(tmp_path / "build", source=HANDLER + "\n# changed after deploying\n")

    with pytest.raises(StaleZipError, match="make build"):
        dispatcher.runtime.invoke("echo", {})


def test_the_deployed_zip_is_found_by_its_code_sha(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    zip_path = make_zip(tmp_path / "build", "other.zip")
    deploy(aws, zip_path, "echo", "handler.echo", timeout=7)
    spec = dispatcher.runtime.spec("echo")
    assert spec.code_sha256 == code_sha256(zip_path)

    invocation = dispatcher.runtime.invoke(spec, {"hello": "world"})

    assert invocation.ok, invocation.error
    assert invocation.result["event"] == {"hello": "world"}
    assert 0 < invocation.result["remaining_ms"] <= 7000


def test_the_handler_runs_the_sdk_shipped_in_its_zip_under_the_declared_python(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path, lambda_sdk: dict[str, Path]
) -> None:
    """The SDK tested is the SDK deployed: boto3 comes from the zip, at the pinned version."""
    pins = dict(
        line.split("==")
        for line in (Path(__file__).resolve().parents[1] / "scripts" / "lambda-requirements.txt")
        .read_text()
        .splitlines()
        if "==" in line and not line.startswith("#")
    )
    zip_path = make_zip(tmp_path / "build", sdk=lambda_sdk)
    deploy(aws, zip_path, "sdk", "handler.sdk")

    invocation = dispatcher.runtime.invoke("sdk", {})

    assert invocation.ok, invocation.error
    task_dir = tmp_path / "local" / "lambda" / safe_name(code_sha256(zip_path))
    for name in ("boto3", "botocore"):
        version, file = invocation.result[name]
        assert version == pins[name], (name, version, pins[name])
        assert Path(file).is_relative_to(task_dir), (name, file)
    assert invocation.result["python"] == LAMBDA_RUNTIME.removeprefix("python")


def test_an_absent_runtime_python_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LocalRuntimeError, match=r"no Python 3\.99 was found.*pyenv install 3\.99"):
        find_interpreter("python3.99", tmp_path)


def test_the_timeout_is_enforced(aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path) -> None:
    deploy(aws, make_zip(tmp_path / "build"), "slow", "handler.slow", timeout=1)

    invocation = dispatcher.runtime.invoke("slow", {})

    assert invocation.status == "timeout"
    assert invocation.error["errorMessage"] == "Task timed out after 1.00 seconds"
    assert invocation.duration < 5


def test_a_handler_that_cannot_be_imported_is_an_error(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    deploy(aws, make_zip(tmp_path / "build"), "missing", "movielake.ingest.handler.handler")

    invocation = dispatcher.runtime.invoke("missing", {})

    assert invocation.status == "error"
    assert invocation.error["errorType"] == "ModuleNotFoundError"


def notify_on_csv(aws: dict[str, Any], bucket: str, function_arn: str) -> None:
    """An S3 notification of ``*.csv`` in ``bucket`` to the function."""
    aws["s3"].put_bucket_notification_configuration(
        Bucket=bucket,
        NotificationConfiguration={
            "LambdaFunctionConfigurations": [
                {
                    "LambdaFunctionArn": function_arn,
                    "Events": ["s3:ObjectCreated:*"],
                    "Filter": {"Key": {"FilterRules": [{"Name": "suffix", "Value": ".csv"}]}},
                }
            ]
        },
    )


def test_a_failed_async_invocation_is_retried_then_recorded_in_its_destination(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path, logs: list[str]
) -> None:
    aws["s3"].create_bucket(Bucket="lake")
    failures_url, failures_arn, _ = queue(aws, "failures")
    arn = deploy(aws, make_zip(tmp_path / "build"), "ingest", "handler.broken")
    aws["lambda"].put_function_event_invoke_config(
        FunctionName="ingest",
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": failures_arn}},
    )
    notify_on_csv(aws, "lake", arn)
    aws["s3"].put_object(Bucket="lake", Key="Landing/bad.csv", Body=b"x")

    report = dispatcher.pump()

    assert [i.status for i in report.invocations] == ["error"]  # reported once, after retries
    assert len([line for line in logs if "attempt" in line]) == 2  # first try + 1 retry
    (body,) = bodies(aws["sqs"], failures_url)
    record = json.loads(body)
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestContext"]["functionArn"] == f"{arn}:$LATEST"
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == "Landing/bad.csv"
    assert record["responsePayload"]["errorType"] == "ValueError"
    assert record["responsePayload"]["errorMessage"] == "cannot ingest Landing/bad.csv"
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert dispatcher.pump().invocations == []  # delivered once, not again


def test_without_invoke_config_a_failure_is_retried_twice_and_kept_nowhere(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path, logs: list[str]
) -> None:
    aws["s3"].create_bucket(Bucket="lake")
    arn = deploy(aws, make_zip(tmp_path / "build"), "ingest", "handler.broken")
    notify_on_csv(aws, "lake", arn)
    aws["s3"].put_object(Bucket="lake", Key="bad.csv", Body=b"x")

    assert [i.status for i in dispatcher.pump().invocations] == ["error"]
    assert len([line for line in logs if "attempt" in line]) == 3  # Lambda's default: 2 retries


def test_a_schedule_fires_its_target_with_the_scheduled_event(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    arn = deploy(aws, make_zip(tmp_path / "build"), "planner", "handler.echo")
    rule = aws["events"].put_rule(Name="nightly", ScheduleExpression="cron(0 6 * * ? *)")
    aws["events"].put_targets(Rule="nightly", Targets=[{"Id": "planner", "Arn": arn}])

    invocation = dispatcher.fire_schedule(arn)

    assert invocation is not None and invocation.ok
    event = invocation.result["event"]
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == [rule["RuleArn"]]
    assert event["detail"] == {}


def test_a_tls_only_bucket_policy_does_not_lock_the_local_endpoint_out(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    s3.create_bucket(Bucket="lake")
    deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::lake/*"}
    tls_only = {**deny, "Sid": "tls", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls_only]}))

    s3.put_object(Bucket="lake", Key="Landing/a.csv", Body=b"x")

    assert s3.get_object(Bucket="lake", Key="Landing/a.csv")["Body"].read() == b"x"
    s3.put_bucket_policy(Bucket="lake", Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]}))
    with pytest.raises(s3.exceptions.ClientError, match="403"):
        s3.put_object(Bucket="lake", Key="Landing/b.csv", Body=b"y")


def test_the_moto_server_runs_detached_and_stops_by_its_recorded_pid(tmp_path: Path) -> None:
    from movielake.local import server

    record = server.start_moto(tmp_path)
    try:
        assert server.ServerRecord.load(tmp_path, "moto") == record
        assert server.runs(record.pid, server.MOTO_MODULE)
        assert server.http_ok(record.url + "/moto-api/")
        assert not server.runs(record.pid, "some-other-program")  # a recycled pid is not ours
    finally:
        assert server.stop(record)
    assert not server.pid_alive(record.pid)
    assert server.stop(record) is False  # already stopped


def test_the_cli_takes_endpoint_and_credentials_from_a_running_stack(tmp_path: Path, monkeypatch) -> None:
    from movielake import config

    stack_file = tmp_path / "stack.json"
    environment = {
        "MOVIELAKE_LAKE_BUCKET": "lake",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIASTACKADMIN",
    }
    stack_file.write_text(json.dumps({"environment": environment}))
    monkeypatch.setattr(config, "STACK_FILE", stack_file)
    shell = {
        "AWS_ACCESS_KEY_ID": "mine",
        "AWS_SESSION_TOKEN": "t",
        "AWS_PROFILE": "work",
        "AWS_REGION": "eu-west-1",
    }

    config.use_local_stack_aws_environment(shell)

    # The stack's endpoint comes with the stack's administrator key (moto knows no other).
    assert shell == {
        "AWS_ACCESS_KEY_ID": "AKIASTACKADMIN",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "eu-west-1",
    }
    own_endpoint = {"AWS_ENDPOINT_URL": "http://127.0.0.1:2", "AWS_ACCESS_KEY_ID": "mine"}
    config.use_local_stack_aws_environment(own_endpoint)
    assert own_endpoint["AWS_ACCESS_KEY_ID"] == "mine"
    deployed = {"MOVIELAKE_LAKE_BUCKET": "real-lake"}
    config.use_local_stack_aws_environment(deployed)
    assert deployed == {"MOVIELAKE_LAKE_BUCKET": "real-lake"}  # a shell aimed at a deployment wins


def test_the_poller_long_polls_and_delivers_messages_sent_while_it_runs(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    """As Lambda's SQS poller: a message sent while the poller waits is delivered, one after
    another, until the poller is told to stop and finds the queue empty."""
    url, _ = mapped_worker(
        aws, tmp_path, "handler.sqs_batch", BatchSize=1, ScalingConfig={"MaximumConcurrency": 2}
    )
    (mapping,) = queue_mappings(aws["lambda"])
    delivered: queue_module.Queue[Invocation] = queue_module.Queue()
    dispatcher.on_invocation = lambda _what, invocation: delivered.put(invocation)
    stop = threading.Event()
    invocations: list[Invocation] = []
    poller = threading.Thread(target=lambda: invocations.extend(dispatcher.poll(mapping, until=stop.is_set)))
    poller.start()
    try:
        for body in ("first", "second"):
            aws["sqs"].send_message(QueueUrl=url, MessageBody=body)
            invocation = delivered.get(timeout=60)  # delivered while the poller runs
            assert invocation.ok and any(f"['{body}']" in line for line in invocation.logs)
        aws["sqs"].send_message(QueueUrl=url, MessageBody="last")
    finally:
        stop.set()
        poller.join(timeout=60)
    assert not poller.is_alive()
    assert len(invocations) == 3 and all(i.ok for i in invocations)
    assert bodies(aws["sqs"], url) == []  # "last" too: the poller stops on an empty queue only


def test_the_sandbox_writes_no_bytecode_into_its_task_directory(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    """Lambda's /var/task is read-only: what a zip does not carry compiled is compiled anew at
    every cold start, and nothing is cached beside the code."""
    zip_path = make_zip(tmp_path / "build")
    deploy(aws, zip_path, "echo", "handler.echo")
    assert dispatcher.runtime.invoke("echo", {"n": 1}).ok
    task = tmp_path / "local" / "lambda" / safe_name(code_sha256(zip_path))
    assert (task / "handler.py").is_file()
    assert not list(task.rglob("*.pyc"))


def test_the_answer_does_not_wait_for_threads_the_handler_left_running(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    """Lambda answers when the handler returns and freezes the sandbox: a thread still running
    (here for 120 s, past the 60 s timeout) must not hold the answer back."""
    deploy(aws, make_zip(tmp_path / "build"), "lingering", "handler.lingering", timeout=60)
    started = time.monotonic()
    invocation = dispatcher.runtime.invoke("lingering", {})
    assert invocation.ok and invocation.result == "answered"
    assert time.monotonic() - started < 60  # held back, it would end at the timeout's kill


def test_a_rebuilt_zip_gets_its_new_hash(tmp_path: Path) -> None:
    """The zip hash is remembered per path, size and modification time, never past a rebuild."""
    path = tmp_path / "fn.zip"
    path.write_bytes(b"a" * 64)
    first = code_sha256(path)
    path.write_bytes(b"b" * 64)  # same size
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    assert code_sha256(path) != first
    assert code_sha256(path) == base64.b64encode(hashlib.sha256(b"b" * 64).digest()).decode()


def test_reserved_concurrency_runs_one_invocation_at_a_time(
    aws: dict[str, Any], dispatcher: Dispatcher, tmp_path: Path
) -> None:
    """A function reserved to 1 (the refine's setting): a synchronous invocation while one
    runs is throttled; asynchronous ones wait for the slot and run one after the other."""
    deploy(aws, make_zip(tmp_path / "build"), "single", "handler.timed")
    aws["lambda"].put_function_concurrency(FunctionName="single", ReservedConcurrentExecutions=1)
    spec = dispatcher.spec("single")
    assert spec.reserved_concurrency == 1
    outcomes: queue_module.Queue[Any] = queue_module.Queue()

    def invoke(body: str, wait: float) -> None:
        try:
            outcomes.put(dispatcher.runtime.invoke(spec, {"Records": [{"body": body}]}, wait_for_slot=wait))
        except ThrottledError as exc:
            outcomes.put(exc)

    def together(wait: float) -> list[Any]:
        threads = [threading.Thread(target=invoke, args=(f"m{n}", wait)) for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        return [outcomes.get_nowait() for _ in threads]

    synchronous = together(wait=0.0)
    assert sorted(type(o).__name__ for o in synchronous) == ["Invocation", "ThrottledError"]
    assert "reserved concurrency (1) is in use" in str(
        next(o for o in synchronous if isinstance(o, Exception))
    )
    asynchronous = together(wait=30.0)
    assert all(isinstance(o, Invocation) and o.ok for o in asynchronous)
    assert most_at_once([(o.result["start"], o.result["end"]) for o in asynchronous]) == 1
