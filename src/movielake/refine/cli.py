"""``movielake refine``: build Trusted and Refined from Raw, check, publish, report."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from movielake.cli import add_engine_argument
from movielake.config import Settings


def register(subparsers: Any) -> None:
    """Add ``refine`` to the command."""
    parser = subparsers.add_parser(
        "refine",
        help="build the Trusted and Refined tables from Raw (on Athena; --engine local: DuckDB)",
        description=(
            "Run sql/trusted/*.sql and sql/refined/*.sql into new Parquet versions under "
            "Trusted/ and Refined/, run the quality checks of sql/checks/, then switch each Glue "
            "table to its new version. A failed hard check publishes nothing. The refine "
            "manifest is written to Refined/_refine/<run id>.json. One refine runs at a time "
            "(the lease Refined/_refine/lease.json)."
        ),
    )
    add_engine_argument(parser, local="DuckDB, writing to the lake's S3 and Glue", aws="Athena")
    parser.add_argument(
        "--wait",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="when another refine is running (one at a time), wait up to SECONDS for it "
        "instead of stopping at once (default 0)",
    )
    parser.set_defaults(func=run)


def summary(manifest: dict[str, Any]) -> str:
    """The manifest as a few lines: rows per table, what was dropped, where the report is."""
    lines = [f"refine {manifest['run_id']} on {manifest['engine']}: {manifest['status']}"]
    for table, figures in manifest["tables"].items():
        rows_in = ", ".join(f"{source} {count:,}" for source, count in figures["rows_in"].items())
        lines.append(f"  {table}: {figures['rows_out']:,} rows (from {rows_in})")
    for table, why in manifest.get("skipped", {}).items():
        lines.append(f"  {table}: skipped, {why}")
    for dropped in manifest["dropped"]:
        lines.append(f"  {dropped['table']}: {dropped['rows']:,} {dropped['kind']} ({dropped['rule']})")
    lines.append(f"  {manifest['duration_seconds']:.1f} s")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Refine with a progress bar; one clear line when a quality rule or the engine fails."""
    from tqdm import tqdm

    from movielake.analysis.duckdb_engine import CatalogTableError
    from movielake.cli import UserError
    from movielake.keys import REFINE_MANIFESTS_PREFIX
    from movielake.lease import LeaseHeldError
    from movielake.refine.athena import AthenaQueryError
    from movielake.refine.models import ModelError, discover_models
    from movielake.refine.run import QualityError, run_refine

    settings = Settings.from_env()
    steps = len(discover_models()) * 2 + 1  # build and check (at most) each, then publish
    with tqdm(total=steps, desc="refine", unit="step", file=sys.stderr) as bar:

        def progress(what: str) -> None:
            bar.set_postfix_str(what)
            bar.update(1)

        try:
            manifest = run_refine(settings, args.engine, progress=progress, wait_seconds=args.wait)
        except LeaseHeldError as exc:
            raise UserError(str(exc)) from exc
        except (QualityError, CatalogTableError, AthenaQueryError, ModelError) as exc:
            report = f"s3://{settings.lake_bucket}/{REFINE_MANIFESTS_PREFIX}"
            raise UserError(f"{exc} The run's report is the newest object under {report}") from exc
        bar.update(steps - bar.n)
    sys.stdout.write(summary(manifest))
    return 0
