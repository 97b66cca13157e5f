"""The local Lambda runtime: run a deployed function's handler from its zip, as Lambda would.

moto stores functions but cannot invoke them without Docker. This runtime reads what was
deployed (``lambda.get_function``: handler, environment, timeout, memory, ``CodeSha256``),
finds the zip in ``build/`` whose base64 SHA-256 equals ``CodeSha256`` (refusing a stale
one), extracts it once into ``<local dir>/lambda/<sha>/`` and runs the handler in a fresh
Python subprocess, like a new sandbox:

- the interpreter is the function's declared runtime (``python3.12`` runs under a CPython
  3.12 found on PATH or under pyenv; none found is an error, not a silent fallback);
- ``sys.path`` is the extracted zip and the standard library only: the zips ship their own
  pinned boto3/botocore (scripts/build_lambdas.py), so the SDK that runs here is the one
  deployed, and a module missing from the zip fails here as it would on AWS;
- nothing is written into the extracted zip (``-B``): Lambda's ``/var/task`` is read-only, so
  a module whose bytecode the zip does not carry is compiled on every cold start, here too;
- the environment is the function's variables plus what Lambda sets (function name,
  memory, region, endpoint, and the temporary credentials of the function's execution role,
  from STS AssumeRole as the Lambda service), nothing from the caller's shell;
- the event goes in on stdin, the result comes back on stdout, logs stream on stderr; once
  the result is out the sandbox ends at once (Lambda answers then and freezes the sandbox:
  neither interpreter teardown nor threads left running delay the answer);
- the context has ``function_name``, ``memory_limit_in_mb``, ``invoked_function_arn``,
  ``aws_request_id`` and ``get_remaining_time_in_millis()`` counting down from the
  function's timeout, which is enforced: the handler is killed when it runs out;
- a function's reserved concurrency is enforced (``movielake.local.concurrency``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movielake.config import PROJECT_ROOT
from movielake.local import metric_lines
from movielake.local.concurrency import reserved_slot
from movielake.local.roles import RoleCredentials

BUILD_DIR = PROJECT_ROOT / "build"
# Where pyenv keeps its interpreters (``<root>/versions/<x.y.z>/bin/python<x.y>``).
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
# Time the sandbox may take to start and import the handler (Lambda's init phase limit).
INIT_TIMEOUT = 10.0

LAMBDA_SERVICE = "lambda.amazonaws.com"

LogSink = Callable[[str], None]


class LocalRuntimeError(RuntimeError):
    """The function cannot be run locally; the message says what to do."""


class StaleZipError(LocalRuntimeError):
    """No zip in build/ matches the deployed code."""


@dataclass(frozen=True)
class FunctionSpec:
    """What Lambda knows about a deployed function, as far as running it goes."""

    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    timeout: int
    memory: int
    code_sha256: str
    runtime: str = "python3.12"
    role: str = ""
    reserved_concurrency: int | None = None  # None: unreserved

    @classmethod
    def from_lambda(cls, lambda_client: Any, name: str) -> FunctionSpec:
        """Read the function's configuration from the Lambda API (``get_function``)."""
        function = lambda_client.get_function(FunctionName=name)
        config = function["Configuration"]
        reserved = function.get("Concurrency", {}).get("ReservedConcurrentExecutions")
        return cls(
            name=config["FunctionName"],
            arn=config["FunctionArn"],
            handler=config["Handler"],
            environment=dict(config.get("Environment", {}).get("Variables", {})),
            timeout=int(config.get("Timeout", 3)),
            memory=int(config.get("MemorySize", 128)),
            code_sha256=config["CodeSha256"],
            runtime=config.get("Runtime", "python3.12"),
            role=config.get("Role", ""),
            reserved_concurrency=None if reserved is None else int(reserved),
        )


