"""Streaming validation of a PB CSV before anything of it lands in Raw.

The validator reads the file once, as a stream of byte chunks (a local file or an S3
``StreamingBody``), and holds about one chunk (and its decoded text) plus one line in memory,
whatever the file's size. Whole blocks of lines are checked at once (decode, count
delimiters), and only a block with a problem is walked line by line to report it. That one
pass checks everything Athena's ``LazySimpleSerDe`` would silently get wrong, and computes the
file's sha256 on the way, which is what Raw's de-duplication compares.

Decisions (each failure names the file, the line and what to do):

* **The whole file is read.** Checking only the head would let a Latin-1 byte or a broken row
  at line 900,000 into Raw, where it surfaces later as a wrong query result. Streaming 500 MB
  through an incremental check is bounded in memory and takes seconds, well inside a Lambda's
  time limit; it also yields the sha256 needed to recognise the same content again.
* **UTF-8 only.** Lines are split on ``\\n`` (a byte no multi-byte UTF-8 sequence contains) and
  each is decoded strictly, so an invalid byte is reported with its line and byte offset.
* **CRLF line endings are rejected.** Athena would keep the ``\\r`` in the last column of every
  row, and fixing it means rewriting the object (no server-side copy). ``dos2unix`` is one
  command away for the user; a silent rewrite would change the bytes they uploaded.
* **A UTF-8 byte-order mark is rejected** for the same reason: it would become part of the
  first column's name in the catalog.
* **Blank lines are rejected** (they would be rows of nulls); a missing final newline is fine.
* **Control bytes are rejected**: a NUL or any other C0 control byte (``0x00``-``0x1F``) but the
  tab, inside a row. No text CSV holds one; a NUL most often means a binary or UTF-16 file, or
  a truncated write, and Athena and DuckDB would keep it inside a value. The error names the
  byte, its line and its byte offset. (``\\n`` ends lines; a ``\\r`` before it is reported as
  CRLF, one anywhere else as a control byte.)
* **A line longer than** ``MAX_LINE_BYTES`` is rejected, which keeps memory bounded even for a
  file with no newlines at all.
* **Numeric columns hold numbers** (``schema.NUMERIC_COLUMNS``: a whole number of up to nine
  digits, the rating a decimal, ``\\N`` for none). One ``nineteen-ninety`` would otherwise make
  the crawler type the column ``string`` in every partition, or Athena read it as NULL.
* **Only plain ``.csv`` files** (any case: ``series.CSV`` too). A compressed file is refused,
  whether its name says so (``movies.csv.gz``) or only its first bytes do (gzip, zip, bzip2
  magic): Raw keeps plain CSV, which the planner's streaming selection, the crawl and both
  query engines read; the user decompresses with one command.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from movielake import keys
from movielake.ingest.schema import DECIMAL, DELIMITER, NUMERIC_COLUMNS, SCHEMAS, WHOLE_NUMBER

CHUNK_BYTES = 256 * 1024
MAX_LINE_BYTES = 1024 * 1024
UTF8_BOM = b"\xef\xbb\xbf"
# Delimiters people export by mistake, in the order we name them.
OTHER_DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}
CSV_SUFFIX = ".csv"
# Compressed formats: the bytes a file of each starts with, its name suffix, how to undo it.
COMPRESSIONS = {
    "gzip": (b"\x1f\x8b", ".gz", "gunzip -k FILE"),
    "zip": (b"PK\x03\x04", ".zip", "unzip FILE"),
    "bzip2": (b"BZh", ".bz2", "bunzip2 -k FILE"),
}
MAGIC_BYTES = max(len(magic) for magic, _, _ in COMPRESSIONS.values())
# C0 control bytes no text CSV holds: all but tab (0x09) and the line feed that ends a line (a
# CR is one too; before a line feed it is reported as CRLF). Looked for one by one in a whole
# block (``in``, memchr-fast: ~2 GB/s for the 30 together), which costs far less than a
# character class in the row expression would (~30% of the validator's throughput, measured).
CONTROL_BYTES = tuple(bytes([b]) for b in (*range(0x00, 0x09), *range(0x0B, 0x20)))
CONTROL_PATTERN = re.compile(rb"[\x00-\x08\x0b-\x1f]")
# What a numeric field may hold besides \N: up to nine digits fit Athena's int.
NUMBER_PATTERNS = {WHOLE_NUMBER: r"\d{1,9}", DECIMAL: r"\d{1,9}(?:\.\d{1,9})?"}


class ValidationError(ValueError):
    """A file that must not enter Raw: where (file, line, byte offset) and what to do about it.

    ``line`` is 1-based; 0 means the problem is the file's name, not its content.
    """

    def __init__(self, file_name: str, line: int, problem: str, hint: str, byte_offset: int | None = None):
        self.file_name = file_name
        self.line = line
        self.problem = problem
        self.hint = hint
        self.byte_offset = byte_offset
        where = f"line {line}: " if line else ""
        super().__init__(f"{file_name}: {where}{problem}. {hint}")


@dataclass(frozen=True)
class Report:
    """What a valid file holds: its entity, data rows, size and content hash."""

    file_name: str
    entity: str
    rows: int
    size: int
    sha256: str


def schema_for(file_name: str) -> tuple[str, tuple[str, ...]]:
    """The entity and expected header of a file, from its name; unknown entities are rejected."""
    check_name(file_name)
    entity = keys.entity_for(file_name)
    if entity not in SCHEMAS:
        known = ", ".join(f"{name.lower()}.csv ({name})" for name in SCHEMAS)
        raise ValidationError(
            file_name,
            0,
            f"unknown entity {entity!r} (from the file name)",
            f"movielake ingests only {known}; rename the file to one of those.",
        )
    return entity, SCHEMAS[entity]


def is_csv_name(file_name: str) -> bool:
    """Whether the name ends in ``.csv``, in any case (``series.CSV`` is a CSV)."""
    return PurePosixPath(file_name).suffix.lower() == CSV_SUFFIX


def is_compressed_csv_name(file_name: str) -> bool:
    """Whether the name is a CSV's with a compression suffix (``movies.csv.gz``)."""
    path = PurePosixPath(file_name)
    suffixes = {suffix for _, suffix, _ in COMPRESSIONS.values()}
    return path.suffix.lower() in suffixes and is_csv_name(path.stem)


