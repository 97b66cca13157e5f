"""The events AWS services send a Lambda, in their documented shapes, for the local runtime.

S3's ``ObjectCreated:Put`` record, the SQS poller's batch, EventBridge's scheduled event (or a
target's constant input): ``movielake.local.dispatch`` builds each delivery with these.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus


def now_iso() -> str:
    """The current UTC time as AWS writes it in events (``2026-01-02T03:04:05.678Z``)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def s3_event(
    bucket: str, configuration_id: str, obj: dict[str, Any], region: str, version_id: str | None
) -> dict[str, Any]:
    """The event S3 sends a Lambda for one created object (AWS's documented structure)."""
    record_object: dict[str, Any] = {
        "key": quote_plus(obj["Key"], safe="/"),
        "size": obj["Size"],
        "eTag": obj["ETag"].strip('"'),
        "sequencer": f"{int(obj['LastModified'].timestamp() * 1e6):016X}",
    }
    if version_id and version_id != "null":
        record_object["versionId"] = version_id
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now_iso(),
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:LOCAL"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": uuid.uuid4().hex[:16].upper()},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id or "local",
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "LOCAL"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": record_object,
                },
            }
        ]
    }


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """The event Lambda's SQS poller sends for a batch of received messages."""
    records = []
    for message in messages:
        attributes = dict(message.get("Attributes", {}))
        records.append(
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": attributes,
                "messageAttributes": {
                    name: {
                        "stringValue": value.get("StringValue"),
                        "binaryValue": value.get("BinaryValue"),
                        "stringListValues": [],
                        "binaryListValues": [],
                        "dataType": value.get("DataType", "String"),
                    }
                    for name, value in message.get("MessageAttributes", {}).items()
                },
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
        )
    return {"Records": records}


def scheduled_event(rule: dict[str, Any], region: str) -> dict[str, Any]:
    """The event EventBridge sends for a scheduled rule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": rule["Arn"].split(":")[4],
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule["Arn"]],
        "detail": {},
    }


def target_event(rule: dict[str, Any], target: dict[str, Any], region: str) -> Any:
    """What a rule's target receives: its constant ``Input`` if set, else the scheduled event."""
    if target.get("Input"):
        return json.loads(target["Input"])
    return scheduled_event(rule, region)
