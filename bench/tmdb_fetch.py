"""Benchmark: fetching TMDB films at the rate limit without losing any, against the emulator.

Each run starts a fresh emulator in a child process (so client and server do not share a GIL)
serving ``synthetic.films(--ids)``: the films ``synthetic.known_to_tmdb`` rejects answer 404,
the others are served, a sliding one-second window allows ``--rate`` requests, and the first
attempt of about ``--fault-share`` of the ids fails (500/502/503, a hang longer than both
clients' timeouts, a truncated body, a connection reset). ``movielake.tmdb.client`` fetches
every id at ``--rate``; the emulator's request log gives the achieved rate. ``--baseline``
also runs the predecessor's loop (seeds/000: batches of 100, ``asyncio.gather`` over
``asyncio.to_thread(requests.get, timeout=5)`` under ``Semaphore(50)``, a 429 sleeps 2 s and
records the id as an error, nothing retried) against its own fresh emulator.

``--end-to-end`` measures whole runs instead, through the CLI, inline and fanned out through
the queue to ``--workers`` concurrent local worker invocations (``bench/tmdb_scale.py``: wall
from starting the CLI to the last batch written, planning and writing included).

    .venv/bin/python bench/tmdb_fetch.py [--ids 2000] [--rate 40] [--fault-share 0.05] \
        [--fault-kinds 500,hang,...] [--baseline] [--repeat 1]
    .venv/bin/python bench/tmdb_fetch.py --end-to-end --ids 4000 --fault-share 0.01 \
        --fault-kinds hang --hang-seconds 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from movielake.local import synthetic
from movielake.tmdb.client import ClientOptions, fetch_movies
from movielake.tmdb.credentials import Credentials

API_KEY = "bench-key"
# Per id: None when fetched, else the reason it failed.
Results = dict[str, str | None]


@contextmanager
def emulator_process(*flags: str) -> Iterator[str]:
    """The TMDB emulator in a child process with the bench's key and ``flags``; its base URL."""
    command = [sys.executable, "-m", "movielake.local.tmdb_emulator", "--api-key", API_KEY, *flags]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("listening on "):
            raise RuntimeError(f"the emulator did not start: {line!r}")
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def emulator(
    ids: int, rate: float, fault_share: float, hang_seconds: float, fault_kinds: str | None = None
) -> contextlib.AbstractContextManager[str]:
    """A fresh emulator serving ``ids`` synthetic films with the given faults; yields its base URL."""
    return emulator_process(
        "--synthetic",
        str(ids),
        "--rate",
        str(rate),
        "--fault-share",
        str(fault_share),
        "--hang-seconds",
        str(hang_seconds),
        *(["--fault-kinds", fault_kinds] if fault_kinds else []),
    )


def emulator_stats(url: str) -> dict[str, Any]:
    """The emulator's request log and totals."""
    with urllib.request.urlopen(f"{url}/__stats", timeout=30) as response:
        return json.load(response)


def run_movielake(url: str, ids: list[str], rate: float, timeout: float) -> Results:
    """Fetch with ``movielake.tmdb.client`` at its defaults but the given rate and timeout."""
    options = ClientOptions(base_url=url, rate=rate, timeout=timeout)

    async def collect() -> Results:
        results: Results = {}
        async for outcome in fetch_movies(ids, Credentials(api_key=API_KEY), options):
            if outcome.requested_id in results:
                raise RuntimeError(f"two outcomes for {outcome.requested_id}")
            results[outcome.requested_id] = outcome.reason
        return results

    return asyncio.run(collect())


def run_baseline(url: str, ids: list[str]) -> Results:
    """The predecessor's loop, as in seeds/000 (only the reason of each error is noted besides)."""
    import requests

    async def extrair_info_filmes(id_list: list[str], max_concurrent_requests: int = 50) -> Results:
        results: Results = {}
        sem = asyncio.Semaphore(max_concurrent_requests)

        async def get_movie(movie_id: str) -> None:
            movie_url = f"{url}/3/movie/{movie_id}?api_key={API_KEY}&language=pt-BR"
            async with sem:
                try:
                    response = await asyncio.to_thread(requests.get, movie_url, timeout=5)
                    if response.status_code == 200:
                        data = response.json()
                        results[movie_id] = None if data.get("id") else "invalid_body"
                    elif response.status_code == 404:
                        results[movie_id] = "not_found"
                    elif response.status_code == 429:
                        await asyncio.sleep(2)
                        results[movie_id] = "rate_limited"
                    else:
                        results[movie_id] = "server_error" if response.status_code >= 500 else "http_error"
                except requests.Timeout:
                    results[movie_id] = "timeout"
                except requests.ConnectionError:
                    results[movie_id] = "connection"
                except ValueError:
                    results[movie_id] = "invalid_body"

        await asyncio.gather(*[get_movie(i) for i in id_list])
        return results

    async def processar_em_lotes() -> Results:
        results: Results = {}
        for i in range(0, len(ids), 100):
            results.update(await extrair_info_filmes(ids[i : i + 100]))
        return results

    return asyncio.run(processar_em_lotes())


