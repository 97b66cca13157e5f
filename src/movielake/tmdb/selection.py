"""Which films to ask TMDB about: a streaming pass over the newest movies CSV in Raw.

The predecessor loaded the whole CSV with pandas (4.2 GB peak for a 1 GB file). Here the file
is read in large chunks and scanned with one compiled regular expression per chunk, so the
work per row happens in C and memory stays bounded whatever the file's size:

* the expression captures only the columns the enabled filters need, located by the header;
* it swallows the following rows of the same film (the CSV has one row per film x artist,
  usually adjacent), so a film costs one match instead of one per artist;
* with the genre filter on, a film without a listed genre takes a branch that captures only
  its id, so it is skipped in C;
* Python then applies the exact filters once per distinct film of the chunk.

Film-level columns are taken from the first row of each run of adjacent rows of a film; rows
of a film that are not adjacent are matched again and give the same id only once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from movielake import keys
from movielake.aws import list_objects
from movielake.config import Settings

ID_COLUMN = "id"
YEAR_COLUMN = "anoLancamento"
GENRE_COLUMN = "genero"
VOTES_COLUMN = "numeroVotos"
NULL = b"\\N"
CHUNK_SIZE = 8 << 20
MOVIES_PREFIX = keys.raw_csv_prefix("Movies")
_MOVIES_KEY = re.compile(r"^Raw/Local/CSV/Movies/(\d{4})/(\d{2})/(\d{2})/movies[^/]*\.csv$", re.IGNORECASE)
_FIELD = rb"[^|\r\n]*"


class SelectionError(ValueError):
    """The movies CSV cannot be selected from; the message names the file and what is wrong."""


class Readable(Protocol):
    """What selection needs of a body: botocore's ``StreamingBody`` and open binary files."""

    def read(self, amt: int = ...) -> bytes:
        """Up to ``amt`` bytes; ``b""`` at the end."""
        ...


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


def _number(field: bytes) -> float | None:
    """A numeric CSV field, or None for ``\\N``, empty or non-numeric (as pandas' coerce)."""
    try:
        return int(field)
    except ValueError:
        try:
            return float(field)
        except ValueError:
            return None


class _Screen:
    """The compiled row expression for one header and filter set, and the exact test."""

    def __init__(self, header: list[str], filters: Filters, source: str) -> None:
        missing = [c for c in filters.columns() if c not in header]
        if missing:
            raise SelectionError(
                f"{source}: line 1 (header) lacks column(s) {', '.join(missing)} needed by the "
                f"filters; it has: {'|'.join(header)}"
            )
        index = {name: header.index(name) for name in filters.columns()}
        in_file_order = sorted(index, key=index.__getitem__)
        self.position = {name: in_file_order.index(name) for name in index}
        # Votes first: with the default settings it rejects the most films, so fewer parses follow.
        self.minimums = [
            (self.position[column], minimum)
            for column, minimum in ((VOTES_COLUMN, filters.min_votes), (YEAR_COLUMN, filters.min_year))
            if minimum is not None
        ]
        self.genres = {g.strip().lower().encode() for g in filters.genres}
        self.genre_at = self.position.get(GENRE_COLUMN)
        self.pattern = _row_pattern(index, filters.genres)

    def accepts(self, found: tuple[bytes, ...]) -> bool:
        """Whether one film's captured fields pass every enabled filter (a null fails)."""
        for at, minimum in self.minimums:
            value = _number(found[at])
            if value is None or not value > minimum:
                return False
        if self.genre_at is not None:
            names = {g.strip().lower() for g in found[self.genre_at].split(b",")}
            return not names.isdisjoint(self.genres)
        return True


def _caseless(name: str) -> bytes:
    """``war`` -> ``[Ww][Aa][Rr]``: faster in ``re`` than the IGNORECASE flag."""
    return b"".join(
        b"[%s%s]" % (c.upper().encode(), c.lower().encode())
        if c.isascii() and c.isalpha()
        else re.escape(c.encode())
        for c in name.strip()
    )


