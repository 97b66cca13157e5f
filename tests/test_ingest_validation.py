"""The streaming CSV validator: what it accepts, what it rejects and what it tells the user."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from movielake.ingest import validation
from movielake.ingest.schema import MOVIE_COLUMNS, SERIES_COLUMNS
from movielake.ingest.validation import ValidationError, validate_file, validate_stream

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
HEADER = "|".join(MOVIE_COLUMNS)
ROW = (
    "tt0100000|The Golden Mirror|The Golden Mirror|1948|83|Horror|5.6|28344|M|\\N|Felipe Barros|1940|2012"
    "|producer|tt0100000"
)


def movies(*rows: str, header: str = HEADER, end: str = "\n") -> bytes:
    """A movies CSV from a header and rows."""
    return "".join(line + end for line in (header, *rows)).encode()


def check(data: bytes, name: str = "movies.csv") -> validation.Report:
    """Validate bytes as one chunk."""
    return validate_stream(name, [data])


def rejection(data: bytes, name: str = "movies.csv") -> ValidationError:
    """The error validating ``data`` raises (fails the test if it passes)."""
    with pytest.raises(ValidationError) as info:
        check(data, name)
    return info.value


def test_the_sample_files_are_valid_and_hashed() -> None:
    for name, rows in (("movies.csv", 1036), ("series.csv", 219)):
        data = (SAMPLE / name).read_bytes()
        report = validate_file(SAMPLE / name)
        assert (report.rows, report.size) == (rows, len(data))
        assert report.sha256 == hashlib.sha256(data).hexdigest()
    assert validate_file(SAMPLE / "series.csv").entity == "Series"


def test_chunk_boundaries_do_not_matter_even_inside_a_multibyte_character() -> None:
    data = movies(ROW.replace("Felipe Barros", "Felipe Bárros Ünal"), ROW)
    whole = check(data)
    one_byte_chunks = validate_stream("movies.csv", (data[i : i + 1] for i in range(len(data))))
    assert one_byte_chunks == whole
    assert whole.rows == 2


def test_a_missing_final_newline_is_accepted() -> None:
    assert check(movies(ROW, ROW).rstrip(b"\n")).rows == 2


@pytest.mark.parametrize(
    ("data", "line", "expected"),
    [
        (b"", 1, "the file is empty (0 bytes)"),
        (movies(), 1, "has a header but no data rows"),
        (
            movies(ROW.replace("|", ","), header=HEADER.replace("|", ",")),
            1,
            "looks comma-separated; movielake expects '|'",
        ),
        (movies(ROW.replace("|", ";"), header=HEADER.replace("|", ";")), 1, "looks semicolon-separated"),
        (movies(ROW, header=HEADER.replace("|numeroVotos", "")), 1, "missing column(s) numeroVotos"),
        (movies(ROW, header=HEADER + "|orcamento"), 1, "unknown column(s) 'orcamento'"),
        (movies(ROW, header="|".join(SERIES_COLUMNS)), 1, "unknown column(s) 'anoTermino'"),
        (movies(ROW, header="|".join(reversed(MOVIE_COLUMNS))), 1, "wrong order"),
        (movies(ROW, ROW + "|extra", ROW), 3, "the row has 16 fields, expected 15"),
        (movies(ROW, "", ROW), 3, "the line is empty"),
        (movies(ROW, end="\r\n"), 1, "CRLF"),
        (b"\xef\xbb\xbf" + movies(ROW), 1, "byte-order mark"),
    ],
    ids=[
        "empty",
        "header-only",
        "comma",
        "semicolon",
        "missing-column",
        "extra-column",
        "series-header-in-movies",
        "wrong-order",
        "field-count",
        "blank-line",
        "crlf",
        "bom",
    ],
)
def test_bad_input_is_rejected_with_file_line_and_problem(data: bytes, line: int, expected: str) -> None:
    error = rejection(data)
    assert error.line == line
    assert expected in str(error)
    assert str(error).startswith(f"movies.csv: line {line}: ")


def test_the_errors_say_what_to_do() -> None:
    assert "dos2unix" in str(rejection(movies(ROW, end="\r\n")))
    assert "without BOM" in str(rejection(b"\xef\xbb\xbf" + movies(ROW)))
    assert "The header must be exactly: id|tituloPincipal|" in str(rejection(movies(ROW, header="id")))


def test_latin1_bytes_are_reported_with_line_and_byte_offset() -> None:
    good = movies(ROW, ROW)
    bad_row = ROW.replace("Felipe Barros", "Felipe Bárros").encode("latin-1")
    error = rejection(good + bad_row + b"\n")
    offset = len(good) + bad_row.index(b"\xe1")
    assert (error.line, error.byte_offset) == (4, offset)
    assert f"byte 0xE1 at byte offset {offset} is not valid UTF-8" in str(error)
    assert "iconv -f latin1 -t utf-8" in str(error)


def test_a_crlf_file_is_caught_on_its_first_line_even_if_the_header_is_otherwise_right() -> None:
    error = rejection(movies(ROW, ROW, end="\r\n"))
    assert error.line == 1
    assert error.byte_offset == len(HEADER)


@pytest.mark.parametrize("byte", [*range(0x09), *range(0x0B, 0x20)])
def test_a_control_byte_in_a_row_is_refused_with_its_line_and_byte_offset(byte: int) -> None:
    good = movies(ROW, ROW)
    bad_row = ROW.replace("Felipe", "Fel" + chr(byte) + "ipe").encode()
    error = rejection(good + bad_row + b"\n" + movies(ROW, header="")[1:])
    offset = len(good) + bad_row.index(bytes([byte]))
    assert (error.line, error.byte_offset) == (4, offset)
    assert f"byte 0x{byte:02X} at byte offset {offset}" in str(error)
    assert str(error).startswith("movies.csv: line 4: ")


def test_a_tab_inside_a_text_field_is_accepted_and_a_mid_line_cr_is_a_control_byte() -> None:
    assert check(movies(ROW.replace("Felipe Barros", "Felipe\tBarros"))).rows == 1
    error = rejection(movies(ROW.replace("Felipe Barros", "Felipe\rBarros")))
    assert error.line == 2 and "CR byte 0x0D" in str(error)
    assert "CRLF" in str(rejection(movies(ROW, end="\r\n")))


def test_the_entity_comes_from_the_name_and_unknown_ones_are_listed() -> None:
    series_row = ROW.replace("|1948|", "|1948|1950|")
    assert check(movies(series_row, header="|".join(SERIES_COLUMNS)), "series.csv").entity == "Series"
    error = rejection(movies(ROW), "actors.csv")
    assert str(error) == (
        "actors.csv: unknown entity 'Actors' (from the file name). movielake ingests only "
        "movies.csv (Movies), series.csv (Series); rename the file to one of those."
    )


def test_a_line_without_end_is_cut_off_instead_of_filling_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "MAX_LINE_BYTES", 1000)
    error = rejection(movies(ROW) + b"x" * 5000)
    assert error.line == 3
    assert "longer than 1000 bytes" in str(error)


def test_a_large_file_is_validated_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "movies.csv"
    rows = (SAMPLE / "movies.csv").read_bytes().split(b"\n", 1)[1]
    with path.open("wb") as handle:
        handle.write(HEADER.encode() + b"\n")
        while handle.tell() < 20 * 1024 * 1024:
            handle.write(rows)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        report = validate_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.size == size >= 20 * 1024 * 1024
    # About one chunk, its decoded text and one line (~1.4 MiB), whatever the file's size.
    assert peak < size / 10


def chunks_of(data: bytes, size: int) -> Iterator[bytes]:
    """``data`` in pieces of ``size`` bytes."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_problems_deep_in_a_chunked_file_are_found_with_exact_positions() -> None:
    head = movies(*([ROW] * 50_000))
    short_row = ROW.replace("|", "", 1)
    error = validate_error_in_chunks(head + short_row.encode() + b"\n" + ROW.encode())
    assert error.line == 50_002
    assert "the row has 14 fields" in str(error)
    latin = ROW.replace("Barros", "B\xe1rros").encode("latin-1")
    error = validate_error_in_chunks(head + latin + b"\n")
    assert (error.line, error.byte_offset) == (50_002, len(head) + latin.index(b"\xe1"))


def validate_error_in_chunks(data: bytes) -> ValidationError:
    """The error validating ``data`` in 64 KiB chunks raises."""
    with pytest.raises(ValidationError) as info:
        validate_stream("movies.csv", chunks_of(data, 64 * 1024))
    return info.value
