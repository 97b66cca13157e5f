"""Crawling the Raw zone into the Glue catalog.

Two ways, one result (the tables of ``docs/architecture.md``):

- ``crawl_aws`` starts the crawlers Terraform deployed and waits for them (real AWS).
- ``crawl_local`` does the crawler's work itself, for the local stack: moto records a crawler
  run but creates no table. It reads the deployed crawler definitions (targets, exclusions,
  table prefix, database, schema change policy) instead of repeating that wiring here. For an
  S3 target (the TMDB JSON) it lists the objects, infers the schema from a bounded sample of
  each and registers tables, SerDe and ``partition_N`` partitions named as the real crawler
  names them. For a catalog target (the CSV tables Terraform declares, schema and SerDe
  included) it reads the table back from the Glue API, never changes it, and only adds the
  date folders under its location as partitions inheriting the table's descriptor.

The inference and naming rules are small pure functions at the top of the module, so they can
be tested without any AWS stand-in.
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from movielake.aws import list_objects

log = logging.getLogger(__name__)

TEXT_INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
TEXT_OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
JSON_SERDE = "org.openx.data.jsonserde.JsonSerDe"
# The contract's CSV dialect (docs/architecture.md), as Terraform declares the CSV tables; used
# by ``storage_descriptor`` for tables built outside Terraform (the analyses' sample lake).
CSV_SERDE = "org.apache.hadoop.hive.serde2.lazy.LazySimpleSerDe"
CSV_DELIMITER = "|"
CSV_NULL = r"\N"
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Objects up to this size are read whole; bigger ones contribute their first lines only.
WHOLE_OBJECT_BYTES = 4 * 1024 * 1024
SAMPLE_LINES = 2000
PARTITION_BATCH = 100  # BatchCreatePartition / BatchUpdatePartition take at most 100 entries
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")


# --------------------------------------------------------------------------------------------
# Types: a tiny model of Hive/Glue column types, inferred and widened like the crawler does.


@dataclass(frozen=True)
class GlueType:
    """A column type: a scalar kind, ``array`` of an element, or ``struct`` of named fields.

    ``null`` is the type of a value that was only ever seen as null; it never decides a type
    and renders as ``string`` if nothing else was seen.
    """

    kind: str
    element: GlueType | None = None
    fields: tuple[tuple[str, GlueType], ...] = ()


NULL = GlueType("null")
INT = GlueType("int")
BIGINT = GlueType("bigint")
DOUBLE = GlueType("double")
STRING = GlueType("string")
BOOLEAN = GlueType("boolean")
_NUMERIC_RANK = {"int": 0, "bigint": 1, "double": 2}


def infer_json_type(value: Any) -> GlueType:
    """The Glue type of one decoded JSON value (field names of structs lower-cased)."""
    if value is None:
        return NULL
    if isinstance(value, bool):  # before int: bool is an int in Python
        return BOOLEAN
    if isinstance(value, int):
        return INT if INT32_MIN <= value <= INT32_MAX else BIGINT
    if isinstance(value, float):
        return DOUBLE
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        element = NULL
        for item in value:
            element = merge_types(element, infer_json_type(item))
        return GlueType("array", element=element)
    if isinstance(value, dict):
        return _struct_of(value.items())
    return STRING


def _struct_of(items: Iterable[tuple[str, Any]]) -> GlueType:
    """A struct type from key/value pairs; keys that differ only in case are merged."""
    merged: dict[str, GlueType] = {}
    for key, item in items:
        name = str(key).lower()
        merged[name] = merge_types(merged.get(name, NULL), infer_json_type(item))
    return GlueType("struct", fields=tuple(merged.items()))


def merge_types(a: GlueType, b: GlueType) -> GlueType:
    """The narrowest type both ``a`` and ``b`` fit in: int < bigint < double; else string.

    Structs merge field by field (union, first-seen order), arrays by element; a null side
    yields the other; anything incompatible (a number and a string, a struct and a scalar)
    becomes ``string``, which every value can be read as.
    """
    if a.kind == "null":
        return b
    if b.kind == "null" or a == b:
        return a
    if a.kind in _NUMERIC_RANK and b.kind in _NUMERIC_RANK:
        return a if _NUMERIC_RANK[a.kind] >= _NUMERIC_RANK[b.kind] else b
    if a.kind == b.kind == "array":
        return GlueType("array", element=merge_types(a.element or NULL, b.element or NULL))
    if a.kind == b.kind == "struct":
        fields = dict(a.fields)
        for name, kind in b.fields:
            fields[name] = merge_types(fields.get(name, NULL), kind)
        return GlueType("struct", fields=tuple(fields.items()))
    return STRING


def render_type(t: GlueType) -> str:
    """The Hive type string Glue stores: ``array<struct<id:int,name:string>>``."""
    if t.kind == "null":
        return "string"
    if t.kind == "array":
        return f"array<{render_type(t.element or NULL)}>"
    if t.kind == "struct":
        if not t.fields:
            return "string"  # an always-empty object: Hive has no empty struct
        return "struct<" + ",".join(f"{n}:{render_type(k)}" for n, k in t.fields) + ">"
    return t.kind


def parse_type(text: str) -> GlueType:
    """Parse a Hive type string back into a ``GlueType`` (for merging with a catalog table)."""
    parsed, rest = _parse_type(text.strip().replace(" ", ""))
    if rest:
        raise ValueError(f"unexpected {rest!r} after a type in {text!r}")
    return parsed


def _parse_type(text: str) -> tuple[GlueType, str]:
    lowered = text.lower()
    if lowered.startswith("array<"):
        element, rest = _parse_type(text[6:])
        return GlueType("array", element=element), _expect(rest, ">")
    if lowered.startswith("struct<"):
        rest = text[7:]
        fields: list[tuple[str, GlueType]] = []
        while not rest.startswith(">"):
            name, _, rest = rest.partition(":")
            kind, rest = _parse_type(rest)
            fields.append((name.lower(), kind))
            if rest.startswith(","):
                rest = rest[1:]
        return GlueType("struct", fields=tuple(fields)), rest[1:]
    match = re.match(r"[a-z_]+(\(\d+(,\d+)?\))?", lowered)
    if not match:
        raise ValueError(f"cannot parse a type from {text!r}")
    name = match.group(0)
    return GlueType({"integer": "int", "float": "double"}.get(name, name)), text[match.end() :]


def _expect(rest: str, char: str) -> str:
    if not rest.startswith(char):
        raise ValueError(f"expected {char!r} in type text at {rest!r}")
    return rest[1:]


class SchemaBuilder:
    """Accumulates column types over sampled records; columns keep first-seen order."""

    def __init__(self) -> None:
        self.columns: dict[str, GlueType] = {}
        self.source_keys: dict[str, str] = {}  # lower-cased column -> key as written
        self.records = 0

    def add_json(self, record: Mapping[str, Any]) -> None:
        """Fold one JSON object into the schema."""
        self.records += 1
        for key, value in record.items():
            name = str(key).lower()
            self.source_keys.setdefault(name, str(key))
            self.columns[name] = merge_types(self.columns.get(name, NULL), infer_json_type(value))

    def rendered(self) -> list[tuple[str, str]]:
        """The columns as (name, Hive type string)."""
        return [(name, render_type(kind)) for name, kind in self.columns.items()]


def merge_columns(
    existing: Sequence[tuple[str, str]], inferred: Sequence[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Widen-only merge for a re-crawl: keep every existing column, widen types, append new ones.

    Old partitions stay readable: no column disappears and no type narrows.
    """
    merged: dict[str, GlueType] = {}
    for name, text in (*existing, *inferred):
        try:
            kind = parse_type(text)
        except ValueError:
            kind = STRING
        merged[name] = merge_types(merged.get(name, NULL), kind)
    return [(name, render_type(kind)) for name, kind in merged.items()]


