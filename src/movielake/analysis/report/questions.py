"""The report's questions: what each section shows, and its content from the query results.

A question's title and wording are its SQL file's header (``sql/q*.sql``, read by
``movielake.analysis.queries``); this module only pairs each query number with the rows its
table shows, its answer sentence and its chart. How the table looks is the question's
template, ``templates/questions/<query name>.html.j2``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from movielake.analysis.queries import parse_header
from movielake.analysis.report import charts, sentences
from movielake.analysis.report import results as rows
from movielake.analysis.report.results import EmptyAnswer, MissingData, Results

if TYPE_CHECKING:
    import pandas as pd

    from movielake.analysis.queries import NamedQuery


class ReportHeaderError(ValueError):
    """A question's SQL file is missing or its header lacks a title or a question."""


@dataclass(frozen=True)
class Answer:
    """How one question is answered: its table's rows, its sentence and its chart's spec."""

    rows: Callable[[Results], pd.DataFrame]
    sentence: Callable[[Results], str]
    chart: Callable[[Results], charts.Spec]


ANSWERS: dict[str, Answer] = {
    "q1": Answer(rows.films_with_roi, sentences.q1, charts.q1),
    "q2": Answer(rows.decades, sentences.q2, charts.q2),
    "q3": Answer(rows.quintiles, sentences.q3, charts.q3),
    "q4": Answer(rows.artists, sentences.q4, charts.q4),
    "q5": Answer(rows.coefficients, sentences.q5, charts.q5),
    "q6": Answer(rows.months, sentences.q6, charts.q6),
    "q7": Answer(rows.gems, sentences.q7, charts.q7),
}


@dataclass(frozen=True)
class Table:
    """A result's rows as the templates read them: columns, records and the total count."""

    columns: tuple[str, ...]
    records: list[dict[str, Any]]

    @classmethod
    def of(cls, frame: pd.DataFrame) -> Table:
        """The frame's columns and rows (values as Python scalars)."""
        return cls(tuple(frame.columns), frame.to_dict("records"))


@dataclass(frozen=True)
class Section:
    """One question's section: header text, and either an answer or a note saying why not."""

    key: str  # query number, q1 ... q7
    name: str  # query name, the SQL file stem: q1_roi
    title: str
    question: str
    sentence: str | None = None
    chart: charts.Spec | None = None  # Vega-Lite spec
    table: Table | None = None
    missing: str | None = None

    @property
    def renderer(self) -> str:
        """How the page draws the chart: on a canvas when its points are many, else as SVG."""
        return "canvas" if self.key in charts.CANVAS else "svg"

    @property
    def linked(self) -> bool:
        """True when the chart follows the page's selection (a decade, a genre)."""
        return self.key in charts.LINKED

    @property
    def template(self) -> str:
        """The question's partial, named for its SQL file."""
        return f"questions/{self.name}.html.j2"


def answered(query: NamedQuery, results: Results) -> Section:
    """The section of one question: the sentence, chart and table, or the note of what is missing."""
    key = query.name.split("_", 1)[0]
    answer = ANSWERS[key]
    header = Section(key, query.name, query.title, query.question)
    try:
        sentence = answer.sentence(results)
    except MissingData as exc:
        return replace(header, missing=str(exc))
    try:
        chart = answer.chart(results)
        return replace(header, sentence=sentence, chart=chart, table=Table.of(answer.rows(results)))
    except EmptyAnswer:
        return replace(header, sentence=sentence)  # the sentence says there is nothing to show
    except MissingData as exc:
        return replace(header, sentence=sentence, missing=str(exc))


def report_queries(queries: Iterable[NamedQuery]) -> list[NamedQuery]:
    """The SQL files the report answers, in order; ReportHeaderError if one is absent or untitled."""
    by_key = {q.name.split("_", 1)[0]: q for q in queries}
    chosen = []
    for key in ANSWERS:
        query = by_key.get(key)
        if query is None:
            raise ReportHeaderError(f"no sql/{key}_*.sql file: the report answers {', '.join(ANSWERS)}")
        if not {"title", "question"} <= parse_header(query.sql).keys():
            raise ReportHeaderError(
                f"sql/{query.name}.sql: the header comment needs a '-- Title:' and a '-- Question:' line"
            )
        chosen.append(query)
    return chosen
