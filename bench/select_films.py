"""Benchmark: film selection from a movies CSV on the TMDB planner's code path, beside DuckDB.

Any PB movies CSV (``--csv PATH``), or a ~``--mb`` MB synthetic one generated once into
``build/bench/`` in one of two shapes (``--shape``): ``artist``, several rows per film (one per
film x artist, as the PB export), or ``film``, one row per film (millions of distinct films).
Each run is a fresh child process that selects with the planner's own functions
(``selection.selection_connection`` + ``select_ids``, default filters) and reports its time,
the ids and its peak resident set (``VmHWM``, the whole process: interpreter, DuckDB, ids).
With ``--s3`` the file is first put in a moto server (child process) and the child runs
``select_from_s3``: DuckDB reads the object over HTTP through httpfs, as in the Lambda.
In the same run, ``--runs`` children run a plain DuckDB query on the same file (the same S3
object with ``--s3``): sniffed types, ``list_has_any`` over the split genres,
``SELECT DISTINCT id`` fetched into Python, ``memory_limit=200MB``, ``\\N`` read as NULL
(``nullstr``) as the PB export writes it, so a numeric column holding ``\\N`` still types as a
number; the reference the
selection must keep up with (as the issue's: DuckDB "selected the same ids"). Both
children's times include setting up their DuckDB session.

Targets (the project's 2-core machine): >= 150 MB/s, >= 0.8 of DuckDB's throughput in the same
run, peak RSS <= 256 MB, on both shapes of a 1 GB CSV.

    .venv/bin/python bench/select_films.py [--shape artist|film] [--mb 1024] [--runs 3] [--s3] [--json]
    .venv/bin/python bench/select_films.py --csv PATH --json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

from movielake import keys
from movielake.local import synthetic

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "bench"
BLOCK_FILMS = 20_000
MB = 1_000_000
TARGET_MB_S = 150.0
TARGET_RATIO = 0.8
TARGET_RSS_MB = 256.0
BUCKET = "bench-lake"
S3_KEY = keys.raw_csv_key("movies.csv", date(2026, 1, 15))

# The children: each prints one JSON line; ``{location}``, ``{size}``, ``{endpoint}`` filled in.
PEAK_RSS = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
"""
SELECT_CHILD = (
    PEAK_RSS
    + """
import json, time
import boto3  # imported before timing, as in the reference child
from movielake.config import Settings
from movielake.tmdb.selection import Filters, select_from_s3, select_ids, selection_connection
endpoint = {endpoint!r}
started = time.perf_counter()
if endpoint:
    settings = Settings(lake_bucket={bucket!r}, endpoint_url=endpoint, region="us-east-1")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    selection = select_from_s3(s3, settings, Filters())
else:
    connection = selection_connection()
    selection = select_ids(connection, {location!r}, Filters(), size={size})
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "ids": len(selection.ids), "peak_rss_mb": peak_rss_mb()}}))
"""
)
DUCKDB_CHILD = """{peak_rss}
import json, time, duckdb
from movielake.config import Settings
from movielake.duckdb_s3 import connect
endpoint = {endpoint!r}
settings = Settings(endpoint_url=endpoint, region="us-east-1") if endpoint else None
started = time.perf_counter()  # both children time their session's set-up too
connection = connect(settings, memory_limit="200MB")  # plain DuckDB; httpfs and a secret for S3
ids = len(connection.execute(
    "SELECT DISTINCT id FROM read_csv(?, delim='|', header=true, quote='', nullstr='\\\\N') "
    "WHERE anoLancamento > 1960 AND numeroVotos > 10000 "
    "AND list_has_any(list_transform(string_split(lower(genero), ','), g -> trim(g)), ['crime', 'war'])",
    [{location!r}],
).fetchall())
seconds = time.perf_counter() - started
print(json.dumps({{"seconds": seconds, "ids": ids, "peak_rss_mb": peak_rss_mb()}}))
"""


def film_rows(shape: str) -> tuple[bytes, bytes]:
    """The header line and one block of rows, ``\\n``-led: all artist rows, or a film's first."""
    header, _, rows = "".join(synthetic.csv_text(synthetic.films(BLOCK_FILMS))).encode().partition(b"\n")
    lines = [line for line in rows.split(b"\n") if line]
    if shape == "film":
        firsts: dict[bytes, bytes] = {}
        for line in lines:
            firsts.setdefault(line.split(b"|", 1)[0], line)
        lines = list(firsts.values())
    return header + b"\n", b"\n" + b"\n".join(lines) + b"\n"


