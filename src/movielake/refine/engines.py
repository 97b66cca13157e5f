"""The two engines a refine runs on, behind one small interface.

``write_table`` runs one model's Athena SQL and leaves its result as Parquet under a fresh
location with a Glue table of the given name over it; ``rows`` runs a SELECT and returns its
rows. ``aws`` is Athena (``movielake.refine.athena``, boto3 only): the refine Lambda's engine
and the default, on AWS and on the local stack alike. ``local`` is DuckDB in this process
(``movielake refine --engine local``), through the same translation the analyses use, writing
the same Parquet layout to S3 and the same Glue entries. Nothing is transformed in Python.
"""

from __future__ import annotations

from typing import Any, Protocol

from movielake import aws
from movielake.config import ENGINES, Settings
from movielake.refine.catalog import parquet_table_input, put_table

PARQUET_FILE = "part-00000.parquet"


class RefineEngine(Protocol):
    """What a refine needs of an engine."""

    name: str

    def write_table(self, sql: str, table: str, location: str) -> None:
        """Write the SELECT's rows as Parquet under ``location`` and catalog them as ``table``."""
        ...

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of a SELECT."""
        ...

    def stop(self) -> None:
        """Stop the running query (called from another thread when the deadline comes)."""
        ...

    def close(self) -> None:
        """Release the session."""
        ...


def make_engine(settings: Settings, name: str, *, glue: Any = None, s3: Any = None) -> RefineEngine:
    """A refine session on the ``local`` engine (DuckDB) or on ``aws`` (Athena)."""
    if name == "local":
        return DuckDBRefineEngine(settings, glue=glue, s3=s3)
    if name == "aws":
        from movielake.refine.athena import AthenaRefineEngine

        return AthenaRefineEngine(settings, glue=glue)
    raise ValueError(f"unknown engine {name!r}; choose one of {' or '.join(ENGINES)}")


class DuckDBRefineEngine:
    """DuckDB over the lake: a model's result is a session table, copied to S3 as one Parquet
    object and cataloged with the Glue types of its DuckDB columns."""

    name = "duckdb"

    def __init__(self, settings: Settings, *, glue: Any = None, s3: Any = None) -> None:
        from movielake.analysis.duckdb_engine import DuckDBEngine

        self.settings = settings
        self._glue = glue or aws.client("glue", settings)
        self._engine = DuckDBEngine(settings, glue=self._glue, s3=s3)

    def write_table(self, sql: str, table: str, location: str) -> None:
        """Materialise, copy to ``<location>part-00000.parquet``, catalog as ``table``."""
        from movielake.analysis.translate import duckdb_to_glue_type

        self._engine.materialise(table, sql)
        connection = self._engine.connection
        quoted = '"' + table.replace('"', '""') + '"'
        described = connection.execute(f"DESCRIBE {quoted}").fetchall()
        target = (location + PARQUET_FILE).replace("'", "''")
        connection.execute(f"COPY {quoted} TO '{target}' (FORMAT parquet, COMPRESSION zstd)")
        columns = [(str(row[0]), duckdb_to_glue_type(str(row[1]))) for row in described]
        put_table(self._glue, self.settings.glue_database, parquet_table_input(table, location, columns))
        self._engine.refresh_catalog()

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        """The rows of an Athena SELECT, translated and run on DuckDB."""
        return self._engine.connection.execute(self._engine.translate(sql)).fetchall()

    def stop(self) -> None:
        """Interrupt the running statement (DuckDB raises ``InterruptException`` in it)."""
        self._engine.connection.interrupt()

    def close(self) -> None:
        """Close the DuckDB session."""
        self._engine.close()
