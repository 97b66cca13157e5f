"""The report page, rendered from the analyses' real results over a small synthetic lake.

The lake (120 synthetic films, one with an HTML-special title) lives in the shared moto
server; ``movielake refine`` builds Refined and the seven SQL files run on DuckDB. The page is
then checked against those results and the SQL files' headers, never against numbers the test
computes its own way.
"""

from __future__ import annotations

import base64
import html
import os
import re
import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import boto3
import pandas as pd
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake.analysis.engines import run_all
from movielake.analysis.queries import SQL_DIR, discover
from movielake.analysis.report import build_report
from movielake.analysis.report.questions import ReportHeaderError
from movielake.cli import main
from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.local.server import reset_moto
from movielake.tmdb.records import to_record

DATABASE = "movielake_report_test_raw"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TRICKY_TITLE = 'Fast & <Furious> "Cut"'
TRICKY_ARTIST = "Bruno <B> & Co"
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
        busiest = Counter(a.name for f in films for a, _ in f.cast).most_common(1)[0][0]
        csv_lines = [line.replace(busiest, TRICKY_ARTIST) for line in synthetic.csv_text(films)]
        day = date(2026, 2, 1)
        sample_lake.write_tmdb_batches(s3, LAKE_BUCKET, records, day)
        sample_lake.write_csv(s3, LAKE_BUCKET, "movies.csv", csv_lines, day)
        sample_lake.register_contract_tables(glue, DATABASE, LAKE_BUCKET)
        sample_lake.register_all_partitions(glue, s3, DATABASE)
        assert main(["refine", "--engine", "local"]) == 0
        yield run_all(Settings.from_env(), engine="local")


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


def test_each_question_has_a_sentence_an_embedded_png_chart_and_a_table(page: str) -> None:
    for key, body in sections(page).items():
        assert element(body, "p", "answer"), key
        images = re.findall(r'<img src="data:image/png;base64,([^"]+)"', body)
        assert len(images) == 1, key
        png = base64.b64decode(images[0], validate=True)
        assert png.startswith(PNG_SIGNATURE), key
        assert png[12:16] == b"IHDR" and int.from_bytes(png[16:20], "big") > 400, key  # a real width
        assert table_rows(body), key
        assert 'class="missing"' not in body, key


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
    assert "<script" not in page and "<link" not in page
    assert "<style>" in page and "border-collapse" in page  # the stylesheet, inlined


def test_missing_results_and_columns_become_notes(tmp_path: Path, lake: dict[str, pd.DataFrame]) -> None:
    results = {name: frame for name, frame in lake.items() if not name.startswith("q4")}
    q5 = next(name for name in results if name.startswith("q5"))
    results[q5] = results[q5].drop(columns="spearman_vote_popularity")

    found = sections(build_report(results, tmp_path).read_text())

    assert len(found) == 7
    assert element(found["q4"], "p", "missing") == "No answer: no result for q4."
    assert "spearman_vote_popularity" in element(found["q5"], "p", "missing")
    assert "<img" not in found["q5"] and "<img" in found["q1"]


def test_no_hidden_gem_is_an_answer_without_chart_or_table(
    tmp_path: Path, lake: dict[str, pd.DataFrame]
) -> None:
    results = {name: frame.iloc[0:0] if name.startswith("q7") else frame for name, frame in lake.items()}

    q7 = sections(build_report(results, tmp_path).read_text())["q7"]

    assert element(q7, "p", "answer").startswith("No film is a hidden gem")
    assert 'class="missing"' not in q7 and "<img" not in q7 and "<table" not in q7


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
    assert all("data:image/png;base64," in body for body in found.values())


def test_report_command_has_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--help"])
    assert exit_info.value.code == 0
    assert "--engine" in capsys.readouterr().out
