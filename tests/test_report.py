"""The report page, rendered from the analyses' real results over a small synthetic lake.

The lake (120 synthetic films, one with an HTML-special title) lives in the shared moto
server; ``movielake refine`` builds Refined and the seven SQL files run on DuckDB. The page is
then checked against those results and the SQL files' headers, never against numbers the test
computes its own way.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import chromium
import pandas as pd
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.analysis.queries import SQL_DIR, NamedQuery, discover
from movielake.analysis.report import build_report, collect
from movielake.analysis.report.questions import ReportHeaderError
from movielake.cli import main
from movielake.config import PROJECT_ROOT, Settings
from movielake.local import sample_lake, synthetic
from movielake.local.server import reset_moto
from movielake.tmdb.records import to_record

DATABASE = "movielake_report_test_raw"
TRICKY_TITLE = 'Fast & <Furious> "Cut"'
TRICKY_ARTIST = "Bruno <B> & Co"
GEM_OF_THE_1980S = "1984-05-04"
LAKE_ENV = {"MOVIELAKE_LAKE_BUCKET": LAKE_BUCKET, "MOVIELAKE_GLUE_DATABASE": DATABASE}


def best_roi_first(films: list[synthetic.Film]) -> list[synthetic.Film]:
    """Films by revenue/budget, best first (to give the best one an HTML-special title)."""

    def multiple(film: synthetic.Film) -> float:
        payload = synthetic.tmdb_payload(film)
        return payload["revenue"] / payload["budget"] if payload["budget"] and payload["revenue"] else -1

    return sorted(films, key=multiple, reverse=True)


def point_at_lake(env: pytest.MonkeyPatch, moto_server: str, tmp_path: Path) -> None:
    """The environment of the conftest sandbox, aimed at the lake in the moto server."""
    for name in list(os.environ):
        if name.startswith(("MOVIELAKE_", "AWS_")):
            env.delenv(name)
    for name, value in {
        **LAKE_ENV,
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
    }.items():
        env.setenv(name, value)
    env.setattr("movielake.config.STACK_FILE", tmp_path / "no-stack.json")


@pytest.fixture(scope="module")
def lake(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, pd.DataFrame]]:
    """The small lake, refined; yields the seven query results."""
    with pytest.MonkeyPatch.context() as env:
        point_at_lake(env, moto_server, tmp_path_factory.mktemp("lake"))
        reset_moto(moto_server)
        s3 = boto3.client("s3", endpoint_url=moto_server, region_name=REGION, config=NO_RETRY)
        glue = boto3.client("glue", endpoint_url=moto_server, region_name=REGION, config=NO_RETRY)
        s3.create_bucket(Bucket=LAKE_BUCKET)
        films = list(synthetic.films(120, seed=11))
        records = [
            to_record(synthetic.tmdb_payload(f), f.imdb_id, "2026-02-01T00:00:00.000000Z") for f in films
        ]
        best = best_roi_first(films)[0].imdb_id
        for record in records:
            record["title"] = TRICKY_TITLE if record["imdb_id"] == best else record["title"]
        sleepers = [r for r in records if r["budget"] and r["revenue"] >= 50 * r["budget"]]
        sleeper = min(sleepers, key=lambda r: r["vote_count"])
        sleeper["release_date"] = GEM_OF_THE_1980S  # a hidden gem (few votes, 50x+) of the 1980s
        busiest = Counter(a.name for f in films for a, _ in f.cast).most_common(1)[0][0]
        csv_lines = [line.replace(busiest, TRICKY_ARTIST) for line in synthetic.csv_text(films)]
        day = date(2026, 2, 1)
        sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, day)
        sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", csv_lines, day)
        sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
        sample_lake.register_all_partitions(glue, s3, DATABASE)
        assert main(["refine", "--engine", "local"]) == 0
        yield collect(Settings.from_env(), engine="local")[0]


@pytest.fixture(scope="module")
def page(lake: dict[str, pd.DataFrame], tmp_path_factory: pytest.TempPathFactory) -> str:
    out = tmp_path_factory.mktemp("report")
    path = build_report(lake, out)
    assert path == out / "index.html"
    return path.read_text(encoding="utf-8")


def sections(page: str) -> dict[str, str]:
    return dict(re.findall(r'<section id="(q\d)">(.*?)</section>', page, flags=re.S))


def element(section: str, tag: str, css_class: str | None = None) -> str:
    """The unescaped text of the section's first ``tag`` (of that class)."""
    attributes = f' class="{css_class}"' if css_class else ""
    match = re.search(rf"<{tag}{attributes}>(.*?)</{tag}>", section, flags=re.S)
    assert match, f"no <{tag}{attributes}>"
    return html.unescape(match.group(1))


