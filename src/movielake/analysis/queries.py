"""The SQL files of ``sql/``: one named query per ``q*.sql``, named for the file stem.

The files are the only source of the analyses (Terraform turns each into an Athena named
query; the local engine translates them). Each starts with a header comment::

    -- Title: Return on investment per film
    -- Question: Which films returned the most money per dollar of budget?
    -- Definitions: ...

``Title:`` and ``Question:`` values may continue on following indented comment lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from movielake.config import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"
_FILE_PATTERN = "q*.sql"
_FIELD = re.compile(r"^--\s*(Title|Question)\s*:\s*(.*)$", re.IGNORECASE)
_CONTINUATION = re.compile(r"^--\s{2,}(\S.*)$")


class QueryNotFoundError(KeyError):
    """No SQL file of that name; the message lists the names there are."""


@dataclass(frozen=True)
class NamedQuery:
    """One analysis: its name (the file stem), header title and question, and SQL text."""

    name: str
    title: str
    question: str
    sql: str

    @property
    def statement(self) -> str:
        """The SQL without a trailing semicolon, as Athena's API and DuckDB both take it."""
        return self.sql.strip().rstrip(";").rstrip()


def parse_header(sql: str) -> dict[str, str]:
    """The ``Title:`` and ``Question:`` values of the leading comment block (lower-case keys)."""
    found: dict[str, str] = {}
    current: str | None = None
    for line in sql.splitlines():
        stripped = line.rstrip()
        if not stripped.startswith("--"):
            break
        field_match = _FIELD.match(stripped)
        if field_match:
            current = field_match.group(1).lower()
            found[current] = field_match.group(2).strip()
            continue
        continuation = _CONTINUATION.match(stripped)
        if current and continuation and not continuation.group(1).endswith(":"):
            found[current] = f"{found[current]} {continuation.group(1).strip()}"
        else:
            current = None
    return found


def load_query(path: Path) -> NamedQuery:
    """Read one SQL file into a NamedQuery."""
    text = path.read_text(encoding="utf-8")
    header = parse_header(text)
    return NamedQuery(
        name=path.stem,
        title=header.get("title", path.stem),
        question=header.get("question", ""),
        sql=text,
    )


def discover(sql_dir: Path | None = None) -> dict[str, NamedQuery]:
    """Every ``q*.sql`` of the directory, by name, in file-name order (q1 ... q7)."""
    directory = sql_dir or SQL_DIR
    return {path.stem: load_query(path) for path in sorted(directory.glob(_FILE_PATTERN))}


def get_query(name: str, sql_dir: Path | None = None) -> NamedQuery:
    """One query by name; ``q1`` is accepted for ``q1_roi`` when unambiguous."""
    queries = discover(sql_dir)
    if name in queries:
        return queries[name]
    matches = [q for stem, q in queries.items() if stem.split("_", 1)[0] == name]
    if len(matches) == 1:
        return matches[0]
    raise QueryNotFoundError(f"no query named {name!r}; there are: {', '.join(queries) or 'none'}")
