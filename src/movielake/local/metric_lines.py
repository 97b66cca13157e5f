"""CloudWatch's side of the Lambda logs, locally: the embedded-metric-format (EMF) lines.

On AWS, CloudWatch Logs turns every log line shaped as EMF (a JSON object with an ``_aws``
block) into metrics. Locally the runtime appends each such line a function printed to
``<local dir>/metrics.jsonl`` (``keep``), with the function and the invocation's request id, so
``movielake local status`` can show the last run's metrics (``last_run``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.jsonl"


def emf_line(line: str) -> dict[str, Any] | None:
    """The EMF object a log line holds, or None when it holds none."""
    if not line.startswith("{"):
        return None
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or "CloudWatchMetrics" not in (record.get("_aws") or {}):
        return None
    return record


def figures(record: dict[str, Any]) -> dict[str, Any]:
    """An EMF object's metrics as ``{name: value}`` plus its dimensions ``{name: value}``."""
    directive = record["_aws"]["CloudWatchMetrics"][0]
    values = {}
    for metric in directive["Metrics"]:
        value = record[metric["Name"]]
        values[metric["Name"]] = value[0] if isinstance(value, list) and len(value) == 1 else value
    dimensions = {name: record[name] for names in directive["Dimensions"] for name in names}
    return {"namespace": directive["Namespace"], "dimensions": dimensions, "metrics": values}


def keep(path: Path, function: str, request_id: str, logs: Iterable[str]) -> int:
    """Append the invocation's EMF lines to ``path``; how many there were."""
    kept = [
        json.dumps({"function": function, "request_id": request_id, **figures(record)})
        for record in filter(None, map(emf_line, logs))
    ]
    if kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write("\n".join(kept) + "\n")
    return len(kept)


def last_run(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Per function, the metric sets of its last invocation that emitted any."""
    if not path.exists():
        return {}
    last: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        request, sets = last.get(entry["function"], ("", []))
        if entry["request_id"] != request:
            request, sets = entry["request_id"], []
        sets.append({k: entry[k] for k in ("dimensions", "metrics")})
        last[entry["function"]] = (request, sets)
    return {function: sets for function, (_, sets) in sorted(last.items())}
