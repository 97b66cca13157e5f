"""Synthetic films in the PB CSV format and the TMDB payloads that match them.

The bundled sample data, the TMDB emulator's fixtures, the tests and the benchmarks all come
from here, seeded, so every run sees the same films. Nothing here is real data: titles and
names are drawn from word lists, and money figures from skewed distributions that look like
the film business (many small films, a few blockbusters, some unknown budgets).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

# The schema lives with the validator (the CSV Lambda zip ships it; it does not ship this module).
from movielake.ingest.schema import MOVIE_COLUMNS, NULL, SERIES_COLUMNS

GENRES = (
    "Action",
    "Adventure",
    "Animation",
    "Biography",
    "Comedy",
    "Crime",
    "Drama",
    "Family",
    "Fantasy",
    "History",
    "Horror",
    "Music",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
# TMDB's own genre ids for the names above (its list has no Biography: mapped to History).
TMDB_GENRE_IDS = {
    "Action": 28,
    "Adventure": 12,
    "Animation": 16,
    "Biography": 36,
    "Comedy": 35,
    "Crime": 80,
    "Drama": 18,
    "Family": 10751,
    "Fantasy": 14,
    "History": 36,
    "Horror": 27,
    "Music": 10402,
    "Mystery": 9648,
    "Romance": 10749,
    "Sci-Fi": 878,
    "Thriller": 53,
    "War": 10752,
    "Western": 37,
}
_ADJECTIVES = (
    "Silent",
    "Crimson",
    "Last",
    "Broken",
    "Hidden",
    "Golden",
    "Cold",
    "Distant",
    "Burning",
    "Lonely",
    "Iron",
    "Secret",
    "Wild",
    "Dark",
    "Bright",
    "Forgotten",
    "Endless",
    "Final",
)
_NOUNS = (
    "Harbor",
    "Empire",
    "Witness",
    "Frontier",
    "Garden",
    "Verdict",
    "Battalion",
    "River",
    "Mirror",
    "Heist",
    "Winter",
    "Promise",
    "Signal",
    "Kingdom",
    "Stranger",
    "Border",
    "Code",
)
_FIRST = (
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Felipe",
    "Gina",
    "Hugo",
    "Iris",
    "Joao",
    "Karin",
    "Lucas",
    "Marta",
    "Nuno",
    "Olga",
    "Paulo",
    "Rita",
    "Sergio",
    "Tania",
    "Vitor",
)
_LAST = (
    "Almeida",
    "Barros",
    "Costa",
    "Duarte",
    "Esteves",
    "Farias",
    "Gomes",
    "Horta",
    "Ivens",
    "Jardim",
    "Klein",
    "Lopes",
    "Moura",
    "Nunes",
    "Orsi",
    "Pires",
    "Queiroz",
    "Ramos",
    "Souza",
)
_PROFESSIONS = ("actor", "actress", "director", "writer", "producer")
_COMPANIES = ("Harbor Pictures", "Iron Gate Films", "Lumen Studio", "Red Door", "Southwind")
SLEEPER_SHARE = 0.1  # of films, whose payload has a sleeper's return and few votes
_LANGUAGES = ("en", "en", "en", "pt", "fr", "es", "it", "ja", "ko", "de")


@dataclass(frozen=True)
class Artist:
    """One person in the CSV's artist columns."""

    name: str
    gender: str
    birth_year: int
    death_year: int | None
    profession: str
    known_for: tuple[str, ...]


@dataclass(frozen=True)
class Film:
    """One synthetic film or series, with what both the CSV and TMDB say about it."""

    imdb_id: str
    title: str
    original_title: str
    year: int
    end_year: int | None
    minutes: int | None
    genres: tuple[str, ...]
    rating: float
    votes: int
    cast: tuple[tuple[Artist, str], ...] = field(default=())  # (artist, character)

    @property
    def tmdb_id(self) -> int:
        """A stable TMDB numeric id derived from the IMDb id."""
        return int(self.imdb_id[2:]) * 7 + 11


def _artist_pool(rng: random.Random, size: int) -> list[Artist]:
    pool = []
    for i in range(size):
        profession = rng.choice(_PROFESSIONS)
        gender = "F" if profession == "actress" or (profession != "actor" and rng.random() < 0.5) else "M"
        birth = rng.randint(1900, 1995)
        death = birth + rng.randint(50, 95) if birth < 1950 and rng.random() < 0.6 else None
        name = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"
        if i >= len(_FIRST) * len(_LAST):
            name += f" {i // (len(_FIRST) * len(_LAST)) + 1}"
        pool.append(Artist(name, gender, birth, death if death and death < 2026 else None, profession, ()))
    return pool


