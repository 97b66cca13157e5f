"""The Glue crawler's work, for the crawler stand-in (:mod:`movielake.local.glue.crawler`).

moto records a crawler run but creates no table. ``crawl`` takes the crawler's definition as
the Glue API gives it (``movielake.catalog.crawlers``) instead of repeating that wiring. For an S3 target
(the TMDB JSON) it lists the objects, infers the schema from a bounded sample of each
(``movielake.catalog.types``) and registers tables, SerDe and ``partition_N`` partitions named
as the real crawler names them. For a catalog target (the CSV tables Terraform declares, schema
and SerDe included) it reads the table back from the Glue API, never changes it, and only adds
the date folders under its location as partitions inheriting the table's descriptor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from botocore.exceptions import ClientError

from movielake.aws import list_objects
from movielake.catalog.crawlers import CrawlerDefinition
from movielake.catalog.descriptors import existing_partitions, format_parameters, storage_descriptor
from movielake.catalog.paths import (
    ObjectPlace,
    is_excluded,
    is_hidden,
    is_json,
    parse_s3_path,
    place_at_level,
    place_object,
    table_name,
)
from movielake.catalog.summary import TableSummary
from movielake.catalog.types import SchemaBuilder, merge_columns

log = logging.getLogger(__name__)

# Objects up to this size are read whole; bigger ones contribute their first lines only.
WHOLE_OBJECT_BYTES = 4 * 1024 * 1024
SAMPLE_LINES = 2000
PARTITION_BATCH = 100  # BatchCreatePartition / BatchUpdatePartition take at most 100 entries


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


def crawl(
    glue: Any,
    s3: Any,
    crawler: CrawlerDefinition,
    *,
    sample_lines: int = SAMPLE_LINES,
    whole_object_bytes: int = WHOLE_OBJECT_BYTES,
    stop_requested: Callable[[], bool] = lambda: False,
) -> list[TableSummary]:
    """One run of ``crawler``: its S3 targets read and registered, its catalog targets' new
    partitions added. ``glue`` and ``s3`` are the clients of the crawler's role (the stand-in
    assumes it, as Glue does). ``stop_requested`` is asked between tables (``StopCrawler``):
    the tables registered so far stay, as on AWS.
    """
    _require_database(glue, crawler.database)
    tables: list[TableSummary] = []
    for scan in scan_crawler(s3, crawler, sample_lines=sample_lines, whole_object_bytes=whole_object_bytes):
        if stop_requested():
            return tables
        tables.append(register_table(glue, crawler, scan))
    for database, table in crawler.catalog_tables:
        if stop_requested():
            return tables
        tables.append(crawl_catalog_table(glue, s3, crawler, database, table))
    return tables


def _require_database(glue: Any, database: str) -> None:
    """Fail clearly when the crawler's database does not exist (the crawler fails too)."""
    try:
        glue.get_database(Name=database)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "EntityNotFoundException":
            raise LookupError(f"Glue database {database!r} does not exist; apply Terraform first") from exc
        raise


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
            if crawler.table_level is None:
                place = place_object(relative)
                folder = target.prefix + place.table_folder
            else:
                at_level = place_at_level(key, crawler.table_level)
                if at_level is None:
                    log.warning("skipping %s: above the crawler's table level %d", key, crawler.table_level)
                    continue
                place, folder = at_level, at_level.table_folder
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
    added, updated, total = _register_partitions(glue, crawler, scan, table_sd, action)
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
        partitions_updated=updated,
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
    added, updated, total = _register_partitions(glue, target_crawler, scan, descriptor, "unchanged")
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
        partitions_updated=updated,
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


def _register_partitions(
    glue: Any, crawler: CrawlerDefinition, scan: TableScan, table_sd: Mapping[str, Any], action: str
) -> tuple[int, int, int]:
    """Add new partition folders; bring existing partitions to the table's schema.

    Existing partitions get the table's (widened) columns, as with the crawler configuration
    ``CrawlerOutput.Partitions.AddOrUpdateBehavior = InheritFromTable`` that Terraform deploys
    (per-partition schemas are not modelled), so Athena never sees a partition narrower than
    its table. Partitions whose folder holds no data any more are kept and logged, as with the
    deployed ``DeleteBehavior = LOG``. Returns (partitions added, updated, in the catalog).
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
    database, table = crawler.database, scan.name
    _in_batches(
        lambda chunk: glue.batch_create_partition(
            DatabaseName=database, TableName=table, PartitionInputList=chunk
        ),
        new_inputs,
        f"add partitions to {table}",
    )
    _in_batches(
        lambda chunk: glue.batch_update_partition(DatabaseName=database, TableName=table, Entries=chunk),
        updates,
        f"update partitions of {table}",
    )
    return len(new_inputs), len(updates), len(present) + len(new_inputs)


def _in_batches(call: Callable[[Sequence[Any]], dict[str, Any]], items: Sequence[Any], what: str) -> None:
    """Send ``items`` in batches of ``PARTITION_BATCH``; fail naming ``what`` on any entry's error."""
    for start in range(0, len(items), PARTITION_BATCH):
        errors = call(items[start : start + PARTITION_BATCH]).get("Errors", [])
        if errors:
            raise RuntimeError(f"could not {what}: {errors[:3]}")