@dataclass
class Invocation:
    """The outcome of one invocation: ``status`` is ``ok``, ``error`` or ``timeout``."""

    function: str
    status: str
    result: Any = None
    error: dict[str, Any] | None = None
    duration: float = 0.0
    logs: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the handler returned normally."""
        return self.status == "ok"

    def summary(self) -> dict[str, Any]:
        """The JSON-friendly view printed by the CLI."""
        return {
            "function": self.function,
            "status": self.status,
            "result": self.result,
            "error": self.error,
            "duration": round(self.duration, 3),
        }


def code_sha256(path: Path) -> str:
    """The base64 SHA-256 of a file, as Lambda reports ``CodeSha256``.

    Remembered per path, size and modification time: every invocation looks its zip up, and
    hashing the three zips (over 100 MB) each time would add a tenth of a second to each.
    """
    stat = path.stat()
    return _file_sha256(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _file_sha256(path: Path, size: int, mtime_ns: int) -> str:
    """``code_sha256`` of one version of a file (the size and time key the cache)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()


def find_zip(code_sha: str, build_dir: Path = BUILD_DIR) -> Path:
    """The zip in ``build_dir`` whose content is the deployed code, or StaleZipError."""
    candidates = sorted(build_dir.glob("*.zip"))
    for path in candidates:
        if code_sha256(path) == code_sha:
            return path
    names = ", ".join(p.name for p in candidates) or "none"
    raise StaleZipError(
        f"no zip in {build_dir} matches the deployed code (CodeSha256 {code_sha}; zips: {names}). "
        "The zips changed since the stack was deployed, or were never built: "
        "run `make build` then `movielake local up`"
    )


def safe_name(code_sha: str) -> str:
    """A directory name for a base64 hash (no ``/``)."""
    return base64.b64decode(code_sha).hex()[:32]


