"""A local TMDB stand-in for development, tests and benchmarks (never shipped in a Lambda zip).

It serves ``/3/movie/{id}`` (TMDB numeric id or IMDb id) and
``/3/find/{imdb_id}?external_source=imdb_id`` from fixture payloads, checks the key like TMDB
(``api_key`` parameter or ``Authorization: Bearer``), answers TMDB's own error bodies (401
code 7, 404 code 34, 429 code 25 with ``Retry-After``), enforces a request rate over a
sliding one-second window, and can break the first attempt(s) of a deterministic share of ids
(5xx, hangs, slow answers, truncated bodies, bodies cut off mid-way, connection resets) so
clients can prove they recover. ``outage`` (a fault kind, settable while serving) breaks every
request instead: TMDB down, a dead network path, a proxy dropping every body, an answer always
later than the client waits, a captive portal answering 200 with its own page; for clients to
prove they stop.

With ``changes`` (a ``movielake.local.tmdb_changes.ChangeLog``) the films change over time: a
clock the test sets, edits that bodies carry once the clock has reached them, and
``GET /3/movie/changes?start_date&end_date&page`` listing the films edited in a window (100 ids
a page, pages 1..1000, at most 14 days a request: see that module for TMDB's rules).

Every request is logged with its time, so ``stats()`` (or ``GET /__stats``) shows what a
client really did: how many requests were accepted, how fast, and when each retry came.

    python -m movielake.local.tmdb_emulator --port 8765 --api-key dev --synthetic 2000 --rate 40
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from movielake.local import synthetic
from movielake.local.tmdb_changes import ChangeLog

# The key the emulator accepts, from the environment: a command line is visible to every user.
API_KEY_VARIABLE = "MOVIELAKE_EMULATOR_API_KEY"

UNAUTHORIZED = {
    "success": False,
    "status_code": 7,
    "status_message": "Invalid API key: You must be granted a valid key.",
}
NOT_FOUND = {
    "success": False,
    "status_code": 34,
    "status_message": "The resource you requested could not be found.",
}
RATE_LIMITED = {
    "success": False,
    "status_code": 25,
    "status_message": "Your request count (#) is over the allowed limit of (40).",
}
SERVER_ERROR = {
    "success": False,
    "status_code": 11,
    "status_message": "Internal error: Something went wrong.",
}
# The fields /3/find reports for each movie result.
FIND_FIELDS = (
    "adult",
    "id",
    "title",
    "original_title",
    "original_language",
    "overview",
    "popularity",
    "release_date",
    "vote_average",
    "vote_count",
)
FAULT_KINDS = ("500", "502", "503", "hang", "truncate", "reset")
# Not in the default mix but can be forced: "429" (the rate limit produces real ones), "cut"
# (the answer announces its whole length, sends half, then the connection dies) and "slow"
# (the right answer, ``hang_seconds`` late), "portal" (200 with an HTML page instead of TMDB's
# JSON: a captive portal or a proxy answering in TMDB's place).
ALL_FAULT_KINDS = (*FAULT_KINDS, "429", "cut", "slow", "portal")
PORTAL_PAGE = b"<!DOCTYPE html><html><body><h1>Sign in to the network</h1></body></html>"


@dataclass(frozen=True)
class FaultPlan:
    """Which requests fail and how: the first ``failures_per_id`` attempts of chosen ids.

    An id is chosen when a hash of it falls under ``share`` (the same ids every run), or when
    it is in ``forced`` (id -> kind); the kind of a hashed id is drawn from ``kinds`` by
    another hash. Attempts are counted per path id, so ``/3/find/tt1`` and ``/3/movie/tt1``
    are counted together. A large ``failures_per_id`` makes the fault permanent.
    """

    share: float = 0.0
    kinds: tuple[str, ...] = FAULT_KINDS
    forced: Mapping[str, str] = field(default_factory=dict)
    failures_per_id: int = 1
    hang_seconds: float = 3.0  # a hang drops the connection after this long; keep it > client timeout
    retry_after: int = 1  # seconds, for forced 429s
    seed: str = "faults"

    def __post_init__(self) -> None:
        """Refuse kinds the emulator cannot produce."""
        unknown = {*self.kinds, *self.forced.values()} - set(ALL_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; use {', '.join(ALL_FAULT_KINDS)}")

    def kind_for(self, key: str) -> str | None:
        """The fault this id suffers on its failing attempts, or None."""
        if key in self.forced:
            return self.forced[key]
        if self.share <= 0 or not self.kinds or _unit(f"{self.seed}:{key}") >= self.share:
            return None
        return self.kinds[int(_unit(f"{self.seed}:kind:{key}") * len(self.kinds))]


def _unit(text: str) -> float:
    """A uniform number in [0, 1) fixed by the text."""
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def synthetic_fixtures(count: int, seed: int = 7) -> dict[str, dict]:
    """Payloads of the films of ``synthetic.films(count, seed)`` that TMDB knows, by IMDb id."""
    return {
        film.imdb_id: synthetic.tmdb_payload(film)
        for film in synthetic.films(count, seed)
        if synthetic.known_to_tmdb(film)
    }


def load_fixtures(path: str | Path) -> dict[str, dict]:
    """TMDB payloads from an NDJSON file (one ``/3/movie`` body with credits per line)."""
    payloads: dict[str, dict] = {}
    with Path(path).open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                payload = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
            payloads[str(payload.get("imdb_id") or payload["id"])] = payload
    return payloads


class _RateWindow:
    """At most ``rate`` accepted requests in any sliding one-second window."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def admit(self, now: float) -> int | None:
        """Record an accepted request and return None, or return the Retry-After in seconds."""
        with self._lock:
            while self._times and self._times[0] <= now - 1.0:
                self._times.popleft()
            if len(self._times) >= self._rate:
                return max(1, math.ceil(self._times[0] + 1.0 - now))
            self._times.append(now)
            return None


