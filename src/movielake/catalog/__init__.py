"""The Glue catalog of the Raw zone: the deployed crawlers, their paths, types and descriptors.

``crawl_aws`` starts the crawlers Terraform deployed and waits for them, on AWS and on the
local stack alike (whose moto server runs the crawler stand-in, ``movielake.local.glue``).
"""

from __future__ import annotations

from movielake.catalog.aws_crawl import crawl_aws
from movielake.catalog.summary import CrawlSummary, TableSummary

__all__ = ["CrawlSummary", "TableSummary", "crawl_aws"]
