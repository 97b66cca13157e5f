"""The async TMDB client: every film asked for comes back as exactly one ``Outcome``.

``fetch_movies`` paces itself with a small leaky bucket (``aiolimiter``, see
``pacing_limiter``) so no one-second window ever holds more than ``rate`` requests: they
leave evenly spaced, never in a burst that a sliding one-second window upstream would
reject. A 429 sets a shared "not before" time from its ``Retry-After``, so every worker
backs off together instead of hammering the limit. 429,
5xx, timeouts, connection errors and broken bodies are retried with exponential backoff and
full jitter, up to ``max_attempts`` tries per request; each retry takes a limiter slot like
any request. TMDB's own 404 (its JSON body, ``status_code`` 34) is permanent: ``not_found``; a
404 with any other body came from something else (a proxy, a wrong base URL) and is
``http_404``. 401/403 stop the whole run with ``TmdbAuthError``. An outcome is TMDB's answer
(``Outcome.answered``) only when it is a movie body or TMDB's 404: a run stops when no id of a
whole batch got one (``movielake.tmdb.run``).

No slow tail: a request still unanswered after a delay derived from the latencies observed so
far in the run (``HedgeDelay``) is hedged: the same GET goes out once more, through the
limiter like any request, and the first answer wins; the other is cancelled. A stalled
request then costs its id a fraction of a second instead of the whole timeout, and the last
batches of a run do not wait for it.

Lookup: the CSVs carry IMDb ids. With ``lookup="movie"`` the client asks
``/3/movie/{imdb_id}`` (undocumented but what TMDB answers in practice) and, only when that
answers 404, asks the documented ``/3/find/{imdb_id}`` once before recording ``not_found``.
With ``lookup="find"`` it resolves through ``/3/find`` first, then ``/3/movie/{tmdb_id}``.

Change list: ``list_changes`` asks ``/3/movie/changes`` (the TMDB ids edited in a window of at
most 14 days, 100 a page, pages 1 to 1000) through the same ``_Fetcher``: the same pacing,
retries, 429 handling and credentials as the films' fetch, so its requests count against the
same rate. A window whose list would run past page 1000 is split in halves. The two use one
pacer's settings but run one after the other (the plan needs the list): the listing says when
its last request has left every upstream one-second window (``quiet_at``), and the run waits
for that before its first fetch, so the seam never holds more than ``rate`` requests.

The credentials are attached by a transport wrapper below httpx's own request logging, so no
log line, URL or exception message the client produces contains the key.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from aiolimiter import AsyncLimiter

from movielake.config import ConfigError, Settings
from movielake.tmdb.credentials import Credentials, CredentialTransport

log = logging.getLogger(__name__)

LOOKUPS = ("movie", "find")
IMDB_ID = re.compile(r"tt\d+")
# TMDB's status_code in the JSON body of its 404 ("The resource you requested could not be found.").
TMDB_NOT_FOUND_CODE = 34
# A Retry-After longer than this is treated as this: a Lambda must not sleep out its timeout.
MAX_RETRY_AFTER = 60.0
# Seconds of arrival jitter (network, scheduling) every one-second window of requests keeps as slack.
WINDOW_MARGIN = 0.025
# Seconds of event-loop wake-up lateness the limiter lets the next request make up.
LATENESS_CREDIT = 0.002
# Seconds the other workers wait for the run's first answer before going ahead regardless.
PROBE_WAIT = 2.0
# Hedging: a request unanswered after HEDGE_FACTOR x the HEDGE_PERCENTILE of the last
# HEDGE_WINDOW latencies (never less than HEDGE_FLOOR s, never more than half the timeout) is
# sent once more. Until HEDGE_SAMPLES answers were timed, HEDGE_INITIAL s is used.
HEDGE_WINDOW = 512
HEDGE_PERCENTILE = 0.99
HEDGE_FACTOR = 2.0
HEDGE_FLOOR = 0.25
HEDGE_SAMPLES = 20
HEDGE_INITIAL = 1.0


# /3/movie/changes: ids a page, and the last page TMDB serves.
CHANGES_PAGE_SIZE = 100
CHANGES_MAX_PAGES = 1000


class TmdbAuthError(RuntimeError):
    """TMDB refused the credentials (401/403): a configuration error for the whole run."""


class ChangeListError(RuntimeError):
    """A change-list request still failed after its retries; the message says which window."""


@dataclass(frozen=True)
class ClientOptions:
    """How to reach TMDB and how hard to push it."""

    base_url: str
    language: str = "pt-BR"
    lookup: str = "movie"  # "movie" | "find", see the module docstring
    rate: float = 40.0  # requests per second, retries included
    concurrency: int = 20  # simultaneous requests (and pooled connections)
    max_attempts: int = 6  # tries per request, the first included
    timeout: float = 10.0  # seconds, per connect / read / write
    backoff_base: float = 0.5  # seconds: the first retry waits up to this, doubling after
    backoff_cap: float = 8.0  # seconds: no single backoff waits longer

    def __post_init__(self) -> None:
        """Reject settings that would make the client hang or hammer TMDB."""
        if self.lookup not in LOOKUPS:
            raise ConfigError(f"MOVIELAKE_TMDB_LOOKUP={self.lookup!r}: use one of {', '.join(LOOKUPS)}")
        if self.rate <= 0 or self.concurrency < 1 or self.max_attempts < 1 or self.timeout <= 0:
            raise ConfigError(
                "MOVIELAKE_TMDB_RATE and MOVIELAKE_TMDB_TIMEOUT must be > 0, "
                "MOVIELAKE_TMDB_HTTP_CONCURRENCY and MOVIELAKE_TMDB_MAX_ATTEMPTS >= 1"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> ClientOptions:
        """The options the deployment configured (``MOVIELAKE_TMDB_*``)."""
        # One keyword per setting: alike in shape to run.py's log fields, not in meaning.
        return cls(
            base_url=settings.tmdb_base_url,
            language=settings.tmdb_language,
            lookup=settings.tmdb_lookup,
            rate=settings.tmdb_rate,
            concurrency=settings.tmdb_http_concurrency,
            max_attempts=settings.tmdb_max_attempts,
            timeout=settings.tmdb_timeout,
        )


@dataclass(frozen=True)
class Outcome:
    """What became of one requested id: its TMDB body, or why there is none."""

    requested_id: str
    payload: dict | None  # the /3/movie body with credits, when fetched
    # None when fetched; else not_found | rate_limited | server_error | timeout | connection |
    # invalid_body | http_<status>
    reason: str | None
    http_status: int | None  # the last HTTP status seen; None after a timeout or connection error
    attempts: int  # HTTP requests made for this id, retries and the find lookup included

    @property
    def ok(self) -> bool:
        """Whether the film was fetched."""
        return self.reason is None

    @property
    def answered(self) -> bool:
        """Whether TMDB itself answered for the id: a movie body, or its 404 (``not_found``)."""
        return self.reason is None or self.reason == "not_found"


@dataclass(frozen=True)
class _Step:
    """The result of one logical GET after its retries."""

    body: dict | None
    reason: str | None
    http_status: int | None
    attempts: int


def _movie_body(body: Any) -> bool:
    """A movie body is an object with an ``id``."""
    return isinstance(body, dict) and "id" in body


def _tmdb_not_found(content: bytes) -> bool:
    """Whether a 404's body is TMDB's own (``{"success": false, "status_code": 34, ...}``)."""
    body = _json(content)
    return isinstance(body, dict) and body.get("status_code") == TMDB_NOT_FOUND_CODE


def _changes_body(body: Any) -> bool:
    """A change-list body is an object with a ``results`` list and a ``total_pages`` number."""
    return (
        isinstance(body, dict)
        and isinstance(body.get("results"), list)
        and isinstance(body.get("total_pages"), int)
    )


def _find_body(body: Any) -> bool:
    """A find body is an object with a ``movie_results`` list."""
    return isinstance(body, dict) and isinstance(body.get("movie_results"), list)


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delay-seconds or HTTP-date), capped."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = parsedate_to_datetime(value).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def pacing_limiter(rate: float) -> AsyncLimiter:
    """A limiter whose every one-second window holds at most ``rate`` requests, with slack.

    A leaky bucket of capacity ``c`` draining ``d`` per second admits at most
    ``c + d * T`` acquisitions in any ``T`` seconds, so ``rate + 1`` of them span at least
    ``(rate + 1 - c) / d`` seconds. aiolimiter's usual ``AsyncLimiter(rate, 1)`` has
    ``c = rate``: it lets ``rate`` through at once and ``2 * rate`` in the first second, which
    a sliding one-second window upstream answers with 429s. Here ``c`` is one request plus
    ``LATENESS_CREDIT`` seconds' worth, so a request that the event loop woke a millisecond
    late is made up by the next one instead of lost, and ``d`` is chosen so ``rate + 1``
    requests span at least ``1 + WINDOW_MARGIN`` seconds: arrival jitter of up to that margin
    cannot push a window over ``rate``. The cost is about 2.7% of the rate.
    """
    credit = LATENESS_CREDIT * rate
    drain = (rate - credit) / (1 + WINDOW_MARGIN)
    return AsyncLimiter(1 + credit, (1 + credit) / drain)


class HedgeDelay:
    """How long a request may stay unanswered before it is hedged, from observed latencies.

    A high percentile of the run's recent answer times, times a factor, with a floor (the
    scheduling noise of a fast API must not trigger hedges) and a ceiling of half the timeout
    (so the hedge still comes before the timeout would).
    """

    def __init__(self, timeout: float) -> None:
        self._latencies: deque[float] = deque(maxlen=HEDGE_WINDOW)
        self._ceiling = max(timeout / 2, 0.001)

    def observe(self, seconds: float) -> None:
        """Record the time one answered request took."""
        self._latencies.append(seconds)

    def seconds(self) -> float:
        """The current hedge delay."""
        if len(self._latencies) < HEDGE_SAMPLES:
            base = HEDGE_INITIAL
        else:
            ordered = sorted(self._latencies)
            base = HEDGE_FACTOR * ordered[min(len(ordered) - 1, int(HEDGE_PERCENTILE * len(ordered)))]
        return min(max(base, HEDGE_FLOOR), self._ceiling)


class _Fetcher:
    """One run's shared state: the HTTP client, the limiter and the shared back-off time."""

    def __init__(self, client: httpx.AsyncClient, options: ClientOptions) -> None:
        self._client = client
        self._options = options
        self._limiter = pacing_limiter(options.rate)
        self._not_before = 0.0  # loop time before which no request may leave (after a 429)
        self._probe_sent = False
        self._probed = asyncio.Event()  # set once the run's first request has an answer (or failed)
        self._hedge = HedgeDelay(options.timeout)
        self.fatal: TmdbAuthError | None = None

    async def fetch(self, requested_id: str) -> Outcome:
        """Fetch one film by IMDb or TMDB id, following the configured lookup."""
        imdb = IMDB_ID.fullmatch(requested_id) is not None
        attempts = 0
        movie_id = requested_id
        if imdb and self._options.lookup == "find":
            found = await self._find(requested_id)
            attempts += found.attempts
            if found.body is None:
                return Outcome(requested_id, None, found.reason, found.http_status, attempts)
            movie_id = str(found.body["id"])
        step = await self._movie(movie_id)
        attempts += step.attempts
        if step.reason == "not_found" and imdb and self._options.lookup == "movie":
            found = await self._find(requested_id)
            attempts += found.attempts
            if found.reason == "not_found":  # /3/find agrees: keep the movie route's 404
                return Outcome(requested_id, None, "not_found", step.http_status, attempts)
            if found.body is None:
                return Outcome(requested_id, None, found.reason, found.http_status, attempts)
            step = await self._movie(str(found.body["id"]))
            attempts += step.attempts
        return Outcome(requested_id, step.body, step.reason, step.http_status, attempts)

    async def _movie(self, movie_id: str) -> _Step:
        """``/3/movie/{id}`` with credits."""
        params = {"language": self._options.language, "append_to_response": "credits"}
        return await self._get(f"/3/movie/{movie_id}", params, _movie_body)

    async def _find(self, imdb_id: str) -> _Step:
        """``/3/find/{imdb_id}``; its first movie result becomes the body, none is ``not_found``."""
        params = {"external_source": "imdb_id", "language": self._options.language}
        step = await self._get(f"/3/find/{imdb_id}", params, _find_body)
        if step.body is None:
            return step
        results = step.body["movie_results"]
        if not results or not isinstance(results[0], dict) or "id" not in results[0]:
            return _Step(None, "not_found", step.http_status, step.attempts)
        return _Step(results[0], None, step.http_status, step.attempts)

    async def _get(self, path: str, params: dict[str, str], valid: Any) -> _Step:
        """GET with pacing and bounded retries; raises ``TmdbAuthError`` on 401/403."""
        reason: str | None = None
        status: int | None = None
        sent = 0  # HTTP requests, hedges included
        for attempt in range(1, self._options.max_attempts + 1):
            retry_after: float | None = None
            response, requests = await self._send(path, params)
            sent += requests
            if isinstance(response, str):
                reason, status = response, None
            else:
                status = response.status_code
                if status == 200:
                    body = _json(response.content)
                    if valid(body):
                        return _Step(body, None, status, sent)
                    reason = "invalid_body"
                elif status == 404:
                    reason = "not_found" if _tmdb_not_found(response.content) else "http_404"
                    return _Step(None, reason, status, sent)
                elif status in (401, 403):
                    self.fatal = _auth_error(status, path, response.content)
                    raise self.fatal
                elif status == 429:
                    reason = "rate_limited"
                    retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                elif status >= 500:
                    reason = "server_error"
                else:
                    return _Step(None, f"http_{status}", status, sent)
            if attempt < self._options.max_attempts:
                log.debug(
                    "tmdb retry", extra={"fields": {"path": path, "reason": reason, "attempt": attempt}}
                )
                await self._back_off(attempt, retry_after)
        return _Step(None, reason, status, sent)

    async def _send(self, path: str, params: dict[str, str]) -> tuple[httpx.Response | str, int]:
        """One paced GET, hedged when slow: the first answer and how many requests were sent.

        The answer is the response, or ``"timeout"`` / ``"connection"`` when none came.
        Returning to ``_get`` does not yield to the event loop, so a 401 probe has set ``fatal``
        before the workers its answer wakes can run.
        """
        await self._pace()
        first = asyncio.create_task(self._timed_get(path, params))
        try:
            done, _ = await asyncio.wait({first}, timeout=self._hedge.seconds())
            answer = (first.result(), 1) if done else await self._hedged(first, path, params)
            if not self._probed.is_set():
                # The probe's slot was taken before its cold start (first connection, imports):
                # it may have reached TMDB as late as its answer. Take a slot again now, so the
                # requests it releases are spaced from that moment, not from the slot it took.
                await self._limiter.acquire()
            return answer
        finally:
            first.cancel()
            self._probed.set()

    async def _hedged(
        self, first: asyncio.Task[httpx.Response | str], path: str, params: dict[str, str]
    ) -> tuple[httpx.Response | str, int]:
        """Send the GET again beside the slow ``first``; the first response wins.

        The hedge waits for a limiter slot like any request. A transport failure (timeout,
        reset) of one does not win while the other may still answer.
        """
        await self._pace(hedge=True)
        if first.done():
            return first.result(), 1
        log.debug("tmdb hedge", extra={"fields": {"path": path, "after": round(self._hedge.seconds(), 3)}})
        second = asyncio.create_task(self._timed_get(path, params))
        pending: set[asyncio.Task[httpx.Response | str]] = {first, second}
        try:
            while True:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                answers = [task.result() for task in done]
                responses = [a for a in answers if not isinstance(a, str)]
                if responses or not pending:
                    return (responses or answers)[0], 2
        finally:
            second.cancel()

    async def _timed_get(self, path: str, params: dict[str, str]) -> httpx.Response | str:
        """One GET: its response (its latency observed), or ``"timeout"`` / ``"connection"``."""
        started = time.monotonic()
        try:
            response = await self._client.get(path, params=params)
        except httpx.TimeoutException:
            return "timeout"
        except httpx.TransportError:
            return "connection"
        self._hedge.observe(time.monotonic() - started)
        return response

    async def _pace(self, *, hedge: bool = False) -> None:
        """Wait for the probe, any shared back-off, then a limiter slot; a retry pays like a request.

        The run's first request goes alone (the probe): it checks the credentials before any other
        request leaves, and it pays the cold start (imports, first connection) on its own, so that
        start-up latency cannot bunch the following requests into one upstream window. A hedge
        does not wait for the probe: it may be the probe's own.
        """
        if self._probe_sent and not self._probed.is_set() and not hedge:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._probed.wait(), PROBE_WAIT)
        self._probe_sent = True
        if self.fatal is not None:
            raise self.fatal
        loop = asyncio.get_running_loop()
        while True:
            delay = self._not_before - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            await self._limiter.acquire()
            if self._not_before <= loop.time():
                return

    async def _back_off(self, attempt: int, retry_after: float | None) -> None:
        """Honour Retry-After for every worker at once; otherwise exponential backoff, full jitter."""
        if retry_after is not None:
            now = asyncio.get_running_loop().time()
            if self._not_before <= now:  # one line per pause, not one per worker
                log.warning("tmdb rate limited", extra={"fields": {"retry_after": retry_after}})
            self._not_before = max(self._not_before, now + retry_after)
            return  # _pace() waits for the shared time
        ceiling = min(self._options.backoff_cap, self._options.backoff_base * 2 ** (attempt - 1))
        await asyncio.sleep(random.uniform(0, ceiling))


