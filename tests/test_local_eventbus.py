"""The local EventBridge matcher against the rule Terraform deploys for the refine."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from movielake.local.eventbus import PatternError, crawler_state_event, matches

EVENTS_TF = Path(__file__).resolve().parents[1] / "terraform" / "events.tf"
# The refine rule's pattern as Terraform writes it (jsonencode of these values).
REFINE_PATTERN = {
    "source": ["aws.glue"],
    "detail-type": ["Glue Crawler State Change"],
    "detail": {"crawlerName": ["movielake-local-raw-tmdb"], "state": ["Succeeded"]},
}


def test_the_terraform_rule_has_the_pattern_tested_here() -> None:
    text = EVENTS_TF.read_text()
    block = text[text.index('resource "aws_cloudwatch_event_rule" "refine_after_tmdb_crawl"') :]
    for needle in ('"aws.glue"', '"Glue Crawler State Change"', "local.tmdb_crawler_name", '"Succeeded"'):
        assert needle in block.split("\n}\n")[0], needle


def test_a_succeeded_tmdb_crawl_matches_and_nothing_else_does() -> None:
    event = crawler_state_event("movielake-local-raw-tmdb", "COMPLETED", "123456789012", "us-east-1")
    assert event["detail"]["state"] == "Succeeded" and event["source"] == "aws.glue"
    assert matches(REFINE_PATTERN, event)
    failed = crawler_state_event("movielake-local-raw-tmdb", "FAILED", "123456789012", "us-east-1")
    assert not matches(REFINE_PATTERN, failed)
    other = crawler_state_event("movielake-local-raw-csv", "SUCCEEDED", "123456789012", "us-east-1")
    assert not matches(REFINE_PATTERN, other)
    assert not matches({"detail": {"missing": ["x"]}}, event)


def test_arrays_prefixes_and_unsupported_filters() -> None:
    event = {"resources": ["arn:a", "arn:b"], "detail": {"name": "tmdb-run"}}
    assert matches({"resources": ["arn:b"]}, event)  # any element of an event array
    assert matches({"detail": {"name": [{"prefix": "tmdb-"}]}}, event)
    assert not matches({"detail": {"name": [{"prefix": "csv-"}]}}, event)
    with pytest.raises(PatternError, match="numeric"):
        matches({"detail": {"name": [{"numeric": [">", 1]}]}}, event)
    assert json.dumps(REFINE_PATTERN)  # the pattern is plain JSON
    assert re.match(r"\d{4}-\d\d-\d\dT", crawler_state_event("c", "SUCCEEDED", "1", "r")["time"])


def test_the_terraform_crawler_failed_rule_targets_the_alarms_topic() -> None:
    text = EVENTS_TF.read_text()
    rule = text[text.index('resource "aws_cloudwatch_event_rule" "crawler_failed"') :].split("\n}\n")[0]
    for needle in ("local.tmdb_crawler_name", "local.csv_crawler_name", '"Failed"'):
        assert needle in rule, needle
    target = text[text.index('resource "aws_cloudwatch_event_target" "crawler_failed"') :].split("\n}\n")[0]
    assert "arn       = aws_sns_topic.alarms.arn" in target


def test_a_failed_crawl_is_published_to_the_alarms_topic_by_the_local_bus(
    moto_endpoint: str, tmp_path: Path
) -> None:
    """Issue 17: the crawler-failed rule, as Terraform writes it, delivers to the topic locally."""
    import boto3
    from conftest import NO_RETRY, REGION

    from movielake.local.dispatch import DeliveredLog, Dispatcher

    def client(name: str):  # type: ignore[no-untyped-def]
        return boto3.client(name, endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)

    sns, sqs, events = client("sns"), client("sqs"), client("events")
    topic = sns.create_topic(Name="movielake-local-alarms")["TopicArn"]
    queue = sqs.create_queue(QueueName="alarm-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    pattern = {**REFINE_PATTERN, "detail": {"crawlerName": ["movielake-local-raw-tmdb"], "state": ["Failed"]}}
    events.put_rule(Name="movielake-local-crawler-failed", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="movielake-local-crawler-failed", Targets=[{"Id": "alarms-topic", "Arn": topic}])
    bus = Dispatcher(
        runtime=None, s3=None, sqs=sqs, events=events, sns=sns, delivered=DeliveredLog(tmp_path / "d.json")
    )  # type: ignore[arg-type]

    succeeded = crawler_state_event("movielake-local-raw-tmdb", "SUCCEEDED", "123456789012", REGION)
    failed = crawler_state_event("movielake-local-raw-tmdb", "FAILED", "123456789012", REGION)
    assert bus.deliver_event(succeeded) == [] and bus.deliver_event(failed) == []  # no Lambda target

    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [failed]
    sns.delete_topic(TopicArn=topic)
    events.remove_targets(Rule="movielake-local-crawler-failed", Ids=["alarms-topic"])
    events.delete_rule(Name="movielake-local-crawler-failed")
