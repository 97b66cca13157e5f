"""A TMDB run's plan: the numbered batches of ids it will fetch, written before any fetch.

The ids are the selected films new to Raw and the selected films of Raw to fetch again (the
refresh: ``movielake.tmdb.changes``); the rest of the selection is skipped as unchanged. The
plan counts both, and records the change window the refresh covered.

The plan lives at ``_run/plan.json`` of its date folder (``movielake.keys.tmdb_plan_key``); an
unfinished plan is resumed by the next run of the same date, provided the filters match.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from movielake.tmdb.selection import Filters, Selection
from movielake.tmdb.writer import RunFolder


@dataclass(frozen=True)
class Batch:
    """One ``lote_<number>.json`` to be: its number and the ids it asks for."""

    number: int
    ids: tuple[str, ...]


@dataclass
class Plan:
    """What a run will fetch, written to ``_run/plan.json`` before any fetch."""

    run_date: date
    run_id: str
    source: str
    filters: dict[str, Any]
    selected: int
    skipped: int
    refresh: bool
    batches: list[Batch] = field(default_factory=list)
    new: int = 0  # planned ids not in Raw yet
    refreshed: int = 0  # planned ids already in Raw (edited on TMDB since, or --refresh)
    change_window: dict[str, Any] = field(default_factory=dict)

    @property
    def planned(self) -> int:
        """How many ids the batches hold (selected minus skipped)."""
        return sum(len(b.ids) for b in self.batches)

    def to_json(self) -> dict[str, Any]:
        """The plan document."""
        document = asdict(self)
        document["run_date"] = self.run_date.isoformat()
        document["planned"] = self.planned
        document["batches"] = [{"number": b.number, "ids": list(b.ids)} for b in self.batches]
        return document

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> Plan:
        """Read a plan document back."""
        return cls(
            run_date=date.fromisoformat(document["run_date"]),
            run_id=document["run_id"],
            source=document["source"],
            filters=document["filters"],
            selected=document["selected"],
            skipped=document["skipped"],
            refresh=document["refresh"],
            batches=[Batch(b["number"], tuple(b["ids"])) for b in document["batches"]],
            new=document.get("new", document.get("planned", 0)),
            refreshed=document.get("refreshed", 0),
            change_window=document.get("change_window", {}),
        )


def make_plan(
    selection: Selection,
    already: set[str],
    *,
    day: date,
    first_number: int,
    batch_size: int,
    filters: Filters,
    refresh: bool,
    again: frozenset[str] = frozenset(),
    change_window: dict[str, Any] | None = None,
) -> Plan:
    """Split the selected ids not ``already`` fetched, and those to fetch ``again``, into
    batches numbered from ``first_number``."""
    todo = [i for i in selection.ids if i not in already or i in again]
    refreshed = sum(1 for i in todo if i in already)
    batches = [
        Batch(first_number + n, tuple(todo[start : start + batch_size]))
        for n, start in enumerate(range(0, len(todo), batch_size))
    ]
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return Plan(
        run_date=day,
        run_id=run_id,
        source=selection.source,
        filters=filters.as_dict(),
        selected=len(selection.ids),
        skipped=len(selection.ids) - len(todo),
        refresh=refresh,
        batches=batches,
        new=len(todo) - refreshed,
        refreshed=refreshed,
        change_window=change_window or {},
    )


def load_plan(s3: Any, bucket: str, day: date) -> Plan | None:
    """The latest plan of a date, if any."""
    folder = RunFolder(s3, bucket, day)
    document = folder.get_json(folder.plan_key)
    return None if document is None else Plan.from_json(document)


def is_complete(folder: RunFolder, plan: Plan) -> bool:
    """Whether this plan's run was completed (its manifest was written)."""
    manifest = folder.manifest()
    return manifest is not None and manifest.get("run_id") == plan.run_id


def filter_changes(planned: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """How ``wanted`` filters differ from ``planned`` ones, as ``min_year 1960 -> 2000`` items."""

    def shown(value: Any) -> str:
        if value is None or value == []:
            return "off"
        return ",".join(value) if isinstance(value, list) else str(value)

    return [
        f"{name} {shown(planned.get(name))} -> {shown(value)}"
        for name, value in wanted.items()
        if planned.get(name) != value
    ]