def check_name(file_name: str) -> None:
    """Only ``*.csv`` names (any case) are ingested; a compressed one is told how to decompress."""
    if is_csv_name(file_name):
        return
    suffix = PurePosixPath(file_name).suffix.lower()
    for kind, (_, compressed_suffix, command) in COMPRESSIONS.items():
        if suffix == compressed_suffix:
            raise ValidationError(
                file_name,
                0,
                f"the file is {kind}-compressed (from its name); movielake ingests plain CSV only",
                f"Decompress it (`{command}`) and upload the .csv.",
            )
    raise ValidationError(
        file_name,
        0,
        "the file name does not end in .csv",
        "Only '|'-separated CSVs named after their entity are ingested (movies.csv, series.csv).",
    )


def _check_not_compressed(file_name: str, head: bytes) -> None:
    """Refuse a file whose first bytes are a compressed format's magic number."""
    for kind, (magic, _, command) in COMPRESSIONS.items():
        if head.startswith(magic):
            raise ValidationError(
                file_name,
                1,
                f"the file is {kind}-compressed (it starts with the {kind} magic bytes "
                f"{magic.hex(' ').upper()}), not a plain-text CSV",
                f"Decompress it (`{command}`) and upload the .csv; movielake ingests plain CSV only.",
                0,
            )


