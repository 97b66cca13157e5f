"""Which films to ask TMDB about: one streaming DuckDB query over the newest movies CSV in Raw.

DuckDB reads the object straight from S3 (httpfs, ranged GETs), parses only the columns the
enabled filters need, applies them in its vectorised engine on both cores, and streams the
matching ids back in file order; Python only drops the repeats of a film (one row per film x
artist). Memory is bounded by DuckDB's ``memory_limit``, its read buffers and the selected ids,
whatever the size or shape of the file: one row per film (millions of distinct films) or
several artist rows per film.

The filters, as the predecessor meant them: a year or vote count strictly greater than the
minimum (``\\N``, empty or non-numeric fails), and a genre field holding one of the genres as a
whole comma-separated name, case-insensitively (``Crimes`` is not ``crime``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from movielake import keys
from movielake.aws import list_objects
from movielake.config import Settings
from movielake.duckdb_s3 import connect, sql_string

if TYPE_CHECKING:
    import duckdb

ID_COLUMN = "id"
YEAR_COLUMN = "anoLancamento"
GENRE_COLUMN = "genero"
VOTES_COLUMN = "numeroVotos"
NULL = "\\N"
# DuckDB's budget: the planner Lambda has 512 MB, and the selected ids live beside it.
MEMORY_LIMIT = "64MB"
THREADS = 2
# Bytes per CSV read buffer (DuckDB's default, 16 MB per thread, adds resident memory, not speed).
READ_BUFFER = 8_000_000
# Bytes read for the header line alone (one ranged GET, not a whole read buffer).
HEADER_BUFFER = 1 << 20
# Rows fetched from DuckDB per round trip.
FETCH_ROWS = 50_000
MOVIES_PREFIX = keys.raw_csv_prefix("Movies")


class SelectionError(ValueError):
    """The movies CSV cannot be selected from; the message names the file and what is wrong."""


@dataclass(frozen=True)
class Filters:
    """The film filters; ``None`` or an empty genre list switches that filter off."""

    min_year: int | None = 1960
    min_votes: int | None = 10000
    genres: tuple[str, ...] = ("crime", "war")

    @classmethod
    def from_settings(cls, settings: Settings) -> Filters:
        """The filters configured by ``MOVIELAKE_MIN_YEAR``, ``_MIN_VOTES`` and ``_GENRES``."""
        return cls(settings.min_year, settings.min_votes, settings.genres)

    def as_dict(self) -> dict[str, Any]:
        """How the plan and manifest record the filters (``None`` / ``[]`` = off)."""
        return {"min_year": self.min_year, "min_votes": self.min_votes, "genres": list(self.genres)}

    def columns(self) -> tuple[str, ...]:
        """The CSV columns these filters read, the id first."""
        wanted = [ID_COLUMN]
        if self.min_year is not None:
            wanted.append(YEAR_COLUMN)
        if self.genres:
            wanted.append(GENRE_COLUMN)
        if self.min_votes is not None:
            wanted.append(VOTES_COLUMN)
        return tuple(wanted)


@dataclass(frozen=True)
class CsvObject:
    """One ingested movies CSV in the lake."""

    key: str
    last_modified: datetime
    size: int


@dataclass(frozen=True)
class Selection:
    """The distinct ids that passed the filters, in order of first appearance."""

    source: str
    ids: list[str]
    bytes_read: int


def _number(column: str) -> str:
    """A numeric column as DuckDB double; NULL for ``\\N``, empty or non-numeric (as pandas' coerce)."""
    return f"TRY_CAST({_identifier(column)} AS DOUBLE)"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _genre_pattern(genres: tuple[str, ...]) -> str:
    """An RE2 pattern: one of ``genres`` as a whole comma-separated name, spaces around allowed."""
    names = "|".join(r"\Q" + g.strip() + r"\E" for g in genres)
    return rf"(?i)(?:^|,)\s*(?:{names})\s*(?:,|$)"


def conditions(filters: Filters) -> list[str]:
    """The SQL conditions of the enabled filters (the id must be present too)."""
    found = [f"{_identifier(ID_COLUMN)} IS NOT NULL", f"{_identifier(ID_COLUMN)} <> {sql_string(NULL)}"]
    if filters.min_votes is not None:
        found.append(f"{_number(VOTES_COLUMN)} > {int(filters.min_votes)}")
    if filters.min_year is not None:
        found.append(f"{_number(YEAR_COLUMN)} > {int(filters.min_year)}")
    if filters.genres:
        found.append(
            f"regexp_matches({_identifier(GENRE_COLUMN)}, {sql_string(_genre_pattern(filters.genres))})"
        )
    return found


def _reader(
    location: str, columns: list[str], *, delimiter: str = "|", header: bool = True, buffer: int = 0
) -> str:
    """``read_csv`` of a PB movies CSV (after its header): no quoting, every column text."""
    spec = ", ".join(f"{sql_string(name)}: 'VARCHAR'" for name in columns)
    size = buffer or READ_BUFFER
    return (
        f"read_csv({sql_string(location)}, delim={sql_string(delimiter)}, header={str(header).lower()}, "
        f"quote='', escape='', buffer_size={size}, max_line_size={size}, auto_detect=false, "
        f"columns={{{spec}}})"
    )


def read_header(connection: duckdb.DuckDBPyConnection, location: str, source: str) -> list[str]:
    """The column names of the CSV's header line (a UTF-8 BOM and ``\\r`` are tolerated).

    Read as one field of a one-column file (a delimiter no text holds), so no sniffing can
    reject a file before its rows are read and reported by line.
    """
    import duckdb

    reader = _reader(location, ["line"], delimiter="\x01", header=False, buffer=HEADER_BUFFER)
    try:
        row = connection.execute(f"SELECT * FROM {reader} LIMIT 1").fetchone()  # noqa: S608 - all quoted
    except duckdb.Error as exc:
        raise SelectionError(f"{source}: line 1 (header) cannot be read: {exc}") from exc
    if row is None or row[0] is None:
        raise SelectionError(f"{source}: the file is empty (no header line)")
    return row[0].removeprefix("\ufeff").rstrip("\r").split("|")


def select_ids(
    connection: duckdb.DuckDBPyConnection,
    location: str,
    filters: Filters,
    *,
    size: int,
    source: str | None = None,
) -> Selection:
    """The distinct ids of the films in the CSV at ``location`` that pass ``filters``.

    ``location`` is anything DuckDB reads (``s3://`` with httpfs loaded, or a path); ``size``
    is its length in bytes, reported as ``bytes_read``. Ids come in order of first appearance.
    """
    import duckdb

    source = source or location
    if size == 0:
        raise SelectionError(f"{source}: the file is empty (no header line)")
    header = read_header(connection, location, source)
    missing = [c for c in filters.columns() if c not in header]
    if missing:
        raise SelectionError(
            f"{source}: line 1 (header) lacks column(s) {', '.join(missing)} needed by the "
            f"filters; it has: {'|'.join(header)}"
        )
    reader = _reader(location, header)
    query = f"SELECT {_identifier(ID_COLUMN)} FROM {reader} WHERE {' AND '.join(conditions(filters))}"  # noqa: S608
    chosen: dict[str, None] = {}
    try:
        cursor = connection.execute(query)
        while rows := cursor.fetchmany(FETCH_ROWS):
            chosen.update(dict.fromkeys(chain.from_iterable(rows)))  # one-column rows, iterated in C
    except duckdb.Error as exc:
        raise SelectionError(f"{source}: {_explained(exc)}") from exc
    return Selection(source, list(chosen), size)


def _explained(error: Exception) -> str:
    """DuckDB's first lines about a failed read, and what to do about it."""
    what = "\n".join(str(error).splitlines()[:3])
    if "CSV Error" in what:
        return (
            f"{what}\nEvery row must hold the header's fields, |-delimited: fix the file and ingest "
            "it again (`movielake upload` validates it)"
        )
    return f"{what}\nCheck that the object exists and that this role may s3:GetObject on it"


def selection_connection(settings: Settings | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB session sized for the planner; with ``settings`` it reads the lake's S3."""
    return connect(settings, memory_limit=MEMORY_LIMIT, threads=THREADS, preserve_insertion_order=True)


def newest_movies_csv(s3: Any, bucket: str) -> CsvObject:
    """The movies CSV of the latest date folder (latest ``LastModified`` within the day)."""
    found = [
        (match.groups(), item["LastModified"], CsvObject(item["Key"], item["LastModified"], item["Size"]))
        for item in list_objects(s3, bucket, MOVIES_PREFIX)
        if (match := keys.RAW_MOVIES_CSV_PATTERN.match(item["Key"]))
    ]
    if not found:
        raise SelectionError(
            f"no movies CSV under s3://{bucket}/{MOVIES_PREFIX}<YYYY>/<MM>/<DD>/movies*.csv: "
            "ingest one first: `movielake upload DIR` (DIR holding movies.csv), or copy it to "
            f"s3://{bucket}/{keys.LANDING_PREFIX} for the csv-ingest Lambda"
        )
    return max(found, key=lambda entry: entry[:2])[2]


def select_from_s3(s3: Any, settings: Settings, filters: Filters) -> Selection:
    """Select from the newest movies CSV of the lake, read by DuckDB straight from S3."""
    csv = newest_movies_csv(s3, settings.lake_bucket)
    location = f"s3://{settings.lake_bucket}/{csv.key}"
    connection = selection_connection(settings)
    try:
        return select_ids(connection, location, filters, size=csv.size)
    finally:
        connection.close()
