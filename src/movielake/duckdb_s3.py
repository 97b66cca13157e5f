"""DuckDB sessions that read the lake straight from S3 (httpfs), shared by the analyses and
the TMDB planner's film selection.

httpfs is loaded from the ``duckdb-extension-httpfs`` package (never downloaded: Lambda and
this project's CI have no extension repository); the S3 secret is built from boto3's
credential chain, region and the configured endpoint, so the same session reads a moto server
or a real bucket with the caller's (or the Lambda role's) temporary credentials.

TLS to S3 is verified against certifi's CA bundle, named explicitly (``ca_cert_file``, with
``enable_server_cert_verification``): httpfs would otherwise look for the CA file at a path
fixed when it was compiled, which the Lambda runtime's image need not have. The bundle ships
in each zip that carries DuckDB (scripts/build_lambdas.py).
"""

from __future__ import annotations

import importlib.util
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from movielake import aws
from movielake.config import Settings

if TYPE_CHECKING:
    import boto3
    import duckdb


class DuckDBSetupError(RuntimeError):
    """DuckDB cannot be set up to read the lake; the message says what is missing."""


def sql_string(value: str) -> str:
    """A single-quoted SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def httpfs_extension_path() -> Path:
    """The httpfs extension file shipped by the ``duckdb-extension-httpfs`` package."""
    spec = importlib.util.find_spec("duckdb_extension_httpfs")
    if spec is None or not spec.submodule_search_locations:
        raise DuckDBSetupError("the duckdb-extension-httpfs package is not installed")
    import duckdb

    version = duckdb.__version__
    for location in spec.submodule_search_locations:
        candidates = sorted(Path(location).glob("extensions/*/httpfs.duckdb_extension"))
        exact = [c for c in candidates if c.parent.name == f"v{version}"]
        if exact or candidates:
            return (exact or candidates)[-1]
    raise DuckDBSetupError("no httpfs.duckdb_extension file in the duckdb-extension-httpfs package")


def ca_bundle_path() -> Path:
    """certifi's CA bundle: the file DuckDB verifies S3's TLS certificates against."""
    try:
        import certifi
    except ImportError as exc:
        raise DuckDBSetupError("the certifi package is not installed (DuckDB's CA bundle)") from exc
    path = Path(certifi.where())
    if not path.is_file():
        raise DuckDBSetupError(f"certifi's CA bundle {path} is missing")
    return path


def s3_secret_sql(settings: Settings, session: boto3.session.Session | None = None) -> str:
    """``CREATE SECRET`` for DuckDB from boto3's credentials, region and the configured endpoint
    (those of ``session`` when given)."""
    session = session or aws.session(settings)
    credentials = session.get_credentials()
    if credentials is None:
        raise DuckDBSetupError("no AWS credentials found for DuckDB to read the lake")
    frozen = credentials.get_frozen_credentials()
    options = [
        "TYPE s3",
        f"KEY_ID {sql_string(frozen.access_key)}",
        f"SECRET {sql_string(frozen.secret_key)}",
        f"REGION {sql_string(session.region_name or aws.DEFAULT_REGION)}",
    ]
    if frozen.token:
        options.append(f"SESSION_TOKEN {sql_string(frozen.token)}")
    if settings.endpoint_url:
        endpoint = urlparse(settings.endpoint_url)
        options += [
            f"ENDPOINT {sql_string(endpoint.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}",
        ]
    return f"CREATE OR REPLACE SECRET movielake_s3 ({', '.join(options)})"


def connect(
    settings: Settings | None = None, *, session: boto3.session.Session | None = None, **config: Any
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with ``config``; with ``settings``, httpfs and the S3 secret
    (from ``session``'s credentials when given).

    DuckDB's home and spill directories are the temporary directory: a Lambda's only writable
    place (its ``HOME`` may be unset). No progress bar: it would write into stdout and the logs.
    """
    import duckdb

    scratch = tempfile.gettempdir()
    connection = duckdb.connect(config={"home_directory": scratch, "temp_directory": scratch, **config})
    connection.execute("SET enable_progress_bar = false")
    if settings is not None:
        connection.execute(f"LOAD {sql_string(str(httpfs_extension_path()))}")
        connection.execute(f"SET ca_cert_file = {sql_string(str(ca_bundle_path()))}")
        connection.execute("SET enable_server_cert_verification = true")
        connection.execute(s3_secret_sql(settings, session))
    return connection
