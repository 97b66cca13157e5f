"""The TMDB client against the emulator over real HTTP: pacing, retries, lookups, secrecy."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator

import boto3
import httpx
import pytest

from movielake.config import ConfigError, Settings
from movielake.local import synthetic
from movielake.local.tmdb_emulator import Emulator, FaultPlan, synthetic_fixtures
from movielake.tmdb.client import (
    HEDGE_FLOOR,
    HEDGE_INITIAL,
    ClientOptions,
    HedgeDelay,
    Outcome,
    TmdbAuthError,
    fetch_movies,
    pacing_limiter,
    retry_after_seconds,
)
from movielake.tmdb.credentials import Credentials, credentials_from_secret, load_credentials

KEY = "s3cr3t-v3-key-0123456789"
CREDENTIALS = Credentials(api_key=KEY)
FILMS = list(synthetic.films(120))
KNOWN = [f for f in FILMS if synthetic.known_to_tmdb(f)]
UNKNOWN = [f for f in FILMS if not synthetic.known_to_tmdb(f)]
FIXTURES = synthetic_fixtures(120)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator with no rate limit and no faults."""
    with Emulator(FIXTURES, KEY) as emu:
        yield emu


def options(emu: Emulator, **overrides: object) -> ClientOptions:
    """Fast options: a high rate and short backoffs keep the tests quick."""
    values: dict = {"rate": 500.0, "timeout": 2.0, "backoff_base": 0.01, "backoff_cap": 0.05}
    values.update(overrides)
    return ClientOptions(base_url=emu.url, **values)


def fetch(ids: Iterable[str], opts: ClientOptions, credentials: Credentials = CREDENTIALS) -> list[Outcome]:
    """All outcomes of one run, in completion order."""

    async def collect() -> list[Outcome]:
        return [outcome async for outcome in fetch_movies(ids, credentials, opts)]

    return asyncio.run(collect())


def requests_for(emu: Emulator, key: str) -> list[dict]:
    """The emulator's log entries for one path id, in arrival order."""
    return [entry for entry in emu.stats()["log"] if entry["id"] == key]


@pytest.mark.parametrize(
    "credentials", [Credentials(api_key=KEY), Credentials(bearer_token=KEY)], ids=["api_key", "bearer"]
)
def test_fetched_payload_equals_the_fixture(emulator: Emulator, credentials: Credentials) -> None:
    films = KNOWN[:5]
    outcomes = fetch([f.imdb_id for f in films], options(emulator), credentials)
    by_id = {o.requested_id: o for o in outcomes}
    for film in films:
        outcome = by_id[film.imdb_id]
        assert outcome.ok and outcome.reason is None
        assert outcome.payload == synthetic.tmdb_payload(film)  # credits included
        assert (outcome.http_status, outcome.attempts) == (200, 1)


def test_404_on_a_tmdb_id_is_permanent_after_one_attempt(emulator: Emulator) -> None:
    [outcome] = fetch(["999999"], options(emulator))
    assert (outcome.ok, outcome.reason, outcome.http_status, outcome.attempts) == (False, "not_found", 404, 1)
    assert len(requests_for(emulator, "999999")) == 1


def test_unknown_imdb_id_is_confirmed_once_through_find(emulator: Emulator) -> None:
    film = UNKNOWN[0]
    [outcome] = fetch([film.imdb_id], options(emulator))
    assert (outcome.reason, outcome.attempts) == ("not_found", 2)
    assert [(e["route"], e["status"]) for e in requests_for(emulator, film.imdb_id)] == [
        ("movie", 404),
        ("find", 200),
    ]


def test_movie_lookup_falls_back_to_find_when_the_imdb_route_404s() -> None:
    film = KNOWN[0]
    with Emulator(FIXTURES, KEY, imdb_on_movie_route=False) as emu:
        [outcome] = fetch([film.imdb_id], options(emu))
        routes = [(e["route"], e["id"], e["status"]) for e in emu.stats()["log"]]
    assert outcome.payload == synthetic.tmdb_payload(film)
    assert outcome.attempts == 3
    assert routes == [
        ("movie", film.imdb_id, 404),
        ("find", film.imdb_id, 200),
        ("movie", str(film.tmdb_id), 200),
    ]


