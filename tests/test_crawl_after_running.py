"""A crawl already running when a TMDB run completes is followed by another (issue 17, item 4).

Against moto's Glue crawler, whose crawl ends a set time after it started (moto's ``time``
state transition): the logic only uses ``StartCrawler`` and ``GetCrawler``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from conftest import NO_RETRY, REGION, define_crawler
from moto.moto_api import state_manager

from movielake import keys
from movielake.tmdb.errors import RunError
from movielake.tmdb.run import start_crawler

CRAWLER = "movielake-test-raw-tmdb"


@pytest.fixture
def glue(mock_aws_env: None) -> Iterator[Any]:
    """moto's Glue with the TMDB crawler; a crawl ends 0.3 s after it started."""
    client = boto3.client("glue", region_name=REGION, config=NO_RETRY)
    define_crawler(client, CRAWLER, keys.TMDB_MOVIES_PREFIX)
    state_manager.set_transition("glue::crawl", {"progression": "time", "seconds": 0.3})
    yield client
    state_manager.unset_transition("glue::crawl")


def crawls(glue: Any) -> list[dict[str, Any]]:
    """The crawler's crawls, oldest first."""
    return sorted(glue.list_crawls(CrawlerName=CRAWLER)["Crawls"], key=lambda c: c["StartTime"])


def test_a_crawl_running_when_the_run_completes_is_followed_by_another(glue: Any) -> None:
    glue.start_crawler(Name=CRAWLER)  # began before the run's last batch was written
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"

    start_crawler(glue, CRAWLER, wait_seconds=10, poll_seconds=0.01)

    first, second = crawls(glue)
    assert first["State"] == "COMPLETED"
    assert second["StartTime"] >= first["StartTime"]
    assert glue.get_crawler(Name=CRAWLER)["Crawler"]["State"] == "RUNNING"


def test_a_crawl_that_outlasts_the_wait_fails_the_run_loudly(glue: Any) -> None:
    state_manager.set_transition("glue::crawl", {"progression": "time", "seconds": 600})
    glue.start_crawler(Name=CRAWLER)

    with pytest.raises(RunError, match="still RUNNING: the new batches may not be cataloged"):
        start_crawler(glue, CRAWLER, wait_seconds=0.05, poll_seconds=0.01)
    assert len(crawls(glue)) == 1
