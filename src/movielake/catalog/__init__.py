"""The Glue catalog of the Raw zone: the deployed crawlers, their paths, types and descriptors.

``crawl_aws`` starts the crawlers Terraform deployed and waits for them. The local stack's
crawl (``movielake.local.crawl``, moto's crawler only records a state) plugs into
``movielake crawl`` through the ``movielake.plugins`` entry points.
"""

from __future__ import annotations

from movielake.catalog.aws_crawl import crawl_aws
from movielake.catalog.summary import CrawlSummary, TableSummary

__all__ = ["CrawlSummary", "TableSummary", "crawl_aws"]