def test_find_lookup_resolves_then_fetches_by_tmdb_id(emulator: Emulator) -> None:
    film, unknown = KNOWN[0], UNKNOWN[0]
    outcomes = {
        o.requested_id: o for o in fetch([film.imdb_id, unknown.imdb_id], options(emulator, lookup="find"))
    }
    assert outcomes[film.imdb_id].payload == synthetic.tmdb_payload(film)
    assert outcomes[film.imdb_id].attempts == 2
    assert (outcomes[unknown.imdb_id].reason, outcomes[unknown.imdb_id].attempts) == ("not_found", 1)
    routes = {(e["route"], e["id"]) for e in emulator.stats()["log"]}
    assert routes == {("find", film.imdb_id), ("movie", str(film.tmdb_id)), ("find", unknown.imdb_id)}


def test_retry_after_is_honoured_by_every_worker() -> None:
    ids = [f.imdb_id for f in KNOWN[:6]]
    plan = FaultPlan(forced={ids[0]: "429"}, retry_after=1)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        # 5 requests/s: the next worker's request leaves ~0.2 s after the 429, well after it came back.
        outcomes = fetch(ids, options(emu, rate=5.0))
        log = emu.stats()["log"]
    assert all(o.ok for o in outcomes)
    limited = [e for e in log if e["status"] == 429]
    assert [e["id"] for e in limited] == [ids[0]]
    paused_from = limited[0]["t"]
    retry = next(e for e in log if e["id"] == ids[0] and e["t"] > paused_from)
    assert retry["t"] >= paused_from + 1.0
    assert not [e for e in log if paused_from < e["t"] < paused_from + 1.0]


@pytest.mark.parametrize("kind", ["500", "502", "503", "truncate", "reset", "hang"])
def test_transient_faults_are_retried_until_fetched(kind: str) -> None:
    film = KNOWN[0]
    plan = FaultPlan(forced={film.imdb_id: kind}, hang_seconds=1.0)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        [outcome] = fetch([film.imdb_id], options(emu, timeout=0.3))
        log = requests_for(emu, film.imdb_id)
    assert outcome.payload == synthetic.tmdb_payload(film)
    assert (outcome.attempts, outcome.http_status) == (2, 200)
    assert [e.get("fault") for e in log] == [kind, None]


def test_permanent_server_error_exhausts_max_attempts() -> None:
    film = KNOWN[0]
    plan = FaultPlan(forced={film.imdb_id: "503"}, failures_per_id=100)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        [outcome] = fetch([film.imdb_id], options(emu, max_attempts=3))
        log = requests_for(emu, film.imdb_id)
    assert (outcome.reason, outcome.http_status, outcome.attempts, outcome.payload) == (
        "server_error",
        503,
        3,
        None,
    )
    assert len(log) == 3


def test_permanent_timeouts_and_resets_are_reported_as_such() -> None:
    hung, reset = KNOWN[0].imdb_id, KNOWN[1].imdb_id
    plan = FaultPlan(forced={hung: "hang", reset: "reset"}, failures_per_id=100, hang_seconds=1.0)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        outcomes = {
            o.requested_id: o for o in fetch([hung, reset], options(emu, max_attempts=2, timeout=0.2))
        }
        hung_requests = len(requests_for(emu, hung))
    assert (outcomes[hung].reason, outcomes[hung].http_status) == ("timeout", None)
    # Two tries, each possibly hedged once: every request the server saw is counted.
    assert 2 <= outcomes[hung].attempts <= 4 and outcomes[hung].attempts == hung_requests
    assert (outcomes[reset].reason, outcomes[reset].attempts) == ("connection", 2)


def test_bad_key_raises_auth_error_at_once_and_reports_no_failure(emulator: Emulator) -> None:
    received: list[Outcome] = []

    async def consume() -> None:
        ids = [f.imdb_id for f in KNOWN]
        async for outcome in fetch_movies(
            ids, Credentials(api_key="wrong-key"), options(emulator, concurrency=4)
        ):
            received.append(outcome)

    with pytest.raises(TmdbAuthError) as caught:
        asyncio.run(consume())
    assert received == []
    assert "wrong-key" not in str(caught.value)
    assert "bearer_token" in str(caught.value) and "401" in str(caught.value)
    assert emulator.stats()["requests"] == 1  # the first request goes alone and stops the run


def test_every_id_gets_exactly_one_outcome_and_only_unknown_ids_fail() -> None:
    ids = [f.imdb_id for f in FILMS]
    plan = FaultPlan(share=0.25, hang_seconds=0.6)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        outcomes = fetch(ids, options(emu, timeout=0.3))
        faulted = [e for e in emu.stats()["log"] if e.get("fault")]
    assert len(faulted) > 10, "the fault plan must have broken a fair number of requests"
    assert Counter(o.requested_id for o in outcomes) == Counter(ids)
    failed = {o.requested_id: o.reason for o in outcomes if not o.ok}
    assert failed == {f.imdb_id: "not_found" for f in UNKNOWN}
    assert all(o.payload == FIXTURES[o.requested_id] for o in outcomes if o.ok)


