"""The seven SQL files on the local engine, checked against pandas computed from the same records.

A fixture lake (synthetic films plus hand-made edge cases) is written to a moto server in a
child process, registered in its Glue catalog, refined (``run_refine`` on DuckDB: Trusted and
Refined Parquet in the moto S3), and queried through ``DuckDBEngine``: the questions read
Refined only, and each answer must equal the one pandas computes from the Raw records. Every
expected value is recomputed here from the Python records, with pandas, following the
definitions in the SQL headers; nothing is pinned to a literal result except definitional
spot checks (ROI of 3 -> 10 is 7/3, 1999 is in the 1990s).
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import boto3
import pandas as pd
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.analysis.duckdb_engine import DuckDBEngine
from movielake.analysis.engines import run_all
from movielake.catalog.aws_crawl import crawl_aws
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.refine.run import run_refine
from movielake.tmdb.records import error_record, to_record

DATABASE = "movielake_test_raw"
DAY1, DAY2 = date(2026, 1, 10), date(2026, 1, 11)
QUOTED_TITLE = 'The "Quoted" Film'
TIE_ARTISTS = ("Tie Artist Beta", "Tie Artist Alpha", "Tie Artist Gamma")
REL = 1e-9


@dataclass
class Lake:
    """What was written: TMDB records (with their date folder) and CSV rows by day."""

    records: list[tuple[date, dict[str, Any]]] = field(default_factory=list)
    csv_rows: list[list[str]] = field(default_factory=list)


def stamp(day: date, second: int) -> str:
    """An ingested_at on a day."""
    return f"{day:%Y-%m-%d}T03:{second // 60:02d}:{second % 60:02d}.000000Z"


def film_record(film: synthetic.Film, ingested_at: str, **overrides: Any) -> dict[str, Any]:
    """A Raw record for a synthetic film, with fields overridden."""
    record = to_record(synthetic.tmdb_payload(film), film.imdb_id, ingested_at)
    record.update(overrides)
    return record


def build_records(base: list[synthetic.Film], edge: list[synthetic.Film]) -> Lake:
    """The fixture: every base film once on DAY1, and edge films exercising each rule."""
    lake = Lake()
    for n, film in enumerate(base):
        overrides: dict[str, Any] = {}
        if n % 17 == 0:
            overrides["vote_average"] = 7.0  # ties for the average ranks
        if n % 23 == 0:
            overrides["popularity"] = 12.5
        if n % 41 == 0:
            overrides["vote_count"] = 0  # not in q5
        lake.records.append((DAY1, film_record(film, stamp(DAY1, n), **overrides)))
    a, b, c, d, e, f, g, h, i, j, k = edge
    common = {"vote_count": 3, "vote_average": 6.5, "popularity": 1.25}
    lake.records += [
        # ROI 7/3 (integer division would give 2); 1999 is in the 1990s; a quote in the title
        (
            DAY1,
            film_record(
                a,
                stamp(DAY1, 900),
                budget=3,
                revenue=10,
                release_date="1999-12-31",
                title=QUOTED_TITLE,
                **common,
            ),
        ),
        (DAY1, film_record(b, stamp(DAY1, 901), budget=0, revenue=5_000_000)),  # budget unknown
        (DAY1, film_record(c, stamp(DAY1, 902), budget=1_000_000, revenue=0)),  # revenue unknown
        # the newer ingested_at wins even from the older date folder
        (
            DAY1,
            film_record(d, stamp(DAY2, 950), budget=1_000_000, revenue=9_000_000, release_date="2000-01-01"),
        ),
        (
            DAY2,
            film_record(d, stamp(DAY2, 10), budget=1_000_000, revenue=1_000_000, release_date="2000-01-01"),
        ),
        # a known budget replaced by an unknown one: no ROI any more
        (DAY1, film_record(e, stamp(DAY1, 903), budget=2_000_000, revenue=8_000_000)),
        (DAY2, film_record(e, stamp(DAY2, 11), budget=0, revenue=8_000_000)),
        # twice in the same day's batches
        (DAY2, film_record(f, stamp(DAY2, 12), budget=500_000, revenue=400_000)),
        (DAY2, film_record(f, stamp(DAY2, 13), budget=500_000, revenue=4_000_000)),
        # no release date (empty, and null)
        (DAY1, film_record(g, stamp(DAY1, 904), budget=1_000_000, revenue=3_000_000, release_date="")),
        (DAY1, film_record(h, stamp(DAY1, 905), budget=1_000_000, revenue=3_000_000, release_date=None)),
        # identical ROIs (order by imdb_id)
        (
            DAY2,
            film_record(
                i, stamp(DAY2, 14), budget=1_000, revenue=50_000, release_date="1987-06-01", **common
            ),
        ),
        (
            DAY2,
            film_record(
                j, stamp(DAY2, 15), budget=2_000, revenue=100_000, release_date="1987-06-02", **common
            ),
        ),
        (DAY2, film_record(k, stamp(DAY2, 16), budget=7, revenue=7_000, release_date="1999-01-01", **common)),
    ]
    # CSV: every film's rows on DAY1, the edge films again on DAY2 (counted once)
    rows = list(synthetic.csv_rows(base + edge))
    rows[0][1] = QUOTED_TITLE
    lake.csv_rows = rows
    tie_films = [film.imdb_id for film in base]
    tie_rows = []
    for artist, films in zip(TIE_ARTISTS, (tie_films[:45], tie_films[45:90], tie_films[:45]), strict=True):
        for imdb_id in films:
            for role in ("Character 1", "Character 2"):  # two roles, one film
                tie_rows.append(
                    [
                        imdb_id,
                        "x",
                        "x",
                        "2000",
                        r"\N",
                        "Drama",
                        "7.0",
                        "10",
                        "F",
                        role,
                        artist,
                        "1970",
                        r"\N",
                        "actress",
                        imdb_id,
                    ]
                )
    lake.csv_rows += tie_rows
    lake.csv_rows.append(
        [
            "tt9999999",
            "Not enriched",
            "x",
            "2000",
            r"\N",
            "Drama",
            "7.0",
            "10",
            "F",
            r"\N",
            TIE_ARTISTS[0],
            "1970",
            r"\N",
            "actress",
            "tt9999999",
        ]
    )
    return lake


def write_lake(lake: Lake, endpoint: str, edge: list[synthetic.Film]) -> None:
    """Write batches, CSVs, errors and bookkeeping objects; register tables and partitions."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    for day in (DAY1, DAY2):
        records = [r for d, r in lake.records if d == day]
        sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, day, batch_size=70)
        errors = [error_record("tt0000001", "not_found", 404, 1, stamp(day, 1))]
        s3.put_object(
            Bucket=LAKE_BUCKET,
            Key=f"Raw/TMDB/JSON/Movies/{day:%Y/%m/%d}/erros_geral.json",
            Body=sample_lake.ndjson(errors),
        )
        s3.put_object(
            Bucket=LAKE_BUCKET,
            Key=f"Raw/TMDB/JSON/Movies/{day:%Y/%m/%d}/_manifest.json",
            Body=json.dumps({"batches": 3}, indent=2).encode(),
        )
        s3.put_object(
            Bucket=LAKE_BUCKET, Key=f"Raw/TMDB/JSON/Movies/{day:%Y/%m/%d}/_run/plan.json", Body=b"[1, 2,\n 3]"
        )
    header = "|".join(synthetic.MOVIE_COLUMNS) + "\n"
    day1 = [header] + ["|".join(r) + "\n" for r in lake.csv_rows]
    edge_ids = {film.imdb_id for film in edge}
    day2 = [header] + ["|".join(r) + "\n" for r in lake.csv_rows if r[0] in edge_ids]
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", day1, DAY1)
    sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", day2, DAY2)
    sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)


