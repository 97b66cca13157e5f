"""Benchmark: film selection from a ~1 GB movies CSV on the TMDB Lambda's code path.

The CSV is generated once and cached in ``build/bench/``: a block of synthetic films
(``synthetic.csv_text``) repeated with renumbered ids until the file reaches ``--mb``
megabytes (the synthetic generator alone is too slow to write 1 GB). Each measurement runs in
a fresh child process, which streams the file through ``selection.select_ids`` wrapped in
botocore's own ``StreamingBody`` (the object the Lambda reads from S3), and reports the time,
the ids and the growth of its maximum resident set (``getrusage``) over its resident set
just before selecting. A second child repeats one run under ``tracemalloc`` for the Python-level peak.
``--baseline`` runs the predecessor's approach side by side, also in its own child:
``pd.read_csv(io.BytesIO(body), sep='|')`` on the whole body plus its filters.
``--s3-mb N`` also puts an N MB file in a moto server (child process) and selects from it
through ``select_from_s3``, to show the S3 path gives the same answer.

Targets (on the project's 2-core machine): peak memory <= 256 MB and >= 150 MB/s.

    .venv/bin/python bench/select_films.py [--mb 1024] [--runs 3] [--baseline] [--s3-mb 100]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from movielake import synthetic
from movielake.local.server import temporary_moto

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "build" / "bench"
BLOCK_FILMS = 20_000
MB = 1_000_000

# The children: each prints one JSON line. ``{path}``, ``{size}`` and ``{extra}`` are filled in.
SELECT_CHILD = """
import json, resource, sys, time, tracemalloc
from pathlib import Path
from botocore.response import StreamingBody
from movielake.tmdb.selection import Filters, select_ids
trace = {trace}
# The resident set now (not the max so far: imports may have peaked above it).
before = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() // 1024
if trace:
    tracemalloc.start()
started = time.perf_counter()
with open({path!r}, "rb", buffering=0) as raw:
    selection = select_ids(StreamingBody(raw, {size}), Filters())
seconds = time.perf_counter() - started
peak = tracemalloc.get_traced_memory()[1] if trace else None
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "ids": len(selection.ids), "rss_delta_kb": after - before,
                  "rss_kb": after, "tracemalloc_peak": peak}}))
"""
BASELINE_CHILD = """
import io, json, resource, time
from pathlib import Path
import pandas as pd
# The resident set now (not the max so far: imports may have peaked above it).
before = int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() // 1024
started = time.perf_counter()
with open({path!r}, "rb") as f:
    body = f.read()
df = pd.read_csv(io.BytesIO(body), sep="|")
df["anoLancamento"] = pd.to_numeric(df["anoLancamento"], errors="coerce")
df = df[(pd.to_numeric(df["numeroVotos"], errors="coerce") > 10000) & (df["anoLancamento"] > 1960)
        & df["genero"].str.lower().str.contains("crime|war", na=False)]
ids = df["id"].dropna().unique().tolist()
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "ids": len(ids), "rss_delta_kb": after - before, "rss_kb": after}}))
"""
S3_CHILD = """
import json, time, boto3
from movielake import keys
from movielake.tmdb.selection import Filters, select_from_s3
from datetime import date
s3 = boto3.client("s3", endpoint_url={endpoint!r}, region_name="us-east-1",
                  aws_access_key_id="bench", aws_secret_access_key="bench")
s3.create_bucket(Bucket="bench-lake")
s3.upload_file({path!r}, "bench-lake", keys.raw_csv_key("movies.csv", date(2026, 1, 15)))
started = time.perf_counter()
selection = select_from_s3(s3, "bench-lake", Filters())
print(json.dumps({{"seconds": time.perf_counter() - started, "ids": len(selection.ids),
                  "source": selection.source}}))
"""


def movies_csv(megabytes: int) -> Path:
    """The cached benchmark CSV of about ``megabytes`` MB, written on first use."""
    path = CACHE / f"movies_{megabytes}mb.csv"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    print(f"generating {path} (once) ...", file=sys.stderr)
    header, _, rows = "".join(synthetic.csv_text(synthetic.films(BLOCK_FILMS))).encode().partition(b"\n")
    rows = b"\n" + rows
    partial = path.with_suffix(".partial")
    with partial.open("wb") as out:
        out.write(header + b"\n")
        copy = 0
        while out.tell() < megabytes * MB:
            # ids tt0100000.. become tt<copy>0100000..: every copy holds distinct films.
            out.write(rows.replace(b"\ntt", b"\ntt%03d" % copy)[1:])
            copy += 1
    partial.rename(path)
    return path


def child(code: str) -> dict:
    """Run ``code`` in a fresh interpreter and return the JSON line it prints."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(label: str, size: int, runs: list[dict]) -> dict:
    """Print the median line of one approach and return its figures."""
    seconds = statistics.median(r["seconds"] for r in runs)
    rss = max(r["rss_delta_kb"] for r in runs) / 1024
    figures = {
        "MB/s": size / MB / seconds,
        "seconds": seconds,
        "peak_rss_delta_MiB": rss,
        "ids": runs[0]["ids"],
    }
    print(
        f"{label:<28} {figures['MB/s']:8.1f} MB/s  {seconds:7.2f} s  "
        f"max RSS +{rss:7.1f} MiB  ids {figures['ids']:,}  (median of {len(runs)})"
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Generate (once) and measure; print a small table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=1024, help="size of the CSV in MB (default 1024)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs per approach (default 3)")
    parser.add_argument("--baseline", action="store_true", help="also run the predecessor's pandas read")
    parser.add_argument("--s3-mb", type=int, default=0, help="also select from an N MB file in moto S3")
    args = parser.parse_args(argv)

    path = movies_csv(args.mb)
    size = path.stat().st_size
    print(f"{path.relative_to(ROOT)}: {size / MB:,.0f} MB, {os.cpu_count()} CPUs")
    streaming = [child(SELECT_CHILD.format(path=str(path), size=size, trace=False)) for _ in range(args.runs)]
    ours = report("streaming select_ids", size, streaming)
    traced = child(SELECT_CHILD.format(path=str(path), size=size, trace=True))
    print(f"{'':<28} tracemalloc peak {traced['tracemalloc_peak'] / 2**20:.1f} MiB (one traced run)")
    if args.baseline:
        baseline = [child(BASELINE_CHILD.format(path=str(path))) for _ in range(max(1, args.runs // 2))]
        theirs = report("baseline pandas read_csv", size, baseline)
        if theirs["ids"] != ours["ids"]:
            print(
                f"note: the baseline selects {theirs['ids']:,} ids (substring genres), ours {ours['ids']:,}"
            )
    if args.s3_mb:
        small = movies_csv(args.s3_mb)
        with temporary_moto() as endpoint:
            result = child(S3_CHILD.format(endpoint=endpoint, path=str(small)))
        local = child(SELECT_CHILD.format(path=str(small), size=small.stat().st_size, trace=False))
        same = (
            "same ids as the local file" if result["ids"] == local["ids"] else "DIFFERENT from the local file"
        )
        print(
            f"{'select_from_s3 via moto':<28} {small.stat().st_size / MB / result['seconds']:8.1f} MB/s  "
            f"{result['seconds']:7.2f} s  ids {result['ids']:,} ({same})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