class _Server(ThreadingHTTPServer):
    """One thread per connection; hung requests must not keep the process alive."""

    daemon_threads = True
    request_queue_size = 128  # a client's whole pool of connections opens at once


class Emulator:
    """The emulator server; ``with Emulator(...) as emu:`` starts it on ``emu.url``."""

    def __init__(
        self,
        fixtures: Mapping[str, dict] | str | Path,
        api_key: str,
        rate: float | None = None,
        faults: FaultPlan | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        bearer_token: str | None = None,
        imdb_on_movie_route: bool = True,
        outage: str | None = None,
        changes: ChangeLog | None = None,
    ) -> None:
        payloads = load_fixtures(fixtures) if isinstance(fixtures, str | Path) else fixtures
        self._by_id: dict[str, dict] = {}
        for key, payload in payloads.items():
            for alias in {key, payload.get("id"), payload.get("imdb_id")} - {None}:
                self._by_id[str(alias)] = payload
        self._by_imdb = {p["imdb_id"]: p for p in payloads.values() if p.get("imdb_id")}
        self.api_key = api_key
        self.bearer_token = bearer_token
        self.faults = faults or FaultPlan()
        self.outage = outage  # a fault kind every request suffers, e.g. "reset"; None: serving
        if outage is not None and outage not in ALL_FAULT_KINDS:
            raise ValueError(f"unknown outage kind {outage!r}; use {', '.join(ALL_FAULT_KINDS)}")
        self.imdb_on_movie_route = imdb_on_movie_route
        # TMDB always serves its change list: without a clock of its own, nothing ever changes.
        self.changes = changes or ChangeLog(
            (p["id"] for p in payloads.values() if isinstance(p.get("id"), int)), now=datetime.now(UTC)
        )
        self._window = _RateWindow(rate) if rate else None
        self._lock = threading.Lock()
        self._attempts: dict[str, int] = {}
        self._log: list[dict[str, Any]] = []
        self._bodies: dict[tuple[int, bool], bytes] = {}
        self._started = time.monotonic()
        self._server = _Server((host, port), _handler_for(self))
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port``, the base URL a client should use."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="tmdb-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (hung requests are daemon threads, left to die)."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stats(self) -> dict[str, Any]:
        """Totals and the request log: ``t`` (seconds since start), ``route``, ``id``, ``status``.

        ``status`` 0 means the connection was dropped without an answer; ``accepted`` counts the
        requests the rate limit let through (everything but 429s).
        """
        with self._lock:
            log = list(self._log)
        by_status: dict[str, int] = {}
        for entry in log:
            by_status[str(entry["status"])] = by_status.get(str(entry["status"]), 0) + 1
        accepted = [entry["t"] for entry in log if entry["status"] != 429]
        return {
            "requests": len(log),
            "by_status": by_status,
            "accepted": len(accepted),
            "started": self._started,  # time.monotonic() of t = 0, to line the log up with a client's
            "log": log,
        }

    def record(self, arrived: float, route: str, key: str, status: int, fault: str | None) -> None:
        """Append one request to the log, timed by its arrival (``time.monotonic()``)."""
        entry = {"t": arrived - self._started, "route": route, "id": key, "status": status}
        if fault:
            entry["fault"] = fault
        with self._lock:
            self._log.append(entry)

    def _attempt(self, key: str) -> int:
        """Count a request for a faulty path id and return its number (1 = first)."""
        with self._lock:
            self._attempts[key] = self._attempts.get(key, 0) + 1
            return self._attempts[key]

    def authorised(self, query: dict[str, list[str]], authorization: str | None) -> bool:
        """Whether the request carries the emulator's key or token."""
        if query.get("api_key", [None])[0] == self.api_key:
            return True
        expected = self.bearer_token or self.api_key
        return authorization == f"Bearer {expected}"

    def admit(self, arrived: float) -> int | None:
        """None when the rate limit lets a request through, else its Retry-After."""
        return self._window.admit(arrived) if self._window else None

    def fault(self, key: str) -> str | None:
        """The fault to inject into this request: the outage's, or the id's if this is one of
        its failing attempts."""
        if self.outage is not None:
            return self.outage
        kind = self.faults.kind_for(key)
        if kind is None:
            return None
        return kind if self._attempt(key) <= self.faults.failures_per_id else None

    def movie_body(self, key: str, credits: bool) -> bytes | None:
        """The serialized ``/3/movie`` body for an id, with or without credits."""
        payload = self._by_id.get(key)
        if payload is None or (key.startswith("tt") and not self.imdb_on_movie_route):
            return None
        payload, version = self.changes_body(payload)
        cache_key = (id(self._by_id[key]), credits, version)
        body = self._bodies.get(cache_key)
        if body is None:
            shown = payload if credits else {k: v for k, v in payload.items() if k != "credits"}
            body = self._bodies[cache_key] = json.dumps(shown).encode()
        return body

    def changes_body(self, payload: dict) -> tuple[dict, int]:
        """The film's body as of the change clock, and how many edits it carries."""
        return self.changes.current(payload)

    def set_clock(self, query: dict[str, list[str]]) -> dict[str, str]:
        """``GET /__clock?now=<ISO datetime>`` moves the change clock (a test's or bench's hand
        on a child-process emulator); without ``now`` it only reads it."""
        if query.get("now"):
            self.changes.set_clock(datetime.fromisoformat(query["now"][0]))
        return {"now": self.changes.now.isoformat()}

    def change_list(self, query: dict[str, list[str]]) -> tuple[int, bytes]:
        """The status and body of ``/3/movie/changes``."""
        status, document = self.changes.answer(query)
        return status, json.dumps(document).encode()

    def find_body(self, imdb_id: str) -> bytes:
        """The ``/3/find`` body: the film as a movie result, or empty lists."""
        payload = self._by_imdb.get(imdb_id)
        movies = [{**{k: payload.get(k) for k in FIND_FIELDS}, "media_type": "movie"}] if payload else []
        empty: list[Any] = []
        return json.dumps(
            {
                "movie_results": movies,
                "person_results": empty,
                "tv_results": empty,
                "tv_episode_results": empty,
                "tv_season_results": empty,
            }
        ).encode()


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    """A request handler class bound to one emulator."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as TMDB and pooled clients expect
        server_version = "movielake-tmdb-emulator"
        timeout = 60  # seconds an idle keep-alive connection may hold its thread

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr line: the request log is in ``stats()``."""

        def handle(self) -> None:
            """Serve the connection; a client that hung up is not the emulator's error."""
            try:
                super().handle()
            except (ConnectionError, TimeoutError):
                self.close_connection = True

        def do_GET(self) -> None:
            """Route one request."""
            arrived = time.monotonic()
            parts = urlsplit(self.path)
            if parts.path == "/__stats":
                self._send(200, json.dumps(emulator.stats()).encode())
                return
            if parts.path == "/__clock":
                self._send(200, json.dumps(emulator.set_clock(parse_qs(parts.query))).encode())
                return
            segments = parts.path.strip("/").split("/")
            if len(segments) != 3 or segments[0] != "3" or segments[1] not in ("movie", "find"):
                self._send(404, json.dumps(NOT_FOUND).encode())  # health checks land here: not logged
                return
            route, key = segments[1], segments[2]
            query = parse_qs(parts.query)
            retry_after = emulator.admit(arrived)
            if retry_after is not None:
                emulator.record(arrived, route, key, 429, None)
                self._send(429, json.dumps(RATE_LIMITED).encode(), {"Retry-After": str(retry_after)})
                return
            if not emulator.authorised(query, self.headers.get("Authorization")):
                emulator.record(arrived, route, key, 401, None)
                self._send(401, json.dumps(UNAUTHORIZED).encode())
                return
            fault = emulator.fault(key)
            if fault in ("reset", "hang"):
                emulator.record(arrived, route, key, 0, fault)
                if fault == "hang":
                    time.sleep(emulator.faults.hang_seconds)
                self._reset()
                return
            if fault in ("500", "502", "503", "429"):
                status = int(fault)
                emulator.record(arrived, route, key, status, fault)
                headers = {"Retry-After": str(emulator.faults.retry_after)} if status == 429 else {}
                self._send(
                    status, json.dumps(RATE_LIMITED if status == 429 else SERVER_ERROR).encode(), headers
                )
                return
            if fault == "portal":
                emulator.record(arrived, route, key, 200, fault)
                self._send(200, PORTAL_PAGE, content_type="text/html; charset=utf-8")
                return
            if fault == "slow":
                time.sleep(emulator.faults.hang_seconds)
            if route == "movie" and key == "changes":
                status, listing = emulator.change_list(query)
                emulator.record(arrived, "changes", key, status, fault)
                self._send(status, listing)
                return
            if route == "find":
                body: bytes | None = emulator.find_body(key)
            else:
                credits = "credits" in query.get("append_to_response", [""])[0].split(",")
                body = emulator.movie_body(key, credits)
            if body is None:
                emulator.record(arrived, route, key, 404, fault)
                self._send(404, json.dumps(NOT_FOUND).encode())
                return
            emulator.record(arrived, route, key, 200, fault)
            if fault == "cut":
                self._send(200, body, cut=True)
                return
            self._send(200, body[: len(body) // 2] if fault == "truncate" else body)

        def _send(
            self,
            status: int,
            body: bytes,
            headers: Mapping[str, str] | None = None,
            *,
            cut: bool = False,
            content_type: str = "application/json;charset=utf-8",
        ) -> None:
            """Answer with a body (JSON unless ``content_type`` says otherwise) and its length (so
            the connection can be reused); ``cut`` sends only the first half of the body, then
            drops the connection."""
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if cut:
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self._reset()
                return
            self.wfile.write(body)

        def _reset(self) -> None:
            """Drop the connection with a TCP reset and no answer (a reset, or the end of a hang)."""
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True

    return Handler


def add_change_arguments(parser: argparse.ArgumentParser) -> None:
    """The command line's change clock: which share of the films TMDB edits a day, and when."""
    parser.add_argument("--change-share", type=float, default=0.0, help="share of the films edited each day")
    parser.add_argument("--change-seed", default="changes", help="seed of the daily edits")
    parser.add_argument(
        "--unrelated-per-day", type=int, default=0, help="ids of movies not served, listed as edited each day"
    )
    parser.add_argument(
        "--clock", type=datetime.fromisoformat, help="the change clock's start, ISO (default: now, UTC)"
    )


def change_log(fixtures: Mapping[str, dict], args: argparse.Namespace) -> ChangeLog:
    """The change clock the command line asks for (edits from the clock's first day on)."""
    return ChangeLog(
        (p["id"] for p in fixtures.values() if isinstance(p.get("id"), int)),
        now=args.clock or datetime.now(UTC),
        seed=args.change_seed,
        daily_share=args.change_share,
        unrelated_per_day=args.unrelated_per_day,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the emulator until SIGTERM or Ctrl-C; prints ``listening on <url>`` once started."""
    parser = argparse.ArgumentParser(prog="python -m movielake.local.tmdb_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--api-key",
        default=os.environ.get(API_KEY_VARIABLE),
        help=f"the key (or Bearer token) clients must send; default ${API_KEY_VARIABLE}, which keeps "
        "it off the process list",
    )
    parser.add_argument("--fixtures", type=Path, help="NDJSON of TMDB /3/movie payloads with credits")
    parser.add_argument("--synthetic", type=int, default=0, help="also serve synthetic.films(N)")
    parser.add_argument("--rate", type=float, help="accepted requests per sliding second (default: no limit)")
    parser.add_argument("--fault-share", type=float, default=0.0, help="share of ids whose first try fails")
    parser.add_argument(
        "--fault-kinds",
        default=",".join(FAULT_KINDS),
        help=f"comma-separated kinds the faulty first tries suffer, among {', '.join(ALL_FAULT_KINDS)} "
        "(default: all but 429); e.g. `--fault-share 0.01 --fault-kinds hang --hang-seconds 8` stalls 1%%",
    )
    parser.add_argument("--hang-seconds", type=float, default=FaultPlan.hang_seconds)
    parser.add_argument(
        "--outage", choices=ALL_FAULT_KINDS, help="break every request this way (e.g. reset, hang, cut)"
    )
    add_change_arguments(parser)
    args = parser.parse_args(argv)
    if not args.fixtures and not args.synthetic:
        parser.error("give --fixtures FILE, --synthetic N, or both")
    fixtures: dict[str, dict] = synthetic_fixtures(args.synthetic) if args.synthetic else {}
    if args.fixtures:
        fixtures.update(load_fixtures(args.fixtures))
    kinds = tuple(k.strip() for k in args.fault_kinds.split(",") if k.strip())
    try:
        faults = FaultPlan(share=args.fault_share, kinds=kinds, hang_seconds=args.hang_seconds)
    except ValueError as exc:
        parser.error(str(exc))
    if not args.api_key:
        parser.error(f"give --api-key or set {API_KEY_VARIABLE}")
    emulator = Emulator(
        fixtures,
        args.api_key,
        rate=args.rate,
        faults=faults,
        host=args.host,
        port=args.port,
        outage=args.outage,
        changes=change_log(fixtures, args),
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    with emulator:
        print(f"listening on {emulator.url}", flush=True)
        stopping.wait()


if __name__ == "__main__":
    main()
