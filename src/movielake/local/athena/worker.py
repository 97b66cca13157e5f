"""One query, run in a worker process as the caller: the stand-in's execution engine.

The moto server hands a :class:`Job` (the query, the caller's credentials, where results go)
to a worker process (:mod:`movielake.local.athena.pool`), which calls back into the same
server over HTTP signed as the caller — Glue and S3 through boto3, the objects through
DuckDB's httpfs — so the server's IAM enforcement judges every read and write as AWS judges
Athena's. DuckDB runs here, never in the server process: DuckDB scanning a moto server in its
own process hangs.

The SQL itself runs in :mod:`movielake.local.athena.scan` (translation, bytes scanned, the
cutoff); this module writes what the statement produces: the result CSV, CTAS and UNLOAD
Parquet, manifests, the Glue table.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from movielake.analysis.duckdb_engine import LOAD_THREADS
from movielake.analysis.translate import duckdb_to_glue_type
from movielake.catalog.paths import parse_s3_path
from movielake.config import Settings
from movielake.duckdb_s3 import connect
from movielake.local.athena import results, scan
from movielake.local.athena.catalog import DENIED_CODES, CatalogReader
from movielake.local.athena.statements import SYSTEM_ERROR, QueryError, Statement, parse, qualified
from movielake.refine.catalog import parquet_table_input

_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"})
_COMPRESSION = {
    "SNAPPY": "snappy",
    "GZIP": "gzip",
    "ZSTD": "zstd",
    "NONE": "uncompressed",
    "UNCOMPRESSED": "uncompressed",
}


@dataclass(frozen=True)
class Job:
    """What a worker needs to run one query as its caller."""

    query_id: str
    query: str
    database: str
    endpoint_url: str
    region: str
    credentials: tuple[str, str, str | None]  # access key id, secret, session token
    output_location: str  # the result directory, ending in "/"
    encryption: dict[str, str] = field(default_factory=dict)  # EncryptionOption, KmsKey
    enforced: bool = False
    cutoff: int | None = None


@dataclass
class Outcome:
    """How the query ended, and what GetQueryExecution/GetQueryResults then show."""

    state: str
    reason: str = ""
    error_type: int = 0
    category: int = 2  # Athena's ErrorCategory: 1 system, 2 user
    scanned: int = 0
    names: list[str] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    output: str = ""  # ResultConfiguration.OutputLocation
    manifest: str = ""  # Statistics.DataManifestLocation
    update_count: int | None = None


def run(job: Job) -> Outcome:
    """Run the job's statement; never raises (a failure is a FAILED outcome)."""
    try:
        return Execution(job).run(parse(job.query))
    except QueryError as exc:
        return Outcome("FAILED", exc.reason, exc.error_type, exc.category)
    except scan.CancelledError as exc:
        return Outcome("CANCELLED", scan.CUTOFF_REASON, scanned=exc.scanned)
    except Exception as exc:  # any other failure is Athena's internal error
        return Outcome("FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}", 1201, SYSTEM_ERROR)


class Caller:
    """boto3 and DuckDB signed as one caller, kept by the worker across that caller's queries
    (a session, its clients and DuckDB with httpfs cost ~0.5 s to make)."""

    def __init__(self, job: Job) -> None:
        key, secret, token = job.credentials
        self.session = boto3.session.Session(
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name=job.region,
        )
        self.s3 = self.session.client("s3", endpoint_url=job.endpoint_url, config=_CLIENT_CONFIG)
        self.glue = self.session.client("glue", endpoint_url=job.endpoint_url, config=_CLIENT_CONFIG)
        settings = Settings(endpoint_url=job.endpoint_url, region=job.region)
        # Reading many small objects is bound by request latency: the local engine's reader threads.
        self.connection = connect(settings, session=self.session, threads=LOAD_THREADS)
        self.connection.execute("CALL enable_logging('HTTP')")
        # Athena reads the objects on every query: no cached blocks (they would not count as scanned).
        self.connection.execute("SET enable_external_file_cache = false")


_CALLERS: dict[tuple[Any, ...], Caller] = {}
_KEPT_CALLERS = 4


def caller(job: Job) -> Caller:
    """The worker's session for the job's caller, its HTTP log emptied for this query."""
    key = (job.credentials, job.endpoint_url, job.region)
    found = _CALLERS.pop(key, None)
    if found is None:
        found = Caller(job)
        while len(_CALLERS) >= _KEPT_CALLERS:
            _CALLERS.pop(next(iter(_CALLERS))).connection.close()
    else:
        found.connection.execute("CALL truncate_duckdb_logs()")
    _CALLERS[key] = found  # the most recently used last
    return found


