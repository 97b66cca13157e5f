"""Benchmark: the interactive report at 100,000 films, its file size and its time to draw in
headless Chromium.

A moto server runs in a child process; the script writes a synthetic Raw lake of ``--films``
films (``bench/lake.py``), refines it with DuckDB (as ``movielake refine`` does locally),
collects the seven answers and the film rows in one engine session (as ``movielake report``
does) and writes the page twice, side by side: as shipped (the film-level charts draw a sample
of ``FILM_CAP`` films) and uncapped (every film embedded), to show what the cap buys. For each
page it prints the size (the Vega bundle and the data block apart) and the median over
``--runs`` fresh Chromium page loads, with the network off, of the time from navigation to the
last chart drawn (``body[data-ready]``, read as ``performance.now()`` in the page).

    .venv/bin/python bench/report.py [--films 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

from lake import build_lake

from movielake.analysis.report import build_report, collect
from movielake.analysis.report.films import FILM_CAP
from movielake.analysis.report.javascript import vega_bundle
from movielake.config import PROJECT_ROOT
from movielake.local.server import temporary_moto
from movielake.refine.run import run_refine

sys.path.insert(0, str(PROJECT_ROOT / "tests"))
import chromium  # the tests' Chromium driver, found once tests/ is on the path


def drawn_ms(path: Path) -> float:
    """Milliseconds from navigation to the last chart drawn, in a fresh offline Chromium."""
    with chromium.offline_page(path, timeout_s=300) as visit:
        elapsed = visit.page.evaluate("performance.now()")
        if visit.left_the_file() or visit.errors:
            raise RuntimeError(f"{path}: requests {visit.left_the_file()}, errors {visit.errors}")
    return float(elapsed)


def describe(label: str, path: Path, runs: int) -> None:
    """Print the page's size, its parts, and the median time to draw."""
    text = path.read_text(encoding="utf-8")
    data = re.search(r'id="movielake-data">(.*?)</script>', text, re.S)
    size, bundle = len(text.encode()), len(vega_bundle().encode())
    data_bytes = len(data.group(1).encode()) if data else 0
    times = [drawn_ms(path) for _ in range(runs)]
    parts = f"vega bundle {bundle / 1e6:.2f} MB, film data {data_bytes / 1e6:.2f} MB"
    print(
        f"{label}: {size / 1e6:.2f} MB ({parts}); "
        f"drawn in Chromium: median {statistics.median(times) / 1000:.2f} s over {runs} loads "
        f"({', '.join(f'{t / 1000:.2f}' for t in times)})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--films", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3, help="Chromium page loads per page (median)")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "build" / "bench-report")
    args = parser.parse_args()
    if chromium.chromium_path() is None:
        print(chromium.NO_CHROMIUM)
        return 1
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with temporary_moto() as endpoint:
        settings = build_lake(endpoint, args.films)
        run_refine(settings, "local")
        started = time.perf_counter()
        results, _ = collect(settings, "local")
        collected = time.perf_counter() - started
    films = len(results["films"])
    started = time.perf_counter()
    vega_bundle()
    bundled = time.perf_counter() - started
    started = time.perf_counter()
    shipped = build_report(results, args.out / "capped")
    written = time.perf_counter() - started
    uncapped = build_report(results, args.out / "uncapped", film_cap=max(films, 1))
    print(
        f"{args.films:,} films in the CSV, {films:,} film rows and {len(results['q7_hidden_gems']):,} gems "
        f"collected: queries {collected:.2f} s, "
        f"vega bundle built {bundled:.2f} s (once per process), page written {written:.2f} s"
    )
    describe(f"as shipped (film charts draw {min(films, FILM_CAP):,} films)", shipped, args.runs)
    describe(f"uncapped (all {films:,} films embedded)", uncapped, args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