# --------------------------------------------------------------------------------------------
# Paths: exclusions, hidden names, table folders and partition values.


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
    """Hive convention: a file or folder whose name starts with ``_`` or ``.`` is not data."""
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


def table_name(table_prefix: str, folder: str) -> str:
    """The crawler's table name: the prefix plus the lower-cased last folder of the location.

    ``tmdb_`` + ``s3://lake/Raw/TMDB/JSON/Movies/`` -> ``tmdb_movies``.
    """
    last = folder.rstrip("/").rsplit("/", 1)[-1]
    base = re.sub(r"[^a-z0-9_]", "_", last.lower())
    return f"{table_prefix or ''}{base}".lower()


def parse_s3_path(path: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix/``)."""
    match = re.fullmatch(r"s3a?://([^/]+)/?(.*)", path.strip())
    if not match:
        raise ValueError(f"not an S3 path: {path!r}")
    prefix = match.group(2)
    return match.group(1), (prefix if not prefix or prefix.endswith("/") else prefix + "/")


def is_json(key: str, first_bytes: bytes = b"") -> bool:
    """Whether an object is JSON, from its key's suffix, else sniffed from its first bytes."""
    return key.lower().endswith(JSON_SUFFIXES) or first_bytes.lstrip()[:1] in (b"{", b"[")


