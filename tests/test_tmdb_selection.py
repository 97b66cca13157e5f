"""Film selection: the DuckDB query checked against an independent pandas computation."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from conftest import LAKE_BUCKET, NO_RETRY, REGION

from movielake import keys
from movielake.config import Settings
from movielake.local import synthetic
from movielake.tmdb.selection import (
    Filters,
    Selection,
    SelectionError,
    newest_movies_csv,
    select_from_s3,
    select_ids,
    selection_connection,
)

HEADER = "|".join(synthetic.MOVIE_COLUMNS)
# Hand-made rows on top of the synthetic ones: whole-genre matching, case, nulls, a film whose
# rows are not adjacent, and a film whose later row (same id) must not be counted twice.
EXTRA_ROWS = [
    "tt9000001|A|A|1999|90|Crimes,Drama|7.0|50000|M|\\N|X Y|1950|\\N|actor|tt9000001",
    "tt9000002|B|B|1999|90|Drama,CRIME|7.0|50000|M|\\N|X Y|1950|\\N|actor|tt9000002",
    "tt9000003|C|C|\\N|90|War|7.0|50000|M|\\N|X Y|1950|\\N|actor|tt9000003",
    "tt9000004|D|D|1999|90|War|7.0|\\N|M|\\N|X Y|1950|\\N|actor|tt9000004",
    "tt9000005|E|E|1999|90|Warfare,Comedy|7.0|50000|M|\\N|X Y|1950|\\N|actor|tt9000005",
    "tt9000006|F|F|2001|90|Comedy,War|7.0|50000|M|\\N|X Y|1950|\\N|actor|tt9000006",
    "tt9000007|G|G|1960|90|War|7.0|10000|M|\\N|X Y|1950|\\N|actor|tt9000007",
    "tt9000006|F|F|2001|90|Comedy,War|7.0|50000|F|\\N|Z W|1960|\\N|actress|tt9000006",
]


@pytest.fixture(scope="module")
def csv_bytes() -> bytes:
    """3,000 synthetic films (one row per film x artist) plus the hand-made rows."""
    text = "".join(synthetic.csv_text(synthetic.films(3000)))
    return (text + "\n".join(EXTRA_ROWS) + "\n").encode()


def select_bytes(data: bytes, filters: Filters, tmp_path: Path, source: str | None = None) -> Selection:
    """Write ``data`` to a file and select from it with the planner's DuckDB session."""
    path = tmp_path / "movies.csv"
    path.write_bytes(data)
    connection = selection_connection()
    try:
        return select_ids(connection, str(path), filters, size=len(data), source=source)
    finally:
        connection.close()


def expected_ids(data: bytes, filters: Filters) -> list[str]:
    """The same selection computed the predecessor's way, with pandas, over the whole file."""
    frame = pd.read_csv(io.BytesIO(data), sep="|", dtype=str, na_values=["\\N"], keep_default_na=False)
    keep = pd.Series(True, index=frame.index)
    if filters.min_year is not None:
        keep &= pd.to_numeric(frame["anoLancamento"], errors="coerce") > filters.min_year
    if filters.min_votes is not None:
        keep &= pd.to_numeric(frame["numeroVotos"], errors="coerce") > filters.min_votes
    if filters.genres:
        wanted = {g.lower() for g in filters.genres}
        names = frame["genero"].fillna("").str.lower().str.split(",")
        keep &= names.map(lambda found: bool({n.strip() for n in found} & wanted))
    return list(dict.fromkeys(frame.loc[keep, "id"]))


FILTER_CASES = [
    Filters(),
    Filters(min_year=None),
    Filters(min_votes=None),
    Filters(genres=()),
    Filters(None, None, ()),
    Filters(2000, 500, ("Sci-Fi", "western")),
]


@pytest.mark.parametrize("filters", FILTER_CASES, ids=lambda f: str(f.as_dict()))
def test_selection_matches_pandas(csv_bytes: bytes, filters: Filters, tmp_path: Path) -> None:
    got = select_bytes(csv_bytes, filters, tmp_path)
    want = expected_ids(csv_bytes, filters)
    assert got.ids == want
    assert len(want) > 5
    assert got.bytes_read == len(csv_bytes)


