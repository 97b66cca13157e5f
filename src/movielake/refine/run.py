"""One refine: build every model into a fresh version, check, publish, report.

0. One refine at a time: the run holds the refine lease (``Refined/_refine/lease.json``,
   ``movielake.lease``) from start to end, CLI and Lambda alike. A run that takes over the
   expired lease of one that died finishes that run's cleanup (its staging tables and
   folders): the dead run can no longer publish, because a run renews its lease right before
   publishing and gives up when it lost it.
1. Each zone's models are written, in dependency order, under ``<Zone>/<table>/v=<run id>/``
   and cataloged as ``<table>__next_<run id>``; a model reads the staged versions of the
   models before it (its SQL's table names are rewritten, nothing else).
2. After each zone, its check files run against the staged tables; a ``hard`` rule with rows
   fails the run: nothing is published, the staging entries are deleted, the previous tables
   stay as they were.
3. When every zone passed, each table is switched to its new version (``catalog.publish``);
   when one switch fails, the tables already switched are switched back, so a publish is
   whole or undone. Every published table names its run, and the query path refuses tables of
   two runs (``catalog.refuse_mixed_runs``), which only a kill in the middle of the switch can
   leave, until the next refine publishes.
4. The versions no table points at whose run has ended (it wrote its manifest, or died) are
   tagged ``movielake-superseded``, and when this run failed, its own; the bucket's lifecycle
   rule expires them a day later, so a query that started on the old location still
   finishes. Nothing of a run in progress is tagged: it has no manifest yet.
5. A deadline (the Lambda's remaining time less a margin) stops the running queries
   (``engine.stop``), cleans up as a failure does, and ends the run ``timed_out``.
6. The refine manifest (rows in and out per table, the checks with the rows dropped and why,
   duration, status: ``succeeded``, ``failed`` or ``timed_out``) is written to
   ``Refined/_refine/<run id>.json`` whatever the outcome.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from movielake import aws, keys
from movielake.analysis.translate import rename_tables
from movielake.aws import list_objects
from movielake.config import Settings, default_engine
from movielake.lease import Lease, holding
from movielake.refine.catalog import (
    drop_table,
    get_table,
    is_staging_of,
    location_of,
    publish,
    staging_name,
    unpublish,
)
from movielake.refine.deadline import Deadline, DeadlineExceededError, watchdog
from movielake.refine.engines import RefineEngine, make_engine
from movielake.refine.metrics import emit_refine_metrics
from movielake.refine.models import ZONES, Check, Model, discover_checks, discover_models

SUPERSEDED_TAG = {"Key": "movielake-superseded", "Value": "true"}

log = logging.getLogger(__name__)


class QualityError(RuntimeError):
    """A hard quality rule failed; the message names the table, the rule and the rows."""


class LeaseLostError(RuntimeError):
    """Another refine took this run's lease over (it ran past the lease's length unrenewed)."""


def new_run_id() -> str:
    """A sortable, unique run id: ``20261127T101500Z-1a2b3c``."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def refine_lease(s3: Any, bucket: str, run_id: str, seconds: float) -> Lease:
    """The lease one refine holds while it runs (its document names the run)."""
    report = f"s3://{bucket}/{keys.REFINE_MANIFESTS_PREFIX}"
    hint = f"Wait for it to finish (its manifest appears under {report}) or add --wait; "
    return Lease(
        s3, bucket, keys.REFINE_LEASE_KEY, seconds, what="refine", hint=hint, details={"run_id": run_id}
    )


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
    deadline: Deadline | None = None
    lease: Lease | None = None  # renewed right before publishing: a run that lost it stops
    staged: dict[str, str] = field(default_factory=dict)  # table -> staging name
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # table -> why it was not built
    dead_runs: set[str] = field(default_factory=set)  # runs that died, whose lease this one took
    _source_rows: dict[str, int] = field(default_factory=dict)

    def location(self, model: Model) -> str:
        """``s3://<lake>/<Zone>/<table>/v=<run id>/``."""
        return f"s3://{self.bucket}/{model.version_prefix(self.run_id)}"

    def _step(self, what: str) -> None:
        if self.progress is not None:
            self.progress(what)

    def _in_time(self, what: str) -> None:
        if self.deadline is not None:
            self.deadline.check(what)

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
        self._in_time(f"building {model.table}")
        sql = rename_tables(model.statement, self.staged) if self.staged else model.statement
        started = time.monotonic()
        staged = staging_name(model.table, self.run_id)
        self.staged[model.table] = staged  # before the write: a failed write may leave the entry
        self.engine.write_table(sql, staged, self.location(model))
        self.tables[model.table] = {
            "location": self.location(model),
            "rows_in": {source: self._count(source) for source in sorted(model.sources)},
            "rows_out": self._count(model.table),
            "seconds": round(time.monotonic() - started, 3),
        }
        self._step(f"built {model.table}")

    def check(self, check: Check) -> None:
        """Run one table's rules on its staged version; QualityError on a hard failure."""
        self._in_time(f"checking {check.table}")
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

    def build_and_check(self, models: list[Model], checks: dict[str, Check]) -> None:
        """Stage every model zone by zone, checking each zone before the next reads it."""
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

    def run(self) -> None:
        """Build and check, then publish every table; cleans up on failure or at the deadline."""
        models = discover_models(self.sql_dir)
        checks = {c.table: c for c in discover_checks(self.sql_dir)}
        try:
            with watchdog(self.deadline, self.engine.stop):
                self.build_and_check(models, checks)
            self._in_time("publishing")
            if self.lease is not None and not self.lease.renew():
                raise LeaseLostError(
                    f"refine {self.run_id} lost its lease to another refine before publishing; "
                    "it published nothing (the other run publishes)"
                )
            self.publish_all([m for m in models if m.table in self.staged])
        except BaseException as exc:
            try:
                self.abandon(models)
            except Exception:  # the first failure is the one to report; the rerun cleans up
                log.exception("refine %s: the cleanup after its failure failed too", self.run_id)
            if self.deadline is not None and self.deadline.passed and not isinstance(exc, QualityError):
                raise DeadlineExceededError(
                    f"refine {self.run_id} reached its deadline: its queries were stopped, its "
                    "staging tables dropped, nothing was published"
                ) from exc
            raise
        for name in self.staged.values():
            drop_table(self.glue, self.database, name)
        self.supersede(models)

    def publish_all(self, built: list[Model]) -> None:
        """Switch every built table to this run's version; on a failure, switch back the ones
        already switched (whole or undone), then re-raise."""
        previous: dict[str, dict[str, Any] | None] = {}
        try:
            for model in built:
                previous[model.table] = publish(self.glue, self.database, model.table, self.run_id)
        except BaseException:
            try:
                for table, before in reversed(previous.items()):
                    unpublish(self.glue, self.database, table, before)
            except Exception:  # the query path refuses the two runs' tables until a refine
                log.exception("refine %s: switching the tables back failed", self.run_id)
            raise
        for table, before in previous.items():
            self.tables[table]["previous_location"] = location_of(before)
        self._step("published")

    def abandon(self, models: list[Model]) -> None:
        """A failed run's cleanup: drop its staging entries, tag the folders it wrote."""
        for name in self.staged.values():
            drop_table(self.glue, self.database, name)
        for model in models:
            self._tag_unless_published(model, model.version_prefix(self.run_id))

    def supersede(self, models: list[Model]) -> None:
        """Tag every version that is not published and whose run has ended: this run's
        replaced versions, those a run killed after publishing left untagged, a dead run's.
        A run has ended when it wrote its manifest (or died: ``finish_dead_run``); a run in
        progress has none, so nothing of it is ever tagged."""
        for model in models:
            pages = self.s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=keys.table_prefix(model.zone, model.stem), Delimiter="/"
            )
            for page in pages:
                for entry in page.get("CommonPrefixes", []):
                    folder = entry["Prefix"]
                    run_id = folder.rstrip("/").rpartition(keys.VERSION_FOLDER)[2]
                    if run_id != self.run_id and self._ended(run_id):
                        self._tag_unless_published(model, folder)

    def _ended(self, run_id: str) -> bool:
        """True when run ``run_id`` wrote its manifest or died (its lease was taken over)."""
        if run_id in self.dead_runs:
            return True
        try:
            self.s3.head_object(Bucket=self.bucket, Key=keys.refine_manifest_key(run_id))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def _tag_unless_published(self, model: Model, folder: str) -> None:
        """Tag ``folder``'s objects unless the table points at it or they are tagged already."""
        if location_of(get_table(self.glue, self.database, model.table)) == f"s3://{self.bucket}/{folder}":
            return
        found = list(list_objects(self.s3, self.bucket, folder))
        tagged = bool(found) and SUPERSEDED_TAG in self.s3.get_object_tagging(
            Bucket=self.bucket, Key=found[-1]["Key"]
        ).get("TagSet", [])
        if not tagged:
            self._tag(folder)

    def finish_dead_run(self, dead_run_id: str) -> None:
        """Clean up after the run whose expired lease this one took over (it died: a kill, a
        Lambda timeout): drop its staging entries; its folders count as ended (``supersede``)."""
        self.dead_runs.add(dead_run_id)
        for page in self.glue.get_paginator("get_tables").paginate(DatabaseName=self.database):
            for table in page.get("TableList", []):
                if is_staging_of(table["Name"], dead_run_id):
                    drop_table(self.glue, self.database, table["Name"])

    def _tag(self, prefix: str) -> None:
        for item in list_objects(self.s3, self.bucket, prefix):
            self.s3.put_object_tagging(
                Bucket=self.bucket, Key=item["Key"], Tagging={"TagSet": [SUPERSEDED_TAG]}
            )