def films(count: int, seed: int = 7, *, series: bool = False, first_id: int = 100000) -> Iterator[Film]:
    """``count`` films (or series), deterministic for a seed, ids ``tt<7 digits>`` ascending.

    Artists come from a pool a tenth the size of the count, so they recur across films the way
    real casts do; about half the films are Crime or War, votes spread over five orders of
    magnitude, so the default TMDB filters select a realistic share.
    """
    rng = random.Random(seed)
    pool = _artist_pool(rng, max(40, count // 10))
    weights = [1.0 / (rank + 1) for rank in range(len(pool))]  # a few artists in many films
    for n in range(count):
        imdb_id = f"tt{first_id + n * 3:07d}"
        title = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        original = title if rng.random() < 0.8 else f"{title} ({rng.choice(_LANGUAGES).upper()})"
        year = rng.randint(1930, 2024)
        end_year = min(year + rng.randint(0, 12), 2025) if series else None
        genre_count = rng.randint(1, 3)
        primary = rng.choice(("Crime", "War")) if rng.random() < 0.5 else rng.choice(GENRES)
        genres = tuple(dict.fromkeys([primary, *rng.sample(GENRES, genre_count - 1)]))
        votes = int(10 ** rng.uniform(1, 6))
        minutes = rng.randint(70, 200) if rng.random() > 0.02 else None
        cast_size = rng.randint(2, 6)
        members = {a.name: a for a in rng.choices(pool, weights=weights, k=cast_size)}
        cast = tuple(
            (
                Artist(a.name, a.gender, a.birth_year, a.death_year, a.profession, (imdb_id,)),
                f"Character {rng.randint(1, 99)}" if a.profession in {"actor", "actress"} else NULL,
            )
            for a in members.values()
        )
        rating = round(rng.uniform(2.0, 9.5), 1)
        yield Film(imdb_id, title, original, year, end_year, minutes, genres, rating, votes, cast)


def csv_rows(items: Iterable[Film], *, series: bool = False) -> Iterator[list[str]]:
    """One PB CSV row per film x artist, as lists of strings (``\\N`` for null)."""
    for film in items:
        for artist, character in film.cast:
            row = [
                film.imdb_id,
                film.title,
                film.original_title,
                str(film.year),
                NULL if film.minutes is None else str(film.minutes),
                ",".join(film.genres),
                f"{film.rating:.1f}",
                str(film.votes),
                artist.gender,
                character,
                artist.name,
                str(artist.birth_year),
                NULL if artist.death_year is None else str(artist.death_year),
                artist.profession,
                ",".join(artist.known_for),
            ]
            if series:
                row.insert(4, NULL if film.end_year is None else str(film.end_year))
            yield row


def csv_text(items: Iterable[Film], *, series: bool = False) -> Iterator[str]:
    """The CSV file as lines (header first), ``|``-separated, ``\\n``-terminated."""
    yield "|".join(SERIES_COLUMNS if series else MOVIE_COLUMNS) + "\n"
    for row in csv_rows(items, series=series):
        yield "|".join(row) + "\n"


def _unit(imdb_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the id, so fixtures do not depend on call order."""
    digest = hashlib.blake2b(f"{salt}:{imdb_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def known_to_tmdb(film: Film, unknown_share: float = 0.03) -> bool:
    """Whether the emulator knows this film; about ``unknown_share`` of ids answer 404."""
    return _unit(film.imdb_id, "unknown") >= unknown_share


def tmdb_payload(film: Film) -> dict:
    """The body ``GET /3/movie/{id}?append_to_response=credits`` would answer for this film."""
    u = _unit(film.imdb_id, "money")
    # A few sleepers: known money, a 50x to 90x return, and few votes (the hidden gems).
    sleeper = _unit(film.imdb_id, "sleeper") < SLEEPER_SHARE
    known_money = sleeper or u >= 0.2
    budget = int(10 ** (5 + 3.5 * _unit(film.imdb_id, "budget")) // 1000 * 1000) if known_money else 0
    multiple = 10 ** (2.6 * _unit(film.imdb_id, "multiple") - 1.0)  # 0.1x to 40x the budget
    if sleeper:
        multiple = 50 + 40 * _unit(film.imdb_id, "sleeper-multiple")
    revenue = 0 if budget and u > 0.9 and not sleeper else int(budget * multiple)
    if not budget and u > 0.1:
        revenue = int(10 ** (5 + 3 * _unit(film.imdb_id, "revenue")))
    released = date(film.year, 1, 1) + timedelta(days=int(364 * _unit(film.imdb_id, "day")))
    language = _LANGUAGES[int(_unit(film.imdb_id, "lang") * len(_LANGUAGES))]
    return {
        "adult": False,
        "backdrop_path": None,
        "belongs_to_collection": None,
        "budget": budget,
        "genres": [{"id": TMDB_GENRE_IDS[g], "name": g} for g in film.genres],
        "homepage": "",
        "id": film.tmdb_id,
        "imdb_id": film.imdb_id,
        "origin_country": ["US"],
        "original_language": language,
        "original_title": film.original_title,
        "overview": f"A synthetic {film.genres[0].lower()} film made for movielake's fixtures.",
        "popularity": round(0.5 + 80 * _unit(film.imdb_id, "pop") ** 3 + film.votes / 20000, 3),
        "poster_path": None,
        "production_companies": [
            {"id": 1000 + i, "logo_path": None, "name": name, "origin_country": "US"}
            for i, name in enumerate(_COMPANIES)
            if _unit(film.imdb_id, name) < 0.3
        ],
        "production_countries": [{"iso_3166_1": "US", "name": "United States of America"}],
        "release_date": "" if _unit(film.imdb_id, "nodate") < 0.01 else released.isoformat(),
        "revenue": revenue,
        "runtime": film.minutes or 0,
        "spoken_languages": [],
        "status": "Released",
        "tagline": "",
        "title": film.title,
        "video": False,
        "vote_average": round(min(10.0, max(0.0, film.rating + 2 * _unit(film.imdb_id, "va") - 1)), 3),
        "vote_count": int(min(film.votes, 20000) * 0.01)
        if sleeper
        else int(film.votes * (0.05 + 0.2 * _unit(film.imdb_id, "vc"))),
        "credits": {
            "cast": [
                {"name": a.name, "character": ch, "order": i}
                for i, (a, ch) in enumerate(film.cast)
                if a.profession in {"actor", "actress"}
            ],
            "crew": [
                {"name": a.name, "job": a.profession.title()}
                for a, _ in film.cast
                if a.profession not in {"actor", "actress"}
            ],
        },
    }