def test_genres_match_whole_names_case_insensitively_and_nulls_fail(csv_bytes: bytes, tmp_path: Path) -> None:
    ids = set(select_bytes(csv_bytes, Filters(), tmp_path).ids)
    assert "tt9000002" in ids  # "CRIME" is crime
    assert "tt9000006" in ids
    assert not ids & {"tt9000001", "tt9000005"}  # "Crimes", "Warfare" are other genres
    assert not ids & {"tt9000003", "tt9000004"}  # null year, null votes
    assert "tt9000007" not in ids  # 1960 and 10000 are not above the minimums


def test_ids_are_distinct_even_when_a_films_rows_are_apart(csv_bytes: bytes, tmp_path: Path) -> None:
    ids = select_bytes(csv_bytes, Filters(None, None, ()), tmp_path).ids
    assert len(ids) == len(set(ids)) == 3000 + 7
    assert ids.count("tt9000006") == 1


def test_header_must_hold_the_columns_the_enabled_filters_read(tmp_path: Path) -> None:
    data = b"id|anoLancamento|genero\ntt1|1999|War\n"
    with pytest.raises(SelectionError, match=r"s3://b/k: line 1 \(header\) lacks column\(s\) numeroVotos"):
        select_bytes(data, Filters(), tmp_path, source="s3://b/k")
    assert select_bytes(data, Filters(min_votes=None), tmp_path).ids == ["tt1"]
    with pytest.raises(SelectionError, match="empty"):
        select_bytes(b"", Filters(), tmp_path)


def test_columns_are_found_by_the_header_in_any_order(tmp_path: Path) -> None:
    data = (
        b"\xef\xbb\xbfnumeroVotos|genero|x|anoLancamento|id\r\n20000|War|a|1990|tt7\r\n5|War|a|1990|tt8\r\n"
    )
    assert select_bytes(data, Filters(), tmp_path).ids == ["tt7"]


def test_a_row_with_a_missing_field_names_the_file_and_line(tmp_path: Path) -> None:
    data = b"id|anoLancamento|genero|numeroVotos\ntt1|1999|War|20000\ntt2|1999|War\n"
    with pytest.raises(SelectionError, match=r"s3://b/k: .*[Ll]ine.* 3"):
        select_bytes(data, Filters(), tmp_path, source="s3://b/k")


def test_the_newest_movies_csv_is_chosen_and_read_from_s3(moto_endpoint: str, csv_bytes: bytes) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name=REGION, config=NO_RETRY)
    s3.create_bucket(Bucket=LAKE_BUCKET)
    old = "".join(synthetic.csv_text(synthetic.films(20, seed=3))).encode()
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", date(2026, 3, 2)), Body=csv_bytes)
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("movies.csv", date(2025, 12, 31)), Body=old)
    s3.put_object(Bucket=LAKE_BUCKET, Key=keys.raw_csv_key("series.csv", date(2026, 4, 1)), Body=old)
    s3.put_object(Bucket=LAKE_BUCKET, Key="Raw/Local/CSV/Movies/2026/04/01/notes.txt", Body=b"x")
    settings = Settings(lake_bucket=LAKE_BUCKET, endpoint_url=moto_endpoint, region=REGION)
    selection = select_from_s3(s3, settings, Filters())
    assert selection.source == f"s3://{LAKE_BUCKET}/Raw/Local/CSV/Movies/2026/03/02/movies.csv"
    assert selection.ids == expected_ids(csv_bytes, Filters())


class _Listing:
    """A stand-in S3 client whose listing is given, for the ordering rule alone."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def get_paginator(self, name: str) -> Any:
        items = self.items

        class Paginator:
            def paginate(self, **_: Any) -> Iterator[dict[str, Any]]:
                yield {"Contents": items}

        return Paginator()


def test_within_a_day_the_latest_modified_movies_csv_wins_and_dates_come_first() -> None:
    def item(key: str, hour: int) -> dict[str, Any]:
        return {"Key": key, "LastModified": datetime(2026, 3, 3, hour, tzinfo=UTC), "Size": 1}

    listing = _Listing(
        [
            item("Raw/Local/CSV/Movies/2026/03/02/movies_abcdef12.csv", 9),
            item("Raw/Local/CSV/Movies/2026/03/02/movies.csv", 8),
            item("Raw/Local/CSV/Movies/2026/03/01/movies.csv", 23),
        ]
    )
    assert newest_movies_csv(listing, "b").key.endswith("2026/03/02/movies_abcdef12.csv")
    with pytest.raises(SelectionError, match="no movies CSV under s3://b/Raw/Local/CSV/Movies/"):
        newest_movies_csv(_Listing([]), "b")
