"""Benchmark: whole TMDB runs through the CLI, inline or fanned out to concurrent workers.

Each run gets a fresh moto server and a fresh TMDB emulator (child processes). The emulator
serves ``synthetic.films(--ids)`` at ``--rate`` requests per sliding second, and the first
attempt of ``--fault-share`` of the ids suffers ``--fault-kinds`` (default: 1% of first
attempts hang ``--hang-seconds`` 8 s). The lake gets the films' movies CSV and the emulator's
key in a Secrets Manager secret; the planner and worker functions are created from
``build/tmdb_enrich.zip`` with an SQS queue, its dead-letter queue and an event source mapping
of ``MaximumConcurrency`` ``--workers``, wired as Terraform does (each worker at
``rate / workers``; the planner knows the worker count). Every filter is off: all films are
selected.

* ``inline``: ``movielake tmdb fetch`` selects, plans, fetches and writes in one process.
* ``queue``: ``movielake tmdb fetch --queue`` plans and enqueues while the local runtime
  long-polls the queue, as Lambda's SQS poller does, taking a message the moment it is sent,
  and delivers the messages to up to ``--workers`` worker invocations at once (each its own
  process), until the CLI has exited and the queue is empty.

Wall: from starting the CLI until the CLI has exited and (queue) the poller is idle: planning,
selection, writing and the completion included. Achieved: requests the emulator accepted /
wall / rate. Lost: selected ids with no line in any ``lote_<N>.json`` nor in
``erros_geral.json``; duplicated: ids with two lines. Also printed: the time before the first
request and after the last, the rate while fetching, the tightest ``rate + 1`` consecutive
requests (how much of the pacer's margin arrival jitter used up), when the manifest said the
run was complete, and with ``--repeat K`` the medians of K runs per mode.

    .venv/bin/python bench/tmdb_scale.py --ids 100000 --rate 400 --workers 4 --mode queue
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import boto3
from tmdb_fetch import API_KEY, emulator, emulator_stats

from movielake import keys
from movielake.local import synthetic
from movielake.local.dispatch import DeliveredLog, Dispatcher, queue_mappings
from movielake.local.runtime import (
    Invocation,
    LambdaRuntime,
    code_sha256,
    extract,
    find_interpreter,
    find_zip,
)
from movielake.local.server import temporary_moto

ROOT = Path(__file__).resolve().parents[1]
ZIP = ROOT / "build" / "tmdb_enrich.zip"
REGION = "us-east-1"
BUCKET = "bench-lake"
TARGET = 0.95
RUNTIME = "python3.12"  # Terraform's lambda_runtime, the Python the zip is built for
# moto accepts any key; these keep the bench off whatever credentials the shell has.
DUMMY_CREDENTIALS = {"aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def client(service: str, endpoint: str) -> Any:
    """A boto3 client on the bench's moto server."""
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, **DUMMY_CREDENTIALS)


def environment(url: str, queue_url: str, secret: str, args: argparse.Namespace) -> dict[str, str]:
    """The ``MOVIELAKE_*`` settings Terraform gives the TMDB functions (rate set per function)."""
    return {
        "MOVIELAKE_LAKE_BUCKET": BUCKET,
        "MOVIELAKE_TMDB_SECRET_ID": secret,
        "MOVIELAKE_TMDB_BASE_URL": url,
        "MOVIELAKE_TMDB_QUEUE_URL": queue_url,
        "MOVIELAKE_TMDB_WORKERS": str(args.workers),
        "MOVIELAKE_TMDB_IDS_PER_MESSAGE": str(args.ids_per_message),
        "MOVIELAKE_MIN_YEAR": "off",
        "MOVIELAKE_MIN_VOTES": "off",
        "MOVIELAKE_GENRES": "off",
    }


