"""``movielake crawl``: catalog the Raw zone by running the deployed Glue crawlers.

One code path, the AWS one (:func:`movielake.catalog.aws_crawl.crawl_aws`): start the crawlers,
wait until they are READY again, summarise their last crawl and tables. On the local stack the
crawlers are the moto server's stand-in, which crawls as the crawler role and puts each run's
state change on the default bus, where the deployed rules deliver it (the refine after the
TMDB crawler; locally the runtime's pump, e.g. ``movielake local pump``, delivers it).
"""

from __future__ import annotations

import argparse
import sys

from movielake.config import Settings

CRAWLER_CHOICES = ("tmdb", "csv", "all")
DESCRIPTION = (
    "Catalog the Raw zone: start the deployed Glue crawlers and wait until they are READY again, "
    "then print each crawler's last crawl (SUCCEEDED, FAILED or CANCELLED, with its error) and "
    "the tables it writes. The TMDB crawler's success triggers the refine Lambda (EventBridge rule); "
    "on the local stack `movielake local pump` delivers that event."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake crawl`` to the command."""
    parser = subparsers.add_parser(
        "crawl", help="catalog the Raw zone (run the Glue crawlers)", description=DESCRIPTION
    )
    parser.add_argument(
        "--engine",
        choices=("aws",),
        default="aws",
        help="aws: the Glue crawlers (the only engine: the local stack's crawlers are Glue's stand-in)",
    )
    parser.add_argument(
        "--crawler", choices=CRAWLER_CHOICES, default="all", help="which crawler (default all)"
    )
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="wait until the crawlers are READY again (default: wait)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for the crawlers (default 1800)"
    )
    parser.set_defaults(func=run)


def crawler_names(settings: Settings, which: str) -> list[str]:
    """The configured crawler names for ``tmdb``, ``csv`` or ``all``."""
    fields = {"tmdb": ["tmdb_crawler"], "csv": ["csv_crawler"], "all": ["tmdb_crawler", "csv_crawler"]}[which]
    settings.require(*fields)
    return [getattr(settings, name) for name in fields]


def run(args: argparse.Namespace) -> int:
    """Run the crawlers and print their summary; non-zero when a crawler run did not succeed."""
    from movielake import aws
    from movielake.catalog.aws_crawl import CrawlTimeoutError, crawl_aws
    from movielake.cli import UserError

    settings = Settings.from_env()
    names = crawler_names(settings, args.crawler)
    try:
        summary = crawl_aws(aws.client("glue", settings), names, wait=args.wait, timeout=args.timeout)
    except (LookupError, CrawlTimeoutError) as exc:
        raise UserError(str(exc)) from exc
    print("crawl:")
    for line in summary.lines():
        print(f"  {line}")
    failed = [n for n, s in summary.crawler_status.items() if s.startswith(("FAILED", "CANCELLED"))]
    if failed:
        print(f"crawler run did not succeed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0
