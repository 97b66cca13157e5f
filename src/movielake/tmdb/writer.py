"""A TMDB run's objects in the lake: batches, error parts, done markers, plan, errors, manifest.

Every key is deterministic (``movielake.keys``), so a retried batch overwrites what an earlier
attempt wrote instead of adding to it. A batch is committed by its done marker, written last:
a batch without one is refetched and rewritten whole.

Each fetch pass also leaves one summary of the batches it wrote (their done markers, error
lines and the markers' ETags) under ``_run/passes/``: completing a run of a thousand batches
reads a few summaries instead of two thousand objects, and takes a summary's batch only while
the done marker in S3 is still the one that pass wrote (same ETag).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from botocore.exceptions import ClientError

from movielake import keys
from movielake.aws import list_objects

# S3 reads of many small objects are latency-bound: a few at a time.
READ_THREADS = 16


def ndjson(items: Iterable[dict[str, Any]]) -> bytes:
    """One compact JSON object per line, UTF-8, each line ending in a newline."""
    return "".join(
        json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n" for item in items
    ).encode()


@dataclass(frozen=True)
class WrittenBatch:
    """A finished batch as it was written: its done marker, its error lines, the marker's ETag."""

    done: dict[str, Any]
    errors: list[dict[str, Any]]
    etag: str


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}


