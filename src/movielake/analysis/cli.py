"""``movielake query`` (one SQL file, or all, on DuckDB or Athena) and ``movielake report``
(all of them as an HTML page, built by ``movielake.analysis.report``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from movielake.analysis.results import FORMATS
from movielake.cli import add_engine_argument
from movielake.config import Settings, default_engine

REPORT_DIR = Path("build") / "report"
LOCAL_ENGINE = "DuckDB over the lake's S3 and Glue catalog"
AWS_ENGINE = "Athena"


def register(subparsers: Any) -> None:
    """Add ``query`` and ``report`` to the command."""
    parser = subparsers.add_parser(
        "query",
        help="run an analysis SQL file (on Athena; --engine local: DuckDB)",
        description="Run one of the sql/q*.sql analyses (or all of them) and print the result.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("name", nargs="?", help="query name, e.g. q1_roi or q1")
    target.add_argument("--all", action="store_true", help="run every query")
    target.add_argument("--list", action="store_true", help="list the queries and their questions")
    add_engine_argument(parser, local=LOCAL_ENGINE, aws=AWS_ENGINE)
    parser.add_argument("--format", choices=FORMATS, default="table", help="default: table")
    parser.add_argument("--out", type=Path, help="write to this file instead of standard output")
    parser.set_defaults(func=run)

    # Declared as every command is (alike in shape to the other concerns' cli.py).
    report = subparsers.add_parser(
        "report",
        help="run the analyses and write the interactive report, one self-contained HTML file",
        description="Run every sql/q*.sql (and sql/report/films.sql, the film rows its film-level "
        "views draw) and write index.html: per question, titled by its SQL file's header, an answer, "
        "a table and an interactive chart; a decade (click a Q2 bar) or a genre filters the film-level "
        "views. The file works offline, and without JavaScript shows the answers and tables.",
    )
    add_engine_argument(report, local=LOCAL_ENGINE, aws=AWS_ENGINE)
    report.add_argument(
        "--out", type=Path, default=REPORT_DIR, help=f"output directory (default: {REPORT_DIR})"
    )
    report.set_defaults(func=run_report)


def list_queries() -> str:
    """The queries' names, titles and questions."""
    from movielake.analysis.queries import discover

    return "".join(f"{q.name}: {q.title}\n    {q.question}\n" for q in discover().values())


def run(args: argparse.Namespace) -> int:
    """Run the chosen query or queries and print (or write) the result."""
    from movielake.analysis.duckdb_engine import CatalogTableError
    from movielake.analysis.engines import fetch_all
    from movielake.analysis.queries import QueryNotFoundError
    from movielake.analysis.results import render, render_all
    from movielake.cli import UserError
    from movielake.refine.catalog import MixedRunsError

    if args.list:
        text = list_queries()
    else:
        settings = Settings.from_env()
        engine = args.engine or default_engine(settings)
        try:
            if args.all:
                text = render_all(fetch_all(settings, engine), args.format)
            else:
                ((name, result),) = fetch_all(settings, engine, names=[args.name]).items()
                text = render(name, result, args.format)
        except (QueryNotFoundError, CatalogTableError, MixedRunsError) as exc:
            raise UserError(str(exc.args[0])) from exc
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def run_report(args: argparse.Namespace) -> int:
    """Run every analysis and write the report page; print where it is."""
    from movielake.analysis.report import build_report, collect
    from movielake.analysis.report.moved import what_moved
    from movielake.analysis.report.questions import ReportHeaderError
    from movielake.cli import UserError
    from movielake.refine.catalog import MixedRunsError

    settings = Settings.from_env()
    engine = args.engine or default_engine(settings)
    try:
        results, moved_rows = collect(settings, engine=engine)
    except MixedRunsError as exc:
        raise UserError(str(exc)) from exc
    moved = what_moved(moved_rows)
    try:
        path = build_report(results, args.out, moved=moved)
    except ReportHeaderError as exc:
        raise UserError(str(exc)) from exc
    print(f"report ({engine}): {path.resolve()}")
    return 0
