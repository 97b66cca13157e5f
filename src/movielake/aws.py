"""AWS clients, created on demand and never at import time.

Functions across movielake take clients as arguments so tests hand in moto-backed ones; this
module is where the CLI and the Lambda handlers make them. ``AWS_ENDPOINT_URL`` (and
``AWS_REGION``, profiles) are honoured by boto3 itself; ``Settings.endpoint_url`` covers the
local stack's record when the shell has no such variable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
from botocore.config import Config

from movielake.config import Settings

DEFAULT_REGION = "us-east-1"
# Connections a client keeps per host: as many as the threads that may share it at once, so
# none is opened and thrown away ("Connection pool is full"): the reader pools of 16
# (``tmdb.writer.READ_THREADS``) and asyncio's default executor for the batch writes (at most
# 32 threads). botocore's default is 10.
MAX_POOL_CONNECTIONS = 32
_CONFIG = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=MAX_POOL_CONNECTIONS)


def session(settings: Settings) -> boto3.session.Session:
    """A boto3 session in the configured region (falls back to us-east-1)."""
    region = settings.region or boto3.session.Session().region_name or DEFAULT_REGION
    return boto3.session.Session(region_name=region)


def client(
    service: str, settings: Settings, *, within: boto3.session.Session | None = None, **kwargs: Any
) -> Any:
    """A client for ``service`` pointed at the configured endpoint, if any.

    ``within``: a session to create it from. Clients of one session share its loaded service
    models and credentials (creating a session and its first client costs ~50 ms); a session
    is not thread-safe, so threads each take their own.
    """
    if settings.endpoint_url:
        kwargs.setdefault("endpoint_url", settings.endpoint_url)
    kwargs.setdefault("config", _CONFIG)
    return (within or session(settings)).client(service, **kwargs)


def list_objects(s3: Any, bucket: str, prefix: str = "", **options: Any) -> Iterator[dict[str, Any]]:
    """Every object's listing entry (``Key``, ``Size``, ``LastModified``...) under ``prefix``.

    Follows the pages of ``list_objects_v2``; ``options`` go to it as they are (``Delimiter``).
    """
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, **options):
        yield from page.get("Contents", [])