def _json(content: bytes) -> Any:
    """The decoded body, or None when it is not JSON (a truncated or garbled answer)."""
    try:
        return json.loads(content)
    except ValueError:
        return None


def _auth_error(status: int, path: str, content: bytes) -> TmdbAuthError:
    """The run-stopping error, with TMDB's own message and what to do about it."""
    body = _json(content)
    message = body.get("status_message") if isinstance(body, dict) else None
    return TmdbAuthError(
        f"TMDB answered HTTP {status} to GET {path} ({message or 'no message'}): the credentials are "
        'wrong, expired or not allowed. Store a valid v3 key as {"api_key": ...} or a v4 read access '
        'token as {"bearer_token": ...} in the secret named by MOVIELAKE_TMDB_SECRET_ID '
        "(or MOVIELAKE_TMDB_API_KEY locally), then run again; no film was marked failed for this."
    )


_DONE = object()


async def _work(fetcher: _Fetcher, source: Iterator[str], queue: asyncio.Queue[Any]) -> None:
    """Take ids from the shared iterator until it is empty, then report ``_DONE``.

    An exception (``TmdbAuthError``, or a bug) is handed to the consumer, which raises it:
    a worker never dies silently with ids unanswered.
    """
    try:
        for requested_id in source:
            await queue.put(await fetcher.fetch(str(requested_id)))
    except Exception as exc:
        await queue.put(exc)
    else:
        await queue.put(_DONE)


