"""The local stack's hooks into the ``movielake`` command (entry-point group ``movielake.plugins``).

The product discovers this module through the entry point pyproject.toml declares and calls
these functions by name (``movielake.plugins``); it never imports ``movielake.local``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from movielake.catalog.summary import CrawlSummary
from movielake.config import Settings
from movielake.local.cli import deliver_crawler_events, invoke_at_endpoint, register

GLUE_SERVICE = "glue.amazonaws.com"

__all__ = ["crawl_local", "crawler_role", "deliver_crawler_events", "invoke_at_endpoint", "register"]


def crawler_role(settings: Settings) -> Callable[[str], tuple[Any, Any]]:
    """(Glue, S3) clients of a crawler's role, assumed as the Glue service (the local crawl)."""
    from movielake import aws
    from movielake.local.roles import RoleCredentials

    region = settings.region or aws.DEFAULT_REGION
    roles = RoleCredentials(aws.client("sts", settings), settings.endpoint_url, region)

    def clients(role_arn: str) -> tuple[Any, Any]:
        return tuple(roles.client(name, role_arn, GLUE_SERVICE, "local-crawl") for name in ("glue", "s3"))  # type: ignore[return-value]

    return clients


def crawl_local(settings: Settings, names: Sequence[str]) -> CrawlSummary:
    """``movielake crawl --engine local``: the crawlers' work done in-process, with their roles."""
    from movielake import aws
    from movielake.local import crawl

    settings.require("glue_database")
    glue, s3 = aws.client("glue", settings), aws.client("s3", settings)
    return crawl.crawl_local(glue, s3, settings.glue_database, names, as_role=crawler_role(settings))
