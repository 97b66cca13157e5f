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