def extract(zip_path: Path, code_sha: str, cache_dir: Path) -> Path:
    """Extract the zip once into ``cache_dir/<sha>/`` (atomically) and return that directory."""
    target = cache_dir / safe_name(code_sha)
    if target.is_dir():
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = cache_dir / f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp"  # concurrent workers
    shutil.rmtree(staging, ignore_errors=True)
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(staging)
    try:
        staging.rename(target)
    except OSError:  # extracted concurrently by someone else
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _python_version(executable: str) -> str | None:
    """``major.minor`` of an interpreter, or None when it does not run (e.g. a dangling shim)."""
    try:
        result = subprocess.run(
            [executable, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@functools.lru_cache(maxsize=8)
def find_interpreter(runtime: str, pyenv_root: Path = PYENV_ROOT) -> str:
    """The CPython matching a Lambda runtime name (``python3.12``), or LocalRuntimeError.

    Looks under pyenv's versions first (newest patch release first), then on PATH, and keeps
    the first candidate that really runs as that version.
    """
    match = re.fullmatch(r"python(3\.\d+)", runtime)
    if not match:
        raise LocalRuntimeError(f"runtime {runtime!r} is not a Python runtime the local stack can run")
    version = match.group(1)
    pyenv = sorted(
        pyenv_root.glob(f"versions/{version}.*/bin/python{version}"),
        key=lambda p: [int(n) for n in re.findall(r"\d+", p.parents[1].name)],
        reverse=True,
    )
    on_path = shutil.which(f"python{version}")
    for candidate in [*map(str, pyenv), *([on_path] if on_path else [])]:
        if _python_version(candidate) == version:
            return candidate
    raise LocalRuntimeError(
        f"the function runs on {runtime}, but no Python {version} was found under "
        f"{pyenv_root}/versions/{version}.* or as python{version} on PATH: install it "
        f"(e.g. `pyenv install {version}`) so the local runtime matches Lambda's"
    )


# Runs in the sandbox: argv[1] task dir; stdin {"event","context","handler"}.
BOOTSTRAP = r"""
import importlib, json, os, signal, sys, time, traceback
sys.path[:0] = [sys.argv[1]]
result_fd = os.dup(1)
os.dup2(2, 1)
sys.stdout = sys.stderr
request = json.load(sys.stdin)
info = request["context"]

class Context:
    function_name = info["function_name"]
    function_version = "$LATEST"
    invoked_function_arn = info["invoked_function_arn"]
    memory_limit_in_mb = info["memory_limit_in_mb"]
    aws_request_id = info["aws_request_id"]
    log_group_name = "/aws/lambda/" + info["function_name"]
    log_stream_name = "local/" + info["aws_request_id"]
    identity = None
    client_context = None
    _deadline = 0.0
    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))

def reply(payload):
    with os.fdopen(result_fd, "w") as out:
        out.write(json.dumps(payload, default=str))

def failure(exc):
    return {"errorType": type(exc).__name__, "errorMessage": str(exc),
            "stackTrace": traceback.format_tb(exc.__traceback__)}

try:
    module_name, _, function_name = request["handler"].rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
except Exception as exc:
    traceback.print_exc()
    reply({"status": "error", "error": failure(exc), "phase": "init", "duration": 0.0})
    sys.exit(0)

context = Context()
timeout = float(info["timeout"])
context._deadline = time.monotonic() + timeout
print("START RequestId: %s" % context.aws_request_id, file=sys.stderr, flush=True)
signal.setitimer(signal.ITIMER_REAL, timeout)  # default action: the process dies on time
started = time.monotonic()
try:
    value = handler(request["event"], context)
    signal.setitimer(signal.ITIMER_REAL, 0)
    payload = {"status": "ok", "result": value}
except Exception as exc:
    signal.setitimer(signal.ITIMER_REAL, 0)
    traceback.print_exc()
    payload = {"status": "error", "error": failure(exc)}
payload["duration"] = time.monotonic() - started
print("END RequestId: %s" % context.aws_request_id, file=sys.stderr, flush=True)
sys.stderr.flush()
reply(payload)
os._exit(0)  # the response is out: Lambda freezes the sandbox here, it does not wait on teardown
"""


@dataclass
class LambdaRuntime:
    """Runs deployed functions locally; clients and locations are handed in."""

    lambda_client: Any
    endpoint_url: str
    region: str = "us-east-1"
    build_dir: Path = BUILD_DIR
    cache_dir: Path = field(default_factory=lambda: PROJECT_ROOT / "build" / "local" / "lambda")
    log_sink: LogSink | None = None
    # Execution-role credentials (STS AssumeRole as Lambda); None: a server enforcing no IAM.
    roles: RoleCredentials | None = None
    # Where the functions' embedded-metric-format lines are kept (metric_lines); None: nowhere.
    metrics_file: Path | None = None

    def spec(self, name: str) -> FunctionSpec:
        """The deployed function ``name`` (short or full name, or ARN)."""
        return FunctionSpec.from_lambda(self.lambda_client, name)

    def invoke(self, function: str | FunctionSpec, event: Any, *, wait_for_slot: float = 0.0) -> Invocation:
        """Run the function's handler on ``event`` in a fresh sandbox and return the outcome;
        within its reserved concurrency (``ThrottledError`` when no slot frees up within
        ``wait_for_slot`` seconds)."""
        spec = function if isinstance(function, FunctionSpec) else self.spec(function)
        slots = self.cache_dir.parent / "concurrency"
        with reserved_slot(slots, spec.name, spec.reserved_concurrency, wait_for_slot):
            return self._run(spec, event)

    def _run(self, spec: FunctionSpec, event: Any) -> Invocation:
        """One invocation in a fresh sandbox."""
        python = find_interpreter(spec.runtime)
        task_dir = extract(find_zip(spec.code_sha256, self.build_dir), spec.code_sha256, self.cache_dir)
        request_id = str(uuid.uuid4())
        request = {
            "handler": spec.handler,
            "event": event,
            "context": {
                "function_name": spec.name,
                "invoked_function_arn": spec.arn,
                "memory_limit_in_mb": spec.memory,
                "aws_request_id": request_id,
                "timeout": spec.timeout,
            },
        }
        argv = [python, "-I", "-S", "-B", "-c", BOOTSTRAP, str(task_dir)]
        started = time.monotonic()
        proc = subprocess.Popen(
            argv,
            cwd=task_dir,
            env=self.sandbox_env(spec, task_dir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        logs: list[str] = []
        chunks: list[bytes] = []
        threads = [
            threading.Thread(target=self._feed, args=(proc, json.dumps(request).encode()), daemon=True),
            threading.Thread(target=lambda: chunks.append(proc.stdout.read()), daemon=True),  # type: ignore[union-attr]
            threading.Thread(target=self._stream, args=(proc, spec.name, logs), daemon=True),
        ]
        for thread in threads:
            thread.start()
        try:
            proc.wait(timeout=spec.timeout + INIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for thread in threads:
            thread.join(timeout=5)
        stdout = b"".join(chunks)
        elapsed = time.monotonic() - started
        if self.metrics_file is not None:
            metric_lines.keep(self.metrics_file, spec.name, request_id, logs)
        return self._outcome(spec, proc.returncode, stdout, logs, elapsed)

    def _outcome(
        self, spec: FunctionSpec, returncode: int, stdout: bytes, logs: list[str], elapsed: float
    ) -> Invocation:
        """Turn the sandbox's exit and reply into an Invocation."""
        try:
            reply = json.loads(stdout.decode() or "null")
        except ValueError:
            reply = None
        if isinstance(reply, dict) and reply.get("status") in {"ok", "error"}:
            return Invocation(
                spec.name,
                reply["status"],
                result=reply.get("result"),
                error=reply.get("error"),
                duration=float(reply.get("duration", elapsed)),
                logs=logs,
            )
        if returncode in (-14, -9):  # SIGALRM from the sandbox's own timer, or our kill
            status, error_type = "timeout", "Timeout"
            message = f"Task timed out after {spec.timeout:.2f} seconds"
        else:
            status, error_type = "error", "Runtime.ExitError"
            message = f"Runtime exited with code {returncode} and no result"
        error = {"errorType": error_type, "errorMessage": message}
        return Invocation(spec.name, status, error=error, duration=elapsed, logs=logs)

    def sandbox_env(self, spec: FunctionSpec, task_dir: Path) -> dict[str, str]:
        """The sandbox's environment: the function's variables plus what Lambda itself sets."""
        env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "PYTHONUNBUFFERED": "1",
            "LAMBDA_TASK_ROOT": str(task_dir),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "local",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
        }
        env.update(self.role_environment(spec))
        env.update(spec.environment)
        env["AWS_ENDPOINT_URL"] = self.endpoint_url
        return env

    def role_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """The execution role's temporary credentials, as Lambda puts them in the sandbox."""
        if self.roles is None:
            names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
            return dict.fromkeys(names, "testing")
        if not spec.role:
            raise LocalRuntimeError(f"{spec.name} has no execution role; apply the Terraform stack again")
        return self.roles.environment(spec.role, LAMBDA_SERVICE, spec.name)

    def role_client(self, spec: FunctionSpec, aws_service: str) -> Any | None:
        """A client signed with the function's execution role (None without role credentials).

        Lambda's SQS poller reads and deletes messages with it, so the role needs those
        permissions, as on AWS.
        """
        if self.roles is None:
            return None
        return self.roles.client(aws_service, spec.role, LAMBDA_SERVICE, spec.name)

    @staticmethod
    def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
        """Write the request to the sandbox's stdin (it may have died already: ignore that)."""
        assert proc.stdin is not None
        try:
            proc.stdin.write(data)
            proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def _stream(self, proc: subprocess.Popen[bytes], name: str, logs: list[str]) -> None:
        """Forward the sandbox's stderr line by line to the log sink while collecting it."""
        assert proc.stderr is not None
        for raw in iter(proc.stderr.readline, b""):
            line = raw.decode(errors="replace").rstrip("\n")
            logs.append(line)
            if self.log_sink is not None:
                self.log_sink(f"[{name}] {line}")
        proc.stderr.close()
