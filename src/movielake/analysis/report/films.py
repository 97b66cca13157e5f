"""The film rows the page embeds for its film-level views, and the query that reads them.

``sql/report/films.sql`` reads only the Refined columns those views show or filter on; the
report runs it beside the seven questions in one engine session (``collect``). The page
carries the rows once, column by column (a list per column, not a dict per row: the names are
not repeated 100,000 times), and at most ``FILM_CAP`` of them: past that, a uniform sample
(fixed seed, so a page is reproducible) which the page's selection bar says it draws; the
histograms (Q1, Q6) read exact counts over every film instead (``counts``). The hidden gems
are few (under a tenth of the films with a ROI, as their ROI is in the top tenth; about a
fortieth when votes and ROI are unrelated), so all of them are carried, with the year,
decade and genres their view filters on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from movielake.analysis.queries import SQL_DIR, discover, load_query
from movielake.analysis.report import counts
from movielake.analysis.report import results as rows
from movielake.analysis.report.results import MissingData, Results

if TYPE_CHECKING:
    import pandas as pd

    from movielake.config import Settings

FILMS_QUERY = Path("report") / "films.sql"
FILMS = "films"  # the films query's name among the results (its file stem)
GEMS, ROI_BINS, MONTH_HITS = "gems", "roi_bins", "month_hits"  # the page's other datasets
FILM_CAP = 5_000
SAMPLE_SEED = 18
DECIMALS = 3
FILM_COLUMNS = (
    "imdb_id",
    "title",
    "release_year",
    "decade",
    "release_month",
    "genres",
    "budget",
    "revenue",
    "roi",
    "vote_average",
    "vote_count",
    "popularity",
)
GEM_COLUMNS = (
    "imdb_id",
    "title",
    "release_year",
    "decade",
    "genres",
    "budget",
    "revenue",
    "roi",
    "vote_count",
)


def collect(
    settings: Settings, engine: str = "local", sql_dir: Path | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame | str]:
    """The seven questions' results and the film rows by query name, and the rows of what moved
    since the last TMDB run (or why they could not be read), in one engine session
    (``MixedRunsError`` when the tables they read come from two refine runs)."""
    from movielake.analysis.engines import make_engine, refuse_mixed_runs
    from movielake.analysis.report.moved import run_what_moved

    queries = [*discover(sql_dir).values(), load_query((sql_dir or SQL_DIR) / FILMS_QUERY)]
    refuse_mixed_runs(settings, queries)
    session = make_engine(settings, engine)
    try:
        return {query.name: session.run(query) for query in queries}, run_what_moved(session)
    finally:
        session.close()


@dataclass(frozen=True)
class FilmData:
    """What the page embeds: the films drawn (all, or a sample), the gems, and the counts."""

    films: pd.DataFrame
    gems: pd.DataFrame
    roi_bins: pd.DataFrame  # exact counts over every film (counts.roi_bins)
    month_hits: pd.DataFrame  # exact counts over every film (counts.month_hits)
    total: int  # films the query returned
    genres: tuple[str, ...]
    decades: tuple[int, ...]

    @property
    def sampled(self) -> bool:
        """True when the page draws a sample of the films, not all of them."""
        return len(self.films) < self.total

    def payload(self) -> dict[str, dict[str, list[Any]]]:
        """The datasets as the page's data block carries them: a list of values per column."""
        datasets = {FILMS: self.films, GEMS: self.gems, ROI_BINS: self.roi_bins, MONTH_HITS: self.month_hits}
        return {name: _columns(frame) for name, frame in datasets.items()}


def film_rows(results: Results) -> pd.DataFrame:
    """The films query's rows, genres as ``|Crime|Drama|`` (a genre is matched with its bars)."""
    frame = rows.need(rows.find_result(results, FILMS), *FILM_COLUMNS)[list(FILM_COLUMNS)].copy()
    frame["genres"] = frame["genres"].map(lambda g: f"|{g}|" if isinstance(g, str) and g else "")
    return frame


def embedded(results: Results, cap: int = FILM_CAP) -> FilmData:
    """The films (a sample past ``cap``) and the gems with their films' years and genres."""
    import pandas as pd

    try:
        films = film_rows(results)
    except MissingData:
        films = pd.DataFrame(columns=list(FILM_COLUMNS))
    drawn = films.sample(n=cap, random_state=SAMPLE_SEED).sort_index() if len(films) > cap else films
    try:
        gems = rows.gems(results)[["imdb_id", "title", "vote_count", "roi"]]
    except MissingData:
        gems = pd.DataFrame(columns=["imdb_id", "title", "vote_count", "roi"])
    details = films[["imdb_id", "release_year", "decade", "genres", "budget", "revenue"]]
    gems = gems.merge(details, on="imdb_id", how="left")[list(GEM_COLUMNS)]
    genres = sorted({g for joined in films["genres"] for g in joined.split("|") if g})
    decades = sorted({int(d) for d in films["decade"].dropna()})
    return FilmData(
        drawn,
        gems,
        counts.roi_bins(films),
        counts.month_hits(films),
        len(films),
        tuple(genres),
        tuple(decades),
    )


def _columns(frame: pd.DataFrame) -> dict[str, list[Any]]:
    """Each column as a list of JSON values (NaN and NA as null), through pandas' own encoder;
    fractions to three decimals (ROI 12.346, popularity 23.458), all a chart or tooltip shows."""
    return {
        name: json.loads(frame[name].to_json(orient="values", double_precision=DECIMALS))
        for name in frame.columns
    }