# --------------------------------------------------------------------------------------------
# Storage descriptors as the contract (and the real crawler) writes them.


def storage_descriptor(
    fmt: str, columns: Sequence[tuple[str, str]], location: str, json_paths: Sequence[str] = ()
) -> dict[str, Any]:
    """The StorageDescriptor of a table or partition of format ``json`` or ``csv``."""
    if fmt == "json":
        serde = {"SerializationLibrary": JSON_SERDE, "Parameters": {"paths": ",".join(sorted(json_paths))}}
    else:
        serde = {
            "SerializationLibrary": CSV_SERDE,
            "Parameters": {"field.delim": CSV_DELIMITER, "serialization.null.format": CSV_NULL},
        }
    return {
        "Columns": [{"Name": name, "Type": kind} for name, kind in columns],
        "Location": location,
        "InputFormat": TEXT_INPUT_FORMAT,
        "OutputFormat": TEXT_OUTPUT_FORMAT,
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": serde,
        "BucketColumns": [],
        "SortColumns": [],
        "Parameters": format_parameters(fmt),
        "StoredAsSubDirectories": False,
    }


def format_parameters(fmt: str) -> dict[str, str]:
    """The classification parameters the crawler sets on tables and their descriptors."""
    params = {"classification": fmt, "compressionType": "none", "typeOfData": "file"}
    if fmt == "csv":
        params.update(
            {
                "delimiter": CSV_DELIMITER,
                "skip.header.line.count": "1",
                "areColumnsQuoted": "false",
                "columnsOrdered": "true",
            }
        )
    return params


# --------------------------------------------------------------------------------------------
# Deployed crawler definitions.


@dataclass(frozen=True)
class S3Target:
    """One S3 include path of a crawler, with its exclusion globs."""

    bucket: str
    prefix: str
    exclusions: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrawlerDefinition:
    """What ``crawl_local`` needs of a deployed crawler."""

    name: str
    database: str
    table_prefix: str
    targets: tuple[S3Target, ...]
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "DEPRECATE_IN_DATABASE"
    role: str = ""
    catalog_tables: tuple[tuple[str, str], ...] = ()  # (database, table) of catalog targets

    @classmethod
    def from_api(cls, crawler: Mapping[str, Any]) -> CrawlerDefinition:
        """From one ``glue.get_crawler(s)`` entry."""
        targets = []
        for target in crawler.get("Targets", {}).get("S3Targets", []):
            bucket, prefix = parse_s3_path(target["Path"])
            targets.append(S3Target(bucket, prefix, tuple(target.get("Exclusions") or ())))
        policy = crawler.get("SchemaChangePolicy") or {}
        catalog_tables = tuple(
            (target["DatabaseName"], table)
            for target in crawler.get("Targets", {}).get("CatalogTargets", [])
            for table in target.get("Tables", [])
        )
        return cls(
            name=crawler["Name"],
            database=crawler.get("DatabaseName", ""),
            table_prefix=crawler.get("TablePrefix") or "",
            targets=tuple(targets),
            update_behavior=policy.get("UpdateBehavior") or "UPDATE_IN_DATABASE",
            delete_behavior=policy.get("DeleteBehavior") or "DEPRECATE_IN_DATABASE",
            role=crawler.get("Role") or "",
            catalog_tables=catalog_tables,
        )


