"""Athena's query API in the moto server: executions that really run, as their caller.

``StartQueryExecution`` checks what Athena refuses before queuing (no result location, a
CTAS ``external_location`` in a workgroup that enforces its own), resolves the result
configuration (the workgroup's when ``EnforceWorkGroupConfiguration``, else the request's,
falling back to the workgroup's), and queues the query for the worker pool with the caller's
credentials. The execution goes QUEUED -> RUNNING -> SUCCEEDED / FAILED / CANCELLED;
``GetQueryExecution``, ``GetQueryResults``, ``StopQueryExecution``,
``ListQueryExecutions`` and ``BatchGetQueryExecution`` read and steer it.

Executions live on moto's Athena backend object, so ``/moto-api/reset`` forgets them.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from movielake.local.athena import access, results
from movielake.local.athena.pool import Pool
from movielake.local.athena.statements import QueryError, Statement, parse
from movielake.local.athena.worker import Job, Outcome

FINISHED = frozenset({"SUCCEEDED", "FAILED", "CANCELLED"})
ENGINE_VERSION = "Athena engine version 3"
ENFORCED_EXTERNAL_LOCATION = (
    "The Create Table As Select query failed because it was submitted with an 'external_location' property "
    "to an Athena Workgroup that enforces a centralized output location for all queries. Please remove the "
    "'external_location' property and resubmit the query."
)
NO_OUTPUT_LOCATION = (
    "No output location provided. An output location is required either through the Workgroup result "
    "configuration setting or as an API input."
)
_SUBSTATEMENT = {
    "SELECT": "SELECT",
    "CTAS": "CREATE_TABLE_AS_SELECT",
    "DROP_TABLE": "DROP_TABLE",
    "UNLOAD": "UNLOAD",
}
_POOL: Pool | None = None
_POOL_LOCK = threading.Lock()


class InvalidRequestError(Exception):
    """Athena's InvalidRequestException: the request is refused outright (HTTP 400)."""


