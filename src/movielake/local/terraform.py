"""The Terraform driver: offline provider installation, init, apply, plan, output, passthrough.

Terraform runs in the repository's ``terraform/`` directory, but everything it writes for the
local stack goes under the local directory (``build/local/``): the CLI configuration, the
``.terraform`` data directory (``TF_DATA_DIR``) and the state (``-state``), so ``terraform/``
never holds local state.

The ``hashicorp/aws`` provider comes from a filesystem mirror when there is one:
``MOVIELAKE_TF_PLUGIN_DIR``, else a directory named ``tf-plugins`` found near the root,
else the public registry (a laptop with internet).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from movielake.config import PROJECT_ROOT

log = logging.getLogger(__name__)

PLUGIN_DIR_ENV = "MOVIELAKE_TF_PLUGIN_DIR"
MIRROR_NAME = "tf-plugins"
TERRAFORM_DIR = PROJECT_ROOT / "terraform"
INSTALL_HINT = (
    "terraform is not on PATH: install Terraform >= 1.5 "
    "(https://developer.hashicorp.com/terraform/install, e.g. `brew install terraform` "
    "or the zip from releases.hashicorp.com) and try again"
)


class TerraformError(RuntimeError):
    """Terraform is missing or a command failed; the message says which and what to do."""


def find_plugin_dir(
    environ: Mapping[str, str] | None = None, roots: Iterable[Path] = (Path("/"),), max_depth: int = 3
) -> Path | None:
    """Where the provider mirror is: the env variable, else a detected ``tf-plugins`` dir, else None.

    Detection walks at most ``max_depth`` levels under each root, breadth first, skipping
    pseudo file systems, so it stays fast on a large disk.
    """
    env = os.environ if environ is None else environ
    configured = env.get(PLUGIN_DIR_ENV, "").strip()
    if configured:
        path = Path(configured).expanduser()
        if not path.is_dir():
            raise TerraformError(f"{PLUGIN_DIR_ENV}={configured} is not a directory; fix or unset it")
        return path
    for root in roots:
        found = _find_dir(root, MIRROR_NAME, max_depth)
        if found is not None:
            return found
    return None


_SKIP = frozenset({"proc", "sys", "dev", "run", "snap"})


def _find_dir(root: Path, name: str, max_depth: int) -> Path | None:
    """Breadth-first search for a directory called ``name`` at depth 1..max_depth under ``root``."""
    level = [root]
    for _ in range(max_depth):
        following: list[Path] = []
        for directory in level:
            try:
                children = sorted(p for p in directory.iterdir() if p.is_dir() and not p.is_symlink())
            except OSError:
                continue
            for child in children:
                if child.name == name:
                    return child
                if child.name not in _SKIP and not child.name.startswith("."):
                    following.append(child)
        level = following
    return None


def cli_config_text(plugin_dir: Path | None) -> str:
    """The Terraform CLI configuration: install from the mirror only, or the registry without one."""
    if plugin_dir is None:
        return "# No provider mirror found: providers come from the public registry.\n"
    return (
        "# Written by movielake: install providers from the local filesystem mirror only.\n"
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(plugin_dir))}\n"
        '    include = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "  direct {\n"
        '    exclude = ["registry.terraform.io/*/*"]\n'
        "  }\n"
        "}\n"
    )


@dataclass
class Terraform:
    """Terraform for one working copy of ``terraform/`` with its data kept in ``state_dir``."""

    state_dir: Path
    workdir: Path = TERRAFORM_DIR
    plugin_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    drop_env: tuple[str, ...] = ()
    binary: str = "terraform"

    @classmethod
    def create(cls, state_dir: Path, workdir: Path = TERRAFORM_DIR, **kwargs: Any) -> Terraform:
        """A driver with the provider mirror detected as documented in the module docstring."""
        return cls(state_dir=state_dir, workdir=workdir, plugin_dir=find_plugin_dir(), **kwargs)

    @property
    def state_file(self) -> Path:
        """The local stack's Terraform state (outside ``terraform/``)."""
        return self.state_dir / "terraform.tfstate"

    @property
    def data_dir(self) -> Path:
        """``TF_DATA_DIR``: providers and modules installed by init."""
        return self.state_dir / "terraform-data"

    @property
    def cli_config(self) -> Path:
        """The CLI configuration file passed through ``TF_CLI_CONFIG_FILE``."""
        return self.state_dir / "terraformrc"

    def env(self) -> dict[str, str]:
        """The subprocess environment: ours plus the CLI config, data dir and automation flags."""
        env = dict(os.environ)
        env.update(
            TF_CLI_CONFIG_FILE=str(self.cli_config),
            TF_DATA_DIR=str(self.data_dir),
            TF_IN_AUTOMATION="1",
            TF_INPUT="0",
            CHECKPOINT_DISABLE="1",
        )
        for name in self.drop_env:
            env.pop(name, None)
        env.update(self.extra_env)
        return env

    def executable(self) -> str:
        """The terraform binary's path, or a TerraformError saying how to install it."""
        found = shutil.which(self.binary)
        if found is None:
            raise TerraformError(INSTALL_HINT)
        return found

    def write_cli_config(self) -> Path:
        """Write the CLI configuration (idempotent) and return its path."""
        self.state_dir.mkdir(parents=True, exist_ok=True)
        text = cli_config_text(self.plugin_dir)
        if not self.cli_config.exists() or self.cli_config.read_text() != text:
            self.cli_config.write_text(text)
        return self.cli_config

    def _init_fingerprint(self) -> str:
        """What init depends on: the configuration files, the lock file and the mirror path."""
        digest = hashlib.sha256(str(self.plugin_dir).encode())
        for path in sorted(self.workdir.glob("*.tf")) + sorted(self.workdir.glob(".terraform.lock.hcl")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()

    def init(self, force: bool = False) -> bool:
        """Run ``terraform init`` unless nothing it depends on changed; True when it ran."""
        self.write_cli_config()
        stamp = self.data_dir / "movielake-init.stamp"
        fingerprint = self._init_fingerprint()
        if not force and stamp.exists() and stamp.read_text() == fingerprint:
            return False
        self.run(["init", "-input=false", "-no-color"], init=False, capture=True)
        stamp.write_text(fingerprint)
        return True

    def run(
        self,
        args: Sequence[str],
        *,
        init: bool = True,
        capture: bool = False,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``terraform <args>`` in the working directory (init first unless ``init`` is False).

        With ``capture`` the output is collected (and shown in the error when it fails);
        otherwise it streams to the terminal.
        """
        binary = self.executable()
        self.write_cli_config()
        if init:
            self.init()
        command = [binary, *args]
        log.debug("running %s in %s", " ".join(command), self.workdir)
        result = subprocess.run(
            command,
            cwd=self.workdir,
            env=self.env(),
            text=True,
            capture_output=capture,
            check=False,
        )
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout or "").strip() if capture else "see the output above"
            raise TerraformError(f"`terraform {' '.join(args)}` failed ({result.returncode}): {detail}")
        return result

    def apply(self, var_file: Path, log_path: Path | None = None) -> str:
        """``terraform apply -auto-approve`` with the local state and the given variables.

        With ``log_path`` the output goes to that file (the error then quotes its end);
        returns Terraform's summary line (``Apply complete! Resources: ...``).
        """
        args = ["apply", "-auto-approve", "-input=false", "-no-color", *self._state_args(var_file)]
        if log_path is None:
            self.run(args)
            return ""
        result = self.run(args, capture=True, check=False)
        log_path.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-25:])
            raise TerraformError(f"`terraform apply` failed; full output in {log_path}. Its end:\n{tail}")
        summary = [line for line in result.stdout.splitlines() if line.startswith("Apply complete!")]
        return summary[-1] if summary else ""

    def plan(self, var_file: Path, *, capture: bool = True) -> int:
        """``terraform plan -detailed-exitcode``: 0 no changes, 2 changes (1 raises)."""
        result = self.run(
            ["plan", "-detailed-exitcode", "-input=false", "-no-color", *self._state_args(var_file)],
            capture=capture,
            check=False,
        )
        if result.returncode not in (0, 2):
            raise TerraformError(f"`terraform plan` failed: {(result.stderr or result.stdout).strip()}")
        return result.returncode

    def output(self) -> dict[str, Any]:
        """The outputs of the local state as plain values (``terraform output -json``)."""
        result = self.run(["output", "-json", "-no-color", f"-state={self.state_file}"], capture=True)
        return {name: item.get("value") for name, item in json.loads(result.stdout or "{}").items()}

    def _state_args(self, var_file: Path) -> list[str]:
        """``-state`` and ``-var-file`` arguments shared by apply and plan."""
        return [f"-state={self.state_file}", f"-var-file={var_file}"]