@contextmanager
def deployment(args: argparse.Namespace) -> Iterator[dict[str, Any]]:
    """moto + emulator + lake + functions + queue + mapping; yields what a run needs."""
    films = list(synthetic.films(args.ids))
    with (
        temporary_moto() as endpoint,
        emulator(args.ids, args.rate, args.fault_share, args.hang_seconds, args.fault_kinds) as url,
    ):
        s3, sqs, lam = client("s3", endpoint), client("sqs", endpoint), client("lambda", endpoint)
        s3.create_bucket(Bucket=BUCKET)
        csv = "".join(synthetic.csv_text(films)).encode()
        s3.put_object(Bucket=BUCKET, Key=keys.raw_csv_key("movies.csv", datetime.now(UTC).date()), Body=csv)
        secret = client("secretsmanager", endpoint).create_secret(
            Name="bench/tmdb-api", SecretString=json.dumps({"api_key": API_KEY})
        )["ARN"]
        dlq = sqs.create_queue(QueueName="bench-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
        queue_url = sqs.create_queue(
            QueueName="bench-batches", Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "900"}
        )["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        env = environment(url, queue_url, secret, args)
        role = client("iam", endpoint).create_role(RoleName="bench", AssumeRolePolicyDocument="{}")["Role"][
            "Arn"
        ]
        worker = lam.create_function(
            FunctionName="bench-tmdb-worker",
            Runtime=RUNTIME,
            Role=role,
            Handler="movielake.tmdb.handlers.work",
            Code={"ZipFile": ZIP.read_bytes()},
            Timeout=900,
            MemorySize=512,
            Environment={"Variables": {**env, "MOVIELAKE_TMDB_RATE": str(args.rate / args.workers)}},
        )["FunctionArn"]
        lam.create_event_source_mapping(
            EventSourceArn=queue_arn["QueueArn"],
            FunctionName=worker,
            BatchSize=1,
            FunctionResponseTypes=["ReportBatchItemFailures"],
            ScalingConfig={"MaximumConcurrency": args.workers},
        )
        yield {
            "endpoint": endpoint,
            "url": url,
            "env": env,
            "s3": s3,
            "sqs": sqs,
            "lambda": lam,
            "films": films,
        }


@dataclass
class Command:
    """The running CLI, the file its output goes to (a pipe nobody reads while the poller runs
    would block it), and when it exited (a thread waits for it)."""

    process: subprocess.Popen[str]
    output: IO[str]
    exited_at: float | None = None

    def __post_init__(self) -> None:
        threading.Thread(target=self._wait, daemon=True).start()

    def _wait(self) -> None:
        self.process.wait()
        self.exited_at = time.monotonic()

    def finish(self) -> None:
        """Wait for the CLI; raise with its last output lines when it failed."""
        self.process.wait()
        if self.process.returncode != 0:
            self.output.seek(0)
            text = self.output.read()
            raise RuntimeError(f"{' '.join(map(str, self.process.args))} failed:\n{text[-3000:]}")


@contextmanager
def cli(deployed: dict[str, Any], args: argparse.Namespace, *extra: str) -> Iterator[Command]:
    """``movielake tmdb fetch`` started as a user would, against the deployment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIELAKE_", "AWS_"))}
    env.update(deployed["env"])
    env.update(
        {
            "MOVIELAKE_TMDB_RATE": str(args.rate),
            "AWS_ENDPOINT_URL": deployed["endpoint"],
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        }
    )
    argv = [str(Path(sys.executable).with_name("movielake")), "tmdb", "fetch", *extra]
    with tempfile.TemporaryFile("w+") as output:
        process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT, text=True)
        try:
            yield Command(process, output)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()


def dispatcher(deployed: dict[str, Any], cache: Path) -> Dispatcher:
    """The local runtime and event delivery on the deployment, its zip already extracted.

    A running local stack extracts a deployed zip once and keeps it, and finds its Python
    once; the timed run must not pay for the bench's fresh cache.
    """
    runtime = LambdaRuntime(
        lambda_client=deployed["lambda"],
        endpoint_url=deployed["endpoint"],
        region=REGION,
        build_dir=ZIP.parent,
        cache_dir=cache,
    )
    sha = code_sha256(ZIP)
    extract(find_zip(sha, ZIP.parent), sha, cache)
    find_interpreter(RUNTIME)
    return Dispatcher(
        runtime=runtime,
        s3=deployed["s3"],
        sqs=deployed["sqs"],
        events=client("events", deployed["endpoint"]),
        delivered=DeliveredLog(cache / "delivered.json"),
        region=REGION,
    )


def pump(delivery: Dispatcher, command: Command) -> int:
    """Deliver the queue to the workers as Lambda's poller does: long-polling from the moment
    the CLI starts (a message is picked up as soon as it is sent, not when the CLI exits) until
    the CLI has exited and the queue is empty; the number of invocations."""
    invocations: list[Invocation] = []
    for mapping in queue_mappings(delivery.runtime.lambda_client):
        invocations += delivery.poll(mapping, until=lambda: command.exited_at is not None)
    failed = [i for i in invocations if not i.ok]
    if failed:
        raise RuntimeError(f"{len(failed)} worker invocation(s) failed: {failed[0].error}")
    return len(invocations)


def lines(s3: Any, day_prefix: str) -> tuple[Counter[str], Counter[str]]:
    """Requested ids of every batch line and of every errors line of the run's folder."""
    fetched: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=day_prefix):
        for item in page.get("Contents", []):
            name = item["Key"][len(day_prefix) :]  # not the bookkeeping under _run/
            if "/" not in name and (keys.batch_number(name) is not None or name == keys.TMDB_ERRORS_FILE):
                body = s3.get_object(Bucket=BUCKET, Key=item["Key"])["Body"].read().decode()
                target = failed if name == keys.TMDB_ERRORS_FILE else fetched
                target.update(json.loads(line)["requested_id"] for line in body.splitlines() if line)
    return fetched, failed