def test_a_failing_id_source_is_raised_not_hung_on(emulator: Emulator) -> None:
    def ids() -> Iterator[str]:
        yield KNOWN[0].imdb_id
        raise OSError("the CSV stream broke")

    with pytest.raises(OSError, match="the CSV stream broke"):
        fetch(ids(), options(emulator))


def test_retries_are_paced_with_first_attempts() -> None:
    rate = 100.0
    plan = FaultPlan(share=0.5, kinds=("503",))
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        fetch([f.imdb_id for f in KNOWN], options(emu, rate=rate))
        times = [e["t"] for e in emu.stats()["log"]]
    assert len(times) > rate * 1.2  # enough requests to fill more than one second
    assert busiest_second(times) <= rate


def test_client_at_the_emulators_rate_is_never_told_to_slow_down() -> None:
    rate = 100.0
    with Emulator(FIXTURES, KEY, rate=rate) as emu:
        outcomes = fetch([f.imdb_id for f in KNOWN], options(emu, rate=rate))
        by_status = emu.stats()["by_status"]
    assert all(o.ok or o.reason == "not_found" for o in outcomes)
    assert "429" not in by_status


class ColdStart(httpx.AsyncBaseTransport):
    """A transport whose first request leaves ``delay`` seconds late (a cold start: imports,
    DNS, the first connection), after the client's limiter already counted it."""

    def __init__(self, delay: float) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self._delay: float | None = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        delay, self._delay = self._delay, None
        if delay:
            await asyncio.sleep(delay)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def test_a_slow_first_request_does_not_bunch_the_next_ones_into_its_second() -> None:
    # The probe's slot is taken 0.3 s before it reaches the emulator: spacing the requests it
    # releases from that slot would put rate + 1 of them into one second and draw a 429.
    rate = 10.0
    with Emulator(FIXTURES, KEY, rate=rate) as emu:
        opts = options(emu, rate=rate)

        async def collect() -> list[Outcome]:
            stream = fetch_movies(
                [f.imdb_id for f in KNOWN[:25]], CREDENTIALS, opts, transport=ColdStart(0.3)
            )
            return [outcome async for outcome in stream]

        outcomes = asyncio.run(collect())
        stats = emu.stats()
    assert len(outcomes) == 25 and all(o.ok for o in outcomes)
    assert stats["accepted"] == 25
    assert "429" not in stats["by_status"]


def busiest_second(times: list[float]) -> int:
    """The most events in any half-open one-second window."""
    times = sorted(times)
    start, best = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize("rate", [5.0, 40.0, 300.0])
def test_pacing_limiter_keeps_every_second_under_the_rate(rate: float) -> None:
    async def acquisitions() -> list[float]:
        limiter, loop = pacing_limiter(rate), asyncio.get_running_loop()
        stamps = []
        for _ in range(int(rate * 1.5) + 1):
            await limiter.acquire()
            stamps.append(loop.time())
        return stamps

    assert busiest_second(asyncio.run(acquisitions())) <= rate


def test_the_key_never_reaches_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    for name in (None, "httpx", "httpcore"):  # whatever level an earlier CLI call left them at
        caplog.set_level(logging.DEBUG, logger=name)
    plan = FaultPlan(forced={KNOWN[0].imdb_id: "429", KNOWN[1].imdb_id: "reset", KNOWN[2].imdb_id: "503"})
    ids = [f.imdb_id for f in [*KNOWN[:6], UNKNOWN[0]]]
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        fetch(ids, options(emu, rate=50.0))
        with pytest.raises(TmdbAuthError):
            fetch(ids, options(emu), Credentials(api_key=KEY + "-revoked"))
    text = caplog.text + "".join(repr(r.args) + r.getMessage() for r in caplog.records)
    assert "HTTP Request: GET" in text, "httpx's request lines must have been captured"
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert KEY not in text


def test_credentials_repr_hides_the_secret() -> None:
    assert KEY not in repr(Credentials(api_key=KEY)) and KEY not in str(Credentials(bearer_token=KEY))


def test_credentials_from_secret() -> None:
    assert credentials_from_secret(json.dumps({"api_key": KEY})) == Credentials(api_key=KEY)
    assert credentials_from_secret(json.dumps({"bearer_token": KEY})) == Credentials(bearer_token=KEY)
    for bad in (KEY, json.dumps([KEY]), json.dumps({"apikey": KEY}), json.dumps({"api_key": ""})):
        with pytest.raises(ConfigError) as caught:
            credentials_from_secret(bad)
        assert KEY not in str(caught.value)
        assert caught.value.__cause__ is None or KEY not in str(caught.value.__cause__)


