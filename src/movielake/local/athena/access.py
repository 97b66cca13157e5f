"""The S3 checks Athena makes as the caller while answering the API itself (not in a query).

``StartQueryExecution`` verifies the result bucket (``s3:GetBucketLocation``): a caller who
may not reach it is refused at once, "Unable to verify/create output bucket <bucket>".
``GetQueryResults`` reads the result file: the caller needs ``s3:GetObject`` on it (and
``kms:Decrypt`` when it is SSE-KMS). Both calls go to the same moto server, signed as the
caller, so its IAM enforcement decides; no DuckDB runs here, so the server's own process
may make them.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"})
_CLIENTS: dict[tuple[Any, ...], Any] = {}
_LOCK = threading.Lock()
DENIED = frozenset({"AccessDenied", "AccessDeniedException", "403"})


class AccessError(Exception):
    """The caller may not do what Athena does for it; the message is Athena's."""


def s3_client(credentials: tuple[str, str, str | None], endpoint_url: str, region: str) -> Any:
    """An S3 client signed as the caller (kept per caller: a client costs ~0.1 s)."""
    key = (credentials, endpoint_url, region)
    with _LOCK:
        if key not in _CLIENTS:
            session = boto3.session.Session(
                aws_access_key_id=credentials[0],
                aws_secret_access_key=credentials[1],
                aws_session_token=credentials[2],
                region_name=region,
            )
            _CLIENTS[key] = session.client("s3", endpoint_url=endpoint_url, config=_CONFIG)
        return _CLIENTS[key]


def check_output_bucket(s3: Any, location: str) -> None:
    """AccessError unless the caller may locate the result location's bucket."""
    bucket = location.removeprefix("s3://").split("/", 1)[0]
    try:
        s3.get_bucket_location(Bucket=bucket)
    except ClientError as exc:
        if exc.response["Error"]["Code"] in DENIED or exc.response["Error"]["Code"] == "NoSuchBucket":
            raise AccessError(f"Unable to verify/create output bucket {bucket}") from exc
        raise


def check_result_readable(s3: Any, location: str) -> None:
    """AccessError unless the caller may read the result file (its first byte)."""
    bucket, key = location.removeprefix("s3://").split("/", 1)
    try:
        s3.get_object(Bucket=bucket, Key=key, Range="bytes=0-0")
    except ClientError as exc:
        if exc.response["Error"]["Code"] in DENIED:
            raise AccessError(f"Permission denied on S3 path: {location}") from exc
        raise
