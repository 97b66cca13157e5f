"""One refine: build every model into a fresh version, check, publish, report.

1. Each zone's models are written, in dependency order, under ``<Zone>/<table>/v=<run id>/``
   and cataloged as ``<table>__next``; a model reads the staged versions of the models before
   it (its SQL's table names are rewritten, nothing else).
2. After each zone, its check files run against the staged tables; a ``hard`` rule with rows
   fails the run: nothing is published, the staging entries are deleted, the previous tables
   stay as they were.
3. When every zone passed, each table is switched to its new version (``catalog.publish``).
4. The objects of older versions (and of a failed run) are tagged ``movielake-superseded``; the
   bucket's lifecycle rule expires them a day later, so a query that started on the old
   location still finishes.
5. The refine manifest (rows in and out per table, the checks with the rows dropped and why,
   duration, status) is written to ``Refined/_refine/<run id>.json`` whatever the outcome.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from movielake import aws, keys
from movielake.analysis.translate import rename_tables
from movielake.aws import list_objects
from movielake.config import Settings, default_engine
from movielake.refine.catalog import drop_table, get_table, publish, staging_name
from movielake.refine.engines import RefineEngine, make_engine
from movielake.refine.metrics import emit_refine_metrics
from movielake.refine.models import ZONES, Check, Model, discover_checks, discover_models

SUPERSEDED_TAG = {"Key": "movielake-superseded", "Value": "true"}


class QualityError(RuntimeError):
    """A hard quality rule failed; the message names the table, the rule and the rows."""


def new_run_id() -> str:
    """A sortable, unique run id: ``20261127T101500Z-1a2b3c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@dataclass