def busiest_second(times: list[float]) -> int:
    """The most events in any half-open one-second window."""
    times = sorted(times)
    start = best = 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def measure(
    runner: Callable[[str, list[str]], Results], args: argparse.Namespace, films: list[synthetic.Film]
) -> dict[str, Any]:
    """One run against a fresh emulator: what was fetched, what failed, how fast."""
    ids = [f.imdb_id for f in films]
    unknown = {f.imdb_id for f in films if not synthetic.known_to_tmdb(f)}
    with emulator(args.ids, args.rate, args.fault_share, args.hang_seconds, args.fault_kinds) as url:
        started = time.monotonic()
        results = runner(url, ids)
        wall = time.monotonic() - started
        stats = emulator_stats(url)
    accepted = [e["t"] for e in stats["log"] if e["status"] != 429]
    failed = {i: reason for i, reason in results.items() if reason is not None}
    return {
        "ids": len(ids),
        "fetched": sum(1 for reason in results.values() if reason is None),
        "failed": len(failed),
        "failed_by_reason": ", ".join(f"{r} {n}" for r, n in Counter(failed.values()).most_common()),
        "lost": len(set(ids) - set(results)),
        "known_failed": len(set(failed) - unknown),
        "only_unknown_failed": set(failed) == unknown,
        "wall_s": wall,
        "requests": stats["requests"],
        "http_429": stats["by_status"].get("429", 0),
        "faults_injected": sum(1 for e in stats["log"] if e.get("fault")),
        "accepted_per_s": len(accepted) / wall,
        "achieved_over_rate": len(accepted) / wall / args.rate,
        "busiest_second": busiest_second(accepted),
        "ids_per_s": len(ids) / wall,
        "fetched_per_s": sum(1 for reason in results.values() if reason is None) / wall,
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Per-metric medians over the runs; the non-numeric fields of the median-wall run."""
    middle = sorted(runs, key=lambda r: r["wall_s"])[len(runs) // 2]
    merged = dict(middle)
    for key, value in middle.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            merged[key] = statistics.median(r[key] for r in runs)
    merged["only_unknown_failed"] = all(r["only_unknown_failed"] for r in runs)
    return merged


ROWS = (
    ("ids", "ids", "{:,}"),
    ("fetched", "fetched", "{:,}"),
    ("failed", "failed", "{:,}"),
    ("lost", "lost (no outcome)", "{:,}"),
    ("known_failed", "known films failed", "{:,}"),
    ("only_unknown_failed", "only unknown ids failed", "{}"),
    ("wall_s", "wall seconds", "{:.2f}"),
    ("requests", "requests received", "{:,}"),
    ("http_429", "429 answers", "{:,}"),
    ("faults_injected", "faults injected", "{:,}"),
    ("accepted_per_s", "accepted requests/s", "{:.2f}"),
    ("achieved_over_rate", "achieved / R", "{:.3f}"),
    ("busiest_second", "busiest 1 s window", "{:,}"),
    ("ids_per_s", "ids/s (fetched or failed)", "{:.2f}"),
    ("fetched_per_s", "fetched ids/s", "{:.2f}"),
)
RATIO_ROWS = {"fetched", "wall_s", "accepted_per_s", "ids_per_s", "fetched_per_s"}
WIDTH = 24


def report(results: dict[str, dict[str, Any]]) -> str:
    """A table with one column per approach, plus movielake/baseline for the key figures."""
    names = list(results)
    lines = [f"{'':27}" + "".join(f"{name:>{WIDTH}}" for name in names)]
    if len(names) == 2:
        lines[0] += f"{'movielake/baseline':>22}"
    for key, label, fmt in ROWS:
        line = f"{label:27}" + "".join(f"{fmt.format(results[n][key]):>{WIDTH}}" for n in names)
        if len(names) == 2 and key in RATIO_ROWS and results[names[1]][key]:
            line += f"{results[names[0]][key] / results[names[1]][key]:>22.2f}"
        lines.append(line)
    lines.extend(f"failed by reason, {name}: {results[name]['failed_by_reason'] or '-'}" for name in names)
    return "\n".join(lines)


def main() -> None:
    """Parse the options, run each approach ``--repeat`` times, print the medians."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ids", type=int, default=2000, help="synthetic films to fetch")
    parser.add_argument("--rate", type=float, default=40.0, help="the emulator's limit and the client's rate")
    parser.add_argument("--fault-share", type=float, default=0.05, help="share of ids whose first try fails")
    parser.add_argument("--repeat", type=int, default=1, help="runs per approach; medians are reported")
    parser.add_argument("--baseline", action="store_true", help="also run the predecessor's loop")
    parser.add_argument("--timeout", type=float, default=2.0, help="movielake client timeout, seconds")
    parser.add_argument(
        "--hang-seconds", type=float, default=6.0, help="a hang lasts this long (> both timeouts)"
    )
    parser.add_argument("--fault-kinds", help="how faulty first tries fail (default: the emulator's mix)")
    parser.add_argument("--end-to-end", action="store_true", help="whole CLI runs, inline and queue")
    parser.add_argument("--workers", type=int, default=2, help="--end-to-end: concurrent queue workers")
    parser.add_argument("--ids-per-message", type=int, default=2000, help="--end-to-end: ids per message")
    args = parser.parse_args()
    if args.end_to_end:
        from tmdb_scale import run_modes

        run_modes(["inline", "queue"], args)
        return
    films = list(synthetic.films(args.ids))
    runners: dict[str, Callable[[str, list[str]], Results]] = {
        "movielake": lambda url, ids: run_movielake(url, ids, args.rate, args.timeout)
    }
    if args.baseline:
        runners["baseline (seeds/000)"] = run_baseline
    print(
        f"{args.ids:,} ids at R={args.rate:g} req/s, fault share {args.fault_share:g}, "
        f"{args.repeat} run(s) each; "
        f"{sum(not synthetic.known_to_tmdb(f) for f in films)} ids unknown to TMDB",
        flush=True,
    )
    results: dict[str, dict[str, Any]] = {}
    for name, runner in runners.items():
        runs = []
        for number in range(1, args.repeat + 1):
            runs.append(measure(runner, args, films))
            print(f"  {name} run {number}: {runs[-1]['wall_s']:.2f} s", flush=True)
        results[name] = median_run(runs)
    print(report(results))


if __name__ == "__main__":
    main()