def table_rows(section: str) -> list[list[str]]:
    """The table's body rows, each a list of unescaped cell texts."""
    body = element(section, "tbody")
    return [[html.unescape(c) for c in re.findall(r"<td>(.*?)</td>", row)] for row in body.split("<tr>")[1:]]


def column(section: str, heading: str) -> list[str]:
    headings = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", section)]
    index = headings.index(heading)
    return [row[index] for row in table_rows(section)]


def result(lake: dict[str, pd.DataFrame], key: str) -> pd.DataFrame:
    return next(frame for name, frame in lake.items() if name.split("_", 1)[0] == key)


def test_each_question_has_its_sql_headers_title_and_question(page: str) -> None:
    found = sections(page)
    queries = list(discover().values())
    assert list(found) == [q.name.split("_", 1)[0] for q in queries]
    for query, (key, body) in zip(queries, found.items(), strict=True):
        assert element(body, "h2") == f"{key.upper()} · {query.title}"
        assert element(body, "p", "question") == query.question
        assert f'href="#{key}"' in page


def spec(section: str) -> dict:
    """The section's Vega-Lite spec, as the page's script reads it."""
    found = re.findall(r'<script type="application/json" id="spec-q\d">(.*?)</script>', section, re.S)
    assert len(found) == 1
    return json.loads(found[0])


def test_each_question_has_a_sentence_a_vega_lite_chart_and_a_table(page: str) -> None:
    for key, body in sections(page).items():
        assert element(body, "p", "answer"), key
        assert f'<div class="chart" id="chart-{key}" data-view="{key}"' in body, key
        chart = spec(body)
        assert chart["$schema"].startswith("https://vega.github.io/schema/vega-lite/v"), key
        assert table_rows(body), key
        assert 'class="missing"' not in body, key


def test_film_level_charts_read_the_embedded_films_and_the_page_wide_selection(
    page: str, lake: dict[str, pd.DataFrame]
) -> None:
    found = sections(page)
    for key, dataset in {
        "q1": "roi_bins",
        "q3": "films",
        "q5": "films",
        "q6": "month_hits",
        "q7": "gems",
    }.items():
        chart = spec(found[key])
        assert chart["datasets"][dataset] == [], key  # filled in the browser from the data block
        assert {"picked_decade", "picked_genre"} <= {p["name"] for p in chart["params"]}, key
    data = page_data(page)
    films = result(lake, "films")
    assert sorted(data["films"]["imdb_id"]) == sorted(films.imdb_id)  # 120 films: under the cap, all
    assert set(data["films"]) == set(films.columns)  # only the film query's columns
    assert data["gems"]["imdb_id"] == result(lake, "q7").imdb_id.tolist()
    decade = dict(zip(films.imdb_id, films.decade, strict=True))
    assert data["gems"]["decade"] == [decade[i] for i in data["gems"]["imdb_id"]]
    q4 = spec(found["q4"])  # frequency against results: films on x, average revenue on y
    layer = q4["layer"][0]["encoding"]
    assert (layer["x"]["field"], layer["y"]["field"]) == ("films", "avg_revenue")


def page_data(text: str) -> dict:
    """The page's data block (a list per column, by dataset)."""
    return json.loads(re.search(r'id="movielake-data">(.*?)</script>', text, re.S).group(1))


def counted(data: dict, dataset: str, decade: int | None, genre: str) -> int:
    """Films of a counts dataset for a decade (None: all) and a genre ("": all), summed."""
    columns = data[dataset]
    return sum(
        films
        for films, d, g in zip(columns["films"], columns["decade"], columns["genre"], strict=True)
        if (decade is None or d == decade) and g == genre
    )


def test_past_the_cap_the_scatters_draw_a_sample_and_the_histograms_count_every_film(
    tmp_path: Path, lake: dict[str, pd.DataFrame]
) -> None:
    text = build_report(lake, tmp_path, film_cap=50).read_text(encoding="utf-8")

    data = page_data(text)
    films = result(lake, "films")
    assert len(data["films"]["imdb_id"]) == 50
    assert data["gems"]["imdb_id"] == result(lake, "q7").imdb_id.tolist()  # the gems: all of them
    note = " ".join(re.search(r'<p class="note">(.*?)</p>', text, re.S).group(1).split())
    assert f"a uniform sample of 50 of the {len(films):,} films" in note
    # The histograms' counts are over every film, whatever the sample: checked against q1 and q6.
    assert counted(data, "roi_bins", None, "") == len(result(lake, "q1"))
    assert counted(data, "month_hits", None, "") == result(lake, "q6").films.sum()
    hits = sum(f for f, k, g in zip(*(data["month_hits"][c] for c in ("films", "kind", "genre")), strict=True)
               if k.startswith("hits") and g == "")  # fmt: skip
    assert hits == result(lake, "q6").hits.sum()
    with_roi = films[films.roi.notna()]
    decade = int(result(lake, "q2").decade.iloc[0])
    genre = with_roi.genres.str.split("|").explode().mode().iloc[0]
    picked = with_roi[(with_roi.decade == decade) & with_roi.genres.str.split("|").map(lambda g: genre in g)]
    assert counted(data, "roi_bins", decade, genre) == len(picked) > 0


