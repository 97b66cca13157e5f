"""The local stack's Athena: moto's Athena API, with queries that run as Athena runs them.

moto records a query and reports it SUCCEEDED without running it. The launcher
(:mod:`movielake.local.motoserver`) calls :func:`install` before serving, which replaces
moto's query-execution operations with :mod:`movielake.local.athena.service`: the query's
Athena SQL is translated to DuckDB (:mod:`movielake.analysis.translate`) and run in a worker
process over the objects the Glue catalog points at, reading and writing as the caller.

- :mod:`.statements` — what a query string asks for (SELECT, CTAS, DROP TABLE, UNLOAD) and
  Athena's error words;
- :mod:`.catalog` — the catalog and S3 as the caller sees them, tables as DuckDB views;
- :mod:`.worker` — one query, run in a worker process; results, CTAS Parquet and tables;
- :mod:`.scan` — the SQL on DuckDB: translation, bytes scanned, the cutoff, failures;
- :mod:`.results` — the result CSV, Athena's type names, GetQueryResults pages;
- :mod:`.pool` — the worker processes (concurrency, StopQueryExecution kills one);
- :mod:`.service` — executions, states and the API operations;
- :mod:`.access` — the S3 checks Athena makes as the caller outside a query (the result
  bucket at the start, the result file for GetQueryResults).
"""

from __future__ import annotations

import json
import re
import threading
from typing import Any

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")
UNVERIFIED_SECRET = "unverified"  # noqa: S105 - not a secret: a server without IAM enforcement checks no signature


def caller_credentials(response: Any) -> tuple[str, str, str | None]:
    """(access key id, secret, session token) of the request's signer.

    moto knows them: an IAM user's access key, or the temporary credentials STS handed out.
    A server that enforces no IAM may be called with keys it never issued; it checks no
    signature, so the key id with any secret stands in.
    """
    from moto.iam.access_control import create_access_key

    headers = response.headers
    match = _CREDENTIAL.search(headers.get("Authorization", ""))
    key_id = match.group(1) if match else "anonymous"
    token = headers.get("X-Amz-Security-Token")
    try:
        credentials = create_access_key(
            str(response.current_account), "aws", key_id, headers
        ).create_credentials()
        return credentials.access_key, credentials.secret_key, credentials.token
    except Exception:  # moto raises its own failure for an unknown key
        return key_id, UNVERIFIED_SECRET, token


def endpoint(response: Any) -> str:
    """The moto server's URL, as the request reached it."""
    return f"http://{response.headers.get('Host', '127.0.0.1')}"


def install() -> None:
    """Replace moto's query-execution operations with ones that run the query."""
    from moto.athena.responses import AthenaResponse

    from movielake.local.athena import access, service

    def answer(handler: Any) -> Any:
        def operation(self: AthenaResponse) -> Any:
            try:
                return json.dumps(handler(self))
            except service.InvalidRequestError as exc:
                return self.error(str(exc), 400)

        return operation

    def start_query_execution(self: AthenaResponse) -> dict[str, Any]:
        request = json.loads(self.body or "{}")
        execution_id = service.start(self.athena_backend, request, caller_credentials(self), endpoint(self))
        return {"QueryExecutionId": execution_id}

    def get_query_execution(self: AthenaResponse) -> dict[str, Any]:
        execution = service.find(self.athena_backend, self._get_param("QueryExecutionId"))
        return {"QueryExecution": execution.describe()}

    def get_query_results(self: AthenaResponse) -> dict[str, Any]:
        execution = service.find(self.athena_backend, self._get_param("QueryExecutionId"))
        s3 = access.s3_client(caller_credentials(self), endpoint(self), self.region)
        return execution.results(self._get_param("NextToken"), self._get_param("MaxResults"), s3)

    def stop_query_execution(self: AthenaResponse) -> dict[str, Any]:
        service.find(self.athena_backend, self._get_param("QueryExecutionId")).stop()
        return {}

    def list_query_executions(self: AthenaResponse) -> dict[str, Any]:
        workgroup = self._get_param("WorkGroup") or "primary"
        found = service.executions(self.athena_backend).values()
        newest_first = sorted((e for e in found if e.workgroup == workgroup), key=lambda e: -e.submitted)
        return {"QueryExecutionIds": [e.id for e in newest_first]}

    def batch_get_query_execution(self: AthenaResponse) -> dict[str, Any]:
        known = service.executions(self.athena_backend)
        wanted = self._get_param("QueryExecutionIds") or []
        return {
            "QueryExecutions": [known[i].describe() for i in wanted if i in known],
            "UnprocessedQueryExecutionIds": [
                {
                    "QueryExecutionId": i,
                    "ErrorCode": "INVALID_INPUT",
                    "ErrorMessage": "QueryExecution was not found",
                }
                for i in wanted
                if i not in known
            ],
        }

    for name, handler in {
        "start_query_execution": start_query_execution,
        "get_query_execution": get_query_execution,
        "get_query_results": get_query_results,
        "stop_query_execution": stop_query_execution,
        "list_query_executions": list_query_executions,
        "batch_get_query_execution": batch_get_query_execution,
    }.items():
        setattr(AthenaResponse, name, answer(handler))

    create_work_group = AthenaResponse.create_work_group

    def create_work_group_and_warm_up(self: AthenaResponse) -> Any:
        """moto's CreateWorkGroup; the worker processes start meanwhile (a server whose
        Athena is never used starts none), so the first query does not wait ~3 s for them."""
        threading.Thread(target=service.pool, daemon=True).start()
        return create_work_group(self)

    AthenaResponse.create_work_group = create_work_group_and_warm_up  # type: ignore[method-assign]