def validate_stream(file_name: str, chunks: Iterable[bytes]) -> Report:
    """Validate a whole CSV given as byte chunks; raise ``ValidationError`` at the first problem.

    Each chunk's complete lines are checked as one block; the partial last line waits for the
    next chunk, so memory stays at about one chunk plus one line.
    """
    entity, columns = schema_for(file_name)
    digest = hashlib.sha256()
    size = rows = 0
    line, offset = 1, 0  # number and byte offset of the first line in ``pending``
    pending = head = b""
    for chunk in chunks:
        digest.update(chunk)
        size += len(chunk)
        pending += chunk
        if len(head) < MAGIC_BYTES:
            head += chunk[: MAGIC_BYTES - len(head)]
            _check_not_compressed(file_name, head)
        cut = pending.rfind(b"\n") + 1
        if cut:
            rows += _check_block(file_name, pending[:cut], line, offset, columns)
            line += pending.count(b"\n", 0, cut)
            offset += cut
            pending = pending[cut:]
        if len(pending) > MAX_LINE_BYTES:
            raise ValidationError(
                file_name,
                line,
                f"the line is longer than {MAX_LINE_BYTES} bytes",
                "Check that the file is a '|'-separated CSV with '\\n' line endings.",
                offset,
            )
    if pending:
        rows += _check_block(file_name, pending, line, offset, columns)
    if size == 0:
        raise ValidationError(file_name, 1, "the file is empty (0 bytes)", "Export it again with its data.")
    if rows == 0:
        raise ValidationError(
            file_name, 1, "the file has a header but no data rows", "Export it again with its data rows."
        )
    return Report(file_name, entity, rows, size, digest.hexdigest())


def validate_file(path: Path) -> Report:
    """Validate a local file by streaming it in ``CHUNK_BYTES`` pieces."""
    with path.open("rb") as handle:
        return validate_stream(path.name, read_chunks(handle))


def read_chunks(handle: BinaryIO, size: int = CHUNK_BYTES) -> Iterator[bytes]:
    """A binary file as a stream of chunks of at most ``size`` bytes."""
    while chunk := handle.read(size):
        yield chunk


def _check_block(file_name: str, block: bytes, line: int, offset: int, columns: tuple[str, ...]) -> int:
    """Check whole lines (the first one is the header when ``line`` is 1); the data rows they hold."""
    if line == 1:
        end = block.find(b"\n")
        header = block if end < 0 else block[:end]
        _check_header(file_name, _decode(file_name, 1, 0, header), columns)
        if end < 0:
            return 0
        block, line, offset = block[end + 1 :], 2, end + 1
    if not block:
        return 0
    if not _rows_look_right(block, columns):
        # Slow path, line by line, only to find and describe the first problem in order.
        for number, start, raw in _lines(block, line, offset):
            text = _decode(file_name, number, start, raw)
            _check_control_bytes(file_name, number, start, raw)
            _check_row(file_name, number, start, text, columns)
    return block.count(b"\n") + (not block.endswith(b"\n"))


@cache
def _row_pattern(columns: tuple[str, ...]) -> re.Pattern[str]:
    """One expression for a good row (split off its block, so without ``\\n``): the header's
    field count, numbers where they are due. Text fields are possessive (``*+``): a ``|``
    always ends them, so the engine need not remember where to backtrack to."""
    fields = [
        f"(?:{NUMBER_PATTERNS[NUMERIC_COLUMNS[c]]}|\\\\N)" if c in NUMERIC_COLUMNS else r"[^|]*+"
        for c in columns
    ]
    return re.compile(re.escape(DELIMITER).join(fields))


def _rows_look_right(block: bytes, columns: tuple[str, ...]) -> bool:
    """Fast check of many rows at once (in C): no control byte (``\\r`` included), UTF-8, no
    blank line, the header's field count and a number or ``\\N`` in each numeric column of
    every row."""
    if any(byte in block for byte in CONTROL_BYTES):
        return False
    try:
        text = block.decode("utf-8")
    except UnicodeDecodeError:
        return False
    rows = text.split("\n")
    if not rows[-1]:
        rows.pop()
    return all(map(_row_pattern(columns).fullmatch, rows))


def _lines(block: bytes, line: int, offset: int) -> Iterator[tuple[int, int, bytes]]:
    """``(line number, byte offset, bytes without \\n)`` for each line of a block."""
    parts = block.split(b"\n")
    if block.endswith(b"\n"):
        parts.pop()  # the empty text after the last newline is not a line
    for raw in parts:
        yield line, offset, raw
        line += 1
        offset += len(raw) + 1