def test_tables_hold_the_query_results(page: str, lake: dict[str, pd.DataFrame]) -> None:
    found = sections(page)
    q1 = result(lake, "q1")
    assert column(found["q1"], "IMDb id") == q1.imdb_id.head(10).tolist()
    assert column(found["q1"], "Title") == q1.title.head(10).tolist()
    assert f"first 10 of {len(q1):,} rows" in element(found["q1"], "caption")
    assert column(found["q2"], "Decade") == [f"{d}s" for d in result(lake, "q2").decade]
    assert column(found["q3"], "Films") == [str(n) for n in result(lake, "q3").films]
    assert column(found["q4"], "Artist") == result(lake, "q4").artist.tolist()
    assert column(found["q5"], "Films") == [str(result(lake, "q5").films.iloc[0])]
    assert column(found["q6"], "Hits") == [str(n) for n in result(lake, "q6").hits]
    assert len(column(found["q6"], "Month")) == 12  # all months, past the ten-row default
    assert column(found["q7"], "IMDb id") == result(lake, "q7").imdb_id.head(10).tolist()


def test_sentences_name_what_the_results_say(page: str, lake: dict[str, pd.DataFrame]) -> None:
    found = sections(page)
    q1, q4, q7 = result(lake, "q1"), result(lake, "q4"), result(lake, "q7")
    assert f"The median ROI of {len(q1):,} films" in element(found["q1"], "p", "answer")
    assert f"The best is {TRICKY_TITLE} (ROI {q1.roi.iloc[0]:,.1f}" in element(found["q1"], "p", "answer")
    assert element(found["q4"], "p", "answer").startswith(f"{q4.artist.iloc[0]} appears in the most")
    assert element(found["q7"], "p", "answer").startswith(f"{len(q7)} films are hidden gems")
    q5 = result(lake, "q5").iloc[0]
    assert f"Pearson {q5.pearson_vote_popularity:.2f}" in element(found["q5"], "p", "answer")


def test_data_is_escaped(page: str) -> None:
    assert TRICKY_TITLE not in page and "<Furious>" not in page
    assert "Fast &amp; &lt;Furious&gt; &#34;Cut&#34;" in page
    assert TRICKY_ARTIST not in page and "Bruno &lt;B&gt; &amp; Co" in page


def test_page_is_self_contained(page: str) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', page)
    assert "<link" not in page and "<script src" not in page
    assert "<style>" in page and "border-collapse" in page  # the stylesheet, inlined
    assert page.count("window.vegaEmbed=") == 1  # the libraries, inlined once


def test_missing_results_and_columns_become_notes(tmp_path: Path, lake: dict[str, pd.DataFrame]) -> None:
    results = {name: frame for name, frame in lake.items() if not name.startswith("q4")}
    q5 = next(name for name in results if name.startswith("q5"))
    results[q5] = results[q5].drop(columns="spearman_vote_popularity")

    found = sections(build_report(results, tmp_path).read_text())

    assert len(found) == 7
    assert element(found["q4"], "p", "missing") == "No answer: no result for q4."
    assert "spearman_vote_popularity" in element(found["q5"], "p", "missing")
    assert 'class="chart"' not in found["q5"] and 'class="chart"' in found["q1"]


def test_no_hidden_gem_is_an_answer_without_chart_or_table(
    tmp_path: Path, lake: dict[str, pd.DataFrame]
) -> None:
    results = {name: frame.iloc[0:0] if name.startswith("q7") else frame for name, frame in lake.items()}

    q7 = sections(build_report(results, tmp_path).read_text())["q7"]

    assert element(q7, "p", "answer").startswith("No film is a hidden gem")
    assert 'class="missing"' not in q7 and 'class="chart"' not in q7 and "<table" not in q7


def test_a_header_without_a_question_is_named(tmp_path: Path, lake: dict[str, pd.DataFrame]) -> None:
    for path in SQL_DIR.glob("q*.sql"):
        shutil.copy(path, tmp_path)
    q4 = tmp_path / "q4_top_artists.sql"
    q4.write_text(re.sub(r"-- Question:.*\n(--   .*\n)*", "", q4.read_text()))

    with pytest.raises(ReportHeaderError, match=r"q4_top_artists\.sql.*-- Question:"):
        build_report(lake, tmp_path / "out", sql_dir=tmp_path)