def measure(mode: str, args: argparse.Namespace, cache: Path) -> dict[str, Any]:
    """One whole run in ``mode`` on a fresh deployment; its figures."""
    with deployment(args) as deployed:
        day = datetime.now(UTC).date()
        delivery = dispatcher(deployed, cache)
        started, started_utc = time.monotonic(), time.time()
        invocations = 0
        with cli(
            deployed, args, *(["--queue"] if mode == "queue" else []), "--date", day.isoformat()
        ) as command:
            if mode == "queue":
                invocations = pump(delivery, command)
            command.finish()
        wall = time.monotonic() - started
        stats = emulator_stats(deployed["url"])
        fetched, failed = lines(deployed["s3"], keys.tmdb_folder(day))
        completed = completed_at(deployed["s3"], day) - started_utc
    ids = {f.imdb_id for f in deployed["films"]}
    times = [e["t"] for e in stats["log"] if e["status"] != 429]
    accepted = len(times)
    floor = accepted / args.rate
    return {
        "mode": mode,
        "ids": len(ids),
        "workers": args.workers if mode == "queue" else 1,
        "worker_invocations": invocations,
        "fetched": len(fetched),
        "failed": len(failed),
        "lost": len(ids - set(fetched) - set(failed)),
        "duplicated": sum(1 for n in (fetched + failed).values() if n > 1),
        "requests_accepted": accepted,
        "http_429": stats["by_status"].get("429", 0),
        "hangs_injected": sum(1 for e in stats["log"] if e.get("fault") == "hang"),
        "wall_s": round(wall, 2),
        "floor_s": round(floor, 2),
        "achieved_over_limit": round(accepted / wall / args.rate, 3),
        # Where the rest of the wall went: before the first request, and after the last one.
        "before_first_request_s": round(stats["started"] + min(times) - started, 2),
        "after_last_request_s": round(started + wall - stats["started"] - max(times), 2),
        "fetching_over_limit": round(accepted / (max(times) - min(times)) / args.rate, 3),
        # The shortest span of rate + 1 consecutive accepted requests (> 1 s, or a 429 came):
        # how much of the pacer's margin arrival jitter used up.
        "tightest_window_s": round(tightest_window(times, int(args.rate)), 4),
        "cli_s": round((command.exited_at or started) - started, 2),  # queue: planning, enqueueing
        # When the manifest said the run was complete (the rest of the wall: the last worker's
        # exit and the local poller's last empty pass, or the CLI's exit).
        "complete_s": round(completed, 2),
    }


def completed_at(s3: Any, day: Any) -> float:
    """The run's ``completed_at`` (from its manifest) as a Unix time."""
    body = s3.get_object(Bucket=BUCKET, Key=keys.tmdb_manifest_key(day))["Body"].read()
    return datetime.fromisoformat(json.loads(body)["completed_at"].replace("Z", "+00:00")).timestamp()


