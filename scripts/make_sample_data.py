"""Regenerate the bundled sample data in ``data/sample/`` from ``movielake.local.synthetic``.

Writes ``movies.csv`` and ``series.csv`` (PB format: ``|``-separated, ``\\N`` nulls, one row per
film x artist) and ``tmdb/movies.ndjson`` (the TMDB emulator's fixtures: one payload per film
of movies.csv that TMDB knows). The same seed always gives byte-identical files, which
``tests/test_sample_data.py`` checks against the committed copy.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from movielake.local import synthetic

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "data" / "sample"
DEFAULT_SEED = 7
DEFAULT_FILMS = 300
DEFAULT_SERIES = 60
# Series ids start far from the films' so the two files never share an IMDb id.
SERIES_FIRST_ID = 900000
# The default selection filters of the TMDB step (Settings.min_year, min_votes, genres).
MIN_YEAR, MIN_VOTES, GENRES = 1960, 10000, {"crime", "war"}


def write_sample(out: Path, seed: int, film_count: int, series_count: int) -> dict[str, int]:
    """Write the three files under ``out`` and return counts for the README."""
    films = list(synthetic.films(film_count, seed))
    series = list(synthetic.films(series_count, seed + 1, series=True, first_id=SERIES_FIRST_ID))
    (out / "tmdb").mkdir(parents=True, exist_ok=True)
    _write_lines(out / "movies.csv", synthetic.csv_text(films))
    _write_lines(out / "series.csv", synthetic.csv_text(series, series=True))
    known = [film for film in films if synthetic.known_to_tmdb(film)]
    _write_lines(
        out / "tmdb" / "movies.ndjson",
        (json.dumps(synthetic.tmdb_payload(film), ensure_ascii=False) + "\n" for film in known),
    )
    selected = [film for film in films if _passes_default_filters(film)]
    fetched = [synthetic.tmdb_payload(film) for film in selected if synthetic.known_to_tmdb(film)]
    return {
        "films": len(films),
        "movie_rows": sum(len(film.cast) for film in films),
        "series": len(series),
        "series_rows": sum(len(item.cast) for item in series),
        "known_to_tmdb": len(known),
        "selected": len(selected),
        "selected_unknown": sum(not synthetic.known_to_tmdb(film) for film in selected),
        **answer_counts(fetched),
    }


def answer_counts(payloads: Sequence[dict]) -> dict[str, int]:
    """What the report will show for the fetched films (the SQL headers' definitions, in
    Python): films with a ROI, hidden gems, decades with such films, months with a hit."""
    population = [
        (p["vote_count"], (p["revenue"] - p["budget"]) / p["budget"], p["release_date"])
        for p in payloads
        if p["budget"] > 0 and p["revenue"] > 0
    ]
    n = len(population)
    votes = sorted(v for v, _, _ in population)
    rois = sorted(r for _, r, _ in population)
    p25, p90 = votes[math.ceil(25 * n / 100) - 1], rois[math.ceil(90 * n / 100) - 1]
    return {
        "with_roi": n,
        "hidden_gems": sum(1 for v, r, _ in population if v < p25 and r > p90),
        "decades": len({int(d[:4]) // 10 for _, _, d in population if d}),
        "hit_months": len({int(d[5:7]) for _, r, d in population if d and r >= 1}),
    }


def _passes_default_filters(film: synthetic.Film) -> bool:
    """year > 1960, votes > 10000 and a Crime or War genre: the TMDB step's defaults."""
    return (
        film.year > MIN_YEAR
        and film.votes > MIN_VOTES
        and any(genre.lower() in GENRES for genre in film.genres)
    )


def _write_lines(path: Path, lines: object) -> None:
    """Write text lines as UTF-8 with ``\\n`` endings on every platform."""
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.writelines(lines)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments, write the files, print the counts the README quotes."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})"
    )
    parser.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help=f"random seed (default {DEFAULT_SEED})"
    )
    parser.add_argument(
        "--films", type=int, default=DEFAULT_FILMS, help=f"films in movies.csv (default {DEFAULT_FILMS})"
    )
    parser.add_argument(
        "--series", type=int, default=DEFAULT_SERIES, help=f"series in series.csv (default {DEFAULT_SERIES})"
    )
    args = parser.parse_args(argv)
    counts = write_sample(args.out, args.seed, args.films, args.series)
    print(json.dumps(counts, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
