"""Asynchronous invocation for the local runtime: retries and the on-failure destination.

S3 notifications and EventBridge schedules invoke Lambda asynchronously. On AWS a failed
asynchronous invocation is retried (``MaximumRetryAttempts``, 2 by default) and, when the
retries are exhausted, an invocation record (the event, the error, the attempt count) is sent
to the function's on-failure destination. Both are read back from the function's event invoke
configuration (``lambda.get_function_event_invoke_config``), which Terraform deployed.

Only SQS destinations are delivered locally (the module's choice); another destination type
is logged as not delivered, never silently dropped.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from movielake.local.runtime import Invocation

log = logging.getLogger(__name__)

DEFAULT_RETRIES = 2  # Lambda's default MaximumRetryAttempts for asynchronous invocations


@dataclass(frozen=True)
class AsyncConfig:
    """How a function's asynchronous invocations are retried and where failures go."""

    retries: int = DEFAULT_RETRIES
    on_failure: str | None = None  # destination ARN


def async_config(lambda_client: Any, function_arn: str) -> AsyncConfig:
    """The function's event invoke configuration, or Lambda's defaults when it has none."""
    try:
        config = lambda_client.get_function_event_invoke_config(FunctionName=function_arn)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return AsyncConfig()
        raise
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") or None
    return AsyncConfig(int(config.get("MaximumRetryAttempts", DEFAULT_RETRIES)), destination)


def failure_record(
    function_arn: str, event: Any, invocation: Invocation, attempts: int, timestamp: str
) -> dict[str, Any]:
    """The invocation record Lambda sends to an on-failure destination."""
    return {
        "version": "1.0",
        "timestamp": timestamp,
        "requestContext": {
            "requestId": str(uuid.uuid4()),
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": invocation.error,
    }


def deliver_failure(sqs: Any, destination: str, record: dict[str, Any], sender: Any = None) -> bool:
    """Send the record to an SQS destination; False (logged) for another destination type.

    Lambda addresses the destination by ARN and needs only ``sqs:SendMessage`` from the
    function's role: the queue URL is resolved with ``sqs`` (the stack's client) and the
    message sent with ``sender`` (a client signed with the role), or ``sqs`` without one.
    """
    parts = destination.split(":")
    if parts[2] != "sqs":
        log.error("on-failure destination %s is not an SQS queue: not delivered locally", destination)
        return False
    url = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    (sender or sqs).send_message(QueueUrl=url, MessageBody=json.dumps(record, default=str))
    return True
