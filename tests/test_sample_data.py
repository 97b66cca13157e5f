"""The committed sample data is exactly what scripts/make_sample_data.py generates, and is coherent."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from movielake.ingest.validation import validate_file
from movielake.local import synthetic

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
FILES = ("movies.csv", "series.csv", "tmdb/movies.ndjson")


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """The script's output in a fresh folder, and the counts it printed."""
    out = tmp_path_factory.mktemp("sample")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_data.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out, json.loads(done.stdout)


@pytest.mark.parametrize("name", FILES)
def test_committed_sample_equals_generated(generated: tuple[Path, dict[str, int]], name: str) -> None:
    out, _ = generated
    assert (SAMPLE / name).read_bytes() == (out / name).read_bytes(), (
        f"data/sample/{name} is stale: run scripts/make_sample_data.py and commit the result"
    )


def test_the_readme_quotes_the_generated_counts(generated: tuple[Path, dict[str, int]]) -> None:
    _, counts = generated
    readme = " ".join((SAMPLE / "README.md").read_text().split())
    assert counts["films"] == 300 and counts["series"] == 60
    assert f"{counts['movie_rows']:,} data rows" in readme
    assert f"{counts['series_rows']:,} data rows" in readme
    assert (
        f"{counts['known_to_tmdb']} films ({counts['films'] - counts['known_to_tmdb']} of the 300" in readme
    )
    assert f"select **{counts['selected']} films**" in readme
    assert f"**{counts['selected_unknown']}** of those are unknown to TMDB" in readme
    assert f"**{counts['with_roi']} have a ROI**" in readme
    assert f"**{counts['hidden_gems']} hidden gems**" in readme
    assert f"**{counts['decades']} decades**" in readme and f"**{counts['hit_months']} months**" in readme


def test_the_sample_answers_every_question(generated: tuple[Path, dict[str, int]]) -> None:
    """Issue 8: at least two hidden gems, films in five decades, hits in six months."""
    _, counts = generated
    assert counts["hidden_gems"] >= 2 and counts["decades"] >= 5 and counts["hit_months"] >= 6


def test_the_csvs_pass_ingest_validation() -> None:
    assert validate_file(SAMPLE / "movies.csv").rows == 1036
    assert validate_file(SAMPLE / "series.csv").rows == 219


def test_tmdb_fixtures_cover_exactly_the_known_films_of_movies_csv() -> None:
    films = {film.imdb_id: film for film in synthetic.films(300, 7)}
    ids_in_csv = {line.split("|", 1)[0] for line in (SAMPLE / "movies.csv").read_text().splitlines()[1:]}
    assert ids_in_csv == set(films)
    payloads = [json.loads(line) for line in (SAMPLE / "tmdb" / "movies.ndjson").read_text().splitlines()]
    assert [p["imdb_id"] for p in payloads] == [i for i, f in films.items() if synthetic.known_to_tmdb(f)]
    assert payloads[0] == synthetic.tmdb_payload(films[payloads[0]["imdb_id"]])


def test_script_help() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_sample_data.py"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "--seed" in done.stdout and "--out" in done.stdout
