"""Crawling on AWS: start the deployed Glue crawlers and wait until they are READY again."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from botocore.exceptions import ClientError

from movielake.catalog.crawlers import CrawlerDefinition, deployed_crawlers
from movielake.catalog.descriptors import existing_partitions
from movielake.catalog.summary import CrawlSummary, TableSummary

log = logging.getLogger(__name__)


class CrawlTimeoutError(TimeoutError):
    """A crawler did not come back to READY before the deadline."""


def crawl_aws(
    glue: Any,
    crawler_names: Sequence[str],
    *,
    wait: bool = True,
    timeout: float = 1800.0,
    poll_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CrawlSummary:
    """Start the deployed crawlers; with ``wait``, poll until each is READY again.

    A crawler already running is waited for, not restarted. The summary gives each
    crawler's last crawl status (SUCCEEDED / FAILED / CANCELLED, with the error message) and
    the tables in its database that carry its table prefix.
    """
    definitions = deployed_crawlers(glue, crawler_names)
    for crawler in definitions:
        try:
            glue.start_crawler(Name=crawler.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "CrawlerRunningException":
                raise
            log.info("crawler %s is already running; waiting for that run", crawler.name)
    if not wait:
        return CrawlSummary((), {c.name: "started" for c in definitions})
    deadline = clock() + timeout
    status: dict[str, str] = {}
    tables: list[TableSummary] = []
    for crawler in definitions:
        info = wait_until_ready(
            glue, crawler.name, deadline=deadline, poll_seconds=poll_seconds, sleep=sleep, clock=clock
        )
        last = info.get("LastCrawl") or {}
        status[crawler.name] = str(last.get("Status", "unknown")) + (
            f": {last['ErrorMessage']}" if last.get("ErrorMessage") else ""
        )
        tables.extend(_catalog_tables(glue, crawler))
    return CrawlSummary(tuple(tables), status)


def wait_until_ready(
    glue: Any,
    name: str,
    *,
    deadline: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    """Poll ``get_crawler`` until its state is READY; raise ``CrawlTimeoutError`` past the deadline.

    The first polls come sooner (1 s, then 1.5 times longer each, up to ``poll_seconds``): a
    crawl of a few new folders ends in seconds, a big one in minutes.
    """
    delay = min(1.0, poll_seconds)
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler.get("State") == "READY":
            return crawler
        if clock() >= deadline:
            raise CrawlTimeoutError(
                f"crawler {name} is still {crawler.get('State')} after the timeout; it keeps running "
                f"in AWS: check it with `aws glue get-crawler --name {name}` or wait with a longer --timeout"
            )
        sleep(delay)
        delay = min(poll_seconds, delay * 1.5)


def _catalog_tables(glue: Any, crawler: CrawlerDefinition) -> list[TableSummary]:
    """The tables the crawler writes, with partition counts: its catalog targets' tables, or
    the tables of its database that carry its prefix and that it wrote (``UPDATED_BY_CRAWLER``,
    which Glue sets)."""
    if crawler.catalog_tables:
        tables = [glue.get_table(DatabaseName=db, Name=name)["Table"] for db, name in crawler.catalog_tables]
    else:
        pages = glue.get_paginator("get_tables").paginate(DatabaseName=crawler.database)
        tables = [
            table
            for page in pages
            for table in page.get("TableList", [])
            if table["Name"].startswith(crawler.table_prefix)
            and (table.get("Parameters") or {}).get("UPDATED_BY_CRAWLER") == crawler.name
        ]
    out = []
    for table in tables:
        database = table.get("DatabaseName") or crawler.database
        params = table.get("Parameters") or {}
        out.append(
            TableSummary(
                crawler=crawler.name,
                database=database,
                table=table["Name"],
                action="crawled",
                columns=len(table.get("StorageDescriptor", {}).get("Columns", [])),
                partitions=len(existing_partitions(glue, database, table["Name"])),
                partitions_added=0,
                objects_read=int(params.get("objectCount", 0) or 0),
                objects_skipped=0,
            )
        )
    return out
