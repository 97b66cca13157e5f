"""Running the analyses: one query or all seven, on the local engine (DuckDB) or on aws (Athena)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from movielake.analysis.queries import NamedQuery, discover, get_query
from movielake.config import ENGINES, Settings

if TYPE_CHECKING:
    import pandas as pd


class Engine(Protocol):
    """What both engines offer."""

    def run(self, query: NamedQuery) -> pd.DataFrame:
        """Run one named query."""
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


def run_query(
    name: str, settings: Settings, engine: str = "local", *, sql_dir: Path | None = None
) -> pd.DataFrame:
    """The result of one SQL file (``q1_roi`` or ``q1``) on the chosen engine."""
    query = get_query(name, sql_dir)
    session = make_engine(settings, engine)
    try:
        return session.run(query)
    finally:
        session.close()


def run_all(
    settings: Settings,
    engine: str = "local",
    *,
    names: Iterable[str] | None = None,
    sql_dir: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """Every SQL file's result by name (q1 ... q7), in one engine session."""
    queries = discover(sql_dir)
    selected = [get_query(n, sql_dir) for n in names] if names is not None else list(queries.values())
    session = make_engine(settings, engine)
    try:
        return {query.name: session.run(query) for query in selected}
    finally:
        session.close()
