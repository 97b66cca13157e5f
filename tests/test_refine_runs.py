"""One refine at a time, its deadline, and whole publishes, on the local engine over moto.

Uses the Raw lake of tests/test_refine.py (80 films, 10 series). Each test shows a way two
runs, a slow run or a failed switch could leave the lake half-written, and that it does not.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pandas as pd
import pytest
from conftest import LAKE_BUCKET, endless_query
from test_refine import DATABASE, InterruptingEngine, lake, location, objects, table_names, tags

from movielake import aws, keys
from movielake.analysis.engines import run_all
from movielake.cli import main
from movielake.lease import LeaseHeldError
from movielake.refine import engines, handler
from movielake.refine.catalog import VERSION_PARAMETER, MixedRunsError, is_staging_of, table_input
from movielake.refine.deadline import Deadline, DeadlineExceededError
from movielake.refine.run import SUPERSEDED_TAG, QualityError, Refine, refine, refine_lease, run_refine

__all__ = ["lake"]  # the fixture, shared with tests/test_refine.py


def manifests(s3: Any) -> list[dict[str, Any]]:
    """Every refine manifest in the lake, oldest first."""
    import json

    found = [k for k in objects(s3, keys.REFINE_MANIFESTS_PREFIX) if k != keys.REFINE_LEASE_KEY]
    return [json.loads(s3.get_object(Bucket=LAKE_BUCKET, Key=k)["Body"].read()) for k in sorted(found)]


def published(glue: Any, names: Any) -> dict[str, str]:
    return {name: location(glue, name) for name in names}


# ------------------------------------------------------------------------------ single flight


def test_two_refines_started_together_make_one_run(lake: dict) -> None:
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def one() -> None:
        start.wait()
        try:
            outcomes.append(run_refine(lake["settings"], "local"))
        except LeaseHeldError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=one) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    [manifest] = [o for o in outcomes if isinstance(o, dict)]
    [refused] = [o for o in outcomes if isinstance(o, LeaseHeldError)]
    assert str(refused).startswith("another refine is running: ")
    assert f"s3://{LAKE_BUCKET}/{keys.REFINE_LEASE_KEY}" in str(refused)
    assert [m["run_id"] for m in manifests(lake["s3"])] == [manifest["run_id"]]  # one run
    assert all(location(lake["glue"], t) == f["location"] for t, f in manifest["tables"].items())
    assert not [t for t in table_names(lake["glue"]) if is_staging_of(t)]
    assert not objects(lake["s3"], keys.REFINE_LEASE_KEY)  # released


def test_a_second_movielake_refine_exits_saying_who_holds_the_lease(
    lake: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    other = refine_lease(lake["s3"], LAKE_BUCKET, "20260301T000000Z-abcdef", 600)
    other.acquire()
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    monkeypatch.setenv("MOVIELAKE_GLUE_DATABASE", DATABASE)

    assert main(["refine", "--engine", "local"]) == 2
    error = capsys.readouterr().err
    assert f"movielake refine: error: another refine is running: {other.owner} holds " in error
    assert "--wait" in error
    assert manifests(lake["s3"]) == [] and "trusted_films" not in table_names(lake["glue"])

    other.release()
    assert main(["refine", "--engine", "local"]) == 0
    assert [m["status"] for m in manifests(lake["s3"])] == ["succeeded"]


class PausingEngine(InterruptingEngine):
    """Delegates to the DuckDB engine; at the n-th table write, waits until released."""

    def __init__(self, inner: Any, pause_at: int) -> None:
        super().__init__(inner, die_at=0)
        self.pause_at, self.paused, self.go_on = pause_at, threading.Event(), threading.Event()

    def write_table(self, sql: str, table: str, location: str) -> None:
        self.writes += 1
        if self.writes == self.pause_at:
            self.paused.set()
            assert self.go_on.wait(120), "never released"
        self.inner.write_table(sql, table, location)


def test_a_publishing_refine_never_tags_a_run_in_progress(lake: dict) -> None:
    """Run A has staged its first tables and stalls (it lost its lease, or started without
    one); run B publishes meanwhile. B tags only the version it replaced, never A's folders;
    A, publishing later, tags B's."""
    first = run_refine(lake["settings"], "local")
    s3, glue = lake["s3"], lake["glue"]
    engine = PausingEngine(engines.make_engine(lake["settings"], "local", glue=glue, s3=s3), pause_at=3)
    a = Refine(engine=engine, glue=glue, s3=s3, bucket=LAKE_BUCKET, database=DATABASE)
    thread = threading.Thread(target=refine, args=(a,))
    thread.start()
    try:
        assert engine.paused.wait(120)
        a_objects = [k for k in objects(s3, "Trusted/") if f"/v={a.run_id}/" in k]
        assert a_objects  # A's first tables are written
        time.sleep(1.1)  # B's run id sorts after A's, as a later run's does
        b = run_refine(lake["settings"], "local")
        assert a.run_id < b["run_id"]
        for key in a_objects:
            assert SUPERSEDED_TAG not in tags(s3, key), key  # A's folder, in progress: untouched
        assert [t for t in table_names(glue) if is_staging_of(t, a.run_id)]  # A's staging kept
        for key in objects(s3, f"Trusted/films/v={first['run_id']}/"):
            assert SUPERSEDED_TAG in tags(s3, key)  # what B replaced
    finally:
        engine.go_on.set()
        thread.join(timeout=300)
    assert location(glue, "trusted_films") == a.tables["trusted_films"]["location"]
    for key in objects(s3, f"Trusted/films/v={a.run_id}/"):
        assert SUPERSEDED_TAG not in tags(s3, key)  # A's published version stays live
    for key in objects(s3, f"Trusted/films/v={b['run_id']}/"):
        assert SUPERSEDED_TAG in tags(s3, key)  # the version A replaced


