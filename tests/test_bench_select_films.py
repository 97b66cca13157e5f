"""``bench/select_films.py --csv PATH`` measures any PB movies CSV, ``\\N`` in numeric columns too."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from movielake.ingest.schema import MOVIE_COLUMNS
from movielake.local import synthetic

BENCH = Path(__file__).resolve().parents[1] / "bench" / "select_films.py"
YEAR, VOTES, GENRE = (MOVIE_COLUMNS.index(c) for c in ("anoLancamento", "numeroVotos", "genero"))


def bench_module():  # type: ignore[no-untyped-def]
    """The benchmark script as a module (bench/ is not a package)."""
    spec = importlib.util.spec_from_file_location("select_films_bench", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def selected(rows: list[list[str]]) -> set[str]:
    """The default filters in plain Python: year > 1960, votes > 10000, crime or war; ``\\N`` fails."""

    def number(value: str) -> int:
        return int(value) if value != "\\N" else -1

    return {
        row[0]
        for row in rows
        if number(row[YEAR]) > 1960
        and number(row[VOTES]) > 10000
        and {"crime", "war"} & {g.strip().lower() for g in row[GENRE].split(",")}
    }


def test_the_bench_measures_a_csv_whose_numeric_columns_hold_null(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    header, *lines = "".join(synthetic.csv_text(synthetic.films(400))).splitlines()
    rows = [line.split("|") for line in lines]
    for number, row in enumerate(rows):  # every seventh row unknown year, every fifth unknown votes
        if number % 7 == 0:
            row[YEAR] = "\\N"
        if number % 5 == 0:
            row[VOTES] = "\\N"
    path = tmp_path / "movies.csv"
    path.write_text("\n".join([header, *("|".join(r) for r in rows)]) + "\n")
    expected = selected(rows)
    assert 0 < len(expected) < len({r[0] for r in rows})

    assert bench_module().main(["--csv", str(path), "--runs", "1", "--json"]) == 0

    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["ids"] == len(expected)
    assert figures["duckdb"]["ids"] == len(expected)
    assert figures["same_ids_as_duckdb"] is True