def movies_csv(megabytes: int, shape: str) -> Path:
    """The cached benchmark CSV of about ``megabytes`` MB and ``shape``, written on first use.

    The block of synthetic films is repeated with renumbered ids (``tt0100000`` becomes
    ``tt<copy>0100000``), so every copy holds distinct films.
    """
    path = CACHE / f"movies_{shape}_{megabytes}mb.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} (once) ...", file=sys.stderr)
    header, rows = film_rows(shape)
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(header)
        copy = 0
        while out.tell() < megabytes * MB:
            out.write(rows.replace(b"\ntt", b"\ntt%04d" % copy)[1:])
            copy += 1
    partial.rename(path)
    return path


def child(code: str) -> dict[str, Any]:
    """Run ``code`` in a fresh interpreter and return the JSON line it prints."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summary(runs: list[dict[str, Any]], size: int) -> dict[str, Any]:
    """Median time and throughput, the highest peak RSS, the ids (the same in every run)."""
    seconds = statistics.median(r["seconds"] for r in runs)
    if len({r["ids"] for r in runs}) != 1:
        raise RuntimeError(f"runs disagree on the ids: {[r['ids'] for r in runs]}")
    return {
        "throughput_mb_s": round(size / MB / seconds, 1),
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(max(r["peak_rss_mb"] for r in runs), 1),
        "ids": runs[0]["ids"],
        "runs": len(runs),
    }


def measure(path: Path, runs: int, via_s3: bool) -> dict[str, Any]:
    """Both approaches on ``path``, interleaved run by run; the figures and the targets."""
    size = path.stat().st_size
    ours: list[dict[str, Any]] = []
    theirs: list[dict[str, Any]] = []
    with lake(path, via_s3) as endpoint:
        for _ in range(runs):
            ours.append(
                child(SELECT_CHILD.format(location=str(path), size=size, endpoint=endpoint, bucket=BUCKET))
            )
            location = f"s3://{BUCKET}/{S3_KEY}" if endpoint else str(path)
            theirs.append(child(DUCKDB_CHILD.format(peak_rss=PEAK_RSS, location=location, endpoint=endpoint)))
    result = summary(ours, size)
    reference = summary(theirs, size)
    ratio = result["throughput_mb_s"] / reference["throughput_mb_s"]
    return {
        "csv": str(path),
        "size_mb": round(size / MB, 1),
        "cpus": os.cpu_count(),
        "path": "select_from_s3 (httpfs from a moto server)" if via_s3 else "select_ids (local file)",
        **result,
        "duckdb": reference,
        "ratio_to_duckdb": round(ratio, 3),
        "same_ids_as_duckdb": result["ids"] == reference["ids"],
        "targets_met": {
            f"throughput >= {TARGET_MB_S:g} MB/s": result["throughput_mb_s"] >= TARGET_MB_S,
            f"ratio to DuckDB >= {TARGET_RATIO:g}": ratio >= TARGET_RATIO,
            f"peak RSS <= {TARGET_RSS_MB:g} MB": result["peak_rss_mb"] <= TARGET_RSS_MB,
        },
    }


@contextmanager
def lake(path: Path, via_s3: bool) -> Iterator[str]:
    """``""``, or the endpoint of a moto server holding ``path`` as the lake's newest movies CSV."""
    if not via_s3:
        yield ""
        return
    import boto3

    from movielake.local.server import temporary_moto

    # moto takes any key; the child (select_from_s3, boto3's chain) inherits these.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with temporary_moto() as endpoint:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        s3.upload_file(str(path), BUCKET, S3_KEY)
        yield endpoint


def main(argv: list[str] | None = None) -> int:
    """Generate (once) or take the CSV, measure, print a table or one JSON object."""
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--csv", type=Path, help="a PB movies CSV to measure (default: a synthetic one)")
    parser.add_argument("--shape", choices=("artist", "film"), default="artist", help="synthetic CSV shape")
    parser.add_argument("--mb", type=int, default=1024, help="size of the synthetic CSV in MB (default 1024)")
    parser.add_argument("--runs", type=int, default=3, help="runs per approach; medians (default 3)")
    parser.add_argument("--s3", action="store_true", help="select through a moto server, as the Lambda")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    path = args.csv or movies_csv(args.mb, args.shape)
    if not path.is_file():
        parser.error(f"{path}: no such file")
    figures = measure(path, args.runs, args.s3)
    if args.json:
        print(json.dumps(figures))
        return 0
    print(f"{figures['csv']}: {figures['size_mb']:,.0f} MB, {figures['cpus']} CPUs, {figures['path']}")
    for label, row in (("selection", figures), ("plain DuckDB", figures["duckdb"])):
        print(
            f"{label:<14} {row['throughput_mb_s']:8.1f} MB/s  {row['seconds']:7.2f} s  "
            f"peak RSS {row['peak_rss_mb']:6.1f} MB  ids {row['ids']:,}  (median of {row['runs']})"
        )
    print(f"ratio to DuckDB {figures['ratio_to_duckdb']:.2f}; same ids: {figures['same_ids_as_duckdb']}")
    for target, met in figures["targets_met"].items():
        print(f"  {target}: {'met' if met else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
