"""Event delivery for the local runtime: what S3 notifications, SQS event source mappings and
EventBridge schedules would do on AWS, driven by the wiring Terraform deployed.

Nothing here repeats the wiring in Python: the buckets' notification configuration, the
event source mappings and the rules are read back from the (moto) APIs on every pump.

- S3: objects matching a notification's prefix/suffix that were not delivered yet are sent,
  one ``ObjectCreated:Put`` event each, in the exact AWS event shape. Delivered objects are
  remembered in ``<local dir>/delivered.json`` by (function, bucket, key, etag and
  modification time), so a re-upload is delivered again. As on AWS, the invocation is
  asynchronous: a failure is retried and then recorded in the function's on-failure
  destination (``movielake.local.destinations``).
- SQS: batches are received from each mapped queue (the mapping's batch size) and sent in
  the SQS event shape, to up to the mapping's ``ScalingConfig.MaximumConcurrency``
  invocations at once (each its own process, as Lambda runs each in its own sandbox; five
  without a scaling config, the concurrency AWS's poller starts with); on success the
  messages are deleted, except those the handler lists in ``batchItemFailures`` when the
  mapping reports batch item failures; on error they are made visible again, so the queue's
  redrive policy moves them to the dead-letter queue after ``maxReceiveCount`` receives
  (moto applies it on receive).
- Schedules: a rule's target can be fired with the scheduled-event shape (asynchronously,
  like S3).
- Service events (a crawler run ending): the crawler stand-in in the moto server puts them on
  the default bus's log; each new one is delivered to the targets of every rule whose event
  pattern matches (``movielake.local.eventbus``), asynchronously, like S3's. A crawler still
  RUNNING or STOPPING is pending work: its state change is to come, so the pump waits for it
  (up to ``CRAWLER_WAIT_SECONDS``).

:meth:`Dispatcher.pump` repeats until a full pass finds no work (no undelivered object, every
mapped queue empty, no crawler running, no new event on the bus), bounded by ``max_rounds``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movielake.aws import list_objects
from movielake.local.destinations import async_config, deliver_failure, failure_record
from movielake.local.event_shapes import now_iso, s3_event, sqs_event, target_event
from movielake.local.eventbus import BusLog, matching_targets
from movielake.local.runtime import FunctionSpec, Invocation, LambdaRuntime

log = logging.getLogger(__name__)

SQS_BATCH_MAX = 10  # ReceiveMessage returns at most 10 messages per call
# Concurrent invocations of a mapping without ScalingConfig: AWS's SQS poller starts with five.
DEFAULT_SQS_CONCURRENCY = 5
# How long a pump waits for running crawlers to end (their events are still to come).
CRAWLER_WAIT_SECONDS = 900.0
CRAWLER_POLL_SECONDS = 0.2


class PumpError(RuntimeError):
    """Work kept coming back after the pump's round limit (a message failing forever?)."""


# ---------------------------------------------------------------------------------------- S3


@dataclass(frozen=True)
class Notification:
    """One ``LambdaFunctionConfiguration`` of a bucket."""

    bucket: str
    function_arn: str
    events: tuple[str, ...]
    prefix: str = ""
    suffix: str = ""
    configuration_id: str = ""

    def wants_put(self) -> bool:
        """True when the configuration fires on ``s3:ObjectCreated:Put``."""
        return any(e in {"s3:ObjectCreated:*", "s3:ObjectCreated:Put"} for e in self.events)

    def matches(self, key: str) -> bool:
        """True when ``key`` passes the prefix and suffix filters (case-sensitive, as S3)."""
        return key.startswith(self.prefix) and key.endswith(self.suffix)


