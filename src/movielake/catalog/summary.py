"""What a crawl did (tables registered, crawler states), for printing and for tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


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
    partitions_updated: int = 0


@dataclass(frozen=True)
class CrawlSummary:
    """What ``crawl_aws`` (or one run of the local crawler stand-in) did, for printing and tests."""

    tables: tuple[TableSummary, ...] = ()
    crawler_status: Mapping[str, str] = field(default_factory=dict)

    def lines(self) -> list[str]:
        """A human summary: one line per table, then the crawler states."""
        out = []
        for t in self.tables:
            line = f"{t.database}.{t.table}: {t.action}, {t.columns} columns, {t.partitions} partitions"
            if t.action != "crawled":  # a run's own counts (the AWS path reads the catalog after it)
                line += f" (+{t.partitions_added} new), {t.objects_read} objects read"
            elif t.objects_read:
                line += f", {t.objects_read} object(s)"
            out.append(line + (f", {t.objects_skipped} skipped" if t.objects_skipped else ""))
        out.extend(f"crawler {name}: {status}" for name, status in self.crawler_status.items())
        return out