# ---------------------------------------------------------------------------------- deadline


class SlowEngine(InterruptingEngine):
    """Delegates to the DuckDB engine; its first table write runs a query that would take
    hours, until ``stop`` interrupts it."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner, die_at=0)
        self.stopped = 0

    def write_table(self, sql: str, table: str, location: str) -> None:
        self.writes += 1
        sql = endless_query("csv_movies", "numerovotos") if self.writes == 1 else sql
        self.inner.write_table(sql, table, location)

    def stop(self) -> None:
        self.stopped += 1
        self.inner.stop()


def test_a_refine_at_its_deadline_stops_its_query_cleans_up_and_reports_timed_out(lake: dict) -> None:
    first = run_refine(lake["settings"], "local")
    before = published(lake["glue"], first["tables"])
    s3, glue = lake["s3"], lake["glue"]
    engine = SlowEngine(engines.make_engine(lake["settings"], "local", glue=glue, s3=s3))
    slow = Refine(
        engine=engine, glue=glue, s3=s3, bucket=LAKE_BUCKET, database=DATABASE, deadline=Deadline.after(3)
    )
    started = time.monotonic()
    with pytest.raises(DeadlineExceededError, match="reached its deadline"):
        refine(slow)
    assert time.monotonic() - started < 30  # the endless query was stopped at the deadline
    assert engine.stopped == 1
    [_, manifest] = manifests(s3)
    assert manifest["run_id"] == slow.run_id and manifest["status"] == "timed_out"
    assert published(glue, first["tables"]) == before
    assert not [t for t in table_names(glue) if is_staging_of(t)]
    for key in [k for k in objects(s3, "Trusted/") if f"/v={slow.run_id}/" in k]:
        assert SUPERSEDED_TAG in tags(s3, key)


class Context:
    """A Lambda context with ``seconds`` left."""

    def __init__(self, seconds: float) -> None:
        self.until = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return int((self.until - time.monotonic()) * 1000)


@pytest.mark.parametrize(
    ("error", "calls"),
    [
        (QualityError("money_non_negative: 1 row(s)"), 1),
        (DeadlineExceededError("late"), 1),
        (OSError("x"), 2),
    ],
)
def test_the_handler_retries_only_what_may_pass(
    monkeypatch: pytest.MonkeyPatch, error: Exception, calls: int
) -> None:
    """A failed hard rule or a timeout is not run again; another failure is, up to
    ``refine_attempts`` runs; every one ends in an error (the on-failure destination's alarm)."""
    seen: list[Deadline | None] = []

    def failing(settings: Any, engine: str, **kwargs: Any) -> dict[str, Any]:
        assert engine == "aws"  # the Lambda refines on Athena wherever it runs
        seen.append(kwargs["deadline"])
        raise error

    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    monkeypatch.setenv("MOVIELAKE_REFINE_DEADLINE_MARGIN_SECONDS", "40")
    monkeypatch.setattr(handler, "run_refine", failing)
    with pytest.raises(type(error)):
        handler.handler({"detail-type": "Glue Crawler State Change"}, Context(900))
    assert len(seen) == calls
    assert seen[0] is not None and 850 < seen[0].remaining() <= 860  # 900 s less the margin


# ---------------------------------------------------------------------------- whole publishes


def test_a_publish_failing_midway_is_undone(lake: dict) -> None:
    first = run_refine(lake["settings"], "local")
    before = published(lake["glue"], first["tables"])
    answers = run_all(lake["settings"], "local")
    glue = aws.client("glue", lake["settings"])
    switches: list[str] = []

    def third_switch_fails(params: dict[str, Any], **_: Any) -> None:
        switches.append(params["TableInput"]["Name"])
        if len(switches) == 3:
            raise ConnectionError("Glue went away during the switch")

    glue.meta.events.register("provide-client-params.glue.UpdateTable", third_switch_fails)
    with pytest.raises(ConnectionError):
        run_refine(lake["settings"], "local", glue=glue)
    assert len(switches) > 3  # two switched, one failed, the two switched back
    assert published(lake["glue"], first["tables"]) == before
    assert not [t for t in table_names(lake["glue"]) if is_staging_of(t)]
    assert manifests(lake["s3"])[-1]["status"] == "failed"
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)


def test_the_query_path_refuses_tables_of_two_runs(
    lake: dict, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """What a kill in the middle of the switch leaves (one table of the new run, the rest of
    the old): ``movielake query`` refuses rather than answer from both; a refine mends it."""
    run_refine(lake["settings"], "local")
    answers = run_all(lake["settings"], "local")
    glue = lake["glue"]
    table = glue.get_table(DatabaseName=DATABASE, Name="refined_film_facts")["Table"]
    other_run = "20991231T000000Z-ffffff"
    glue.update_table(
        DatabaseName=DATABASE, TableInput=table_input(table, table["Name"], **{VERSION_PARAMETER: other_run})
    )
    with pytest.raises(MixedRunsError, match=f"refined_film_facts from {other_run}"):
        run_all(lake["settings"], "local")
    monkeypatch.setenv("MOVIELAKE_LAKE_BUCKET", LAKE_BUCKET)
    monkeypatch.setenv("MOVIELAKE_GLUE_DATABASE", DATABASE)
    assert main(["query", "--all"]) == 2
    assert "come from different refine runs" in capsys.readouterr().err

    run_refine(lake["settings"], "local")
    for name, frame in run_all(lake["settings"], "local").items():
        pd.testing.assert_frame_equal(frame, answers[name], obj=name)