async def fetch_movies(
    ids: Iterable[str],
    credentials: Credentials,
    options: ClientOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> AsyncIterator[Outcome]:
    """Yield exactly one ``Outcome`` per id, in completion order.

    Raises ``TmdbAuthError`` at the first 401/403 and stops at once; no id is reported failed
    for it. ``transport`` replaces the pooled HTTP transport (its own limits then apply).
    """
    client = _http_client(credentials, options, transport)
    fetcher = _Fetcher(client, options)
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=options.concurrency)
    source = iter(ids)
    workers = [asyncio.create_task(_work(fetcher, source, queue)) for _ in range(options.concurrency)]
    try:
        finished = 0
        while finished < len(workers):
            item = await queue.get()
            if fetcher.fatal is not None:  # before any outcome still queued: stop at once
                raise fetcher.fatal
            if isinstance(item, Exception):
                raise item
            if item is _DONE:
                finished += 1
            else:
                yield item
    finally:
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await client.aclose()


def _http_client(
    credentials: Credentials, options: ClientOptions, transport: httpx.AsyncBaseTransport | None
) -> httpx.AsyncClient:
    """The pooled HTTP client of a run, the credentials attached below its logging."""
    inner = transport or httpx.AsyncHTTPTransport(
        limits=httpx.Limits(
            max_connections=options.concurrency, max_keepalive_connections=options.concurrency
        )
    )
    return httpx.AsyncClient(
        base_url=options.base_url,
        transport=CredentialTransport(inner, credentials),
        timeout=httpx.Timeout(options.timeout),
        headers={"Accept": "application/json"},
    )


