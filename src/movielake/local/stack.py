"""``movielake local up|down|status``: the local stack's life cycle.

``up`` starts the moto server and the TMDB emulator as detached children, deploys
``terraform/`` onto moto (state under the local directory), stores the emulator's freshly
generated key in the deployed Secrets Manager secret (never in tfvars, logs or S3) and writes
``stack.json``: where everything runs, Terraform's outputs and the environment the CLI uses.
``up`` on a running stack re-applies only when ``terraform/``, ``sql/`` or the zips changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from movielake import local
from movielake.config import PROJECT_ROOT
from movielake.local import server
from movielake.local.dispatch import DeliveredLog, Dispatcher
from movielake.local.eventbus import BusLog
from movielake.local.roles import RoleCredentials
from movielake.local.runtime import BUILD_DIR, Invocation, LambdaRuntime
from movielake.local.server import ServerRecord
from movielake.local.terraform import TERRAFORM_DIR, Terraform, TerraformError
from movielake.tmdb.credentials import Credentials, secret_string

log = logging.getLogger(__name__)

REGION = "us-east-1"
ENVIRONMENT = "local"
FIXTURES = PROJECT_ROOT / "data" / "sample" / "tmdb" / "movies.ndjson"
AWS_ENVIRONMENT = {"AWS_REGION": REGION}
# Fail fast on what moto does not implement instead of retrying its HTTP 500s.
_CLIENT_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"})

Echo = Callable[[str], None]


class StackError(RuntimeError):
    """The stack is not up or cannot come up; the message says what to run."""


def make_dispatcher(
    client: Callable[[str], Any],
    endpoint_url: str,
    directory: Path,
    *,
    build_dir: Path = BUILD_DIR,
    region: str = REGION,
    log_sink: Callable[[str], None] | None = None,
    on_invocation: Callable[[str, Invocation], None] | None = None,
    roles: RoleCredentials | None = None,
) -> Dispatcher:
    """Runtime + event sources on ``endpoint_url``; ``client(service)`` makes its clients.

    ``directory`` keeps the extracted zips, the delivered-events log and the default bus's log
    (where the moto server started in it puts the crawlers' events); ``roles`` gives each
    function its execution role's credentials (None: a server that enforces no IAM).
    """
    runtime = LambdaRuntime(
        lambda_client=client("lambda"),
        endpoint_url=endpoint_url,
        region=region,
        build_dir=build_dir,
        cache_dir=directory / "lambda",
        log_sink=log_sink,
        roles=roles,
    )
    return Dispatcher(
        runtime=runtime,
        s3=client("s3"),
        sqs=client("sqs"),
        events=client("events"),
        delivered=DeliveredLog(directory / "delivered.json"),
        region=region,
        on_invocation=on_invocation,
        glue=client("glue"),
        bus=BusLog(server.bus_file(directory)),
    )


def _quiet(_: str) -> None:
    """An echo that prints nothing."""


def new_admin_key() -> dict[str, str]:
    """A fresh access key for the stack's administrator (a local dummy, not a product secret)."""
    alphabet = string.ascii_uppercase + string.digits
    key_id = "AKIA" + "".join(secrets.choice(alphabet) for _ in range(16))
    return {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secrets.token_urlsafe(30)}


def fingerprint(paths: list[Path], extra: str = "") -> str:
    """A hash of the files (names and contents) that a deployment depends on."""
    digest = hashlib.sha256(extra.encode())
    for path in sorted(paths):
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def deployment_inputs(terraform_dir: Path = TERRAFORM_DIR, build_dir: Path = BUILD_DIR) -> list[Path]:
    """Files whose change calls for a new apply: Terraform configuration, SQL files, Lambda zips."""
    files = [p for p in terraform_dir.rglob("*") if p.is_file() and ".terraform" not in p.parts]
    files = [p for p in files if not p.name.endswith((".tfstate", ".tfstate.backup"))]
    files += sorted((PROJECT_ROOT / "sql").glob("*.sql"))
    files += sorted(build_dir.glob("*.zip"))
    return files


@dataclass
class LocalStack:
    """The local stack whose files live in ``directory`` (``build/local`` by default)."""

    directory: Path
    record_path: Path
    terraform_dir: Path = TERRAFORM_DIR
    build_dir: Path = BUILD_DIR
    fixtures: Path = FIXTURES
    echo: Echo = field(default=_quiet)
    _admin: dict[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def default(cls, echo: Echo = _quiet) -> LocalStack:
        """The stack of this checkout (``movielake.config.STACK_FILE`` and its directory)."""
        return cls(directory=local.local_dir(), record_path=local.stack_file(), echo=echo)

    # paths -----------------------------------------------------------------------------------
    @property
    def tfvars(self) -> Path:
        """The generated variables file for the local deployment."""
        return self.directory / "local.tfvars.json"

    def terraform(self) -> Terraform:
        """The Terraform driver for this stack (mirror detected, state in ``directory``)."""
        return Terraform.create(
            self.directory,
            self.terraform_dir,
            # Terraform signs as the stack's administrator, with the local endpoints of the
            # provider configuration; a shell's profile or endpoint must not leak into it.
            drop_env=("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"),
            extra_env={**AWS_ENVIRONMENT, **self.admin_credentials()},
        )

    def admin_credentials(self) -> dict[str, str]:
        """The administrator's access key (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``).

        Created when the stack starts, recorded in ``stack.json``; moto authorizes every
        request, so Terraform, the CLI and the local runtime all sign with a known principal.
        """
        if not self._admin:
            environment = (self.load() or {}).get("environment", {})
            names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
            self._admin = {k: environment[k] for k in names if k in environment}
        return dict(self._admin)

    # record ----------------------------------------------------------------------------------
    def load(self) -> dict[str, Any] | None:
        """The stack record, or None when the stack was never brought up."""
        try:
            return json.loads(self.record_path.read_text())
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise StackError(f"{self.record_path} is unreadable ({exc}); run `movielake local down`") from exc

    def require(self) -> dict[str, Any]:
        """The record of a running stack, or a StackError telling the user to bring it up."""
        record = self.load()
        if record is None:
            raise StackError("the local stack is not up: run `movielake local up`")
        moto = ServerRecord(**record["moto"])
        if not server.runs(moto.pid, moto.marker):
            raise StackError(
                f"the local stack's moto server (pid {moto.pid}) is not running: "
                "run `movielake local down` then `movielake local up`"
            )
        return record

    def is_up(self, record: dict[str, Any] | None) -> bool:
        """True when the record's moto server is running and answering."""
        if not record or "moto" not in record:
            return False
        moto = ServerRecord(**record["moto"])
        return server.runs(moto.pid, moto.marker) and server.http_ok(moto.url + "/moto-api/")

    # up --------------------------------------------------------------------------------------
    def up(self) -> dict[str, Any]:
        """Bring the stack up (or confirm it is up, re-applying what changed); returns the record."""
        self.directory.mkdir(parents=True, exist_ok=True)
        record = self.load()
        if self.is_up(record):
            assert record is not None
            return self._refresh(record)
        if record is not None:
            self.echo("found a stack record whose moto server is gone: cleaning it up")
        self.down(quiet=True)  # leftovers of a dead or half-started stack
        return self._fresh()

    def _refresh(self, record: dict[str, Any]) -> dict[str, Any]:
        """Re-apply a running stack when its inputs changed; otherwise just say it is up."""
        current = fingerprint(deployment_inputs(self.terraform_dir, self.build_dir), self.tfvars.read_text())
        if current == record.get("fingerprint"):
            self.echo(f"local stack already up: moto {record['endpoint_url']} (pid {record['moto_pid']})")
            return record
        self.echo("terraform/, sql/ or the Lambda zips changed since the last apply: re-applying")
        return self._deploy(record["moto"], record.get("emulator"), None)

    def _fresh(self) -> dict[str, Any]:
        """Start the servers, deploy, set the secret; stop the servers again if anything fails."""
        started = time.monotonic()
        self._admin = new_admin_key()
        admin_key = f"{self._admin['AWS_ACCESS_KEY_ID']}:{self._admin['AWS_SECRET_ACCESS_KEY']}"
        moto = server.start_moto(self.directory, managed_policies=False, admin_key=admin_key)
        self.echo(f"moto server: {moto.url} (pid {moto.pid}, log {moto.log})")
        emulator: ServerRecord | None = None
        api_key = secrets.token_hex(16)
        try:
            if server.emulator_available() and self.fixtures.exists():
                emulator = server.start_emulator(self.directory, api_key, self.fixtures)
                self.echo(f"TMDB emulator: {emulator.url} (pid {emulator.pid}, log {emulator.log})")
            else:
                self.echo(
                    "TMDB emulator not available (movielake.local.tmdb_emulator or fixtures missing): skipped"
                )
            record = self._deploy_onto_new_server(moto, emulator, api_key)
        except BaseException:
            self.down(quiet=True)  # stop both servers and drop the half-made state
            raise
        self.echo(f"local stack up in {time.monotonic() - started:.1f} s; record: {self.record_path}")
        return record

    def _deploy_onto_new_server(
        self, moto: ServerRecord, emulator: ServerRecord | None, api_key: str
    ) -> dict[str, Any]:
        """Deploy onto a moto server started for it; from scratch once more if that apply fails.

        moto now and then loses a response under the provider's parallel requests (seen: a
        CreateFunction it logged as 201 that the provider retried into 409 "already exists").
        A new server holds nothing yet, so resetting it and the state loses nothing, and one
        more apply makes bring-up reliable; a second failure is reported as it is.
        """
        try:
            return self._deploy(asdict(moto), asdict(emulator) if emulator else None, api_key)
        except TerraformError as exc:
            self.echo(f"{str(exc).splitlines()[0]}\nresetting the new moto server and applying once more")
        server.reset_moto(moto.url)
        self.terraform().state_file.unlink(missing_ok=True)
        return self._deploy(asdict(moto), asdict(emulator) if emulator else None, api_key)

    def _deploy(
        self, moto: dict[str, Any], emulator: dict[str, Any] | None, api_key: str | None
    ) -> dict[str, Any]:
        """Apply terraform/ onto moto, set the TMDB secret (when given) and write the record."""
        tfvars = self._write_tfvars(moto["url"], emulator["url"] if emulator else None)
        terraform = self.terraform()
        mirror = terraform.plugin_dir or "the public registry"
        self.echo(f"terraform: init (providers from {mirror}) and apply in {self.terraform_dir}")
        began = time.monotonic()
        terraform.init()
        summary = terraform.apply(tfvars, log_path=self.directory / "terraform-apply.log")
        self.echo(
            f"terraform apply took {time.monotonic() - began:.1f} s: {summary} (state {terraform.state_file})"
        )
        outputs = terraform.output()
        environment = {str(k): str(v) for k, v in (outputs.get("cli_environment") or {}).items()}
        environment.update(AWS_ENVIRONMENT, AWS_ENDPOINT_URL=moto["url"], **self.admin_credentials())
        if api_key is not None:
            self._put_secret(moto["url"], environment.get("MOVIELAKE_TMDB_SECRET_ID", ""), api_key)
        record = {
            "endpoint_url": moto["url"],
            "region": REGION,
            "moto_pid": moto["pid"],
            "emulator_pid": emulator["pid"] if emulator else None,
            "emulator_url": emulator["url"] if emulator else None,
            "moto": moto,
            "emulator": emulator,
            "outputs": outputs,
            "environment": environment,
            "fingerprint": fingerprint(
                deployment_inputs(self.terraform_dir, self.build_dir), tfvars.read_text()
            ),
        }
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        self.record_path.write_text(json.dumps(record, indent=2) + "\n")
        return record

    def _write_tfvars(self, endpoint_url: str, emulator_url: str | None) -> Path:
        """The local deployment's variables: moto endpoint, environment name, emulator URL, zips."""
        values: dict[str, Any] = {
            "aws_endpoint_url": endpoint_url,
            "aws_region": REGION,
            "environment": ENVIRONMENT,
            "csv_ingest_zip": str(self.build_dir / "csv_ingest.zip"),
            "tmdb_enrich_zip": str(self.build_dir / "tmdb_enrich.zip"),
        }
        if emulator_url:
            values["tmdb_base_url"] = emulator_url
        self.tfvars.write_text(json.dumps(values, indent=2) + "\n")
        return self.tfvars

    def _put_secret(self, endpoint_url: str, secret_id: str, api_key: str) -> None:
        """Store the emulator's key as the deployed TMDB secret's value."""
        if not secret_id:
            self.echo("warning: no MOVIELAKE_TMDB_SECRET_ID in the outputs; the TMDB secret was not set")
            return
        client = self.client("secretsmanager", endpoint_url)
        client.put_secret_value(SecretId=secret_id, SecretString=secret_string(Credentials(api_key=api_key)))
        self.echo(f"TMDB emulator key stored in secret {secret_id}")

    # down / status ---------------------------------------------------------------------------
    def down(self, quiet: bool = False) -> bool:
        """Stop the servers and forget the deployment (moto's state dies with it); True if it ran."""
        record = self.load() or {}
        stopped = False
        for name in ("emulator", "moto"):
            saved = record.get(name)
            running = ServerRecord(**saved) if saved else ServerRecord.load(self.directory, name)
            if running is not None and server.stop(running):
                stopped = True
                if not quiet:
                    self.echo(f"stopped {name} (pid {running.pid})")
        for name in (
            "stack.json",
            "moto.json",
            "emulator.json",
            "terraform.tfstate",
            "terraform.tfstate.backup",
            "delivered.json",
            server.audit_file(self.directory).name,
            server.bus_file(self.directory).name,
            server.bus_file(self.directory).name + ".cursor",
            self.tfvars.name,
        ):
            with contextlib.suppress(FileNotFoundError):
                (self.directory / name).unlink()
        with contextlib.suppress(FileNotFoundError):
            self.record_path.unlink()
        return stopped

    def status(self) -> dict[str, Any]:
        """What runs where: servers (alive or not), endpoint, outputs."""
        record = self.load()
        if record is None:
            return {"up": False}
        report: dict[str, Any] = {"up": self.is_up(record), "record": str(self.record_path)}
        for name in ("moto", "emulator"):
            saved = record.get(name)
            if saved:
                running = ServerRecord(**saved)
                report[name] = {
                    "url": running.url,
                    "pid": running.pid,
                    "alive": server.runs(running.pid, running.marker),
                    "log": running.log,
                }
        report["outputs"] = record.get("outputs", {})
        return report

    # runtime ---------------------------------------------------------------------------------
    def client(self, service: str, endpoint_url: str) -> Any:
        """A boto3 client on the stack's moto server, signed by the stack's administrator."""
        admin = self.admin_credentials()
        return boto3.client(
            service,
            endpoint_url=endpoint_url,
            region_name=REGION,
            aws_access_key_id=admin.get("AWS_ACCESS_KEY_ID"),
            aws_secret_access_key=admin.get("AWS_SECRET_ACCESS_KEY"),
            config=_CLIENT_CONFIG,
        )

    def dispatcher(
        self,
        log_sink: Callable[[str], None] | None = None,
        on_invocation: Callable[[str, Invocation], None] | None = None,
    ) -> Dispatcher:
        """A dispatcher (runtime + event sources) on the running stack."""
        url = self.require()["endpoint_url"]
        return make_dispatcher(
            lambda service: self.client(service, url),
            url,
            self.directory,
            build_dir=self.build_dir,
            log_sink=log_sink,
            roles=RoleCredentials(self.client("sts", url), url, REGION),
            on_invocation=on_invocation,
        )

    def function_name(self, name: str) -> str:
        """Resolve a short name (``csv-ingest``, ``tmdb_planner``) to the deployed function name."""
        record = self.require()
        names: dict[str, str] = record.get("outputs", {}).get("function_names") or {}
        deployed = set(names.values())
        if name in deployed or name.startswith("arn:"):
            return name
        key = name.replace("-", "_")
        if key in names:
            return names[key]
        for full in deployed:
            if full.endswith("-" + name):
                return full
        choices = ", ".join(sorted(k.replace("_", "-") for k in names)) or "none deployed"
        raise StackError(f"no deployed function {name!r}; choose one of: {choices}")

    def lake_bucket(self) -> str:
        """The deployed lake bucket's name."""
        bucket = self.require().get("outputs", {}).get("lake_bucket")
        if not bucket:
            raise StackError("the stack has no lake_bucket output: run `movielake local up` again")
        return str(bucket)