def _decode(file_name: str, number: int, offset: int, raw: bytes) -> str:
    """One line as text; rejects a BOM, CRLF endings and bytes that are not UTF-8."""
    if number == 1 and raw.startswith(UTF8_BOM):
        raise ValidationError(
            file_name,
            1,
            "the file starts with a UTF-8 byte-order mark (BOM), which Athena would read as part "
            "of the first column's name",
            "Save it as UTF-8 without BOM, e.g. `sed -i '1s/^\\xEF\\xBB\\xBF//' FILE`.",
            0,
        )
    if raw.endswith(b"\r"):
        raise ValidationError(
            file_name,
            number,
            "the line ends with CRLF (Windows line endings); Athena would keep the '\\r' in the last column",
            "Convert the file with `dos2unix FILE` and upload it again.",
            offset + len(raw) - 1,
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start]
        raise ValidationError(
            file_name,
            number,
            f"byte 0x{bad:02X} at byte offset {offset + exc.start} is not valid UTF-8 (the file "
            "looks Latin-1 or Windows-1252 encoded)",
            "Convert it with `iconv -f latin1 -t utf-8 FILE > FILE.utf8` and upload that.",
            offset + exc.start,
        ) from None


def _check_control_bytes(file_name: str, number: int, offset: int, raw: bytes) -> None:
    """Refuse the first C0 control byte (tab excepted) of a line, naming it and its byte offset."""
    found = CONTROL_PATTERN.search(raw)
    if found is None:
        return
    byte = raw[found.start()]
    name = "NUL" if byte == 0 else "CR" if byte == 0x0D else "control"
    raise ValidationError(
        file_name,
        number,
        f"{name} byte 0x{byte:02X} at byte offset {offset + found.start()}: no text CSV holds a "
        "control character (tab aside); the file may be binary, UTF-16 or cut by a failed write",
        "Remove the byte (e.g. `tr -d '\\000' < FILE > FILE.clean` for NUL bytes), or export the "
        "file again as UTF-8 text, and upload it again.",
        offset + found.start(),
    )


def _check_header(file_name: str, line: str, columns: tuple[str, ...]) -> None:
    """The header must be exactly the entity's columns, ``|``-separated, in order."""
    if DELIMITER not in line:
        for delimiter, name in OTHER_DELIMITERS.items():
            if delimiter in line:
                raise ValidationError(
                    file_name,
                    1,
                    f"the header looks {name}-separated; movielake expects '{DELIMITER}'",
                    f"Export the file again with '{DELIMITER}' as the delimiter.",
                )
    found = line.split(DELIMITER)
    if tuple(found) == columns:
        return
    missing = [c for c in columns if c not in found]
    extra = [c for c in found if c not in columns]
    problems = []
    if missing:
        problems.append("missing column(s) " + ", ".join(missing))
    if extra:
        problems.append("unknown column(s) " + ", ".join(repr(c) for c in extra))
    if not problems:
        problems.append("the columns are in the wrong order or repeated")
    raise ValidationError(
        file_name,
        1,
        "the header does not match the schema: " + "; ".join(problems),
        "The header must be exactly: " + DELIMITER.join(columns),
    )


def _check_row(file_name: str, number: int, offset: int, line: str, columns: tuple[str, ...]) -> None:
    """A data row has exactly as many fields as the header, and numbers in the numeric columns."""
    if not line:
        raise ValidationError(
            file_name, number, "the line is empty", "Remove blank lines; use \\N for a null value.", offset
        )
    values = line.split(DELIMITER)
    if len(values) != len(columns):
        raise ValidationError(
            file_name,
            number,
            f"the row has {len(values)} fields, expected {len(columns)}",
            f"Check that no value contains '{DELIMITER}' and that no field is missing.",
            offset,
        )
    start = offset
    for column, value in zip(columns, values, strict=True):
        kind = NUMERIC_COLUMNS.get(column)
        if kind and value != "\\N" and not re.fullmatch(NUMBER_PATTERNS[kind], value):
            raise ValidationError(
                file_name,
                number,
                f"column {column} at byte offset {start} is {value!r}, not a {kind} "
                f"(up to 9 digits{', a dot before the decimals' if kind == DECIMAL else ''})",
                "Correct the value, or write \\N if it is unknown, and upload the file again.",
                start,
            )
        start += len(value.encode()) + len(DELIMITER)
