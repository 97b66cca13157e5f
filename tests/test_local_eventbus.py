"""The local EventBridge matcher against the rule Terraform deploys for the refine, on the
events the crawler stand-in puts on the bus."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from movielake.local.eventbus import BusLog, PatternError, matches
from movielake.local.glue import events

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


def crawler_state_event(crawler: str, status: str, error: str | None = None) -> dict:
    """The stand-in's event for a run of ``crawler`` that ended with ``status``."""
    started = datetime(2026, 1, 2, 3, 4, 5)
    return events.crawler_state_event(
        crawler,
        status,
        account="123456789012",
        region="us-east-1",
        started=started,
        ended=started + timedelta(seconds=7),
        log_group="/aws-glue/crawlers",
        error=error,
    )


def test_the_events_have_the_fields_glue_sends() -> None:
    """As in the EventBridge guide's Glue examples: counts as strings, the log link; a failure
    carries its error message."""
    succeeded = crawler_state_event("c", "SUCCEEDED")
    assert (succeeded["source"], succeeded["detail-type"]) == ("aws.glue", "Glue Crawler State Change")
    assert succeeded["detail"] | {"cloudWatchLogLink": "-"} == {
        "crawlerName": "c",
        "accountId": "123456789012",
        "state": "Succeeded",
        "message": "Crawler Succeeded",
        "cloudWatchLogLink": "-",
        "tablesCreated": "0",
        "tablesUpdated": "0",
        "tablesDeleted": "0",
        "partitionsCreated": "0",
        "partitionsUpdated": "0",
        "partitionsDeleted": "0",
        "warningMessage": "N/A",
        "runningTime (sec)": "7",
        "completionDate": "2026-01-02T03:04:12Z",
    }
    assert succeeded["detail"]["cloudWatchLogLink"].endswith("group=/aws-glue/crawlers;stream=c")
    failed = crawler_state_event("c", "FAILED", error="AccessDeniedException: no")["detail"]
    assert (failed["state"], failed["message"], failed["errorMessage"]) == (
        "Failed",
        "Crawler Failed",
        "AccessDeniedException: no",
    )


def test_the_bus_log_gives_each_event_once(tmp_path: Path) -> None:
    bus = BusLog(tmp_path / "events.jsonl")
    assert list(bus.new_events()) == []
    bus.put({"n": 1})
    bus.put({"n": 2})
    assert [e["n"] for e in bus.new_events()] == [1, 2]
    with bus.path.open("a") as handle:
        handle.write('{"n": 3}')  # not a whole line yet: left for the next read
    assert list(BusLog(bus.path).new_events()) == []
    with bus.path.open("a") as handle:
        handle.write("\n")
    assert [e["n"] for e in BusLog(bus.path).new_events()] == [3]


def test_a_succeeded_tmdb_crawl_matches_and_nothing_else_does() -> None:
    event = crawler_state_event("movielake-local-raw-tmdb", "SUCCEEDED")
    assert event["detail"]["state"] == "Succeeded" and event["source"] == "aws.glue"
    assert matches(REFINE_PATTERN, event)
    failed = crawler_state_event("movielake-local-raw-tmdb", "FAILED")
    assert not matches(REFINE_PATTERN, failed)
    other = crawler_state_event("movielake-local-raw-csv", "SUCCEEDED")
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
    assert re.match(r"\d{4}-\d\d-\d\dT", crawler_state_event("c", "SUCCEEDED")["time"])
