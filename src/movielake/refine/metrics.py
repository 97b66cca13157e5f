"""The refine's run metrics (EMF, see ``movielake.metrics``), from its manifest.

``RefineSucceeded`` (1 or 0) feeds the staleness alarm (Terraform ``<prefix>-refine-stale``: no
successful refine for ``refine_staleness_hours``, missing data breaching); ``ChecksFailed``
counts the hard rules broken; ``RowsIn`` and ``RowsOut`` are per table (dimension ``table``;
rows in summed over the table's sources).
"""

from __future__ import annotations

from typing import Any

from movielake.metrics import emit

SERVICE = "refine"


def emit_refine_metrics(manifest: dict[str, Any]) -> None:
    """Emit the metrics of one refine from its manifest (nothing outside a Lambda)."""
    tables = manifest.get("tables", {})
    emit(
        SERVICE,
        {
            "RefineSucceeded": 1 if manifest.get("status") == "succeeded" else 0,
            "ChecksFailed": sum(1 for check in manifest.get("checks", []) if not check["passed"]),
            "TablesBuilt": len(tables),
        },
        breakdowns={
            "RowsIn": ("table", {t: sum(f["rows_in"].values()) for t, f in tables.items()}),
            "RowsOut": ("table", {t: f["rows_out"] for t, f in tables.items()}),
        },
    )