class Execution:
    """The job's statement, run with its caller's session."""

    def __init__(self, job: Job) -> None:
        self.job = job
        session = caller(job)
        self.s3, self.glue, self.connection = session.s3, session.glue, session.connection
        self.catalog = CatalogReader(self.glue, self.s3, job.database)

    def scanned(self) -> int:
        """Bytes httpfs has fetched from S3 for this query so far."""
        return scan.scanned(self.connection)

    def materialise(self, sql: str, origin: tuple[int, int] = (1, 1)) -> tuple[list[str], list[str], int]:
        """The query into ``__result`` (see :func:`scan.materialise`)."""
        return scan.materialise(
            self.connection, self.catalog, sql, origin, self.job.cutoff, self.job.endpoint_url
        )

    def run(self, statement: Statement) -> Outcome:
        """Run one parsed statement."""
        if statement.kind == "SELECT":
            return self.select(statement)
        if statement.kind == "CTAS":
            return self.ctas(statement)
        if statement.kind == "UNLOAD":
            return self.unload(statement)
        return self.drop_table(statement)

    # queries ---------------------------------------------------------------------------------
    def select(self, statement: Statement) -> Outcome:
        """A query: its rows to ``<output>/<id>.csv`` (and ``.csv.metadata``) and the API."""
        names, types, _ = self.materialise(statement.sql)
        shown = [
            [results.text(v) for v in row] for row in self.connection.execute("FROM __result").fetchall()
        ]
        columns = results.column_info(names, types)
        output = f"{self.job.output_location}{self.job.query_id}.csv"
        self.put(output, results.csv_bytes(names, shown))
        self.put(f"{output}.metadata", _metadata(columns))
        return Outcome(
            "SUCCEEDED", scanned=self.scanned(), names=names, columns=columns, rows=shown, output=output
        )

    def ctas(self, statement: Statement) -> Outcome:
        """CREATE TABLE AS SELECT: Parquet under the table's location, the table in Glue."""
        database = statement.database or self.job.database
        self.catalog.check_database(database)
        if self.catalog.table(database, statement.table) is not None:
            if statement.if_exists:
                return self._written(0, f"{self.job.output_location}tables/{self.job.query_id}", [])
            raise QueryError(
                f"TABLE_ALREADY_EXISTS: line {statement.position}: Destination table "
                f"'{qualified(database, statement.table)}' already exists",
                error_type=1101,
            )
        location = statement.external_location or self._table_location()
        location = location if location.endswith("/") else location + "/"
        if self._has_objects(location):
            raise QueryError(
                "HIVE_PATH_ALREADY_EXISTS: Target directory for table "
                f"'{database}.{statement.table}' already exists: {location}",
                error_type=1101,
            )
        compression = statement.properties.get("write_compression") or statement.properties.get(
            "parquet_compression", "GZIP"
        )
        count, files, described = self._write_parquet(statement.sql, location, compression, statement.origin)
        columns = [(name, duckdb_to_glue_type(kind)) for name, kind in described]
        try:
            self.glue.create_table(
                DatabaseName=database, TableInput=parquet_table_input(statement.table, location, columns)
            )
        except ClientError as exc:
            raise self.catalog._refused(exc) from exc
        return self._written(count, f"{self.job.output_location}tables/{self.job.query_id}", files)

    def unload(self, statement: Statement) -> Outcome:
        """UNLOAD: the query's rows as Parquet under an empty ``TO`` location."""
        fmt = statement.properties.get("format", "PARQUET").upper()
        if fmt != "PARQUET":
            raise QueryError(
                f"NOT_SUPPORTED: UNLOAD format {fmt!r} is not carried by the local Athena stand-in"
            )
        location = statement.location if statement.location.endswith("/") else statement.location + "/"
        if self._has_objects(location):
            raise QueryError(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for UNLOAD already exists: {location}"
            )
        count, files, _ = self._write_parquet(
            statement.sql, location, statement.properties.get("compression", "GZIP")
        )
        return self._written(count, f"{self.job.output_location}{self.job.query_id}", files)

    def drop_table(self, statement: Statement) -> Outcome:
        """DROP TABLE: the Glue table goes, its objects stay (as Athena leaves them)."""
        database = statement.database or self.job.database
        self.catalog.check_database(database)
        if self.catalog.table(database, statement.table) is None:
            if statement.if_exists:
                return Outcome("SUCCEEDED", output=f"{self.job.output_location}{self.job.query_id}.txt")
            raise QueryError(
                f"TABLE_NOT_FOUND: line 1:1: Table '{qualified(database, statement.table)}' does not exist",
                error_type=1301,
            )
        try:
            self.glue.delete_table(DatabaseName=database, Name=statement.table)
        except ClientError as exc:
            raise self.catalog._refused(exc) from exc
        return Outcome("SUCCEEDED", output=f"{self.job.output_location}{self.job.query_id}.txt")

    # writing ---------------------------------------------------------------------------------
    def _table_location(self) -> str:
        """Where a CTAS without external_location writes (Athena User Guide, CTAS considerations)."""
        if self.job.enforced:
            return f"{self.job.output_location}tables/{self.job.query_id}/"
        today = dt.datetime.now(dt.UTC)
        return f"{self.job.output_location}Unsaved/{today:%Y/%m/%d}/tables/{self.job.query_id}/"

    def _has_objects(self, location: str) -> bool:
        bucket, prefix = parse_s3_path(location)
        try:
            return bool(self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount"))
        except ClientError as exc:
            if exc.response["Error"]["Code"] in DENIED_CODES:
                raise QueryError(f"Permission denied on S3 path: {location}", error_type=1100) from exc
            raise

    def _write_parquet(
        self, sql: str, location: str, compression: str, origin: tuple[int, int] = (1, 1)
    ) -> tuple[int, list[str], list[tuple[str, str]]]:
        """Run ``sql`` and write its rows as one Parquet object under ``location`` (none when
        there are no rows); (row count, object URLs, (column, DuckDB type))."""
        codec = _COMPRESSION.get(compression.upper())
        if codec is None:
            raise QueryError(f"INVALID_TABLE_PROPERTY: Unsupported compression codec: {compression}")
        names, types, count = self.materialise(sql, origin)
        unnamed = [i for i, name in enumerate(names, 1) if name.startswith("_col") and name[4:].isdigit()]
        if unnamed:
            raise QueryError(
                f"MISSING_COLUMN_NAME: line 1:1: Column name not specified at position {unnamed[0]}",
                error_type=1002,
            )
        described = list(zip(names, types, strict=True))
        if not count:
            return 0, [], described
        with tempfile.TemporaryDirectory(prefix="movielake-athena-") as scratch:
            path = Path(scratch) / "part.parquet"
            renamed = ", ".join(
                f'"{old}" AS "{new}"' for old, new in zip(self._result_columns(), names, strict=True)
            )
            self.connection.execute(
                f"COPY (SELECT {renamed} FROM __result) TO '{path}' (FORMAT parquet, COMPRESSION {codec})"  # noqa: S608
            )
            url = f"{location}{dt.datetime.now(dt.UTC):%Y%m%d_%H%M%S}_{self.job.query_id}_00000"
            self.put(url, path.read_bytes())
        return count, [url], described

    def _result_columns(self) -> list[str]:
        return [str(r[0]) for r in self.connection.execute("DESCRIBE __result").fetchall()]

    def _written(self, count: int, output: str, files: list[str]) -> Outcome:
        """A CTAS/UNLOAD's manifest (the data files) and metadata, and its ``rows`` result."""
        manifest = f"{output}-manifest.csv"
        self.put(manifest, "".join(f"{url}\n" for url in files).encode())
        columns = results.column_info(["rows"], ["BIGINT"])
        self.put(f"{output}.metadata", _metadata(columns))
        return Outcome(
            "SUCCEEDED",
            scanned=self.scanned(),
            names=["rows"],
            columns=columns,
            rows=[[str(count)]],
            output=output,
            manifest=manifest,
            update_count=count,
        )

    def put(self, url: str, body: bytes) -> None:
        """Write an object as the caller, encrypted as the workgroup's result configuration says."""
        bucket, key = url.removeprefix("s3://").split("/", 1)
        extra: dict[str, str] = {}
        option = self.job.encryption.get("EncryptionOption")
        if option == "SSE_KMS":
            extra = {"ServerSideEncryption": "aws:kms"}
            if self.job.encryption.get("KmsKey"):
                extra["SSEKMSKeyId"] = self.job.encryption["KmsKey"]
        elif option == "SSE_S3":
            extra = {"ServerSideEncryption": "AES256"}
        try:
            self.s3.put_object(Bucket=bucket, Key=key, Body=body, **extra)
        except ClientError as exc:
            if exc.response["Error"]["Code"] in DENIED_CODES:
                raise QueryError(
                    f"Access denied when writing output to url: {url} . Please ensure you are allowed to "
                    "access the S3 bucket. If you are encrypting query results with KMS key, please "
                    "ensure you are allowed to access your KMS key",
                    error_type=1100,
                ) from exc
            raise


def _metadata(columns: list[dict[str, Any]]) -> bytes:
    """The ``.metadata`` object: the result's column info (JSON here; Athena's is binary)."""
    return json.dumps({"ColumnInfo": columns}).encode()