def bucket_notifications(s3: Any) -> list[Notification]:
    """Every Lambda notification configured on every bucket."""
    found: list[Notification] = []
    for bucket in s3.list_buckets().get("Buckets", []):
        name = bucket["Name"]
        config = s3.get_bucket_notification_configuration(Bucket=name)
        for item in config.get("LambdaFunctionConfigurations", []):
            rules = {
                r["Name"].lower(): r["Value"]
                for r in item.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            found.append(
                Notification(
                    bucket=name,
                    function_arn=item["LambdaFunctionArn"],
                    events=tuple(item.get("Events", [])),
                    prefix=rules.get("prefix", ""),
                    suffix=rules.get("suffix", ""),
                    configuration_id=item.get("Id", ""),
                )
            )
    return found


class DeliveredLog:
    """The set of (function, bucket, key, etag@mtime) already delivered, persisted as JSON."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._seen = set(json.loads(path.read_text()))
        except (OSError, ValueError):
            self._seen = set()

    @staticmethod
    def token(function_arn: str, bucket: str, key: str, version: str) -> str:
        """The identity of one delivery."""
        return "\t".join((function_arn, bucket, key, version))

    def __contains__(self, token: str) -> bool:
        return token in self._seen

    def add(self, token: str) -> None:
        """Remember a delivery (written through, so a crash does not redeliver)."""
        self._seen.add(token)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(sorted(self._seen), indent=0))


# ---------------------------------------------------------------------------------------- SQS


@dataclass(frozen=True)
class QueueMapping:
    """An enabled SQS event source mapping."""

    uuid: str
    queue_arn: str
    function_arn: str
    batch_size: int
    report_item_failures: bool
    maximum_concurrency: int = DEFAULT_SQS_CONCURRENCY  # ScalingConfig.MaximumConcurrency

    @property
    def queue_name(self) -> str:
        """The queue's name (last part of its ARN)."""
        return self.queue_arn.rsplit(":", 1)[-1]


def queue_mappings(lambda_client: Any) -> list[QueueMapping]:
    """Every enabled event source mapping whose source is an SQS queue."""
    found: list[QueueMapping] = []
    for page in lambda_client.get_paginator("list_event_source_mappings").paginate():
        for item in page.get("EventSourceMappings", []):
            arn = item.get("EventSourceArn", "")
            if not arn.startswith("arn:aws:sqs:") or item.get("State", "Enabled") not in {
                "Enabled",
                "Enabling",
            }:
                continue
            found.append(
                QueueMapping(
                    uuid=item["UUID"],
                    queue_arn=arn,
                    function_arn=item["FunctionArn"],
                    batch_size=int(item.get("BatchSize", 10)),
                    report_item_failures="ReportBatchItemFailures" in item.get("FunctionResponseTypes", []),
                    maximum_concurrency=int(
                        (item.get("ScalingConfig") or {}).get("MaximumConcurrency") or DEFAULT_SQS_CONCURRENCY
                    ),
                )
            )
    return found


def failed_ids(result: Any) -> set[str] | None:
    """The message ids of a partial batch response, or None when the result is not one."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return None
    failures = result.get("batchItemFailures") or []
    return {str(item.get("itemIdentifier")) for item in failures if isinstance(item, dict)}


# ------------------------------------------------------------------------------------ schedules


def schedule_targets(events: Any) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(rule, target) for every scheduled rule's Lambda target."""
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("ScheduleExpression"):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":lambda:" in target.get("Arn", ""):
                    yield rule, target


# -------------------------------------------------------------------------------------- pump


@dataclass
class PumpReport:
    """What one pump delivered."""

    invocations: list[Invocation] = field(default_factory=list)
    rounds: int = 0

    @property
    def failed(self) -> list[Invocation]:
        """Invocations that did not return normally."""
        return [i for i in self.invocations if not i.ok]


@dataclass
class Dispatcher:
    """Delivers pending S3 and SQS events to the deployed functions through the runtime."""

    runtime: LambdaRuntime
    s3: Any
    sqs: Any
    events: Any
    delivered: DeliveredLog
    region: str = "us-east-1"
    on_invocation: Callable[[str, Invocation], None] | None = None
    glue: Any = None  # with ``bus``: the crawlers whose events the bus will carry
    bus: BusLog | None = None
    _specs: dict[str, FunctionSpec] = field(default_factory=dict)

    def spec(self, function_arn: str) -> FunctionSpec:
        """The function's spec, read once per dispatcher."""
        if function_arn not in self._specs:
            self._specs[function_arn] = self.runtime.spec(function_arn)
        return self._specs[function_arn]

    def _invoke(self, function_arn: str, event: Any, what: str) -> Invocation:
        """Invoke and report to the callback."""
        invocation = self.runtime.invoke(self.spec(function_arn), event)
        if self.on_invocation is not None:
            self.on_invocation(what, invocation)
        return invocation

    def _invoke_async(self, function_arn: str, event: Any, what: str) -> Invocation:
        """Invoke as an asynchronous event source does: retry, then record the failure."""
        config = async_config(self.runtime.lambda_client, function_arn)
        attempts = 0
        while True:
            attempts += 1
            invocation = self._invoke(function_arn, event, what)
            if invocation.ok or attempts > config.retries:
                break
        if not invocation.ok and config.on_failure:
            spec = self.spec(function_arn)
            record = failure_record(spec.arn, event, invocation, attempts, now_iso())
            # Lambda sends the record with the function's execution role.
            sender = self.runtime.role_client(spec, "sqs")
            if deliver_failure(self.sqs, config.on_failure, record, sender):
                log.warning("%s failed %d times: recorded in %s", what, attempts, config.on_failure)
        return invocation

    # S3 ------------------------------------------------------------------------------------
    def deliver_s3(self) -> list[Invocation]:
        """Send every undelivered object matching a notification; one event per object."""
        done: list[Invocation] = []
        for notification in bucket_notifications(self.s3):
            if not notification.wants_put():
                continue
            for obj in self._objects(notification):
                # A versioned bucket tells two uploads of the same bytes in the same second apart.
                version = self._version(notification.bucket, obj)
                identity = version or f"{obj['ETag'].strip(chr(34))}@{obj['LastModified'].isoformat()}"
                token = DeliveredLog.token(
                    notification.function_arn, notification.bucket, obj["Key"], identity
                )
                if token in self.delivered:
                    continue
                event = s3_event(
                    notification.bucket, notification.configuration_id, obj, self.region, version
                )
                what = f"s3://{notification.bucket}/{obj['Key']}"
                done.append(self._invoke_async(notification.function_arn, event, what))
                self.delivered.add(token)
        return done

    def _objects(self, notification: Notification) -> Iterator[dict[str, Any]]:
        """The bucket's objects under the notification's prefix that end with its suffix."""
        for obj in list_objects(self.s3, notification.bucket, notification.prefix):
            if notification.matches(obj["Key"]):
                yield obj

    def _version(self, bucket: str, obj: dict[str, Any]) -> str | None:
        """The object's current version id (None when the bucket is not versioned)."""
        head = self.s3.head_object(Bucket=bucket, Key=obj["Key"])
        version = head.get("VersionId")
        return None if version in (None, "null") else str(version)

    # SQS -----------------------------------------------------------------------------------
    def deliver_sqs(self) -> list[Invocation]:
        """Drain every mapped queue, each through up to its maximum concurrency of invocations."""
        done: list[Invocation] = []
        for mapping in queue_mappings(self.runtime.lambda_client):
            done.extend(self.deliver_concurrently(mapping))
        return done

    def deliver_concurrently(self, mapping: QueueMapping) -> list[Invocation]:
        """Deliver the queue's messages as they stand: ``poll`` until a receive finds none."""
        return self.poll(mapping, until=lambda: True)

    def poll(
        self, mapping: QueueMapping, until: Callable[[], bool], wait_seconds: int = 1
    ) -> list[Invocation]:
        """Lambda's SQS poller: ``maximum_concurrency`` slots, each long-polling the queue and
        invoking the function on the next batch as soon as one arrives.

        A slot ends once ``until()`` holds and a receive finds the queue empty: while it does
        not, receives wait up to ``wait_seconds`` for a message (as the poller's long polling,
        which answers the moment one is sent). A slot whose invocation failed, or reported
        failed items, ends too: those messages are visible again and wait for the next pass,
        so a message failing forever cannot spin here (the pump's round limit and the queue's
        redrive policy deal with it).
        """

        def slot() -> list[Invocation]:
            delivered: list[Invocation] = []
            while True:
                done = until()
                invocation = self.deliver_batch(mapping, wait_seconds=0 if done else wait_seconds)
                if invocation is None:
                    if done:
                        return delivered
                    continue
                delivered.append(invocation)
                if not invocation.ok or failed_ids(invocation.result):
                    return delivered

        slots = max(1, mapping.maximum_concurrency)
        with ThreadPoolExecutor(slots, thread_name_prefix=f"sqs-{mapping.queue_name}") as pool:
            passes = [pool.submit(slot) for _ in range(slots)]
            return [invocation for done in passes for invocation in done.result()]

    def deliver_batch(self, mapping: QueueMapping, wait_seconds: int = 0) -> Invocation | None:
        """Receive up to the mapping's batch size (waiting up to ``wait_seconds`` for the first
        message), invoke, then delete or release the messages; None when none came."""
        url = self.sqs.get_queue_url(
            QueueName=mapping.queue_name, QueueOwnerAWSAccountId=mapping.queue_arn.split(":")[4]
        )["QueueUrl"]
        spec = self.spec(mapping.function_arn)
        # Lambda's poller receives and deletes with the function's execution role.
        poller = self.runtime.role_client(spec, "sqs") or self.sqs
        messages = self._receive(poller, url, mapping.batch_size, spec.timeout, wait_seconds)
        if not messages:
            return None
        event = sqs_event(messages, mapping.queue_arn, self.region)
        what = f"{len(messages)} message(s) from {mapping.queue_name}"
        invocation = self._invoke(mapping.function_arn, event, what)
        if invocation.ok:
            failed = failed_ids(invocation.result)
            if failed and not mapping.report_item_failures:
                log.warning(
                    "%s returned batchItemFailures but its event source mapping does not report "
                    "them (FunctionResponseTypes): the whole batch counts as processed, as on AWS",
                    spec.name,
                )
                failed = set()
            keep = failed or set()
            self._delete(poller, url, [m for m in messages if m["MessageId"] not in keep])
            self._release(url, [m for m in messages if m["MessageId"] in keep])
        else:
            self._release(url, messages)
        return invocation

    def _receive(
        self, sqs: Any, url: str, batch_size: int, visibility: int, wait_seconds: int = 0
    ) -> list[dict[str, Any]]:
        """Receive up to ``batch_size`` visible messages (several calls of at most 10); only the
        first call waits for a message."""
        messages: list[dict[str, Any]] = []
        while len(messages) < batch_size:
            response = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=min(SQS_BATCH_MAX, batch_size - len(messages)),
                VisibilityTimeout=visibility,
                WaitTimeSeconds=0 if messages else wait_seconds,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages.extend(received)
        return messages

    def _delete(self, sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
        """Delete processed messages."""
        for start in range(0, len(messages), SQS_BATCH_MAX):
            chunk = messages[start : start + SQS_BATCH_MAX]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            sqs.delete_message_batch(QueueUrl=url, Entries=entries)

    def _release(self, url: str, messages: list[dict[str, Any]]) -> None:
        """Make failed messages visible again at once (their visibility timeout, compressed)."""
        for start in range(0, len(messages), SQS_BATCH_MAX):
            chunk = messages[start : start + SQS_BATCH_MAX]
            entries = [
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ]
            self.sqs.change_message_visibility_batch(QueueUrl=url, Entries=entries)

    # schedules -----------------------------------------------------------------------------
    def fire_schedule(self, function_arn: str, rule_name: str | None = None) -> Invocation | None:
        """Invoke ``function_arn`` as its schedule would (None when no rule targets it)."""
        for rule, target in schedule_targets(self.events):
            if rule_name not in (None, rule["Name"]):
                continue
            if target["Arn"].split(":")[6] == function_arn.split(":")[6]:
                event = target_event(rule, target, self.region)
                return self._invoke_async(target["Arn"], event, f"schedule {rule['Name']}")
        return None

    def deliver_event(self, event: dict[str, Any]) -> list[Invocation]:
        """Send a service event to the Lambda targets of the rules whose pattern matches it."""
        done = []
        for rule, target in matching_targets(self.events, event):
            payload = json.loads(target["Input"]) if target.get("Input") else event
            done.append(self._invoke_async(target["Arn"], payload, f"rule {rule['Name']}"))
        return done

    def deliver_bus(self) -> list[Invocation]:
        """Wait for running crawlers to end, then deliver the events new on the default bus."""
        if self.bus is None:
            return []
        if self.glue is not None:
            self.wait_for_crawlers()
        done = []
        for event in self.bus.new_events():
            done.extend(self.deliver_event(event))
        return done

    def wait_for_crawlers(self, timeout: float = CRAWLER_WAIT_SECONDS) -> None:
        """Poll the crawlers until none is RUNNING or STOPPING; PumpError past ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            pages = self.glue.get_paginator("get_crawlers").paginate()
            crawlers = [c for page in pages for c in page.get("Crawlers", [])]
            busy = [c["Name"] for c in crawlers if c.get("State") != "READY"]
            if not busy:
                return
            if time.monotonic() >= deadline:
                raise PumpError(f"crawler(s) {', '.join(busy)} still running after {timeout:.0f} s")
            time.sleep(CRAWLER_POLL_SECONDS)

    # pump ----------------------------------------------------------------------------------
    def pump(self, max_rounds: int = 1000) -> PumpReport:
        """Deliver until a whole pass finds nothing to do; PumpError after ``max_rounds`` passes."""
        report = PumpReport()
        for _ in range(max_rounds):
            report.rounds += 1
            delivered = self.deliver_s3() + self.deliver_sqs() + self.deliver_bus()
            if not delivered:
                return report
            report.invocations.extend(delivered)
        raise PumpError(
            f"work was still pending after {max_rounds} rounds ({len(report.invocations)} invocations): "
            "a message that fails forever on a queue without a dead-letter queue?"
        )