class Refine:
    """The state of one refine run, and what its manifest says."""

    engine: RefineEngine
    glue: Any
    s3: Any
    bucket: str
    database: str
    run_id: str = field(default_factory=new_run_id)
    sql_dir: Path | None = None
    progress: Callable[[str], None] | None = None
    staged: dict[str, str] = field(default_factory=dict)  # table -> staging name
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not built
    _source_rows: dict[str, int] = field(default_factory=dict)

    def location(self, model: Model) -> str:
        """``s3://<lake>/<Zone>/<table>/v=<run id>/``."""
        return f"s3://{self.bucket}/{model.version_prefix(self.run_id)}"

    def _step(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    def _count(self, table: str) -> int:
        """Rows of a table as this run sees it (a staged version when there is one)."""
        name = self.staged.get(table, table)
        if name not in self._source_rows:
            count_sql = f'SELECT count(*) FROM "{name}"'  # noqa: S608 - a name from the SQL files
            self._source_rows[name] = int(self.engine.rows(count_sql)[0][0])
        return self._source_rows[name]

    def missing_sources(self, model: Model) -> list[str]:
        """The tables a model reads that this run has neither built nor found in the catalog."""
        return sorted(
            source
            for source in model.sources
            if source in self.skipped
            or (source not in self.staged and get_table(self.glue, self.database, source) is None)
        )

    def build(self, model: Model) -> None:
        """Write one model's next version and record its rows in and out."""
        sql = rename_tables(model.statement, self.staged) if self.staged else model.statement
        started = time.monotonic()
        self.engine.write_table(sql, staging_name(model.table), self.location(model))
        self.staged[model.table] = staging_name(model.table)
        self.tables[model.table] = {
            "location": self.location(model),
            "rows_in": {source: self._count(source) for source in sorted(model.sources)},
            "rows_out": self._count(model.table),
            "seconds": round(time.monotonic() - started, 3),
        }
        self._step(f"built {model.table}")

    def check(self, check: Check) -> None:
        """Run one table's rules on its staged version; QualityError on a hard failure."""
        rows = self.engine.rows(rename_tables(check.statement, self.staged))
        results = [
            {"table": check.table, "rule": str(rule), "kind": str(kind), "rows": int(count or 0)}
            for rule, kind, count in rows
        ]
        for result in results:
            result["passed"] = result["kind"] != "hard" or result["rows"] == 0
        self.checks += results
        self._step(f"checked {check.table}")
        failed = [r for r in results if not r["passed"]]
        if failed:
            detail = "; ".join(f"{r['rule']}: {r['rows']} row(s)" for r in failed)
            raise QualityError(
                f"{check.table} breaks hard quality rules ({detail}); nothing was published, "
                f"the previous tables stay in place. See sql/checks/{check.table}.sql for the rules."
            )

    def run(self) -> None:
        """Build and check zone by zone, then publish every table; cleans up on failure."""
        models = discover_models(self.sql_dir)
        checks = {c.table: c for c in discover_checks(self.sql_dir)}
        try:
            for zone in ZONES:
                zone_models = [m for m in models if m.zone == zone]
                for model in zone_models:
                    missing = self.missing_sources(model)
                    if missing:
                        self.skipped[model.table] = f"no table {', '.join(missing)} (nothing landed yet?)"
                        self._step(f"skipped {model.table}")
                    else:
                        self.build(model)
                for model in zone_models:
                    if model.table in checks and model.table in self.staged:
                        self.check(checks[model.table])
        except BaseException:
            for name in self.staged.values():
                drop_table(self.glue, self.database, name)
            self.supersede(models, keep_own=False)
            raise
        built = [m for m in models if m.table in self.staged]
        for model in built:
            self.tables[model.table]["previous_location"] = publish(
                self.glue, self.database, model.table, self.run_id
            )
        self._step("published")
        self.supersede(built, keep_own=True)

    def supersede(self, models: list[Model], *, keep_own: bool) -> None:
        """Tag the objects of every version older than this run's (and this run's own when it
        failed) for the lifecycle rule to expire."""
        for model in models:
            prefix = keys.table_prefix(model.zone, model.stem)
            own = model.version_prefix(self.run_id)
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                for entry in page.get("CommonPrefixes", []):
                    version = entry["Prefix"]
                    if version < own or (version == own and not keep_own):
                        self._tag(version)

    def _tag(self, prefix: str) -> None:
        for item in list_objects(self.s3, self.bucket, prefix):
            self.s3.put_object_tagging(
                Bucket=self.bucket, Key=item["Key"], Tagging={"TagSet": [SUPERSEDED_TAG]}
            )


def refine(refiner: Refine) -> dict[str, Any]:
    """Run a refine and write its manifest (also when it fails, then re-raise); returns it."""
    started_at = datetime.now(UTC)
    started = time.monotonic()
    error: BaseException | None = None
    try:
        refiner.run()
    except BaseException as exc:
        error = exc
    manifest = {
        "run_id": refiner.run_id,
        "engine": refiner.engine.name,
        "status": "succeeded" if error is None else "failed",
        "error": None if error is None else f"{type(error).__name__}: {error}",
        "started_at": started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": round(time.monotonic() - started, 3),
        "tables": refiner.tables,
        "skipped": refiner.skipped,
        "checks": refiner.checks,
        "dropped": [c for c in refiner.checks if c["kind"] in {"dropped", "nulled"} and c["rows"]],
    }
    refiner.s3.put_object(
        Bucket=refiner.bucket,
        Key=keys.refine_manifest_key(refiner.run_id),
        Body=json.dumps(manifest, indent=2).encode(),
        ContentType="application/json",
    )
    emit_refine_metrics(manifest)
    if error is not None:
        raise error
    return manifest


def run_refine(
    settings: Settings,
    engine: str | None = None,
    *,
    glue: Any = None,
    s3: Any = None,
    progress: Callable[[str], None] | None = None,
    sql_dir: Path | None = None,
) -> dict[str, Any]:
    """Refine the configured lake on ``engine``, ``local`` (DuckDB) or ``aws`` (Athena), by
    default local on the local stack; returns the manifest, or raises (QualityError, an engine
    error) after writing it."""
    settings.require("lake_bucket", "glue_database")
    glue = glue or aws.client("glue", settings)
    s3 = s3 or aws.client("s3", settings)
    session = make_engine(settings, engine or default_engine(settings), glue=glue, s3=s3)
    try:
        refiner = Refine(
            engine=session,
            glue=glue,
            s3=s3,
            bucket=settings.lake_bucket,
            database=settings.glue_database,
            sql_dir=sql_dir,
            progress=progress,
        )
        return refine(refiner)
    finally:
        session.close()
