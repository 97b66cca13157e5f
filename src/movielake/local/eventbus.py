"""EventBridge rules with event patterns, for the local runtime.

On AWS, Glue puts a "Glue Crawler State Change" event on the default bus when a crawler run
ends, and every enabled rule whose pattern matches it invokes its targets. Locally the crawl
is movielake's own (moto's crawler does nothing) and ``PutEvents`` cannot stand in for Glue
(AWS refuses a ``source`` starting with ``aws.``), so the local crawl hands its event to
:func:`matching_targets`, which reads the rules Terraform deployed and applies their patterns
the way EventBridge does for the forms the stack uses: each pattern field lists the allowed
values (an event array matches when any element is allowed), nested objects match nested
fields, ``{"prefix": ...}`` matches a prefix. Any other content filter is refused loudly
rather than matched loosely. Lambda targets are invoked (``movielake.local.dispatch``); SNS
topic targets get the event published (:func:`publish_to_topics`), as the crawler-failed rule
notifies the alarms topic.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

# A run's end as GetCrawler (LastCrawl.Status) or ListCrawls (State) reports it -> the event's state.
GLUE_STATES = {
    "SUCCEEDED": "Succeeded",
    "COMPLETED": "Succeeded",
    "FAILED": "Failed",
    "CANCELLED": "Failed",
    "STOPPED": "Failed",
}


class PatternError(ValueError):
    """An event pattern uses a filter the local matcher does not implement."""


def _value_matches(allowed: list[Any], value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for option in allowed:
        if isinstance(option, Mapping):
            if set(option) != {"prefix"}:
                raise PatternError(f"content filter {json.dumps(option)} is not supported locally")
            if any(isinstance(v, str) and v.startswith(option["prefix"]) for v in values):
                return True
        elif option in values:
            return True
    return False


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether an event matches an EventBridge event pattern (the forms described above)."""
    for key, allowed in pattern.items():
        if key not in event:
            return False
        if isinstance(allowed, Mapping):
            if not isinstance(event[key], Mapping) or not matches(allowed, event[key]):
                return False
        elif not isinstance(allowed, list):
            raise PatternError(f"pattern field {key!r} must be an array or an object")
        elif not _value_matches(allowed, event[key]):
            return False
    return True


def crawler_state_event(crawler: str, status: str, account: str, region: str) -> dict[str, Any]:
    """The event Glue sends when a crawler run ends (``status`` as ``LastCrawl.Status``)."""
    state = GLUE_STATES.get(status.upper(), status.title())
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Glue Crawler State Change",
        "source": "aws.glue",
        "account": account,
        "time": now,
        "region": region,
        "resources": [],
        "detail": {
            "crawlerName": crawler,
            "state": state,
            "message": f"Crawler {state}",
            "completionDate": now,
        },
    }


def matching_targets(
    events: Any, event: Mapping[str, Any], service: str = "lambda"
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(rule, target) for every target of ``service`` (from its ARN) of an enabled rule whose
    pattern matches."""
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("EventPattern") or rule.get("State", "ENABLED") != "ENABLED":
                continue
            if not matches(json.loads(rule["EventPattern"]), event):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if f":{service}:" in target.get("Arn", ""):
                    yield rule, target


def publish_to_topics(events: Any, sns: Any, event: Mapping[str, Any]) -> list[str]:
    """Publish the event to every SNS topic target of the matching rules, as EventBridge does
    (the message is the event's JSON, or the target's ``Input``); the topics' ARNs.

    The topic's resource policy (which lets ``events.amazonaws.com`` publish) is not evaluated
    here: the stack's administrator publishes.
    """
    topics = []
    for _, target in matching_targets(events, event, "sns"):
        sns.publish(TopicArn=target["Arn"], Message=target.get("Input") or json.dumps(event))
        topics.append(target["Arn"])
    return topics