def tightest_window(times: list[float], rate: int) -> float:
    """The shortest time spanned by ``rate + 1`` consecutive requests (inf when fewer)."""
    ordered = sorted(times)
    return min((ordered[i + rate] - ordered[i] for i in range(len(ordered) - rate)), default=float("inf"))


def parser() -> argparse.ArgumentParser:
    """The command line (shared by ``tmdb_fetch.py --end-to-end``)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    parser.add_argument("--mode", choices=("inline", "queue", "both"), default="queue")
    parser.add_argument("--json", action="store_true", help="print one JSON object per run")
    return parser


def add_arguments(parser: argparse.ArgumentParser, *, ids: int = 100_000, rate: float = 400.0) -> None:
    """The options of a whole run."""
    parser.add_argument("--ids", type=int, default=ids, help=f"synthetic films (default {ids:,})")
    parser.add_argument("--rate", type=float, default=rate, help=f"the limit, req/s (default {rate:g})")
    parser.add_argument(
        "--workers", type=int, default=4, help="the mapping's maximum concurrency (default 4)"
    )
    parser.add_argument("--ids-per-message", type=int, default=2000, help="MOVIELAKE_TMDB_IDS_PER_MESSAGE")
    parser.add_argument("--fault-share", type=float, default=0.01, help="share of ids whose first try fails")
    parser.add_argument("--fault-kinds", default="hang", help="how they fail (default: hang)")
    parser.add_argument("--hang-seconds", type=float, default=8.0, help="a hang lasts this long (default 8)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per mode; medians are printed too")


MEDIAN_FIGURES = (
    "wall_s",
    "achieved_over_limit",
    "before_first_request_s",
    "after_last_request_s",
    "fetching_over_limit",
    "complete_s",
    "http_429",
)


def run_modes(modes: list[str], args: argparse.Namespace) -> list[dict[str, Any]]:
    """Measure each mode ``--repeat`` times; print a line per run and the medians per mode."""
    if not ZIP.is_file():
        raise SystemExit(f"{ZIP} is missing: run `make build` first")
    results = []
    for mode in modes:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix="movielake-bench-") as cache:
                runs.append(measure(mode, args, Path(cache)))
            if not getattr(args, "json", False):
                print(summary(runs[-1], args), flush=True)
        if len(runs) > 1 and not getattr(args, "json", False):
            medians = {k: statistics.median(r[k] for r in runs) for k in MEDIAN_FIGURES}
            print(
                f"{mode:<7} median of {len(runs)}: "
                + ", ".join(f"{k} {v:g}" for k, v in medians.items())
                + f"; lost {sum(r['lost'] for r in runs)}, duplicated {sum(r['duplicated'] for r in runs)}",
                flush=True,
            )
        results.extend(runs)
    return results


def summary(r: dict[str, Any], args: argparse.Namespace) -> str:
    """One run's figures on one line."""
    return (
        f"{r['mode']:<7} {r['ids']:>8,} ids  workers {r['workers']}  wall {r['wall_s']:8.2f} s "
        f"(floor {r['floor_s']:.2f} s)  achieved/limit {r['achieved_over_limit']:.3f}  "
        f"lost {r['lost']}  duplicated {r['duplicated']}  failed {r['failed']}  "
        f"hangs {r['hangs_injected']}  429s {r['http_429']}  (before the first request "
        f"{r['before_first_request_s']:.1f} s, after the last {r['after_last_request_s']:.1f} s, "
        f"while fetching {r['fetching_over_limit']:.3f} of the limit; tightest {int(args.rate) + 1} "
        f"requests {r['tightest_window_s']:.3f} s; CLI {r['cli_s']:.1f} s; manifest at "
        f"{r['complete_s']:.1f} s)"
    )


def main() -> int:
    """Parse, run, print; exit 1 when a target is missed."""
    args = parser().parse_args()
    modes = ["inline", "queue"] if args.mode == "both" else [args.mode]
    results = run_modes(modes, args)
    if args.json:
        for result in results:
            print(json.dumps(result))
    ok = all(r["lost"] == 0 and r["duplicated"] == 0 and r["achieved_over_limit"] >= TARGET for r in results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
