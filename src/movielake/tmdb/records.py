"""The shape of what Raw keeps of a TMDB answer: one NDJSON line per film.

Raw stores what the source said (a budget of 0 stays 0), projected to the fields the analyses
use; ``docs/architecture.md`` lists them with their catalog types.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

KEPT_FIELDS = (
    "id",
    "imdb_id",
    "title",
    "original_title",
    "runtime",
    "release_date",
    "budget",
    "revenue",
    "popularity",
    "vote_average",
    "vote_count",
    "original_language",
)


def utc_timestamp(moment: datetime | None = None) -> str:
    """ISO-8601 UTC with microseconds and a ``Z``, so string order is time order."""
    return (moment or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def to_record(payload: dict[str, Any], requested_id: str, ingested_at: str) -> dict[str, Any]:
    """Project a ``/3/movie/{id}?append_to_response=credits`` body to a Raw record."""
    record = {name: payload.get(name) for name in KEPT_FIELDS}
    record["genres"] = [{"id": g.get("id"), "name": g.get("name")} for g in payload.get("genres") or []]
    record["production_companies"] = [
        {"id": c.get("id"), "name": c.get("name"), "origin_country": c.get("origin_country")}
        for c in payload.get("production_companies") or []
    ]
    credits = payload.get("credits") or {}
    record["cast"] = [
        {"name": c.get("name"), "character": c.get("character"), "order": c.get("order")}
        for c in credits.get("cast") or []
    ]
    record["crew"] = [{"name": c.get("name"), "job": c.get("job")} for c in credits.get("crew") or []]
    record["requested_id"] = requested_id
    record["ingested_at"] = ingested_at
    return record


def error_record(
    requested_id: str, reason: str, http_status: int | None, attempts: int, ingested_at: str
) -> dict[str, Any]:
    """One line of ``erros_geral.json``: which id failed, why, and after how many attempts."""
    return {
        "requested_id": requested_id,
        "reason": reason,
        "http_status": http_status,
        "attempts": attempts,
        "ingested_at": ingested_at,
    }