class RunFolder:
    """The TMDB folder of one run date, ``Raw/TMDB/JSON/Movies/<YYYY>/<MM>/<DD>/``."""

    def __init__(self, s3: Any, bucket: str, day: date) -> None:
        self.s3 = s3
        self.bucket = bucket
        self.day = day

    # -- plain objects ---------------------------------------------------------------------

    def put(self, key: str, body: bytes, content_type: str = "application/json") -> str:
        """Write (or overwrite) one object; its ETag."""
        return self.s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)["ETag"]

    def put_json(self, key: str, value: Any) -> str:
        """Write one JSON document; its ETag."""
        return self.put(key, json.dumps(value, ensure_ascii=False, indent=1).encode())

    def get_json(self, key: str) -> Any | None:
        """One JSON document, or None when the key does not exist."""
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if _missing(exc):
                return None
            raise
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ValueError(f"s3://{self.bucket}/{key} is not valid JSON: {exc}") from exc

    def put_once(self, key: str, value: Any) -> bool:
        """Create a JSON document unless it exists (S3 conditional write); True if created here."""
        try:
            self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(value).encode(), IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {
                "PreconditionFailed",
                "ConditionalRequestConflict",
            }:
                return False
            raise
        return True

    def keys_under(self, prefix: str, delimiter: str = "") -> Iterator[str]:
        """Every key under ``prefix`` (only its direct children with ``delimiter="/"``)."""
        options = {"Delimiter": delimiter} if delimiter else {}
        for item in list_objects(self.s3, self.bucket, prefix, **options):
            yield item["Key"]

    # -- one batch -------------------------------------------------------------------------

    def done_key(self, number: int) -> str:
        """``_run/done/lote_<N>.json``: the batch is finished; its counts."""
        return keys.tmdb_done_key(self.day, number)

    def error_part_key(self, number: int) -> str:
        """``_run/errors/lote_<N>.json``: the batch's failed ids, NDJSON."""
        return keys.tmdb_error_part_key(self.day, number)

    def write_batch(
        self, number: int, records: list[dict[str, Any]], errors: list[dict[str, Any]], done: dict[str, Any]
    ) -> WrittenBatch:
        """Write a finished batch: ``lote_N.json`` (removed when it has no record), its error
        part, then its done marker, so a marker always means the other two are in place."""
        batch_key = keys.tmdb_batch_key(self.day, number)
        if records:
            self.put(batch_key, ndjson(records), "application/x-ndjson")
        else:
            self.s3.delete_object(Bucket=self.bucket, Key=batch_key)
        self.put(self.error_part_key(number), ndjson(errors), "application/x-ndjson")
        return WrittenBatch(done, errors, self.put_json(self.done_key(number), done))

    def done_etags(self) -> dict[int, str]:
        """The batch numbers of this date that have a done marker, each with the marker's ETag."""
        prefix = keys.tmdb_done_prefix(self.day)
        return {
            n: item["ETag"]
            for item in list_objects(self.s3, self.bucket, prefix)
            if (n := keys.batch_number(item["Key"])) is not None
        }

    def done_numbers(self) -> set[int]:
        """The batch numbers of this date that have a done marker."""
        return set(self.done_etags())

    def batch_numbers(self) -> set[int]:
        """The N of every ``lote_N.json`` directly in this date folder."""
        found = self.keys_under(keys.tmdb_folder(self.day), delimiter="/")
        return {n for key in found if (n := keys.batch_number(key)) is not None}

    def done_markers(self, numbers: Iterable[int]) -> dict[int, dict[str, Any]]:
        """The done markers of ``numbers`` (all must exist), read a few at a time."""
        wanted = sorted(numbers)
        with ThreadPoolExecutor(READ_THREADS) as pool:
            markers = list(pool.map(lambda n: self.get_json(self.done_key(n)), wanted))
        lost = [n for n, marker in zip(wanted, markers, strict=True) if marker is None]
        if lost:
            raise FileNotFoundError(f"done markers vanished for batches {lost} of {self.day}")
        return dict(zip(wanted, markers, strict=True))

    def error_parts(self, numbers: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
        """The error lines of the error part of each of ``numbers``."""

        def read(number: int) -> list[dict[str, Any]]:
            key = self.error_part_key(number)
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
            return [json.loads(line) for line in body.iter_lines() if line.strip()]

        wanted = sorted(numbers)
        with ThreadPoolExecutor(READ_THREADS) as pool:
            return dict(zip(wanted, pool.map(read, wanted), strict=True))

    # -- fetch passes ----------------------------------------------------------------------

    def write_pass(self, written: Mapping[int, WrittenBatch]) -> None:
        """Leave the summary of one fetch pass: every batch it wrote, as it wrote it."""
        batches = [{"number": n, **asdict(w)} for n, w in sorted(written.items())]
        self.put_json(keys.tmdb_pass_key(self.day, uuid.uuid4().hex), {"batches": batches})

    def passes(self) -> dict[int, WrittenBatch]:
        """Every batch the summaries of this date's passes hold (a batch in two: either)."""
        found = list(self.keys_under(keys.tmdb_pass_prefix(self.day)))
        with ThreadPoolExecutor(READ_THREADS) as pool:
            summaries = [s for s in pool.map(self.get_json, found) if s is not None]
        batches = (b for summary in summaries for b in summary["batches"])
        return {b["number"]: WrittenBatch(b["done"], b["errors"], b["etag"]) for b in batches}

    def written_batches(
        self, numbers: Iterable[int], etags: Mapping[int, str], known: Mapping[int, WrittenBatch]
    ) -> dict[int, WrittenBatch]:
        """Each of ``numbers`` as written, its done marker current (``etags``, from a listing).

        From ``known`` (what this process wrote), else from the passes' summaries, as long as
        the marker's ETag is the one the pass wrote (a batch rewritten since is read anew);
        the rest from its done marker and error part.
        """
        wanted = sorted(numbers)
        found = {n: w for n, w in known.items() if etags.get(n) == w.etag}
        if any(n not in found for n in wanted):
            others = self.passes().items()
            found.update({n: w for n, w in others if n not in found and etags.get(n) == w.etag})
        rest = [n for n in wanted if n not in found]
        markers = self.done_markers(rest)
        errors = self.error_parts(n for n in rest if markers[n]["failed"])
        found.update({n: WrittenBatch(markers[n], errors.get(n, []), etags[n]) for n in rest})
        return {n: found[n] for n in wanted}

    # -- the run ---------------------------------------------------------------------------

    @property
    def plan_key(self) -> str:
        """``_run/plan.json``: the latest run of this date."""
        return keys.tmdb_plan_key(self.day)

    def completed_key(self, run_id: str) -> str:
        """``_run/completed/<run id>.json``: created once, by whoever completes the run."""
        return keys.tmdb_completed_key(self.day, run_id)

    def write_errors(self, lines: list[dict[str, Any]]) -> str:
        """``erros_geral.json`` (NDJSON, one line per failed id; empty when none failed)."""
        key = keys.tmdb_errors_key(self.day)
        self.put(key, ndjson(lines), "application/x-ndjson")
        return key

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """``_manifest.json``, the run's completion report."""
        self.put_json(keys.tmdb_manifest_key(self.day), manifest)

    def manifest(self) -> dict[str, Any] | None:
        """The latest completion report of this date, if any."""
        return self.get_json(keys.tmdb_manifest_key(self.day))


@dataclass(frozen=True)
class RawFilms:
    """What Raw holds of TMDB: each fetched film's TMDB id, and the newest run's manifest key."""

    tmdb_ids: dict[str, int | None]  # requested_id -> TMDB id (None when the record had none)
    newest_manifest: str | None  # the manifest written last (the last run completed), if any


def raw_films(s3: Any, bucket: str) -> RawFilms:
    """Every ``requested_id`` in a ``lote_*.json`` of Raw, any date, with its TMDB id (read
    streaming, one listing of the prefix), and the most recently written ``_manifest.json``."""
    batch_keys: list[str] = []
    manifests: list[tuple[Any, str]] = []
    for item in list_objects(s3, bucket, keys.TMDB_MOVIES_PREFIX):
        if keys.TMDB_DATED_BATCH_PATTERN.match(item["Key"]):
            batch_keys.append(item["Key"])
        elif keys.TMDB_DATED_MANIFEST_PATTERN.match(item["Key"]):
            manifests.append((item["LastModified"], item["Key"]))

    def read(key: str) -> list[tuple[str, int | None]]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        films = []
        for number, line in enumerate(body.iter_lines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                films.append((record["requested_id"], record.get("id")))
            except (ValueError, KeyError) as exc:
                raise ValueError(f"s3://{bucket}/{key} line {number}: no requested_id ({exc})") from exc
        return films

    with ThreadPoolExecutor(READ_THREADS) as pool:
        found = {film: tmdb_id for films in pool.map(read, batch_keys) for film, tmdb_id in films}
    return RawFilms(found, max(manifests)[1] if manifests else None)
