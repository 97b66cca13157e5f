"""Benchmark: validating a large movies CSV, the pass every upload and Landing file goes through.

The CSV is built once in ``build/bench/validate/movies.csv`` from the sample's rows repeated to
``--mb`` megabytes. Each run streams it through ``validation.validate_file`` (header, UTF-8,
CRLF/BOM, field counts, a number or ``\\N`` in every numeric column, the sha256) and, side by
side, through the floor any validator pays: reading the same chunks, hashing and decoding them.
Prints the median of ``--runs`` runs of each, their ratio, and the validator's tracemalloc peak.

    .venv/bin/python bench/validate_csv.py [--mb 300] [--runs 3]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time
import tracemalloc
from pathlib import Path

from movielake.ingest.validation import read_chunks, validate_file

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample" / "movies.csv"
MB = 1_000_000


def build(path: Path, megabytes: int) -> Path:
    """The sample's header and its rows repeated to ``megabytes`` (reused when big enough)."""
    if path.exists() and path.stat().st_size >= megabytes * MB:
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    header, rows = SAMPLE.read_bytes().split(b"\n", 1)
    with path.open("wb") as out:
        out.write(header + b"\n")
        while out.tell() < megabytes * MB:
            out.write(rows)
    return path


def floor(path: Path) -> None:
    """Read, hash and decode every chunk: what any streaming validator must do at least."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in read_chunks(handle):
            digest.update(chunk)
            chunk.decode("utf-8", errors="ignore")


def timed(work, runs: int) -> float:  # type: ignore[no-untyped-def]
    """The median seconds of ``runs`` calls."""
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    """Build the file, time both passes, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=300, help="file size in MB (default 300)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each pass (default 3)")
    args = parser.parse_args()
    path = build(ROOT / "build" / "bench" / "validate" / "movies.csv", args.mb)
    size = path.stat().st_size / MB
    validator = timed(lambda: validate_file(path), args.runs)
    reference = timed(lambda: floor(path), args.runs)
    tracemalloc.start()
    report = validate_file(path)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    print(f"file: {size:,.0f} MB, {report.rows:,} rows")
    print(f"validate_file    median of {args.runs}: {validator:.2f} s = {size / validator:,.0f} MB/s")
    print(f"read+hash+decode median of {args.runs}: {reference:.2f} s = {size / reference:,.0f} MB/s")
    print(f"validator / floor: {validator / reference:.2f}x; tracemalloc peak {peak:.1f} MiB")


if __name__ == "__main__":
    main()
