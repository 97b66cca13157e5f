"""The refine's run metrics (issue 17): EMF lines whose figures are the manifest's, after real
refines on the moto server with DuckDB, one that succeeds and one that a hard rule fails."""

from __future__ import annotations

from typing import Any

import pytest
from test_refine import DAY2, add_tmdb_day, lake  # noqa: F401 - the fixture, shared

from movielake.local import metric_lines
from movielake.refine.run import QualityError, run_refine


def emitted(out: str) -> list[dict[str, Any]]:
    """The metric sets of the EMF lines in ``out``."""
    return [metric_lines.figures(r) for r in map(metric_lines.emf_line, out.splitlines()) if r]


def test_a_refine_emits_success_checks_and_rows_per_table(
    lake: dict,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "movielake-test-refine")
    capsys.readouterr()
    manifest = run_refine(lake["settings"], "local")
    [run_set, *per_table] = emitted(capsys.readouterr().out)

    assert run_set == {
        "namespace": "movielake",
        "dimensions": {"service": "refine"},
        "metrics": {"RefineSucceeded": 1, "ChecksFailed": 0, "TablesBuilt": len(manifest["tables"])},
    }
    rows = {(s["dimensions"]["table"], name): v for s in per_table for name, v in s["metrics"].items()}
    for table, figures in manifest["tables"].items():
        assert rows[(table, "RowsOut")] == figures["rows_out"]
        assert rows[(table, "RowsIn")] == sum(figures["rows_in"].values())
    assert rows[("trusted_films", "RowsOut")] == len({f.imdb_id for f in lake["films"]})

    bad = dict(lake["records"][0], budget=-5, ingested_at="2026-03-02T09:00:00.000000Z")
    add_tmdb_day(lake["settings"].endpoint_url, [bad], DAY2)
    with pytest.raises(QualityError):
        run_refine(lake["settings"], "local")
    [failed_set, *_] = emitted(capsys.readouterr().out)
    assert failed_set["metrics"]["RefineSucceeded"] == 0  # the staleness alarm's metric
    assert failed_set["metrics"]["ChecksFailed"] == 1


def test_no_metric_line_outside_a_lambda(lake: dict, capsys: pytest.CaptureFixture[str]) -> None:  # noqa: F811
    capsys.readouterr()
    run_refine(lake["settings"], "local")
    assert emitted(capsys.readouterr().out) == []
