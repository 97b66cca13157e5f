"""The report page, built from DataFrames computed here (no query engine involved)."""

from __future__ import annotations

import argparse
import base64
import re
from pathlib import Path

import pandas as pd
import pytest

from movielake import synthetic
from movielake.analysis import report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRICKY_TITLE = 'Fast & <Furious> "Cut"'


def film_frame(count: int = 120) -> pd.DataFrame:
    """Per-film facts from the synthetic TMDB payloads; one title with HTML-special characters."""
    rows = []
    for film in synthetic.films(count, seed=11):
        payload = synthetic.tmdb_payload(film)
        rows.append(
            {
                "imdb_id": film.imdb_id,
                "title": payload["title"],
                "budget": payload["budget"],
                "revenue": payload["revenue"],
                "release_date": payload["release_date"],
                "vote_average": payload["vote_average"],
                "vote_count": payload["vote_count"],
                "popularity": payload["popularity"],
            }
        )
    films = pd.DataFrame(rows)
    films = films[(films.budget > 0) & (films.revenue > 0) & (films.release_date != "")].copy()
    films["roi"] = (films.revenue - films.budget) / films.budget
    best = films["roi"].idxmax()
    films.loc[best, "title"] = TRICKY_TITLE
    return films.sort_values(["roi", "imdb_id"], ascending=[False, True]).reset_index(drop=True)


def spearman(a: pd.Series, b: pd.Series) -> float:
    """Spearman's rho: Pearson over average ranks (no scipy needed)."""
    return a.rank().corr(b.rank())