def deployed_crawlers(
    glue: Any, names: Sequence[str] | None = None, database: str | None = None
) -> list[CrawlerDefinition]:
    """The crawlers deployed in the account, optionally only ``names`` / only one database."""
    if names:
        found = []
        for name in names:
            try:
                found.append(CrawlerDefinition.from_api(glue.get_crawler(Name=name)["Crawler"]))
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "EntityNotFoundException":
                    raise LookupError(
                        f"crawler {name!r} is not deployed; apply the Terraform stack first"
                    ) from exc
                raise
        return found
    crawlers: list[CrawlerDefinition] = []
    token: str | None = None
    while True:
        page = glue.get_crawlers(**({"NextToken": token} if token else {}))
        crawlers.extend(CrawlerDefinition.from_api(c) for c in page.get("Crawlers", []))
        token = page.get("NextToken")
        if not token:
            break
    return [c for c in crawlers if database is None or c.database == database]


# --------------------------------------------------------------------------------------------
# The local crawl.


@dataclass
class PartitionScan:
    """One partition folder found under a table."""

    values: tuple[str, ...]
    location: str


@dataclass
class TableScan:
    """What a crawl learned about one table folder."""

    name: str
    bucket: str
    folder: str  # key prefix of the table location, ends with "/"
    fmt: str = ""
    schema: SchemaBuilder = field(default_factory=SchemaBuilder)
    partition_depth: int | None = None
    partitions: dict[tuple[str, ...], PartitionScan] = field(default_factory=dict)
    objects_read: int = 0
    objects_skipped: int = 0
    bytes_total: int = 0
    bytes_sampled: int = 0

    @property
    def location(self) -> str:
        """The table's S3 location, ending with ``/`` like the crawler writes it."""
        return f"s3://{self.bucket}/{self.folder}"


@dataclass(frozen=True)
class TableSummary:
    """One table a crawl registered."""

    crawler: str
    database: str
    table: str
    action: str  # "created", "updated", "unchanged" (schema change policy LOG, or a declared table)
    columns: int
    partitions: int
    partitions_added: int
    objects_read: int
    objects_skipped: int


