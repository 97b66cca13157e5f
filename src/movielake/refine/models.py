"""The refine's SQL files: one model (table) per ``sql/<zone>/<stem>.sql``, and the quality checks.

A model's table is ``<zone>_<stem>`` (``sql/trusted/films.sql`` -> ``trusted_films``), written
under ``Trusted/films/v=<run id>/``. Models are ordered so each comes after the models it
reads; Trusted comes before Refined (the checks run between the two). A check file
``sql/checks/<table>.sql`` returns one row per rule: ``rule``, ``kind`` (``hard``: rows that
break the rule, must be 0; ``dropped``: rows the model left out; ``nulled``: values it turned
into NULL) and ``row_count``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from movielake.analysis.queries import SQL_DIR
from movielake.analysis.translate import referenced_tables
from movielake.keys import ZONE_PREFIXES, table_version_prefix

ZONES: tuple[str, ...] = tuple(ZONE_PREFIXES)  # build order: trusted, then refined
CHECKS_DIR = "checks"
CHECK_KINDS = ("hard", "dropped", "nulled")
# The Lambda zip carries the SQL files inside the package (scripts/build_lambdas.py).
PACKAGED_SQL_DIR = Path(__file__).resolve().parent / "sql"


class ModelError(ValueError):
    """The SQL files do not form a buildable set (a cycle, a missing file); says which."""


@dataclass(frozen=True)
class Model:
    """One table of a zone, from its SQL file."""

    zone: str
    stem: str
    sql: str

    @property
    def table(self) -> str:
        """The Glue table name: ``<zone>_<stem>``."""
        return f"{self.zone}_{self.stem}"

    @property
    def statement(self) -> str:
        """The SELECT without a trailing semicolon."""
        return self.sql.strip().rstrip(";").rstrip()

    @property
    def sources(self) -> set[str]:
        """The tables the SELECT reads."""
        return referenced_tables(self.statement)

    def version_prefix(self, run_id: str) -> str:
        """Where one run writes this table: ``Trusted/films/v=<run id>/``."""
        return table_version_prefix(self.zone, self.stem, run_id)


@dataclass(frozen=True)
class Check:
    """The quality rules of one table, from ``sql/checks/<table>.sql``."""

    table: str
    sql: str

    @property
    def statement(self) -> str:
        """The SELECT without a trailing semicolon."""
        return self.sql.strip().rstrip(";").rstrip()


def default_sql_dir() -> Path:
    """The SQL files shipped in the package (Lambda), else the repository's ``sql/``."""
    return PACKAGED_SQL_DIR if PACKAGED_SQL_DIR.is_dir() else SQL_DIR


def _ordered(models: list[Model]) -> list[Model]:
    """Models with each after the models it reads (file-name order otherwise)."""
    by_table = {m.table: m for m in models}
    done: list[Model] = []
    visiting: set[str] = set()

    def visit(model: Model) -> None:
        if model in done:
            return
        if model.table in visiting:
            raise ModelError(f"the models read each other in a cycle through {model.table}")
        visiting.add(model.table)
        for source in sorted(model.sources & set(by_table)):
            visit(by_table[source])
        visiting.discard(model.table)
        done.append(model)

    for model in models:
        visit(model)
    return done


def discover_models(sql_dir: Path | None = None) -> list[Model]:
    """Every model of every zone, in build order (Trusted first, then by dependency)."""
    directory = sql_dir or default_sql_dir()
    models: list[Model] = []
    for zone in ZONES:
        zone_models = [
            Model(zone, path.stem, path.read_text(encoding="utf-8"))
            for path in sorted((directory / zone).glob("*.sql"))
        ]
        models += _ordered(zone_models)
    if not models:
        raise ModelError(f"no model files in {directory}/trusted or {directory}/refined")
    return models


def discover_checks(sql_dir: Path | None = None) -> list[Check]:
    """Every check file, by table name."""
    directory = (sql_dir or default_sql_dir()) / CHECKS_DIR
    return [Check(p.stem, p.read_text(encoding="utf-8")) for p in sorted(directory.glob("*.sql"))]