def pool() -> Pool:
    """The server's worker pool, started on the first query."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = Pool()
        return _POOL


@dataclass
class QueryExecution:
    """One query execution and what GetQueryExecution says of it."""

    id: str
    query: str
    statement: Statement | None
    workgroup: str
    context: dict[str, str]
    result_configuration: dict[str, Any]
    selected_engine: str
    token: str | None = None  # ClientRequestToken
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    completed: float | None = None
    state: str = "QUEUED"
    outcome: Outcome | None = None
    stopped: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def begin(self) -> bool:
        """A worker takes the query: RUNNING, unless it was stopped while queued."""
        with self.lock:
            if self.state != "QUEUED":
                return False
            self.state, self.started = "RUNNING", time.time()
            return True

    def finish(self, outcome: Outcome | None) -> None:
        """The query ended (None: stopped while running)."""
        with self.lock:
            self.outcome = outcome or Outcome("CANCELLED")
            self.state, self.completed = self.outcome.state, time.time()

    def stop(self) -> None:
        """StopQueryExecution: CANCELLED now if queued, else once its worker is killed."""
        with self.lock:
            if self.state in FINISHED:
                return
            self.stopped.set()
            if self.state == "QUEUED":
                self.outcome = Outcome("CANCELLED")
                self.state, self.completed = "CANCELLED", time.time()

    def describe(self) -> dict[str, Any]:
        """The ``QueryExecution`` structure of GetQueryExecution."""
        outcome = self.outcome or Outcome(self.state)
        status: dict[str, Any] = {"State": self.state, "SubmissionDateTime": self.submitted}
        if self.completed is not None:
            status["CompletionDateTime"] = self.completed
        if outcome.reason:
            status["StateChangeReason"] = outcome.reason
        if self.state == "FAILED":
            status["AthenaError"] = {
                "ErrorCategory": outcome.category,
                "ErrorType": outcome.error_type or 1000,
                "Retryable": False,
                "ErrorMessage": outcome.reason,
            }
        end = self.completed or time.time()
        statistics: dict[str, Any] = {
            "EngineExecutionTimeInMillis": int(1000 * (end - (self.started or end))),
            "DataScannedInBytes": outcome.scanned,
            "TotalExecutionTimeInMillis": int(1000 * (end - self.submitted)),
            "QueryQueueTimeInMillis": int(1000 * ((self.started or end) - self.submitted)),
            "ServicePreProcessingTimeInMillis": 0,
            "QueryPlanningTimeInMillis": 0,
            "ServiceProcessingTimeInMillis": 0,
            "ResultReuseInformation": {"ReusedPreviousResult": False},
        }
        if outcome.manifest:
            statistics["DataManifestLocation"] = outcome.manifest
        kind = self.statement.kind if self.statement else "SELECT"
        return {
            "QueryExecutionId": self.id,
            "Query": self.query,
            "StatementType": self.statement.statement_type if self.statement else "DML",
            "SubstatementType": _SUBSTATEMENT[kind],
            "ResultConfiguration": {**self.result_configuration, "OutputLocation": self.output_location()},
            "QueryExecutionContext": self.context,
            "Status": status,
            "Statistics": statistics,
            "WorkGroup": self.workgroup,
            "EngineVersion": {
                "SelectedEngineVersion": self.selected_engine,
                "EffectiveEngineVersion": ENGINE_VERSION,
            },
        }

    def output_location(self) -> str:
        """Where the result is (or will be) written."""
        if self.outcome is not None and self.outcome.output:
            return self.outcome.output
        directory = self.result_configuration["OutputLocation"]
        kind = self.statement.kind if self.statement else "SELECT"
        suffix = {"SELECT": ".csv", "CTAS": "", "UNLOAD": "", "DROP_TABLE": ".txt"}[kind]
        return f"{directory}{'tables/' if kind == 'CTAS' else ''}{self.id}{suffix}"

    def results(self, next_token: str | None, max_results: int | None, s3: Any) -> dict[str, Any]:
        """One page of GetQueryResults; ``s3`` (the caller's client) must read the result file."""
        if max_results is not None and not 1 <= max_results <= results.MAX_RESULTS:
            raise InvalidRequestError(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy "
                f"constraint: Member must have value less than or equal to {results.MAX_RESULTS}"
            )
        if self.state in ("QUEUED", "RUNNING"):
            raise InvalidRequestError(f"Query has not yet finished. Current state: {self.state}")
        if self.state != "SUCCEEDED" or self.outcome is None:
            raise InvalidRequestError(f"Query did not finish successfully. Final query state: {self.state}")
        if self.outcome.output.endswith(".csv"):
            try:
                access.check_result_readable(s3, self.outcome.output)
            except access.AccessError as exc:
                raise InvalidRequestError(str(exc)) from exc
        start = int(next_token) if next_token and next_token.isdigit() else 0
        return results.page(
            self.outcome.names,
            self.outcome.rows,
            self.outcome.columns,
            start=start,
            max_results=max_results or results.MAX_RESULTS,
            update_count=self.outcome.update_count,
        )


def executions(backend: Any) -> dict[str, QueryExecution]:
    """The executions of one moto Athena backend (account and region)."""
    if not hasattr(backend, "movielake_executions"):
        backend.movielake_executions = {}
    return backend.movielake_executions  # type: ignore[no-any-return]


def find(backend: Any, execution_id: str) -> QueryExecution:
    """The execution, or Athena's InvalidRequestException."""
    execution = executions(backend).get(execution_id or "")
    if execution is None:
        raise InvalidRequestError(f"QueryExecution {execution_id} was not found")
    return execution


def start(
    backend: Any, request: dict[str, Any], credentials: tuple[str, str, str | None], endpoint_url: str
) -> str:
    """StartQueryExecution: validate, resolve the result configuration, queue; the id."""
    token = request.get("ClientRequestToken")
    earlier = next((e for e in executions(backend).values() if token and e.token == token), None)
    if earlier is not None:  # idempotent: the same request starts one query
        if earlier.query != request.get("QueryString", ""):
            raise InvalidRequestError("ClientRequestToken was used before with another QueryString")
        return earlier.id
    if request.get("ExecutionParameters"):  # result reuse is merely never done: always a fresh run
        raise InvalidRequestError("ExecutionParameters are not carried by the local Athena stand-in")
    catalog = (request.get("QueryExecutionContext") or {}).get("Catalog", "AwsDataCatalog")
    if catalog.lower() != "awsdatacatalog":
        raise InvalidRequestError(f"the local Athena stand-in reads the Glue catalog only, not {catalog!r}")
    name = request.get("WorkGroup") or "primary"
    workgroup = backend.work_groups.get(name)
    if workgroup is None:
        raise InvalidRequestError(f"WorkGroup {name} is not found.")
    configuration = workgroup.configuration
    enforced = bool(configuration.get("EnforceWorkGroupConfiguration"))
    result_configuration = _result_configuration(configuration, request.get("ResultConfiguration"), enforced)
    s3 = access.s3_client(credentials, endpoint_url, backend.region_name)
    try:
        access.check_output_bucket(s3, result_configuration["OutputLocation"])
    except access.AccessError as exc:
        raise InvalidRequestError(str(exc)) from exc
    query = request.get("QueryString", "")
    try:
        statement: Statement | None = parse(query)
    except QueryError:
        statement = None  # fails when it runs, as Athena reports a syntax error
    if statement is not None and statement.kind == "CTAS" and statement.external_location and enforced:
        raise InvalidRequestError(ENFORCED_EXTERNAL_LOCATION)
    from moto.moto_api._internal import mock_random

    context = dict(request.get("QueryExecutionContext") or {})
    execution = QueryExecution(
        id=str(mock_random.uuid4()),
        query=query,
        statement=statement,
        workgroup=name,
        context=context,
        result_configuration=result_configuration,
        selected_engine=(configuration.get("EngineVersion") or {}).get("SelectedEngineVersion", "AUTO"),
        token=token,
    )
    executions(backend)[execution.id] = execution
    job = Job(
        query_id=execution.id,
        query=query,
        database=(context.get("Database") or "default").lower(),
        endpoint_url=endpoint_url,
        region=backend.region_name,
        credentials=credentials,
        output_location=result_configuration["OutputLocation"],
        encryption=dict(result_configuration.get("EncryptionConfiguration") or {}),
        enforced=enforced,
        cutoff=configuration.get("BytesScannedCutoffPerQuery"),
    )
    pool().submit(job, execution.stopped, execution.begin, execution.finish)
    return execution.id


def _result_configuration(
    workgroup: dict[str, Any], request: dict[str, Any] | None, enforced: bool
) -> dict[str, Any]:
    """The result location and encryption a query uses (its directory ends in "/")."""
    configured = dict(workgroup.get("ResultConfiguration") or {})
    chosen = configured if enforced or not request else {**configured, **request}
    if enforced and not configured.get("OutputLocation"):
        chosen = {**(request or {}), **configured}
    location = chosen.get("OutputLocation") or ""
    if not location.startswith("s3://") or len(location) <= len("s3://"):
        raise InvalidRequestError(NO_OUTPUT_LOCATION)
    chosen["OutputLocation"] = location if location.endswith("/") else location + "/"
    return {k: v for k, v in chosen.items() if k in ("OutputLocation", "EncryptionConfiguration")}