def status_of(error: BaseException | None) -> str:
    """The manifest's status for a run that ended with ``error``."""
    if error is None:
        return "succeeded"
    return "timed_out" if isinstance(error, DeadlineExceededError) else "failed"


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
        "status": status_of(error),
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
    deadline: Deadline | None = None,
    wait_seconds: float = 0.0,
) -> dict[str, Any]:
    """Refine the configured lake on ``engine``, ``local`` (DuckDB) or ``aws`` (Athena), by
    default local on the local stack, holding the refine lease (``LeaseHeldError`` when another
    refine holds it past ``wait_seconds``); returns the manifest, or raises (QualityError,
    DeadlineExceededError, an engine error) after writing it."""
    settings.require("lake_bucket", "glue_database")
    glue = glue or aws.client("glue", settings)
    s3 = s3 or aws.client("s3", settings)
    run_id = new_run_id()
    lease = refine_lease(s3, settings.lake_bucket, run_id, settings.refine_lease_seconds)
    with holding(lease, wait_seconds=wait_seconds):
        session = make_engine(settings, engine or default_engine(settings), glue=glue, s3=s3)
        try:
            refiner = Refine(
                engine=session,
                glue=glue,
                s3=s3,
                bucket=settings.lake_bucket,
                database=settings.glue_database,
                run_id=run_id,
                sql_dir=sql_dir,
                progress=progress,
                deadline=deadline,
                lease=lease,
            )
            dead = (lease.took_over or {}).get("run_id")
            if dead:
                refiner.finish_dead_run(dead)
            return refine(refiner)
        finally:
            session.close()