def results_from(films: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The seven results as the SQL defines them, computed with pandas."""
    dated = films.assign(
        year=films.release_date.str[:4].astype(int), month=films.release_date.str[5:7].astype(int)
    )
    q1 = films[["imdb_id", "title", "budget", "revenue", "roi"]]
    q2 = (
        dated.assign(decade=dated.year // 10 * 10)
        .groupby("decade")
        .agg(films=("roi", "size"), avg_roi=("roi", "mean"), min_roi=("roi", "min"), max_roi=("roi", "max"))
        .reset_index()
    )
    ordered = films.sort_values(["budget", "imdb_id"]).reset_index(drop=True)
    ordered["budget_quintile"] = pd.qcut(ordered.index, 5, labels=False) + 1
    q3 = (
        ordered.groupby("budget_quintile")
        .agg(
            films=("roi", "size"),
            budget_min=("budget", "min"),
            budget_max=("budget", "max"),
            avg_revenue=("revenue", "mean"),
            median_revenue=("revenue", "median"),
            avg_roi=("roi", "mean"),
        )
        .reset_index()
    )
    q3["corr_budget_revenue"] = films.budget.corr(films.revenue)
    q3["films_with_roi"] = len(films)
    q4 = pd.DataFrame(
        {
            "artist": ["Ana Almeida", "Bruno <B> & Co", "Carla Costa"],
            "films": [12, 9, 7],
            "avg_vote_average": [6.25, 7.1, 5.0],
            "avg_revenue": [125_000_000.0, 3_400_000.0, None],
            "films_with_revenue": [10, 9, 0],
            "avg_popularity": [14.2, 8.8, 3.1],
        }
    )
    voted = films[films.vote_count > 0]
    q5 = pd.DataFrame(
        {
            "films": [len(voted)],
            "pearson_vote_popularity": [voted.vote_average.corr(voted.popularity)],
            "spearman_vote_popularity": [spearman(voted.vote_average, voted.popularity)],
        }
    )
    monthly = dated.groupby("month").agg(films=("roi", "size"), hits=("roi", lambda r: int((r >= 1).sum())))
    q6 = monthly.reindex(range(1, 13), fill_value=0).rename_axis("month").reset_index()
    q6["hit_rate"] = q6.hits / q6.films.where(q6.films > 0)
    p25 = films.vote_count.quantile(0.25, interpolation="higher")
    p90 = films.roi.quantile(0.90, interpolation="higher")
    gems = films[(films.vote_count < p25) & (films.roi > p90)]
    q7 = gems[["imdb_id", "title", "vote_count", "roi"]].assign(vote_count_p25=p25, roi_p90=p90)
    return {
        "q1_roi": q1,
        "q2_roi_by_decade": q2,
        "q3_budget_vs_revenue": q3,
        "q4_top_artists": q4,
        "q5_critics_vs_popularity": q5,
        "q6_seasonality": q6,
        "q7_hidden_gems": q7,
    }


@pytest.fixture(scope="module")
def films() -> pd.DataFrame:
    return film_frame()


@pytest.fixture(scope="module")
def page(films: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report")
    path = report.build_report(results_from(films), out)
    assert path == out / "index.html"
    return path.read_text(encoding="utf-8")


def sections(page: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="(q\d)">(.*?)</section>', page, flags=re.S))


def answer(page: str, key: str) -> str:
    match = re.search(r'<p class="answer">(.*?)</p>', sections(page)[key], flags=re.S)
    assert match, f"{key} has no answer sentence"
    return match.group(1)


def test_seven_sections_each_with_a_png_chart(page: str) -> None:
    found = sections(page)
    assert list(found) == [f"q{i}" for i in range(1, 8)]
    for key, body in found.items():
        images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', body)
        assert len(images) == 1, key
        png = base64.b64decode(images[0], validate=True)
        assert png.startswith(PNG_SIGNATURE), key
        assert png[12:16] == b"IHDR" and int.from_bytes(png[16:20], "big") > 400, key  # a real width
        assert "<table>" in body and "<td>" in body, key
        assert 'class="missing"' not in body, key


def test_page_is_self_contained(page: str) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<script" not in page
    assert "<link" not in page


def test_titles_and_questions_come_from_the_sql_headers(page: str) -> None:
    assert "Which films returned the most money per dollar of budget?" in sections(page)["q1"]


def test_q1_sentence_has_the_median_the_share_and_the_best(page: str, films: pd.DataFrame) -> None:
    text = answer(page, "q1")
    assert f"median ROI of {len(films):,} films" in text
    assert f"is {films.roi.median():.2f};" in text
    assert f"{(films.roi > 0).mean() * 100:.0f}% earned more" in text
    assert f"The best is {report.html.escape(TRICKY_TITLE)} (ROI {films.roi.max():,.1f}" in text


def test_titles_are_escaped(page: str) -> None:
    assert TRICKY_TITLE not in page
    assert "Fast &amp; &lt;Furious&gt; &quot;Cut&quot;" in page
    assert "Bruno &lt;B&gt; &amp; Co" in page
    assert "<Furious>" not in page and "<B>" not in page


def test_q2_sentence_names_best_and_worst_decades(page: str, films: pd.DataFrame) -> None:
    decades = results_from(films)["q2_roi_by_decade"]
    best = decades.loc[decades.avg_roi.idxmax()]
    worst = decades.loc[decades.avg_roi.idxmin()]
    text = answer(page, "q2")
    assert f"Across {len(decades)} decades ({len(films):,} films)" in text
    assert f"the {int(best.decade)}s had the highest average ROI ({best.avg_roi:,.2f}" in text
    assert f"the {int(worst.decade)}s the lowest ({worst.avg_roi:,.2f}" in text


def test_q3_sentence_has_the_correlation_and_the_quintile_ratio(page: str, films: pd.DataFrame) -> None:
    q3 = results_from(films)["q3_budget_vs_revenue"]
    text = answer(page, "q3")
    assert f"Pearson r = {films.budget.corr(films.revenue):.2f} over {len(films):,} films" in text
    ratio = q3.median_revenue.iloc[-1] / q3.median_revenue.iloc[0]
    assert (f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×") in text
    assert "$" in text


def test_q4_sentence_describes_the_top_artist(page: str) -> None:
    text = answer(page, "q4")
    assert text.startswith("Ana Almeida appears in the most enriched films (12)")
    assert "a vote of 6.2" in text or "a vote of 6.3" in text  # 6.25 to one place
    assert "a revenue of $125.0M" in text


def test_q5_sentence_has_both_coefficients(page: str, films: pd.DataFrame) -> None:
    voted = films[films.vote_count > 0]
    text = answer(page, "q5")
    assert f"Pearson {voted.vote_average.corr(voted.popularity):.2f}" in text
    assert f"Spearman (ranks) {spearman(voted.vote_average, voted.popularity):.2f}" in text
    assert f"over {len(voted):,} films" in text


def test_q6_sentence_names_the_month_with_most_hits(page: str, films: pd.DataFrame) -> None:
    q6 = results_from(films)["q6_seasonality"]
    top = q6.loc[q6.hits.idxmax()]
    text = answer(page, "q6")
    assert text.startswith(f"{report.MONTH_NAMES[int(top.month) - 1]} has the most hits ({int(top.hits)} of")
    assert f"overall {int(q6.hits.sum())} of {len(films)} dated films" in text


def test_q7_sentence_counts_the_gems(page: str, films: pd.DataFrame) -> None:
    gems = results_from(films)["q7_hidden_gems"]
    assert not gems.empty
    text = answer(page, "q7")
    assert text.startswith(f"{len(gems)} films are hidden gems")
    assert f"fewer than {int(gems.vote_count_p25.iloc[0]):,} votes" in text


def test_missing_results_and_columns_become_notes(tmp_path: Path, films: pd.DataFrame) -> None:
    results = results_from(films)
    del results["q4_top_artists"]
    results["q5_critics_vs_popularity"] = results["q5_critics_vs_popularity"].drop(
        columns="spearman_vote_popularity"
    )
    results["q7_hidden_gems"] = results["q7_hidden_gems"].iloc[0:0]

    page = report.build_report(results, tmp_path, headers={}).read_text()

    found = sections(page)
    assert len(found) == 7
    assert "No answer: no result for q4." in found["q4"]
    assert "spearman_vote_popularity" in found["q5"] and 'class="missing"' in found["q5"]
    # No gem is an answer, not a missing one: the sentence, and no error note or empty chart.
    assert "No film is a hidden gem" in found["q7"]
    assert 'class="missing"' not in found["q7"] and "<img" not in found["q7"]
    assert "<img" in found["q1"]


def test_money_and_correlation_words() -> None:
    assert report.money(1_234_567) == "$1.2M"
    assert report.money(2_300_000_000) == "$2.30B"
    assert report.money(950) == "$950"
    assert report.money(None) == "n/a"
    assert report.correlation_words(0.05) == "no real"
    assert report.correlation_words(-0.42) == "a moderate negative"
    assert report.correlation_words(0.8) == "a strong positive"


def test_report_command_runs_all_queries_and_writes_the_page(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, films: pd.DataFrame
) -> None:
    calls = []

    def fake_run_all(settings, engine="duckdb", **_):
        calls.append(engine)
        return results_from(films)

    monkeypatch.setattr("movielake.analysis.engines.run_all", fake_run_all)
    parser = argparse.ArgumentParser()
    report.register(parser.add_subparsers())
    args = parser.parse_args(["report", "--engine", "athena", "--out", str(tmp_path / "r")])

    assert args.func(args) == 0
    assert calls == ["athena"]
    assert (tmp_path / "r" / "index.html").read_text().count("data:image/png;base64,") == 7


def test_report_engine_defaults_to_duckdb_on_the_local_stack(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, films: pd.DataFrame
) -> None:
    calls = []
    monkeypatch.setattr(
        "movielake.analysis.engines.run_all",
        lambda settings, engine="duckdb", **_: calls.append(engine) or {},
    )
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    parser = argparse.ArgumentParser()
    report.register(parser.add_subparsers())
    args = parser.parse_args(["report", "--out", str(tmp_path)])

    assert args.func(args) == 0
    assert calls == ["duckdb"]
    assert (tmp_path / "index.html").read_text().count('class="missing"') == 7