@dataclass(frozen=True)
class ChangeListing:
    """What TMDB's change list said over some windows: the ids listed and the requests it took."""

    ids: frozenset[int]
    requests: int
    pages: int
    # time.monotonic() from which no change-list request is in an upstream one-second window:
    # a fetch starting earlier would add its requests to theirs, over the limit.
    quiet_at: float = 0.0


async def list_changes(
    windows: Iterable[tuple[date, date]],
    credentials: Credentials,
    options: ClientOptions,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> ChangeListing:
    """Every TMDB id ``/3/movie/changes`` lists for the windows (each at most 14 days, both
    days included), every page read; raises ``ChangeListError`` when a page still fails after
    its retries (a partial list would miss changed films) and ``TmdbAuthError`` on 401/403."""
    client = _http_client(credentials, options, transport)
    fetcher = _Fetcher(client, options)
    found: set[int] = set()
    requests = pages = 0
    answered = 0.0

    async def page(start: date, end: date, number: int) -> dict[str, Any]:
        nonlocal requests, pages, answered
        params = {"start_date": start.isoformat(), "end_date": end.isoformat(), "page": str(number)}
        step = await fetcher._get("/3/movie/changes", params, _changes_body)
        requests += step.attempts
        pages += 1
        answered = max(answered, time.monotonic())
        if step.body is None:
            raise ChangeListError(
                f"TMDB's change list for {start}..{end} page {number} failed ({step.reason}, HTTP "
                f"{step.http_status}) after {options.max_attempts} attempts: no film was planned; "
                "run again to retry"
            )
        found.update(int(r["id"]) for r in step.body["results"] if isinstance(r, dict) and "id" in r)
        return step.body

    async def window(start: date, end: date) -> None:
        first = await page(start, end, 1)
        total = int(first["total_pages"])
        if total > CHANGES_MAX_PAGES and end > start:
            middle = start + timedelta(days=(end - start).days // 2)
            await window(start, middle)
            await window(middle + timedelta(days=1), end)
            return
        if total > CHANGES_MAX_PAGES:
            raise ChangeListError(
                f"TMDB lists {first.get('total_results')} changed movies on {start}, more than its "
                f"{CHANGES_MAX_PAGES} pages serve: refresh with --refresh instead"
            )
        await asyncio.gather(*(page(start, end, n) for n in range(2, total + 1)))

    try:
        for start, end in windows:
            await window(start, end)
    finally:
        await client.aclose()
    return ChangeListing(frozenset(found), requests, pages, answered + 1 + WINDOW_MARGIN if answered else 0.0)
