"""The TMDB emulator answers like TMDB: bodies, errors, rate limit and injected faults."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from movielake.local import synthetic
from movielake.local.tmdb_emulator import Emulator, FaultPlan, load_fixtures, synthetic_fixtures

KEY = "emulator-test-key"
FILMS = list(synthetic.films(40))
KNOWN = [f for f in FILMS if synthetic.known_to_tmdb(f)]
UNKNOWN = [f for f in FILMS if not synthetic.known_to_tmdb(f)]
FIXTURES = synthetic_fixtures(40)


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """An emulator with no rate limit and no faults."""
    with Emulator(FIXTURES, KEY) as emu:
        yield emu


def get(emu: Emulator, path: str, **params: str) -> httpx.Response:
    """One GET with the emulator's key (a fresh connection each time)."""
    return httpx.get(f"{emu.url}{path}", params={"api_key": KEY, **params}, timeout=5)


def test_synthetic_fixtures_hold_only_the_films_tmdb_knows() -> None:
    assert UNKNOWN, "the sample must contain unknown films for the 404 tests"
    assert set(FIXTURES) == {f.imdb_id for f in KNOWN}


def test_movie_by_imdb_or_tmdb_id_with_credits_only_when_appended(emulator: Emulator) -> None:
    film = KNOWN[0]
    expected = synthetic.tmdb_payload(film)
    by_imdb = get(emulator, f"/3/movie/{film.imdb_id}", append_to_response="credits", language="pt-BR")
    by_tmdb = get(emulator, f"/3/movie/{film.tmdb_id}", append_to_response="credits")
    plain = get(emulator, f"/3/movie/{film.tmdb_id}")
    assert by_imdb.status_code == by_tmdb.status_code == plain.status_code == 200
    assert by_imdb.json() == by_tmdb.json() == expected
    assert plain.json() == {k: v for k, v in expected.items() if k != "credits"}


def test_unknown_id_is_tmdb_404(emulator: Emulator) -> None:
    response = get(emulator, f"/3/movie/{UNKNOWN[0].imdb_id}")
    assert response.status_code == 404
    assert response.json()["status_code"] == 34


def test_find_resolves_imdb_ids(emulator: Emulator) -> None:
    film = KNOWN[1]
    found = get(emulator, f"/3/find/{film.imdb_id}", external_source="imdb_id").json()
    missing = get(emulator, f"/3/find/{UNKNOWN[0].imdb_id}", external_source="imdb_id").json()
    assert [m["id"] for m in found["movie_results"]] == [film.tmdb_id]
    assert found["movie_results"][0]["title"] == film.title
    assert missing["movie_results"] == []


@pytest.mark.parametrize(
    ("params", "headers"),
    [({}, {}), ({"api_key": "wrong"}, {}), ({}, {"Authorization": "Bearer wrong"})],
    ids=["no key", "wrong key", "wrong bearer"],
)
def test_bad_credentials_are_401_code_7(emulator: Emulator, params: dict, headers: dict) -> None:
    response = httpx.get(f"{emulator.url}/3/movie/{KNOWN[0].tmdb_id}", params=params, headers=headers)
    assert response.status_code == 401
    assert response.json()["status_code"] == 7


def test_bearer_token_is_accepted() -> None:
    with Emulator(FIXTURES, KEY, bearer_token="v4-token") as emu:
        response = httpx.get(
            f"{emu.url}/3/movie/{KNOWN[0].tmdb_id}", headers={"Authorization": "Bearer v4-token"}
        )
    assert response.status_code == 200


def test_rate_limit_answers_429_with_retry_after_when_bursting() -> None:
    with Emulator(FIXTURES, KEY, rate=5) as emu, httpx.Client(base_url=emu.url) as client:
        answers = [client.get(f"/3/movie/{KNOWN[0].tmdb_id}", params={"api_key": KEY}) for _ in range(8)]
        stats = emu.stats()
    statuses = [a.status_code for a in answers]
    assert statuses == [200] * 5 + [429] * 3
    assert all(a.json()["status_code"] == 25 for a in answers[5:])
    assert all(int(a.headers["Retry-After"]) >= 1 for a in answers[5:])
    assert stats["by_status"] == {"200": 5, "429": 3}
    assert stats["accepted"] == 5


