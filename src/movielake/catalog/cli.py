"""``movielake crawl``: catalog the Raw zone.

Engine rule: ``--engine local`` crawls in-process into the catalog (the local stack, whose
moto crawler registers nothing; provided by the local stack's plugin, ``movielake.plugins``);
``--engine aws`` starts the deployed crawlers. Without the
flag, the engine is ``local`` when the configured AWS endpoint (``AWS_ENDPOINT_URL`` or the
local stack's record) is on the loopback interface, and ``aws`` otherwise.
"""

from __future__ import annotations

import argparse
import sys

from movielake.cli import add_engine_argument
from movielake.config import Settings, default_engine

CRAWLER_CHOICES = ("tmdb", "csv", "all")
DESCRIPTION = (
    "Catalog the Raw zone. --engine local reads the deployed crawler definitions and does their "
    "work itself (moto's crawler registers nothing): the TMDB table inferred from the JSON, and the "
    "date partitions of the CSV tables Terraform declares; --engine aws starts the "
    "Glue crawlers and waits until they are READY. Default: local when the AWS endpoint is on the "
    "loopback interface (the local stack), else aws."
)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``movielake crawl`` to the command."""
    parser = subparsers.add_parser(
        "crawl",
        help="catalog the Raw zone (run the Glue crawlers, or crawl locally into the catalog)",
        description=DESCRIPTION,
    )
    add_engine_argument(parser, local="crawl in-process into the catalog", aws="run the Glue crawlers")
    parser.add_argument(
        "--crawler", choices=CRAWLER_CHOICES, default="all", help="which crawler (default all)"
    )
    parser.add_argument(
        "--wait",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --engine aws, wait until the crawlers are READY again (default: wait)",
    )
    parser.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds to wait for the crawlers (default 1800)"
    )
    parser.add_argument(
        "--events",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="with --engine local and the local stack up, emit each crawler's state change as Glue "
        "does, so the deployed EventBridge rules run their Lambdas (the refine; default: emit)",
    )
    parser.set_defaults(func=run)


def crawler_names(settings: Settings, which: str) -> list[str]:
    """The configured crawler names for ``tmdb``, ``csv`` or ``all``."""
    fields = {"tmdb": ["tmdb_crawler"], "csv": ["csv_crawler"], "all": ["tmdb_crawler", "csv_crawler"]}[which]
    settings.require(*fields)
    return [getattr(settings, name) for name in fields]


def run(args: argparse.Namespace) -> int:
    """Run the crawl and print its summary; non-zero when a crawler run did not succeed."""
    from movielake import aws, plugins
    from movielake.catalog.aws_crawl import CrawlTimeoutError, crawl_aws
    from movielake.cli import UserError

    settings = Settings.from_env()
    engine = args.engine or default_engine(settings)
    names = crawler_names(settings, args.crawler)
    try:
        if engine == "local":
            summary = plugins.hook("crawl_local", "movielake crawl --engine local")(settings, names)
        else:
            summary = crawl_aws(aws.client("glue", settings), names, wait=args.wait, timeout=args.timeout)
    except (LookupError, CrawlTimeoutError) as exc:
        raise UserError(str(exc)) from exc
    print(f"crawl ({engine}):")
    for line in summary.lines():
        print(f"  {line}")
    failed = [n for n, s in summary.crawler_status.items() if s.startswith(("FAILED", "CANCELLED"))]
    if failed:
        print(f"crawler run did not succeed: {', '.join(failed)}", file=sys.stderr)
        return 1
    if engine == "local" and args.events:
        return plugins.hook("deliver_crawler_events", "emitting the crawlers' events")(summary.crawler_status)
    return 0
