"""Running the analyses: one query or all seven, on the local engine (DuckDB) or on aws (Athena).

Each engine answers a query two ways: ``run`` as a DataFrame (the report, the tests) and
``fetch`` as plain rows (``movielake query``, which then never imports pandas).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from movielake.analysis.queries import NamedQuery, discover, get_query
from movielake.analysis.results import QueryResult
from movielake.config import ENGINES, Settings

if TYPE_CHECKING:
    import pandas as pd

Answer = TypeVar("Answer")


class Engine(Protocol):
    """What both engines offer."""

    def run(self, query: NamedQuery) -> pd.DataFrame:
        """Run one named query; its result as a DataFrame."""
        ...

    def fetch(self, query: NamedQuery) -> QueryResult:
        """Run one named query; its result as rows of Python values."""
        ...

    def close(self) -> None:
        """Release the session."""
        ...


def make_engine(settings: Settings, engine: str = "local") -> Engine:
    """A session of the ``local`` engine (DuckDB) or of ``aws`` (Athena)."""
    if engine == "local":
        from movielake.analysis.duckdb_engine import DuckDBEngine

        return DuckDBEngine(settings)
    if engine == "aws":
        from movielake.analysis.athena_engine import AthenaEngine

        return AthenaEngine(settings)
    raise ValueError(f"unknown engine {engine!r}; choose one of {' or '.join(ENGINES)}")


def _answer_all(
    settings: Settings,
    answer: Callable[[Engine, NamedQuery], Answer],
    engine: str,
    names: Iterable[str] | None,
    sql_dir: Path | None,
) -> dict[str, Answer]:
    """``answer(session, query)`` for the named SQL files (every one by default), by name, in
    one engine session."""
    # An unknown name fails here, before a session is opened.
    selected = list(discover(sql_dir).values()) if names is None else [get_query(n, sql_dir) for n in names]
    refuse_mixed_runs(settings, selected)
    session = make_engine(settings, engine)
    try:
        return {query.name: answer(session, query) for query in selected}
    finally:
        session.close()


def refuse_mixed_runs(settings: Settings, queries: Iterable[NamedQuery]) -> None:
    """``MixedRunsError`` when the Trusted and Refined tables the queries read were published
    by different refine runs (a refine killed while publishing): answers from two runs at once
    would disagree with each other, so none are given until a refine publishes one whole run."""
    from movielake import aws
    from movielake.analysis.translate import referenced_tables
    from movielake.refine import catalog

    settings.require("glue_database")
    tables = sorted(set().union(*(referenced_tables(q.statement) for q in queries)))
    catalog.refuse_mixed_runs(aws.client("glue", settings), settings.glue_database, tables)


def run_all(
    settings: Settings,
    engine: str = "local",
    *,
    names: Iterable[str] | None = None,
    sql_dir: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """The named SQL files' results (``q1_roi`` or ``q1``; all of them by default) by name, in
    one engine session, as DataFrames."""
    return _answer_all(settings, lambda session, query: session.run(query), engine, names, sql_dir)


def fetch_all(
    settings: Settings,
    engine: str = "local",
    *,
    names: Iterable[str] | None = None,
    sql_dir: Path | None = None,
) -> dict[str, QueryResult]:
    """The same results as ``run_all``, as rows of Python values (no pandas)."""
    return _answer_all(settings, lambda session, query: session.fetch(query), engine, names, sql_dir)