@pytest.fixture(scope="module")
def fixture_lake(moto_server: str) -> Iterator[tuple[Lake, dict[str, pd.DataFrame], Settings]]:
    """The lake written once for this module, and the seven results on the local engine."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        urllib.request.urlopen(
            urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10
        ).close()
        base = list(synthetic.films(240, seed=11))
        edge = list(synthetic.films(11, seed=12, first_id=9_000_000))
        lake = build_records(base, edge)
        write_lake(lake, moto_server, edge)
        settings = Settings(
            lake_bucket=LAKE_BUCKET, glue_database=DATABASE, endpoint_url=moto_server, region=REGION
        )
        run_refine(settings, "local")
        yield lake, run_all(settings, "local"), settings


def create_crawlers(glue, database: str) -> list[str]:
    """The two crawlers as the Terraform stack defines them, with the CSV tables it declares.

    The TMDB crawler has an S3 target; the CSV one a catalog target on the declared tables
    (the sample lake's, which the integration test ties to Terraform's declaration).
    """
    policy = {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "DEPRECATE_IN_DATABASE"}
    role = "arn:aws:iam::123456789012:role/crawler"
    tmdb_target = {"Path": f"s3://{LAKE_BUCKET}/Raw/TMDB/JSON/Movies/", "Exclusions": ["**/erros_geral.json"]}
    csv_tables = [t for t in sample_lake.contract_table_inputs(LAKE_BUCKET) if t["Name"].startswith("csv_")]
    for table_input in csv_tables:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    glue.create_crawler(
        Name="t-raw-tmdb",
        Role=role,
        DatabaseName=database,
        TablePrefix="tmdb_",
        SchemaChangePolicy=policy,
        Targets={"S3Targets": [tmdb_target]},
    )
    glue.create_crawler(
        Name="t-raw-csv",
        Role=role,
        DatabaseName=database,
        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        Targets={"CatalogTargets": [{"DatabaseName": database, "Tables": [t["Name"] for t in csv_tables]}]},
    )
    return ["t-raw-tmdb", "t-raw-csv"]


def test_same_answers_after_a_real_local_crawl(fixture_lake) -> None:
    """The catalog ``movielake crawl`` completes (TMDB types inferred, CSV partitions added, by
    the moto server's crawler stand-in) agrees."""
    _, results, settings = fixture_lake
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
            mp.setenv(name, value)
        endpoint = settings.endpoint_url
        glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION, config=NO_RETRY)
        database = "movielake_crawled_raw"
        glue.create_database(DatabaseInput={"Name": database})
        summary = crawl_aws(glue, create_crawlers(glue, database), poll_seconds=0.1)
        assert set(summary.crawler_status.values()) == {"SUCCEEDED"}, summary.crawler_status
        crawled_settings = Settings(
            lake_bucket=LAKE_BUCKET, glue_database=database, endpoint_url=endpoint, region=REGION
        )
        run_refine(crawled_settings, "local")
        crawled = run_all(crawled_settings, "local")
    assert list(crawled) == list(results)
    for name, frame in results.items():
        pd.testing.assert_frame_equal(crawled[name], frame, check_dtype=False, rtol=1e-12, obj=name)


