"""What the benchmarks share: a synthetic lake in a moto server, and a proxy that counts the
object bytes read from it.

``build_lake`` writes ``films`` synthetic films (the TMDB records the emulator knows, ~97%,
as ``lote_<N>.json`` batches of 100, and the movies CSV with ~4 rows per film) and registers
the contract's catalog tables. ``CountingProxy`` sits on another loopback port in front of
the moto server and forwards every request as it is; it adds up the body bytes of the
``GET``s of objects (not listings, not catalog calls), i.e. what a reader took from S3.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import boto3

from movielake.config import Settings
from movielake.local import sample_lake, synthetic
from movielake.tmdb.records import to_record

BUCKET = "movielake-bench-lake"
RESULTS_BUCKET = "movielake-bench-athena-results"
DATABASE = "movielake_bench_raw"
# The two workgroups terraform/athena.tf makes: the analyses' (enforced) and the refine's.
ANALYSES_WORKGROUP = "movielake-bench"
REFINE_WORKGROUP = "movielake-bench-refine"
REGION = "us-east-1"
RUN_DAY = date(2026, 1, 15)
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade"}


def build_lake(endpoint: str, films: int) -> Settings:
    """Write the synthetic Raw lake and its catalog tables; settings pointing at them."""
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
    glue = boto3.client("glue", endpoint_url=endpoint, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    catalog = list(synthetic.films(films))
    ingested_at = "2026-01-15T03:00:00.000000Z"
    records = [
        to_record(synthetic.tmdb_payload(f), f.imdb_id, ingested_at)
        for f in catalog
        if synthetic.known_to_tmdb(f)
    ]
    batches = sample_lake.write_tmdb_batches(s3, BUCKET, records, RUN_DAY)
    sample_lake.write_csv(s3, BUCKET, "movies.csv", synthetic.csv_text(catalog), RUN_DAY)
    sample_lake.register_contract_tables(glue, DATABASE, BUCKET)
    sample_lake.register_all_partitions(glue, s3, DATABASE)
    create_workgroups(endpoint)
    print(f"lake: {len(records)} TMDB records in {len(batches)} batches, movies CSV of {films} films")
    return Settings(
        lake_bucket=BUCKET,
        glue_database=DATABASE,
        athena_results_bucket=RESULTS_BUCKET,
        athena_workgroup=ANALYSES_WORKGROUP,
        refine_workgroup=REFINE_WORKGROUP,
        endpoint_url=endpoint,
        region=REGION,
    )


def create_workgroups(endpoint: str) -> None:
    """The results bucket and the Athena workgroups, configured as Terraform configures them
    (results under ``athena/``; the analyses' workgroup enforced, the refine's not)."""
    boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(Bucket=RESULTS_BUCKET)
    athena = boto3.client("athena", endpoint_url=endpoint, region_name=REGION)
    sample_lake.create_workgroups(athena, RESULTS_BUCKET, ANALYSES_WORKGROUP, REFINE_WORKGROUP)


class CountingProxy:
    """A loopback HTTP proxy in front of ``upstream`` counting object bytes read through it."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlparse(upstream)
        self.object_bytes = 0
        self.object_gets = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.object_bytes = self.object_gets = 0

    def _count(self, method: str, path: str, status: int, size: int) -> None:
        parsed = urlparse(path)
        is_object = method == "GET" and parsed.path.count("/") >= 2 and "list-type" not in parsed.query
        if is_object and status in (200, 206):
            with self._lock:
                self.object_bytes += size
                self.object_gets += 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                return

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
                upstream = http.client.HTTPConnection(
                    proxy.upstream.hostname, proxy.upstream.port, timeout=120
                )
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    data = response.read()
                finally:
                    upstream.close()
                proxy._count(self.command, self.path, response.status, len(data))
                self.send_response(response.status)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP_HEADERS and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_HEAD = do_PUT = do_POST = do_DELETE = _forward  # noqa: N815

        return Forward

    @contextmanager
    def running(self) -> Iterator[CountingProxy]:
        """Serve until the block ends."""
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()
