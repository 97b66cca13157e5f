"""The default event bus of the local stack: AWS services' events, and rules with patterns.

On AWS, Glue puts a "Glue Crawler State Change" event on the default bus when a crawler run
ends, and every enabled rule whose pattern matches it invokes its targets. Locally the crawler
stand-in (:mod:`movielake.local.glue.crawler`, inside the moto server) appends its events to
the bus's log (:class:`BusLog`, a JSON-lines file beside the server's other state; ``PutEvents``
cannot stand in for Glue: AWS refuses a ``source`` starting with ``aws.``). The local runtime's
pump reads the new events and hands each to :func:`matching_targets`, which reads the rules
Terraform deployed and applies their patterns the way EventBridge does for the forms the stack
uses: each pattern field lists the allowed values (an event array matches when any element is
allowed), nested objects match nested fields, ``{"prefix": ...}`` matches a prefix. Any other
content filter is refused loudly rather than matched loosely.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BUS_VARIABLE = "MOVIELAKE_MOTO_EVENT_BUS"  # the bus log's path, for the moto server


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


def service_event(
    source: str, detail_type: str, detail: dict[str, Any], account: str, region: str
) -> dict[str, Any]:
    """An event as an AWS service puts it on the default bus (EventBridge's envelope)."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": detail,
    }


class BusLog:
    """The default bus's events as JSON lines: services append, the pump reads what is new.

    The reader's position (a byte offset) is kept in ``<log>.cursor``, so each event is
    delivered once even across commands; only whole lines are read (a writer appends one
    line per ``write``).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.cursor = path.with_name(path.name + ".cursor")
        self._lock = threading.Lock()

    def put(self, event: Mapping[str, Any]) -> None:
        """Append one event."""
        line = json.dumps(event, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)

    def new_events(self) -> Iterator[dict[str, Any]]:
        """The events appended since the last read, oldest first; each read moves the cursor."""
        try:
            offset = int(self.cursor.read_text())
        except (OSError, ValueError):
            offset = 0
        try:
            with self.path.open("rb") as handle:
                handle.seek(offset)
                lines = handle.read().split(b"\n")[:-1]  # the last piece is not a whole line yet
        except FileNotFoundError:
            return
        for line in lines:
            offset += len(line) + 1
            self.cursor.write_text(str(offset))
            if line.strip():
                yield json.loads(line)


def matching_targets(
    events: Any, event: Mapping[str, Any]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(rule, target) for every Lambda target of an enabled rule whose pattern matches."""
    for page in events.get_paginator("list_rules").paginate():
        for rule in page.get("Rules", []):
            if not rule.get("EventPattern") or rule.get("State", "ENABLED") != "ENABLED":
                continue
            if not matches(json.loads(rule["EventPattern"]), event):
                continue
            for target in events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", []):
                if ":lambda:" in target.get("Arn", ""):
                    yield rule, target