# ---------------------------------------------------------------------------------------------
# The reference: the same definitions, in pandas, from the Python records.


def latest_films(lake: Lake) -> pd.DataFrame:
    """One row per imdb_id: newest ingested_at wins (then the newest folder); 0 money is unknown."""
    rows = [{**r, "folder": d.isoformat()} for d, r in lake.records if r.get("imdb_id")]
    frame = pd.DataFrame(rows).sort_values(["ingested_at", "folder"], ascending=False)
    films = frame.drop_duplicates("imdb_id", keep="first").copy()
    for column in ("budget", "revenue"):
        films[column] = films[column].where(films[column] > 0).astype("float")
    films["roi"] = (films.revenue - films.budget) / films.budget
    released = pd.to_datetime(films.release_date.replace("", None), format="%Y-%m-%d", errors="coerce")
    films["year"] = released.dt.year
    films["month"] = released.dt.month
    films.index = pd.Index(films.imdb_id.to_list())
    return films


def with_roi(lake: Lake) -> pd.DataFrame:
    """Films with a ROI."""
    return latest_films(lake).dropna(subset=["roi"])


def nearest_rank(values: pd.Series, percent: int) -> float:
    """The k-th smallest value, k = ceil(percent * n / 100) computed in integers."""
    ordered = sorted(values)
    k = -(-percent * len(ordered) // 100)
    return ordered[max(k, 1) - 1]


# ---------------------------------------------------------------------------------------------


def test_q1_roi(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q1_roi"]
    expected = with_roi(lake).sort_values(["roi", "imdb_id"], ascending=[False, True])
    assert list(got.columns[:5]) == ["imdb_id", "title", "budget", "revenue", "roi"]
    assert list(got.imdb_id) == list(expected.imdb_id)
    assert got.roi.tolist() == pytest.approx(expected.roi.tolist(), rel=REL)
    assert got.budget.tolist() == expected.budget.tolist()
    assert got.title.tolist() == expected.title.tolist()


def test_q1_edge_rules(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q1_roi"].set_index("imdb_id")
    edge = [r["imdb_id"] for d, r in lake.records if r["imdb_id"] >= "tt9000000"]
    a, b, c, d, e, f, g, h, i, j, _k = dict.fromkeys(edge)
    assert got.loc[a, "roi"] == pytest.approx(7 / 3)  # not truncated to 2
    assert got.loc[a, "title"] == QUOTED_TITLE
    assert b not in got.index and c not in got.index and e not in got.index  # 0 is unknown
    assert got.loc[d, "roi"] == pytest.approx(8.0)  # newest ingested_at, older folder
    assert got.loc[f, "roi"] == pytest.approx(7.0)
    assert {g, h} <= set(got.index)  # no release date: still a film with a ROI
    assert got.index.is_unique
    tied = got.loc[[i, j], "roi"]
    assert tied.iloc[0] == tied.iloc[1]
    order = list(got.index)
    assert order.index(i) < order.index(j)  # equal ROI: imdb_id ascending


def test_q2_roi_by_decade(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q2_roi_by_decade"]
    films = with_roi(lake).dropna(subset=["year"])
    films = films.assign(decade=(films.year.astype(int) // 10) * 10)
    expected = (
        films.groupby("decade")
        .agg(films=("roi", "size"), avg_roi=("roi", "mean"), min_roi=("roi", "min"), max_roi=("roi", "max"))
        .reset_index()
    )
    assert got.decade.tolist() == expected.decade.tolist()
    assert got.films.tolist() == expected.films.tolist()
    for column in ("avg_roi", "min_roi", "max_roi"):
        assert got[column].tolist() == pytest.approx(expected[column].tolist(), rel=REL)
    nineties = with_roi(lake).loc[lambda x: x.year.between(1990, 1999)]
    assert got.set_index("decade").loc[1990, "films"] == len(nineties)  # 1999 counts in 1990
    assert got.films.sum() == len(with_roi(lake)) - 2  # the two films without a date are left out


def test_q3_budget_vs_revenue(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q3_budget_vs_revenue"]
    films = with_roi(lake).sort_values(["budget", "imdb_id"]).reset_index(drop=True)
    n = len(films)
    sizes = [n // 5 + (1 if q < n % 5 else 0) for q in range(5)]
    films["quintile"] = [q + 1 for q, size in enumerate(sizes) for _ in range(size)]
    grouped = films.groupby("quintile")
    assert got.budget_quintile.tolist() == [1, 2, 3, 4, 5]
    assert got.films.tolist() == sizes
    assert got.budget_min.tolist() == grouped.budget.min().tolist()
    assert got.budget_max.tolist() == grouped.budget.max().tolist()
    assert got.avg_revenue.tolist() == pytest.approx(grouped.revenue.mean().tolist(), rel=REL)
    assert got.median_revenue.tolist() == pytest.approx(grouped.revenue.median().tolist(), rel=REL)
    assert got.avg_roi.tolist() == pytest.approx(grouped.roi.mean().tolist(), rel=REL)
    corr = films.budget.corr(films.revenue)
    assert got.corr_budget_revenue.tolist() == pytest.approx([corr] * 5, rel=1e-9)
    assert set(got.films_with_roi) == {n}


def test_q4_top_artists(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q4_top_artists"]
    columns = [c.lower() for c in synthetic.MOVIE_COLUMNS]
    pairs = pd.DataFrame(lake.csv_rows, columns=columns)[["nomeartista", "id"]].drop_duplicates()
    films = latest_films(lake).reset_index(drop=True)
    joined = pairs.merge(films, left_on="id", right_on="imdb_id")
    summary = (
        joined.groupby("nomeartista")
        .agg(
            films=("imdb_id", "size"),
            avg_vote_average=("vote_average", "mean"),
            avg_revenue=("revenue", "mean"),
            avg_popularity=("popularity", "mean"),
        )
        .reset_index()
        .rename(columns={"nomeartista": "artist"})
    )
    expected = summary.sort_values(
        ["films", "avg_revenue", "artist"], ascending=[False, False, True], na_position="last"
    ).head(10)
    assert got.artist.tolist() == expected.artist.tolist()
    assert got.films.tolist() == expected.films.tolist()
    for column in ("avg_vote_average", "avg_revenue", "avg_popularity"):
        assert got[column].tolist() == pytest.approx(expected[column].tolist(), rel=REL)
    # the fixture really exercises both tie-breaks and the one-film-per-artist rule
    ties = got[got.artist.isin(TIE_ARTISTS)]
    assert len(ties) == 3 and ties.films.nunique() == 1 and ties.films.iloc[0] == 45
    assert ties.avg_revenue.nunique() == 2


def spearman_reference(x: pd.Series, y: pd.Series) -> float:
    """Pearson over average ranks (pandas' rank with method="average"; scipy is not installed)."""
    return x.rank(method="average").corr(y.rank(method="average"))


def test_q5_critics_vs_popularity(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q5_critics_vs_popularity"]
    films = latest_films(lake)
    voted = films[(films.vote_count > 0) & films.vote_average.notna() & films.popularity.notna()]
    assert voted.vote_average.duplicated().any() and voted.popularity.duplicated().any()  # ties present
    assert len(got) == 1
    assert got.films.iloc[0] == len(voted)
    assert got.pearson_vote_popularity.iloc[0] == pytest.approx(
        voted.vote_average.corr(voted.popularity), rel=1e-9
    )
    expected = spearman_reference(voted.vote_average, voted.popularity)
    assert got.spearman_vote_popularity.iloc[0] == pytest.approx(expected, rel=1e-9)


def test_q6_seasonality(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q6_seasonality"]
    films = with_roi(lake).dropna(subset=["month"])
    by_month = films.groupby(films.month.astype(int)).agg(
        films=("roi", "size"), hits=("roi", lambda r: (r >= 1).sum())
    )
    expected = by_month.reindex(range(1, 13), fill_value=0)
    assert got.month.tolist() == list(range(1, 13))
    assert got.films.tolist() == expected.films.tolist()
    assert got.hits.tolist() == expected.hits.tolist()
    assert str(got.hits.dtype).lower().startswith("int")  # a count, not a float


def test_q7_hidden_gems(fixture_lake) -> None:
    lake, results, _ = fixture_lake
    got = results["q7_hidden_gems"]
    films = with_roi(lake).dropna(subset=["vote_count"])
    p25 = nearest_rank(films.vote_count, 25)
    p90 = nearest_rank(films.roi, 90)
    gems = films[(films.vote_count < p25) & (films.roi > p90)].sort_values(
        ["roi", "imdb_id"], ascending=[False, True]
    )
    assert len(gems) >= 3  # the fixture has gems to find
    assert got.imdb_id.tolist() == gems.imdb_id.tolist()
    assert got.vote_count.tolist() == gems.vote_count.tolist()
    assert got.roi.tolist() == pytest.approx(gems.roi.tolist(), rel=REL)
    assert set(got.vote_count_p25) == {p25}
    assert got.roi_p90.iloc[0] == pytest.approx(p90, rel=REL)


def fetch_history(lake: Lake) -> pd.DataFrame:
    """Per imdb_id: the newest and the previous record (newest ingested_at, then folder), in pandas."""
    rows = [{**r, "folder": d} for d, r in lake.records if r.get("imdb_id")]
    frame = pd.DataFrame(rows).sort_values(["ingested_at", "folder"], ascending=False)
    frame["rank"] = frame.groupby("imdb_id").cumcount()
    newest = frame[frame["rank"] == 0].set_index("imdb_id")
    previous = frame[frame["rank"] == 1].set_index("imdb_id")
    history = newest[["folder", "budget", "revenue", "vote_count", "title"]].join(
        previous[["folder", "budget", "revenue", "vote_count"]].add_suffix("_before")
    )
    for column in ("budget", "revenue", "budget_before", "revenue_before"):
        history[column] = history[column].where(history[column] > 0).astype("float")
    history["roi"] = (history.revenue - history.budget) / history.budget
    history["roi_before"] = (history.revenue_before - history.budget_before) / history.budget_before
    return history


def gems(vote_count: pd.Series, roi: pd.Series) -> set[str]:
    """q7's definition over the films with both figures."""
    known = pd.DataFrame({"v": vote_count, "r": roi}).dropna()
    p25, p90 = nearest_rank(known.v, 25), nearest_rank(known.r, 90)
    return set(known[(known.v < p25) & (known.r > p90)].index)


def test_refined_film_facts_keep_the_previous_fetch_and_what_moved(fixture_lake) -> None:
    from movielake.analysis.queries import NamedQuery
    from movielake.analysis.report.moved import what_moved, what_moved_query

    lake, _, settings = fixture_lake
    history = fetch_history(lake)
    engine = DuckDBEngine(settings)
    previous = ("fetched_on", "budget", "revenue", "vote_count")
    columns = ", ".join(["imdb_id", "last_fetched_on", *(f"previous_{c}" for c in previous)])
    sql = f"SELECT {columns} FROM refined_film_facts"  # noqa: S608 - constant
    got = engine.run(NamedQuery("history", "", "", sql)).set_index("imdb_id").sort_index()
    moved_rows = engine.run(what_moved_query())
    engine.close()

    twice = history[history.folder_before.notna()]
    assert len(twice) == 3  # the fixture's films fetched twice (d, e, f)
    assert got.previous_fetched_on.notna().sum() == len(twice)
    for imdb_id, film in twice.iterrows():
        row = got.loc[imdb_id]
        assert pd.Timestamp(row.last_fetched_on).date() == film.folder
        assert pd.Timestamp(row.previous_fetched_on).date() == film.folder_before
        assert row.previous_vote_count == film.vote_count_before
        for column in ("previous_budget", "previous_revenue"):
            expected = film[column.replace("previous_", "") + "_before"]
            assert (pd.isna(row[column]) and pd.isna(expected)) or row[column] == expected, (imdb_id, column)

    last_run = history.folder.max()
    refreshed = twice[twice.folder == last_run]
    # Before the last run: the refreshed films' previous figures, the others' current ones.
    votes_before = history.vote_count.where(~history.index.isin(refreshed.index), history.vote_count_before)
    roi_before = history.roi.where(~history.index.isin(refreshed.index), history.roi_before)
    now, before = gems(history.vote_count, history.roi), gems(votes_before, roi_before)
    expected_rows = set(refreshed.index) | (now ^ before)
    assert set(moved_rows.imdb_id) == expected_rows
    by_id = moved_rows.set_index("imdb_id")
    assert set(by_id.index[by_id.refreshed.astype(bool)]) == set(refreshed.index)
    assert {i for i in by_id.index if by_id.loc[i, "is_gem"]} == now & expected_rows
    assert {i for i in by_id.index if by_id.loc[i, "was_gem"]} == before & expected_rows

    section = what_moved(moved_rows)
    assert section.sentence is not None and section.table is not None
    assert f"refreshed {len(refreshed)} films" in section.sentence


def test_months_without_films_are_listed(moto_endpoint: str) -> None:
    """Only two release months in the lake: still twelve rows, zeros elsewhere.

    Last in the module: ``moto_endpoint`` resets the shared server, and with it the lake every
    ``fixture_lake`` test reads."""
    films = list(synthetic.films(3, seed=5))
    lake = Lake(
        records=[
            (DAY1, film_record(films[0], stamp(DAY1, 1), budget=10, revenue=30, release_date="2001-03-04")),
            (DAY1, film_record(films[1], stamp(DAY1, 2), budget=10, revenue=15, release_date="2002-03-05")),
            (DAY1, film_record(films[2], stamp(DAY1, 3), budget=10, revenue=5, release_date="2003-11-30")),
        ],
        csv_rows=list(synthetic.csv_rows(films)),
    )
    write_lake(lake, moto_endpoint, [])
    settings = Settings(
        lake_bucket=LAKE_BUCKET, glue_database=DATABASE, endpoint_url=moto_endpoint, region=REGION
    )
    run_refine(settings, "local")
    with DuckDBEngine(settings) as engine:
        from movielake.analysis.queries import get_query

        got = engine.run(get_query("q6_seasonality")).set_index("month")
    assert got.index.tolist() == list(range(1, 13))
    assert got.loc[3, "films"] == 2 and got.loc[3, "hits"] == 1  # roi 2 is a hit, roi 0.5 is not
    assert got.loc[11, "films"] == 1 and got.loc[11, "hits"] == 0
    assert got.drop(index=[3, 11]).films.eq(0).all()
    assert got.drop(index=[3, 11]).hit_rate.isna().all()