def _row_pattern(index: dict[str, int], genres: tuple[str, ...]) -> re.Pattern[bytes]:
    """One film per match: ``\n`` + its fields up to the last needed column + its other rows.

    The groups are the needed columns in file order. With genres, a film whose genre field
    holds none of them as a whole comma-separated name (case-insensitive) takes the second
    branch instead, which captures only its id (as the last group, the others empty), so it
    is skipped in C; ``_Screen.accepts`` still makes the exact decision for the others.
    """
    by_position = {position: name for name, position in index.items()}
    fields = []
    for position in range(max(by_position) + 1):
        name = by_position.get(position)
        if name == GENRE_COLUMN and genres:
            names = b"|".join(_caseless(g) for g in genres)
            fields.append(rb"((?:[^|\r\n]*,)? *(?:" + names + rb") *(?![^,|\r\n])" + _FIELD + rb")")
        elif name:
            fields.append(rb"(" + _FIELD + rb")")
        else:
            fields.append(_FIELD)
    before_id = rb"(?:" + _FIELD + rb"\|){%d}" % index[ID_COLUMN]
    id_group = sorted(index.values()).index(index[ID_COLUMN]) + 1

    def same_film(group: int) -> bytes:
        return rb"[^\n]*(?:\n" + before_id + rb"\%d(?![^|\r\n])[^\n]*)*" % group

    branch = rb"\|".join(fields) + same_film(id_group)
    if genres:
        branch = (
            rb"(?:" + branch + rb"|" + before_id + rb"(" + _FIELD + rb")" + same_film(len(index) + 1) + rb")"
        )
    elif len(index) == 1:
        branch += rb"()"  # findall gives tuples only from two groups up
    return re.compile(rb"\n" + branch)


def _parse_header(line: bytes, source: str) -> list[str]:
    """The column names of the header line (a UTF-8 BOM and ``\\r`` are tolerated)."""
    try:
        text = line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError as exc:
        raise SelectionError(f"{source}: line 1 (header) is not UTF-8: {exc}") from exc
    return text.split("|")


def _chunks(body: Readable, size: int) -> Iterator[bytes]:
    """The body in reads of ``size`` bytes until it is exhausted."""
    while chunk := body.read(size):
        yield chunk


class _Scanner:
    """Scans chunks of complete lines and keeps the selected ids in order of appearance."""

    def __init__(self, screen: _Screen) -> None:
        self.screen = screen
        self.id_at = screen.position[ID_COLUMN]
        self.chosen: dict[bytes, None] = {}

    def scan(self, buffer: bytes, start: int, end: int) -> None:
        """Select from the lines of ``buffer[start:end]``, which starts at a newline."""
        chosen, accepts, id_at = self.chosen, self.screen.accepts, self.id_at
        for found in dict.fromkeys(self.screen.pattern.findall(buffer, start, end)):
            film = found[id_at]
            if film and film not in chosen and film != NULL and accepts(found):
                chosen[film] = None


def select_ids(
    body: Readable, filters: Filters, *, source: str = "movies CSV", chunk_size: int = CHUNK_SIZE
) -> Selection:
    """The distinct ids of the films that pass ``filters``, reading ``body`` once in chunks.

    Memory is one chunk, the matches of one chunk and the selected ids, whatever the size of
    the file. Each chunk is scanned from its first newline to its last; the line split across
    two chunks is scanned on its own, joined to the tail kept from the previous chunk.
    """
    scanner: _Scanner | None = None
    tail = b""
    size = 0
    for chunk in _chunks(body, chunk_size):
        size += len(chunk)
        first = chunk.find(b"\n")
        if first < 0:
            tail += chunk
            continue
        if scanner is None:
            scanner = _Scanner(_Screen(_parse_header(tail + chunk[:first], source), filters, source))
        else:
            line = tail + chunk[:first]
            scanner.scan(line, 0, len(line))
        end = chunk.rfind(b"\n")
        scanner.scan(chunk, first, end)
        tail = chunk[end:]
    if scanner is None:
        if not tail:
            raise SelectionError(f"{source}: the file is empty (no header line)")
        scanner = _Scanner(_Screen(_parse_header(tail, source), filters, source))
    elif len(tail) > 1:
        scanner.scan(tail, 0, len(tail))
    return Selection(source, [film.decode() for film in scanner.chosen], size)


def newest_movies_csv(s3: Any, bucket: str) -> CsvObject:
    """The movies CSV of the latest date folder (latest ``LastModified`` within the day)."""
    found = [
        (match.groups(), item["LastModified"], CsvObject(item["Key"], item["LastModified"], item["Size"]))
        for item in list_objects(s3, bucket, MOVIES_PREFIX)
        if (match := _MOVIES_KEY.match(item["Key"]))
    ]
    if not found:
        raise SelectionError(
            f"no movies CSV under s3://{bucket}/{MOVIES_PREFIX}<YYYY>/<MM>/<DD>/movies*.csv: "
            "ingest one first: `movielake upload DIR` (DIR holding movies.csv), or copy it to "
            f"s3://{bucket}/{keys.LANDING_PREFIX} for the csv-ingest Lambda"
        )
    return max(found, key=lambda entry: entry[:2])[2]


def select_from_s3(s3: Any, bucket: str, filters: Filters) -> Selection:
    """Stream the newest movies CSV from the lake through ``select_ids``."""
    csv = newest_movies_csv(s3, bucket)
    source = f"s3://{bucket}/{csv.key}"
    body = s3.get_object(Bucket=bucket, Key=csv.key)["Body"]
    try:
        return select_ids(body, filters, source=source)
    finally:
        body.close()
