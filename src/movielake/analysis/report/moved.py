"""The report's "what moved since the last run" section, from ``sql/report/what_moved.sql``.

The query (its header defines the terms) lists the films the last TMDB run refreshed and the
films whose hidden-gem status changed; ``what_moved`` turns its rows into the section's
sentence and table, and ``templates/what_moved.html.j2`` shows them. Kept apart from the
seven questions: it answers "what changed", not a question of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from movielake.analysis.queries import SQL_DIR, NamedQuery, load_query
from movielake.analysis.report.formats import text
from movielake.analysis.report.questions import Table

if TYPE_CHECKING:
    import pandas as pd


WHAT_MOVED_SQL = SQL_DIR / "report" / "what_moved.sql"
TEMPLATE = "what_moved.html.j2"


@dataclass(frozen=True)
class Moved:
    """The section: its title and question (the SQL header), a sentence, the rows, or why not."""

    title: str
    question: str
    sentence: str | None = None
    table: Table | None = None
    missing: str | None = None


def what_moved_query() -> NamedQuery:
    """The section's SQL file."""
    return load_query(WHAT_MOVED_SQL)


def run_what_moved(session: Any) -> pd.DataFrame | str:
    """The query's rows in an open engine session, or (when it cannot run, e.g. before the
    first refine with history) the reason, which the section shows instead of an answer."""
    try:
        return session.run(what_moved_query())
    except Exception as exc:  # shown in the page instead of the answer, never hidden
        return f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def what_moved(rows: pd.DataFrame | str) -> Moved:
    """The section from the query's rows: how many films the last run refreshed, how many of
    them moved an answer (revenue, budget, votes or ROI), and the gems gained and lost."""
    query = what_moved_query()
    header = {"title": query.title, "question": query.question}
    if isinstance(rows, str):
        return Moved(**header, missing=rows)
    refreshed = rows[rows["refreshed"].astype(bool)]
    if refreshed.empty and rows.empty:
        return Moved(**header, sentence="The last TMDB run refreshed no film: no answer moved.")
    moved = refreshed[refreshed["moved"].astype(bool)]
    gained = rows[rows["is_gem"].astype(bool) & ~rows["was_gem"].astype(bool)]
    lost = rows[rows["was_gem"].astype(bool) & ~rows["is_gem"].astype(bool)]
    run_date = text(refreshed["last_fetched_on"].iloc[0]) if not refreshed.empty else "the last run"
    parts = [
        f"The run of {run_date} refreshed {len(refreshed)} films; {len(moved)} of them moved an answer "
        f"(revenue of {_changed(moved, 'revenue')}, vote count of {_changed(moved, 'vote_count')}, "
        f"ROI of {_changed(moved, 'roi')})",
        f"hidden gems gained: {_titles(gained)}",
        f"lost: {_titles(lost)}",
    ]
    return Moved(**header, sentence="; ".join(parts) + ".", table=Table.of(rows))


def _changed(rows: pd.DataFrame, column: str) -> int:
    """How many rows have ``column`` different from ``<column>_before`` (NULL vs value differs)."""
    now, before = rows[column], rows[f"{column}_before"]
    return int(((now != before) & ~(now.isna() & before.isna())).sum())


def _titles(rows: pd.DataFrame) -> str:
    """The films' titles, or ``none``."""
    return (
        ", ".join(
            f"{title} ({imdb_id})" for imdb_id, title in zip(rows["imdb_id"], rows["title"], strict=True)
        )
        or "none"
    )


def section_context(moved: Moved | None) -> dict[str, Any]:
    """What the page template needs to include the section (nothing when there is none)."""
    return {"moved": moved, "moved_template": TEMPLATE}