def test_fault_plan_is_deterministic_and_close_to_its_share() -> None:
    ids = [f"tt{n:07d}" for n in range(4000)]
    plan = FaultPlan(share=0.05)
    chosen = {i: plan.kind_for(i) for i in ids}
    faulty = [i for i, kind in chosen.items() if kind]
    assert chosen == {i: FaultPlan(share=0.05).kind_for(i) for i in ids}
    assert 0.04 < len(faulty) / len(ids) < 0.06
    assert {chosen[i] for i in faulty} == {"500", "502", "503", "hang", "truncate", "reset"}
    assert FaultPlan().kind_for(ids[0]) is None


def test_unknown_fault_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fault kinds"):
        FaultPlan(forced={"tt1": "teapot"})


def test_faults_break_only_the_first_attempt() -> None:
    film_ids = [f.imdb_id for f in KNOWN[:4]]
    kinds = ["503", "truncate", "reset", "hang"]
    plan = FaultPlan(forced=dict(zip(film_ids, kinds, strict=True)), hang_seconds=0.3)
    with Emulator(FIXTURES, KEY, faults=plan) as emu:
        assert get(emu, f"/3/movie/{film_ids[0]}").status_code == 503
        truncated = get(emu, f"/3/movie/{film_ids[1]}")
        assert truncated.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            truncated.json()
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            get(emu, f"/3/movie/{film_ids[2]}")
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{emu.url}/3/movie/{film_ids[3]}", params={"api_key": KEY}, timeout=0.1)
        second = [get(emu, f"/3/movie/{i}") for i in film_ids]
        stats = emu.stats()
    assert [r.status_code for r in second] == [200] * 4
    assert all(r.json()["imdb_id"] == i for r, i in zip(second, film_ids, strict=True))
    assert [e.get("fault") for e in stats["log"][:4]] == kinds
    assert [e["status"] for e in stats["log"][:4]] == [503, 200, 0, 0]  # reset and hang: no answer


def test_stats_endpoint_reports_the_request_log(emulator: Emulator) -> None:
    assert httpx.get(f"{emulator.url}/").status_code == 404  # a health check, not an API request
    get(emulator, f"/3/movie/{KNOWN[0].imdb_id}")
    get(emulator, f"/3/find/{UNKNOWN[0].imdb_id}", external_source="imdb_id")
    stats = httpx.get(f"{emulator.url}/__stats").json()
    assert stats["requests"] == 2
    assert [(e["route"], e["id"], e["status"]) for e in stats["log"]] == [
        ("movie", KNOWN[0].imdb_id, 200),
        ("find", UNKNOWN[0].imdb_id, 200),
    ]
    assert 0 <= stats["log"][0]["t"] <= stats["log"][1]["t"]


def test_fixtures_load_from_ndjson(tmp_path: Path) -> None:
    path = tmp_path / "movies.ndjson"
    path.write_text("".join(json.dumps(p) + "\n" for p in FIXTURES.values()))
    assert load_fixtures(path) == FIXTURES
    with Emulator(path, KEY) as emu:
        assert get(emu, f"/3/movie/{KNOWN[0].tmdb_id}").json()["imdb_id"] == KNOWN[0].imdb_id


def test_cli_prints_its_url_serves_and_stops_on_sigterm() -> None:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "movielake.local.tmdb_emulator",
            "--api-key",
            KEY,
            "--synthetic",
            "40",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("listening on http://127.0.0.1:")
        url = line.removeprefix("listening on ")
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", f"/3/movie/{KNOWN[0].imdb_id}?api_key={KEY}")
        assert json.loads(connection.getresponse().read())["id"] == KNOWN[0].tmdb_id
        connection.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
