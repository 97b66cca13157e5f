"""The Glue catalog of the Raw zone: run the deployed crawlers, or crawl locally into moto.

``crawl_local`` reads the crawler definitions Terraform deployed and does what the real
crawler would (tables, SerDe, partitions), because moto's crawler only records a state.
"""

from __future__ import annotations

from movielake.catalog.crawl import CrawlSummary, TableSummary, crawl_aws, crawl_local

__all__ = ["CrawlSummary", "TableSummary", "crawl_aws", "crawl_local"]
