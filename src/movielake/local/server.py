"""Detached child servers of the local stack: the moto server and the TMDB emulator.

Each server runs in its own session (it outlives the ``movielake local up`` that started it)
on a free loopback port, logs to ``<local dir>/<name>.log`` and is recorded in
``<local dir>/<name>.json`` (pid, port, url). Stopping checks that the pid still runs the
command it was started with, so a recycled pid is never signalled.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from movielake.local.eventbus import BUS_VARIABLE

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
MOTO_MODULE = "movielake.local.motoserver"
EMULATOR_MODULE = "movielake.local.tmdb_emulator"


class ServerError(RuntimeError):
    """A server did not start or stop; the message says what to look at."""


@dataclass(frozen=True)
class ServerRecord:
    """A running server: what it is, where it listens, where it logs."""

    name: str
    pid: int
    port: int
    url: str
    log: str
    marker: str

    def save(self, directory: Path) -> Path:
        """Write the record to ``<directory>/<name>.json``."""
        path = directory / f"{self.name}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, directory: Path, name: str) -> ServerRecord | None:
        """The saved record of server ``name``, or None when there is none (or it is unreadable)."""
        try:
            return cls(**json.loads((directory / f"{name}.json").read_text()))
        except (OSError, ValueError, TypeError):
            return None


def free_port(host: str = HOST) -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def http_ok(url: str, timeout: float = 1.0) -> bool:
    """True when ``url`` answers HTTP at all (any status: the server is up)."""
    try:
        urllib.request.urlopen(url, timeout=timeout).close()  # noqa: S310 - loopback URL we built
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def pid_alive(pid: int) -> bool:
    """True when ``pid`` is a live process (reaping it first if it is our exited child)."""
    with contextlib.suppress(ChildProcessError, OSError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def runs(pid: int, marker: str) -> bool:
    """True when ``pid`` is alive and its command line contains ``marker`` (guards pid reuse)."""
    if not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return True  # no /proc (macOS): trust the recorded pid
    return marker in cmdline


def start_server(
    name: str,
    argv_for_port: Callable[[int], Sequence[str]],
    health_path: str,
    directory: Path,
    *,
    marker: str,
    env: dict[str, str] | None = None,
    startup_timeout: float = 30.0,
    attempts: int = 3,
) -> ServerRecord:
    """Start ``argv_for_port(port)`` detached on a free port and wait until it answers HTTP.

    A port can be taken between choosing and binding it; the start is then retried on
    another port, up to ``attempts`` times.
    """
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / f"{name}.log"
    last_error = ""
    for _ in range(attempts):
        port = free_port()
        url = f"http://{HOST}:{port}"
        with log_path.open("ab") as log_file:
            proc = subprocess.Popen(
                list(argv_for_port(port)),
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        if wait_until_up(url + health_path, proc, startup_timeout):
            record = ServerRecord(name, proc.pid, port, url, str(log_path), marker)
            record.save(directory)
            log.debug("%s started: pid %s on %s", name, proc.pid, url)
            return record
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
            last_error = f"it did not answer on {url} within {startup_timeout:.0f} s"
        else:
            last_error = f"it exited with code {proc.returncode}"
    raise ServerError(f"{name} did not start ({last_error}); see {log_path}")


def wait_until_up(url: str, proc: subprocess.Popen[bytes], timeout: float) -> bool:
    """Poll ``url`` until it answers, the process exits, or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if http_ok(url):
            return True
        time.sleep(0.1)
    return False


def stop(record: ServerRecord, timeout: float = 10.0) -> bool:
    """Terminate the server's process group (SIGTERM, then SIGKILL); False if it was not running."""
    if not runs(record.pid, record.marker):
        return False
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(record.pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not pid_alive(record.pid):
                return True
            time.sleep(0.05)
    raise ServerError(f"{record.name} (pid {record.pid}) did not stop; kill it by hand")


def start_moto(
    directory: Path, *, managed_policies: bool = True, admin_key: str | None = None
) -> ServerRecord:
    """The moto server (every AWS service the stack uses) with moto's own Lambda triggers off.

    With ``managed_policies``, AWS managed IAM policies (``arn:aws:iam::aws:policy/...``) are
    loaded, as they exist on AWS. That costs about a second per reset, so tests and
    benchmarks go without. With ``admin_key`` (``"<access key id>:<secret>"``) the server
    enforces IAM (:mod:`movielake.local.authz`): that key is its administrator's, and every
    authorization decision is appended to ``<directory>/authorizations.jsonl``. The events its
    services put on the default bus (the crawlers' state changes) go to ``<directory>/events.jsonl``.
    """
    env = {
        **os.environ,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": str(managed_policies).lower(),
        BUS_VARIABLE: str(bus_file(directory)),
    }
    if admin_key:
        from movielake.local.authz import ADMIN_KEY_VARIABLE, AUDIT_VARIABLE

        # In the environment, not on the command line, which `ps` shows.
        env.update({ADMIN_KEY_VARIABLE: admin_key, AUDIT_VARIABLE: str(audit_file(directory))})
    return start_server(
        "moto",
        lambda port: [sys.executable, "-m", MOTO_MODULE, "-H", HOST, "-p", str(port)],
        "/moto-api/",
        directory,
        marker=MOTO_MODULE,
        env=env,
    )


def bus_file(directory: Path) -> Path:
    """Where the moto server's AWS services put their events (the default bus's log)."""
    return directory / "events.jsonl"


def audit_file(directory: Path) -> Path:
    """Where an IAM-enforcing moto server records its authorization decisions."""
    return directory / "authorizations.jsonl"


@contextlib.contextmanager
def temporary_moto() -> Iterator[str]:
    """A moto server for the length of a ``with`` block (tests, benchmarks); yields its URL.

    It runs in a child process: DuckDB scanning a moto server in its own process hangs.
    """
    with tempfile.TemporaryDirectory(prefix="movielake-moto-") as directory:
        record = start_moto(Path(directory), managed_policies=False)
        try:
            yield record.url
        finally:
            stop(record)


def reset_moto(url: str) -> None:
    """Clear every resource in the moto server at ``url``."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(request, timeout=10).close()  # noqa: S310 - loopback URL we built


def emulator_available() -> bool:
    """True when the TMDB emulator module is installed."""
    import importlib.util

    return importlib.util.find_spec(EMULATOR_MODULE) is not None


def start_emulator(directory: Path, api_key: str, fixtures: Path, rate: float | None = None) -> ServerRecord:
    """The local TMDB emulator, serving ``fixtures`` and accepting only ``api_key``."""

    from movielake.local.tmdb_emulator import API_KEY_VARIABLE

    def argv(port: int) -> list[str]:
        args = [sys.executable, "-m", EMULATOR_MODULE, "--port", str(port), "--fixtures", str(fixtures)]
        if rate is not None:
            args += ["--rate", str(rate)]
        return args

    env = {**os.environ, API_KEY_VARIABLE: api_key}  # not on the command line, which `ps` shows
    return start_server("emulator", argv, "/", directory, marker=EMULATOR_MODULE, env=env)
