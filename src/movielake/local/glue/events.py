"""The *Glue Crawler State Change* event, as Glue puts it on the default bus when a run ends.

Shapes from the EventBridge user guide's Glue event examples ("Crawler Succeeded", "Crawler
Failed"): ``source`` ``aws.glue``, the counts as strings, ``runningTime (sec)``, the console
link to the run's log stream. A cancelled run ends as ``Failed`` with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from movielake.catalog.summary import TableSummary
from movielake.local.eventbus import service_event

SOURCE = "aws.glue"
DETAIL_TYPE = "Glue Crawler State Change"
# LastCrawl.Status -> the event's state.
EVENT_STATES = {"SUCCEEDED": "Succeeded", "FAILED": "Failed", "CANCELLED": "Failed"}


def log_link(region: str, log_group: str, log_stream: str) -> str:
    """The CloudWatch console link Glue gives in the event."""
    return (
        f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#logEventViewer:group={log_group};stream={log_stream}"
    )


def crawler_state_event(
    crawler: str,
    status: str,
    *,
    account: str,
    region: str,
    started: datetime,
    ended: datetime,
    log_group: str,
    tables: Sequence[TableSummary] = (),
    error: str | None = None,
) -> dict[str, Any]:
    """The event of a run that ended with ``status`` (``LastCrawl.Status``)."""
    state = EVENT_STATES[status]
    detail: dict[str, Any] = {
        "crawlerName": crawler,
        "accountId": account,
        "state": state,
        "message": f"Crawler {state}",
        "cloudWatchLogLink": log_link(region, log_group, crawler),
    }
    if state == "Failed":
        detail["errorMessage"] = error or "Crawler cancelled"
    else:
        created = [t for t in tables if t.action == "created"]
        updated = [t for t in tables if t.action == "updated"]
        detail.update(
            {
                "tablesCreated": str(len(created)),
                "tablesUpdated": str(len(updated)),
                "tablesDeleted": "0",  # DeleteBehavior LOG: the stand-in deletes no table
                "partitionsCreated": str(sum(t.partitions_added for t in tables)),
                "partitionsUpdated": str(sum(t.partitions_updated for t in tables)),
                "partitionsDeleted": "0",
                "warningMessage": "N/A",
                "runningTime (sec)": str(max(0, round((ended - started).total_seconds()))),
                "completionDate": ended.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return service_event(SOURCE, DETAIL_TYPE, detail, account, region)
