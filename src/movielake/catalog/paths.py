"""Where objects sit below a crawler target: exclusion globs, hidden names, table folders,
partition values and S3 paths, as the Glue crawler and Athena read them.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")


@functools.lru_cache(maxsize=256)
def glob_to_regex(pattern: str) -> re.Pattern[str]:
    """Compile a Glue exclusion glob: ``**`` crosses folders, ``*``/``?`` stay within one.

    Also ``[...]`` character classes and ``{a,b}`` alternatives, as Glue documents them.
    """
    out: list[str] = []
    i = 0
    depth = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                i = end
        elif char == "{":
            out.append("(?:")
            depth += 1
        elif char == "}" and depth:
            out.append(")")
            depth -= 1
        elif char == "," and depth:
            out.append("|")
        else:
            out.append(re.escape(char))
        i += 1
    return re.compile("".join(out) + r"\Z")


def is_excluded(relative_key: str, patterns: Sequence[str]) -> bool:
    """Whether a key (relative to the crawler's include path) matches an exclusion glob."""
    return any(glob_to_regex(p).match(relative_key) for p in patterns)


def is_hidden(relative_key: str) -> bool:
    """Hive convention: a file or folder whose name starts with ``_`` or ``.`` is not data.

    The crawler skips such objects and Athena does not read them (nor the local engine).
    """
    return any(part.startswith(("_", ".")) for part in relative_key.split("/"))


@dataclass(frozen=True)
class ObjectPlace:
    """Where an object sits below a crawler target: its table folder and partition values."""

    table_folder: str  # relative to the target, "" or "Series/" (ends with "/")
    partition_values: tuple[str, ...]


def place_object(relative_key: str) -> ObjectPlace:
    """Split a key below a target into its table folder and partition folders.

    Partition folders are the trailing all-digit folders (``2024/01/15``); folders before them
    name a table below the target (a target ``Raw/Local/CSV/`` holding ``Movies/`` and
    ``Series/`` yields two tables, as the crawler does when their schemas differ).
    """
    folders = relative_key.split("/")[:-1]
    first = len(folders)
    while first > 0 and folders[first - 1].isdigit():
        first -= 1
    leading = folders[:first]
    return ObjectPlace("".join(f"{f}/" for f in leading), tuple(folders[first:]))


def place_at_level(key: str, level: int) -> ObjectPlace | None:
    """Split a bucket-relative key at a crawler's table level (``TableLevelConfiguration``).

    The first ``level`` folders are the table's location and every folder below it is a
    partition, whatever its name: ``Raw/TMDB/JSON/Movies/2024/01/15/lote_1.json`` at level 4
    is table folder ``Raw/TMDB/JSON/Movies/`` with partition values (2024, 01, 15). None when
    the object sits above that level (the crawler puts it in no table).
    """
    folders = key.split("/")[:-1]
    if len(folders) < level:
        return None
    return ObjectPlace("".join(f"{f}/" for f in folders[:level]), tuple(folders[level:]))


def table_name(table_prefix: str, folder: str) -> str:
    """The crawler's table name: the prefix plus the lower-cased last folder of the location.

    ``tmdb_`` + ``s3://lake/Raw/TMDB/JSON/Movies/`` -> ``tmdb_movies``.
    """
    last = folder.rstrip("/").rsplit("/", 1)[-1]
    base = re.sub(r"[^a-z0-9_]", "_", last.lower())
    return f"{table_prefix or ''}{base}".lower()


def parse_s3_path(path: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix/``)."""
    match = re.fullmatch(r"s3[an]?://([^/]+)/?(.*)", path.strip())
    if not match:
        raise ValueError(f"not an S3 path: {path!r}")
    prefix = match.group(2)
    return match.group(1), (prefix if not prefix or prefix.endswith("/") else prefix + "/")


def is_json(key: str, first_bytes: bytes = b"") -> bool:
    """Whether an object is JSON, from its key's suffix, else sniffed from its first bytes."""
    return key.lower().endswith(JSON_SUFFIXES) or first_bytes.lstrip()[:1] in (b"{", b"[")