def test_load_credentials_prefers_the_local_key_then_secrets_manager(mock_aws_env: None) -> None:
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(Name="movielake-dev/tmdb-api", SecretString=json.dumps({"bearer_token": KEY}))
    assert load_credentials(Settings(tmdb_api_key="local"), secrets) == Credentials(api_key="local")
    assert load_credentials(Settings(tmdb_secret_id="movielake-dev/tmdb-api"), secrets) == Credentials(
        bearer_token=KEY
    )
    with pytest.raises(ConfigError, match="MOVIELAKE_TMDB_SECRET_ID"):
        load_credentials(Settings(), secrets)
    with pytest.raises(ConfigError, match="cannot read the TMDB secret 'missing'"):
        load_credentials(Settings(tmdb_secret_id="missing"), secrets)


def test_options_from_settings_and_validation() -> None:
    settings = Settings(tmdb_base_url="http://x", tmdb_lookup="find", tmdb_rate=12.5, tmdb_http_concurrency=3)
    opts = ClientOptions.from_settings(settings)
    assert (opts.base_url, opts.lookup, opts.rate, opts.concurrency) == ("http://x", "find", 12.5, 3)
    with pytest.raises(ConfigError, match="MOVIELAKE_TMDB_LOOKUP"):
        ClientOptions(base_url="http://x", lookup="search")
    with pytest.raises(ConfigError):
        ClientOptions(base_url="http://x", rate=0)


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert retry_after_seconds("86400") == 60.0  # capped


def test_the_hedge_delay_follows_observed_latencies_within_floor_and_ceiling() -> None:
    delay = HedgeDelay(timeout=10.0)
    assert delay.seconds() == HEDGE_INITIAL  # nothing observed yet
    for _ in range(100):
        delay.observe(0.001)
    assert delay.seconds() == HEDGE_FLOOR  # a fast API's noise must not trigger hedges
    for n in range(100):
        delay.observe(0.5 + n / 1000)  # now half the answers take ~0.5 s, the slowest 0.599 s
    assert delay.seconds() == pytest.approx(2 * 0.598, abs=0.002)
    for _ in range(100):
        delay.observe(30.0)
    assert delay.seconds() == 5.0  # never later than half the timeout


def test_a_hung_first_attempt_is_hedged_long_before_the_timeout() -> None:
    film = KNOWN[0]
    plan = FaultPlan(forced={film.imdb_id: "hang"}, hang_seconds=5.0)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        started = time.monotonic()
        [outcome] = fetch([film.imdb_id], options(emu, timeout=10.0))
        elapsed = time.monotonic() - started
        log = requests_for(emu, film.imdb_id)
    assert outcome.payload == synthetic.tmdb_payload(film)
    assert (outcome.attempts, outcome.http_status) == (2, 200)
    assert [(e.get("fault"), e["status"]) for e in log] == [("hang", 0), (None, 200)]
    # Before any latency is known the hedge waits HEDGE_INITIAL (server-side arrival times, so
    # minus the connection set-up), not the 10 s timeout or the 5 s hang.
    assert HEDGE_INITIAL - 0.2 <= log[1]["t"] - log[0]["t"] < HEDGE_INITIAL + 0.5
    assert elapsed < 5.0


def test_with_stalls_every_id_comes_once_and_no_one_waits_for_a_stall() -> None:
    ids = [f.imdb_id for f in FILMS]
    hang = 8.0
    plan = FaultPlan(share=0.1, kinds=("hang",), hang_seconds=hang)
    with Emulator(FIXTURES, KEY, rate=200, faults=plan) as emu:
        started = time.monotonic()
        outcomes = fetch(ids, options(emu, rate=200.0, timeout=10.0))
        elapsed = time.monotonic() - started
        log = emu.stats()["log"]
    hung = {e["id"] for e in log if e.get("fault") == "hang"}
    assert len(hung) >= 3, "the fault plan must have stalled a few ids"
    assert Counter(o.requested_id for o in outcomes) == Counter(ids)
    assert {o.requested_id for o in outcomes if not o.ok} == {f.imdb_id for f in UNKNOWN}
    answered = {e["id"] for e in log if e["status"] == 200}
    assert hung <= answered  # each stalled id was answered by its hedge
    assert elapsed < hang, f"{elapsed:.1f} s: a stalled request held the run up"
