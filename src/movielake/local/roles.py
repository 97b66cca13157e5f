"""Credentials of an execution role, as the AWS service running the code would get them.

On AWS, Lambda runs a function with temporary credentials of the role Terraform gave it, and
Glue runs a crawler with its role's: both by STS AssumeRole, which the role's trust policy
must allow for that service. The local runtime and the crawler stand-in play those services: they
assume the role with the stack's administrator key and say which service they act as (the
enforcing moto server checks that the trust policy names it, see :mod:`movielake.local.authz`).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

from movielake.local.authz import SERVICE_HEADER

# Re-assume this long before the credentials expire.
REFRESH_MARGIN = 300.0
_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"})


def assume_as_service(sts: Any, role_arn: str, service: str, session_name: str) -> dict[str, str]:
    """STS AssumeRole of ``role_arn`` on behalf of ``service`` (``lambda.amazonaws.com``...).

    Returns the credentials as the environment variables boto3 reads.
    """

    def add_header(request: Any, **_: Any) -> None:
        request.headers[SERVICE_HEADER] = service

    event = "before-sign.sts.AssumeRole"
    sts.meta.events.register(event, add_header)
    try:
        answer = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name[:64])
    finally:
        sts.meta.events.unregister(event, add_header)
    credentials = answer["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": credentials["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
        "AWS_SESSION_TOKEN": credentials["SessionToken"],
    }


@dataclass
class RoleCredentials:
    """Assumed-role credentials per (role, service), re-assumed before they expire.

    Safe to share between threads (the dispatcher delivers queue messages to several workers
    at once): one lock covers the cache and the AssumeRole call, whose header hook is
    registered on the shared STS client for the length of the call.
    """

    sts: Any
    endpoint_url: str
    region: str
    duration: float = 3600.0
    _cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def environment(self, role_arn: str, service: str, session_name: str) -> dict[str, str]:
        """The role's credentials as ``AWS_*`` variables."""
        key = (role_arn, service)
        with self._lock:
            cached = self._cache.get(key)
            if cached is None or cached[0] < time.monotonic():
                credentials = assume_as_service(self.sts, role_arn, service, session_name)
                cached = self._cache[key] = (time.monotonic() + self.duration - REFRESH_MARGIN, credentials)
        return dict(cached[1])

    def client(self, aws_service: str, role_arn: str, service: str, session_name: str) -> Any:
        """A boto3 client for ``aws_service`` signed with the role's credentials."""
        credentials = self.environment(role_arn, service, session_name)
        # A session of its own: boto3's default session is not safe to share between threads.
        return boto3.session.Session().client(
            aws_service,
            endpoint_url=self.endpoint_url or None,
            region_name=self.region,
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            config=_CLIENT_CONFIG,
        )