@dataclass(frozen=True)
class CrawlSummary:
    """What ``crawl_local`` or ``crawl_aws`` did, for printing and for tests."""

    tables: tuple[TableSummary, ...] = ()
    crawler_status: Mapping[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A human summary: one line per table, then the crawler states."""
        out = []
        for t in self.tables:
            out.append(
                f"{t.database}.{t.table}: {t.action}, {t.columns} columns, {t.partitions} partitions "
                f"(+{t.partitions_added} new), {t.objects_read} objects read"
                + (f", {t.objects_skipped} skipped" if t.objects_skipped else "")
            )
        out.extend(f"crawler {name}: {status}" for name, status in self.crawler_status.items())
        return out


def crawl_local(
    glue: Any,
    s3: Any,
    database: str | None = None,
    crawler_names: Sequence[str] | None = None,
    *,
    sample_lines: int = SAMPLE_LINES,
    whole_object_bytes: int = WHOLE_OBJECT_BYTES,
    mark_run: bool = True,
    as_role: Callable[[str], tuple[Any, Any]] | None = None,
) -> CrawlSummary:
    """Crawl like Glue would, with the deployed crawler definitions, into the catalog.

    ``crawler_names`` None means every crawler writing to ``database`` (or every crawler).
    With ``mark_run`` the crawler's run is also recorded in moto (start + completion), so
    ``get_crawler`` shows a LastCrawl as after a real run. ``as_role`` gives the (Glue, S3)
    clients of a crawler's role ARN: the objects are read and the catalog written with them,
    as the crawler does with its role; ``glue`` and ``s3`` (the caller's) read the
    definitions and record the run.
    """
    crawlers = deployed_crawlers(glue, crawler_names, database)
    if not crawlers:
        raise LookupError(f"no crawler deployed for database {database!r}; apply the Terraform stack first")
    tables: list[TableSummary] = []
    status: dict[str, str] = {}
    for crawler in crawlers:
        started = mark_run and _start_run(glue, crawler.name)
        catalog, storage = as_role(crawler.role) if as_role and crawler.role else (glue, s3)
        _require_database(catalog, crawler.database)
        scans = scan_crawler(
            storage, crawler, sample_lines=sample_lines, whole_object_bytes=whole_object_bytes
        )
        for scan in scans:
            tables.append(register_table(catalog, crawler, scan))
        for database, table in crawler.catalog_tables:
            tables.append(crawl_catalog_table(catalog, storage, crawler, database, table))
        status[crawler.name] = _finish_run(glue, crawler.name) if started else "not recorded"
    return CrawlSummary(tuple(tables), status)


def _require_database(glue: Any, database: str) -> None:
    """Fail clearly when the crawler's database does not exist (the crawler would fail too)."""
    try:
        glue.get_database(Name=database)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            raise LookupError(f"Glue database {database!r} does not exist; apply Terraform first") from exc
        raise


def _start_run(glue: Any, name: str) -> bool:
    """Record a crawler run in moto; False when it cannot be recorded.

    A run started earlier (the TMDB run starts the crawler when it completes) is still
    "running" in moto until its crawls are listed: settle it, then record this one.
    """
    for settle_first in (False, True):
        if settle_first:
            _finish_run(glue, name)
        try:
            glue.start_crawler(Name=name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "CrawlerRunningException" and not settle_first:
                continue
            log.debug("could not record a run of crawler %s: %s", name, exc)
            return False
        return True
    return False


def _finish_run(glue: Any, name: str) -> str:
    """Let moto complete the recorded run (its crawls advance when listed); the last status."""
    try:
        glue.list_crawls(CrawlerName=name)
        last = glue.get_crawler(Name=name)["Crawler"].get("LastCrawl", {})
    except ClientError as exc:
        log.debug("could not complete the recorded run of crawler %s: %s", name, exc)
        return "unknown"
    return str(last.get("Status", "unknown"))


def scan_crawler(
    s3: Any,
    crawler: CrawlerDefinition,
    *,
    sample_lines: int = SAMPLE_LINES,
    whole_object_bytes: int = WHOLE_OBJECT_BYTES,
) -> list[TableScan]:
    """List and sample every data object under the crawler's targets, grouped by table."""
    scans: dict[tuple[str, str], TableScan] = {}
    for target in crawler.targets:
        for obj in list_objects(s3, target.bucket, target.prefix):
            key, size = obj["Key"], int(obj.get("Size", 0))
            relative = key[len(target.prefix) :]
            if not relative or key.endswith("/") or size == 0:
                continue
            if is_hidden(relative) or is_excluded(relative, target.exclusions):
                continue
            place = place_object(relative)
            folder = target.prefix + place.table_folder
            scan = scans.get((target.bucket, folder))
            if scan is None:
                name = table_name(crawler.table_prefix, folder)
                scan = scans[(target.bucket, folder)] = TableScan(name, target.bucket, folder)
            _sample_object(s3, scan, key, size, place, sample_lines, whole_object_bytes)
    return list(scans.values())


def _sample_object(
    s3: Any,
    scan: TableScan,
    key: str,
    size: int,
    place: ObjectPlace,
    sample_lines: int,
    whole_object_bytes: int,
) -> None:
    """Fold one object into its table scan, or count it as skipped when it does not fit."""
    if scan.partition_depth is None:
        scan.partition_depth = len(place.partition_values)
    if len(place.partition_values) != scan.partition_depth:
        log.warning("skipping %s: its folder depth differs from the table's partitions", key)
        scan.objects_skipped += 1
        return
    whole = size <= whole_object_bytes
    body = s3.get_object(Bucket=scan.bucket, Key=key)["Body"]
    try:
        lines = _decoded_lines(body.iter_lines(), None if whole else sample_lines)
        first = next(lines, None)
        if first is None or not is_json(key, first.encode()[:64]):
            log.warning(
                "skipping %s: not JSON data (CSV tables are declared in Terraform and crawled "
                "through a catalog target)",
                key,
            )
            scan.objects_skipped += 1
            return
        scan.fmt = "json"
        sampled = _fold_json(scan.schema, first, lines, whole)
    finally:
        body.close()
    scan.objects_read += 1
    scan.bytes_total += size
    scan.bytes_sampled += size if whole else min(size, sampled)
    values = place.partition_values
    if values and values not in scan.partitions:
        scan.partitions[values] = PartitionScan(
            values, f"s3://{scan.bucket}/{scan.folder}{'/'.join(values)}/"
        )


def _decoded_lines(raw: Iterable[bytes], limit: int | None) -> Iterator[str]:
    """Non-empty lines as text, at most ``limit`` of them (None: all)."""
    count = 0
    for line in raw:
        if limit is not None and count >= limit:
            return
        text = line.decode("utf-8", errors="replace").strip()
        if text:
            count += 1
            yield text


def _fold_json(schema: SchemaBuilder, first: str, rest: Iterator[str], whole: bool) -> int:
    """Fold NDJSON lines (or one JSON array document, if read whole); returns bytes seen."""
    seen = len(first) + 1
    if first.startswith("[") and whole:
        text = "\n".join([first, *rest])
        seen = len(text)
        try:
            document = json.loads(text)
        except ValueError:
            return seen
        for item in document if isinstance(document, list) else []:
            if isinstance(item, dict):
                schema.add_json(item)
        return seen
    _fold_json_line(schema, first)
    for line in rest:
        seen += len(line) + 1
        _fold_json_line(schema, line)
    return seen


def _fold_json_line(schema: SchemaBuilder, line: str) -> None:
    try:
        record = json.loads(line)
    except ValueError:
        log.debug("skipping a line that is not JSON: %.80s", line)
        return
    if isinstance(record, dict):
        schema.add_json(record)


def register_table(glue: Any, crawler: CrawlerDefinition, scan: TableScan) -> TableSummary:
    """Create or update the table and its partitions as the crawler's policy says."""
    existing = _get_table(glue, crawler.database, scan.name)
    inferred = scan.schema.rendered()
    if existing is None:
        columns, action = inferred, "created"
    elif crawler.update_behavior == "LOG":
        columns = [(c["Name"], c["Type"]) for c in existing["StorageDescriptor"].get("Columns", [])]
        action = "unchanged"
    else:
        old = [(c["Name"], c["Type"]) for c in existing["StorageDescriptor"].get("Columns", [])]
        columns, action = merge_columns(old, inferred), "updated"
    depth = scan.partition_depth or 0
    json_paths = [scan.schema.source_keys.get(name, name) for name, _ in columns]
    table_input = {
        "Name": scan.name,
        "Owner": "owner",
        "Retention": 0,
        "StorageDescriptor": storage_descriptor(scan.fmt, columns, scan.location, json_paths),
        "PartitionKeys": [{"Name": f"partition_{i}", "Type": "string"} for i in range(depth)],
        "TableType": "EXTERNAL_TABLE",
        "Parameters": _table_parameters(crawler.name, scan),
    }
    if existing is None:
        glue.create_table(DatabaseName=crawler.database, TableInput=table_input)
    elif action == "updated":
        glue.update_table(DatabaseName=crawler.database, TableInput=table_input)
    # With policy LOG the table stays as it is, and new partitions follow its descriptor.
    table_sd = table_input["StorageDescriptor"]
    if existing is not None and action == "unchanged":
        table_sd = existing["StorageDescriptor"]
    added, total = _register_partitions(glue, crawler, scan, table_sd, action)
    return TableSummary(
        crawler=crawler.name,
        database=crawler.database,
        table=scan.name,
        action=action,
        columns=len(columns),
        partitions=total,
        partitions_added=added,
        objects_read=scan.objects_read,
        objects_skipped=scan.objects_skipped,
    )


def crawl_catalog_table(
    glue: Any, s3: Any, crawler: CrawlerDefinition, database: str, name: str
) -> TableSummary:
    """A catalog target: add the table's new date folders as partitions; never change the table.

    The table (columns, SerDe, partition keys) is the one Terraform declared, read back from
    the Glue API; objects are listed, not read, and each partition inherits the table's
    descriptor with its own location, as ``InheritFromTable`` makes the real crawler do.
    """
    table = _get_table(glue, database, name)
    if table is None:
        raise LookupError(
            f"table {database}.{name}, a catalog target of crawler {crawler.name}, does not exist; "
            "apply the Terraform stack first"
        )
    descriptor = table["StorageDescriptor"]
    bucket, prefix = parse_s3_path(descriptor["Location"])
    depth = len(table.get("PartitionKeys") or [])
    scan = TableScan(name, bucket, prefix, partition_depth=depth)
    for obj in list_objects(s3, bucket, prefix):
        relative = obj["Key"][len(prefix) :]
        if not relative or relative.endswith("/") or int(obj.get("Size", 0)) == 0 or is_hidden(relative):
            continue
        place = place_object(relative)
        if place.table_folder or len(place.partition_values) != depth:
            log.warning("skipping %s: not in a %d-level date folder of %s", obj["Key"], depth, name)
            scan.objects_skipped += 1
            continue
        scan.objects_read += 1
        scan.partitions.setdefault(
            place.partition_values,
            PartitionScan(
                place.partition_values, f"s3://{bucket}/{prefix}{'/'.join(place.partition_values)}/"
            ),
        )
    target_crawler = replace(crawler, database=database)
    added, total = _register_partitions(glue, target_crawler, scan, descriptor, "unchanged")
    return TableSummary(
        crawler=crawler.name,
        database=database,
        table=name,
        action="unchanged",
        columns=len(descriptor.get("Columns", [])),
        partitions=total,
        partitions_added=added,
        objects_read=scan.objects_read,
        objects_skipped=scan.objects_skipped,
    )


def _table_parameters(crawler_name: str, scan: TableScan) -> dict[str, str]:
    """Table parameters as the crawler writes them, with record estimates from the sample."""
    records = scan.schema.records  # data lines only: CSV headers are not counted
    estimate = int(records * scan.bytes_total / scan.bytes_sampled) if scan.bytes_sampled else records
    params = format_parameters(scan.fmt)
    params.update(
        {
            "UPDATED_BY_CRAWLER": crawler_name,
            "CrawlerSchemaDeserializerVersion": "1.0",
            "CrawlerSchemaSerializerVersion": "1.0",
            "objectCount": str(scan.objects_read),
            "sizeKey": str(scan.bytes_total),
            "recordCount": str(estimate),
            "averageRecordSize": str(scan.bytes_total // estimate if estimate else 0),
        }
    )
    return params


def _get_table(glue: Any, database: str, name: str) -> dict[str, Any] | None:
    try:
        return glue.get_table(DatabaseName=database, Name=name)["Table"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            return None
        raise


def existing_partitions(glue: Any, database: str, table: str) -> dict[tuple[str, ...], dict[str, Any]]:
    """The table's partitions in the catalog, by their values."""
    pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table)
    return {tuple(p["Values"]): p for page in pages for p in page.get("Partitions", [])}


def _register_partitions(
    glue: Any, crawler: CrawlerDefinition, scan: TableScan, table_sd: Mapping[str, Any], action: str
) -> tuple[int, int]:
    """Add new partition folders; bring existing partitions to the table's schema.

    Existing partitions get the table's (widened) columns, as with the crawler configuration
    ``CrawlerOutput.Partitions.AddOrUpdateBehavior = InheritFromTable`` that Terraform deploys
    (per-partition schemas are not modelled), so Athena never sees a partition narrower than
    its table. Partitions whose folder holds no data any more are kept and logged, as with the
    deployed ``DeleteBehavior = LOG``. Returns (partitions added, partitions in the catalog).
    """
    present = existing_partitions(glue, crawler.database, scan.name)
    for values in sorted(set(present) - set(scan.partitions)):
        log.info(
            "%s: partition %s has no data any more; kept (DeleteBehavior %s)",
            scan.name,
            values,
            crawler.delete_behavior,
        )
    new_inputs, updates = [], []
    for values, partition in sorted(scan.partitions.items()):
        sd = {**table_sd, "Location": partition.location}
        params = dict(sd.get("Parameters", {}))
        partition_input = {"Values": list(values), "StorageDescriptor": sd, "Parameters": params}
        old = present.get(values)
        if old is None:
            new_inputs.append(partition_input)
        elif action == "updated" and old.get("StorageDescriptor", {}).get("Columns") != sd["Columns"]:
            updates.append({"PartitionValueList": list(values), "PartitionInput": partition_input})
    for chunk in _chunks(new_inputs, PARTITION_BATCH):
        errors = glue.batch_create_partition(
            DatabaseName=crawler.database, TableName=scan.name, PartitionInputList=chunk
        ).get("Errors", [])
        if errors:
            raise RuntimeError(f"could not add partitions to {scan.name}: {errors[:3]}")
    for chunk in _chunks(updates, PARTITION_BATCH):
        errors = glue.batch_update_partition(
            DatabaseName=crawler.database, TableName=scan.name, Entries=chunk
        ).get("Errors", [])
        if errors:
            raise RuntimeError(f"could not update partitions of {scan.name}: {errors[:3]}")
    return len(new_inputs), len(present) + len(new_inputs)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --------------------------------------------------------------------------------------------
# The real crawlers.


class CrawlTimeoutError(TimeoutError):
    """A crawler did not come back to READY before the deadline."""


def crawl_aws(
    glue: Any,
    crawler_names: Sequence[str],
    *,
    wait: bool = True,
    timeout: float = 1800.0,
    poll_seconds: float = 10.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> CrawlSummary:
    """Start the deployed crawlers; with ``wait``, poll until each is READY again.

    A crawler already running is waited for, not restarted. The summary gives each
    crawler's last crawl status (SUCCEEDED / FAILED / CANCELLED, with the error message) and
    the tables in its database that carry its table prefix.
    """
    definitions = deployed_crawlers(glue, crawler_names)
    for crawler in definitions:
        try:
            glue.start_crawler(Name=crawler.name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "CrawlerRunningException":
                raise
            log.info("crawler %s is already running; waiting for that run", crawler.name)
    if not wait:
        return CrawlSummary((), {c.name: "started" for c in definitions})
    deadline = clock() + timeout
    status: dict[str, str] = {}
    tables: list[TableSummary] = []
    for crawler in definitions:
        info = wait_until_ready(
            glue, crawler.name, deadline=deadline, poll_seconds=poll_seconds, sleep=sleep, clock=clock
        )
        last = info.get("LastCrawl") or {}
        status[crawler.name] = str(last.get("Status", "unknown")) + (
            f": {last['ErrorMessage']}" if last.get("ErrorMessage") else ""
        )
        tables.extend(_catalog_tables(glue, crawler))
    return CrawlSummary(tuple(tables), status)


def wait_until_ready(
    glue: Any,
    name: str,
    *,
    deadline: float,
    poll_seconds: float,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> dict[str, Any]:
    """Poll ``get_crawler`` until its state is READY; raise ``CrawlTimeoutError`` past the deadline."""
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler.get("State") == "READY":
            return crawler
        if clock() >= deadline:
            raise CrawlTimeoutError(
                f"crawler {name} is still {crawler.get('State')} after the timeout; it keeps running "
                f"in AWS: check it with `aws glue get-crawler --name {name}` or wait with a longer --timeout"
            )
        sleep(poll_seconds)


def _catalog_tables(glue: Any, crawler: CrawlerDefinition) -> list[TableSummary]:
    """The tables of the crawler's database that carry its prefix, with partition counts."""
    out = []
    paginator = glue.get_paginator("get_tables")
    for page in paginator.paginate(DatabaseName=crawler.database):
        for table in page.get("TableList", []):
            if not table["Name"].startswith(crawler.table_prefix):
                continue
            partitions = len(existing_partitions(glue, crawler.database, table["Name"]))
            params = table.get("Parameters", {})
            out.append(
                TableSummary(
                    crawler=crawler.name,
                    database=crawler.database,
                    table=table["Name"],
                    action="crawled",
                    columns=len(table.get("StorageDescriptor", {}).get("Columns", [])),
                    partitions=partitions,
                    partitions_added=0,
                    objects_read=int(params.get("objectCount", 0) or 0),
                    objects_skipped=0,
                )
            )
    return out