def test_report_command_writes_the_page(
    lake: dict[str, pd.DataFrame],
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    point_at_lake(monkeypatch, moto_server, tmp_path)

    assert main(["report", "--engine", "local", "--out", str(tmp_path / "r")]) == 0

    path = tmp_path / "r" / "index.html"
    assert f"report (local): {path}" in capsys.readouterr().out
    found = sections(path.read_text(encoding="utf-8"))
    assert column(found["q1"], "IMDb id") == result(lake, "q1").imdb_id.head(10).tolist()
    assert all('class="chart"' in body for body in found.values())


def test_report_on_the_aws_engine_runs_every_query_in_one_athena_session(
    lake: dict[str, pd.DataFrame],
    moto_server: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``--engine aws`` opens one session of the aws engine and runs the seven questions, the
    films query and what moved through it (answered here by DuckDB: Athena's own answers are the aws path's
    equality test); the page is the same page."""
    from movielake.analysis import engines

    point_at_lake(monkeypatch, moto_server, tmp_path)
    opened: list[str] = []
    ran: list[str] = []
    real = engines.make_engine

    class Recording:
        def __init__(self, settings: Settings, engine: str) -> None:
            opened.append(engine)
            self.session = real(settings, "local")

        def run(self, query: NamedQuery) -> pd.DataFrame:
            ran.append(query.name)
            return self.session.run(query)

        def close(self) -> None:
            self.session.close()

    monkeypatch.setattr(engines, "make_engine", Recording)

    assert main(["report", "--engine", "aws", "--out", str(tmp_path / "r")]) == 0

    assert opened == ["aws"]
    assert ran == [*discover(), "films", "what_moved"]
    text = (tmp_path / "r" / "index.html").read_text(encoding="utf-8")
    assert "report (aws):" in capsys.readouterr().out
    assert len(sections(text)) == 7 and 'id="movielake-data"' in text


def test_report_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "--engine" in capsys.readouterr().out


SCREENSHOTS = PROJECT_ROOT / "build" / "screenshots"


@pytest.mark.slow
def test_a_reader_explores_the_page_offline_in_chromium(
    lake: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    """Open the page with the network off, look at every view, hover a film, click the 1980s
    bar, pick a genre, clear: no request leaves the file, no console error, and the gems view
    shows exactly the selection's gems."""
    if chromium.chromium_path() is None:
        pytest.skip(chromium.NO_CHROMIUM)
    path = build_report(lake, tmp_path)
    films = result(lake, "films")
    gems = result(lake, "q7").merge(films[["imdb_id", "decade", "genres"]], on="imdb_id")
    gems_of_1980s = gems[gems.decade == 1980].title.tolist()
    assert gems_of_1980s and len(gems_of_1980s) < len(gems)  # the click has something to leave out
    genre = gems.genres.iloc[-1].split("|")[0]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    gem_bars = '#chart-q7 path[aria-roledescription="bar"]'

    with chromium.offline_page(path) as visit:
        page = visit.page
        marks = {key: page.evaluate(chromium.COUNT_MARKS, key) for key in sections(path.read_text())}
        page.screenshot(path=SCREENSHOTS / "report.png", full_page=True)
        page.hover(f"{gem_bars} >> nth=0")
        tooltip = page.inner_text("#vg-tooltip-element")
        page.click('#chart-q2 path[aria-roledescription="bar"][aria-label*="1980s"]')
        page.wait_for_selector("body[data-selection='1980|']", state="attached")
        picked = page.locator(gem_bars).evaluate_all("bars => bars.map(b => b.getAttribute('aria-label'))")
        status = page.inner_text("#selection-status")
        page.screenshot(path=SCREENSHOTS / "report-1980s.png", full_page=True)
        page.click("#clear-selection")
        page.wait_for_selector("body[data-selection='|']", state="attached")
        restored = page.locator(gem_bars).count()
        page.select_option("#pick-genre", genre)
        page.wait_for_selector(f"body[data-selection='|{genre}']", state="attached")
        by_genre = page.locator(gem_bars).count()

    assert visit.left_the_file() == [], "a request left the file"
    assert visit.errors == []
    assert all(count > 0 for count in marks.values()), marks  # every view drew marks
    assert marks["q7"] == len(gems) and marks["q4"] >= 2 * len(result(lake, "q4"))  # points and names
    top = gems.sort_values("roi", ascending=False).iloc[0]
    assert top.title in tooltip and "budget" in tooltip and "votes" in tooltip
    assert sorted(re.search(r"film: (.*?);", label).group(1) for label in picked) == sorted(gems_of_1980s)
    assert all("decade: 1980" in label for label in picked)
    assert status.startswith("Showing 1980s: ")
    assert restored == len(gems)
    assert by_genre == sum(f"|{genre}|" in g for g in gems.genres.map(lambda g: f"|{g}|"))
