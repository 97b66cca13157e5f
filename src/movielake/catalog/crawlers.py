"""The crawlers Terraform deployed, read back from the Glue API (targets, exclusions, table
prefix, database, schema change policy), so no crawl repeats that wiring.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from movielake.catalog.paths import parse_s3_path


@dataclass(frozen=True)
class S3Target:
    """One S3 include path of a crawler, with its exclusion globs."""

    bucket: str
    prefix: str
    exclusions: tuple[str, ...] = ()


# A frozen record of what the API says; dispatch.Notification is alike in shape only.
@dataclass(frozen=True)
class CrawlerDefinition:
    """What a crawl needs of a deployed crawler."""

    name: str
    database: str
    table_prefix: str
    targets: tuple[S3Target, ...]
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "DEPRECATE_IN_DATABASE"
    role: str = ""
    catalog_tables: tuple[tuple[str, str], ...] = ()  # (database, table) of catalog targets
    # Configuration Grouping.TableLevelConfiguration: the tables sit this many folders below the
    # bucket (1 = the top folder); None lets the crawler choose table roots.
    table_level: int | None = None

    @classmethod
    def from_api(cls, crawler: Mapping[str, Any]) -> CrawlerDefinition:
        """From one ``glue.get_crawler(s)`` entry."""
        targets = []
        for target in crawler.get("Targets", {}).get("S3Targets", []):
            bucket, prefix = parse_s3_path(target["Path"])
            targets.append(S3Target(bucket, prefix, tuple(target.get("Exclusions") or ())))
        policy = crawler.get("SchemaChangePolicy") or {}
        catalog_tables = tuple(
            (target["DatabaseName"], table)
            for target in crawler.get("Targets", {}).get("CatalogTargets", [])
            for table in target.get("Tables", [])
        )
        return cls(
            name=crawler["Name"],
            database=crawler.get("DatabaseName", ""),
            table_prefix=crawler.get("TablePrefix") or "",
            targets=tuple(targets),
            update_behavior=policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE",
            delete_behavior=policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE",
            role=crawler.get("Role") or "",
            catalog_tables=catalog_tables,
            table_level=table_level(crawler.get("Configuration")),
        )


def table_level(configuration: str | None) -> int | None:
    """``Grouping.TableLevelConfiguration`` of a crawler's ``Configuration`` JSON, if set.

    Glue guide, *Specifying the table location and partitioning level*: a positive integer,
    the table's absolute level from the bucket (``mydataset/year/month`` is level 3).
    """
    if not configuration:
        return None
    level = (json.loads(configuration).get("Grouping") or {}).get("TableLevelConfiguration")
    if level is None:
        return None
    if isinstance(level, bool) or not isinstance(level, int | float) or level < 1 or level != int(level):
        raise ValueError(f"Grouping.TableLevelConfiguration must be a positive integer, not {level!r}")
    return int(level)


def deployed_crawlers(
    glue: Any, names: Sequence[str] | None = None, database: str | None = None
) -> list[CrawlerDefinition]:
    """The crawlers deployed in the account, optionally only ``names`` / only one database."""
    if names:
        found = []
        for name in names:
            try:
                found.append(CrawlerDefinition.from_api(glue.get_crawler(Name=name)["Crawler"]))
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "EntityNotFoundException":
                    raise LookupError(
                        f"crawler {name!r} is not deployed; apply the Terraform stack first"
                    ) from exc
                raise
        return found
    pages = glue.get_paginator("get_crawlers").paginate()
    crawlers = [CrawlerDefinition.from_api(c) for page in pages for c in page.get("Crawlers", [])]
    return [c for c in crawlers if database is None or c.database == database]
