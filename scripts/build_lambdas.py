"""Build the Lambda packages ``build/csv_ingest.zip``, ``build/tmdb_enrich.zip`` and ``build/refine.zip``.

Each zip holds only what its functions import: the core movielake modules, the concern's
package, and its dependencies, the AWS SDK (boto3, botocore, s3transfer) included. Of
botocore's service models (445 services, a third of a zip) only those of the services the
functions call ship (``Package.services``): a smaller zip to upload and to fetch at each cold
start, and a shorter list for botocore to scan at each client it creates. The SDK is
shipped rather than taken from the Lambda runtime so that the SDK the local runtime tests is
the SDK AWS runs (the runtime's own boto3 lags behind and may reject conditional writes).

Dependencies are installed for the target, not for the interpreter running this script: wheels
come from ``pip install --target --no-deps`` with ``--python-version`` of the Lambda runtime,
the manylinux platforms the Lambda runtime's glibc accepts for its architecture and
``--only-binary=:all:``, and the
dependency closure follows the markers evaluated for the target (pip would evaluate them for
this interpreter). Every version comes from ``scripts/lambda-requirements.txt`` (exact pins);
a needed distribution not pinned there fails the build. The installed set is cached under
``build/.lambda-deps/`` by its inputs. Lambda's limits are checked: 50 MB zipped (direct
upload), 250 MB unzipped.

Beside each zip, ``<name>.target.json`` records the Lambda runtime and architecture it was built
for; Terraform (``lambda.tf``) fails a plan whose ``lambda_runtime`` or ``lambda_architecture``
differ from it, instead of deploying a function whose compiled modules cannot load.

Every module is shipped with its bytecode, compiled by the runtime's Python (``python3.12``,
found as the local runtime finds it) into ``__pycache__/<module>.cpython-312.pyc`` as
unchecked-hash .pyc (PEP 552). Lambda extracts the zip into a read-only ``/var/task``, where
Python cannot cache what it compiles: without them every cold start compiles every module it
imports (the SDK alone takes about half a second). Unchecked-hash bytecode is used whatever
the extracted files' timestamps. Without a Python 3.12 on this machine the zips carry sources
only, and the build says so.

The zips are reproducible: entries sorted, fixed timestamps (1980-01-01) and permissions,
no installed ``__pycache__``, scripts or install bookkeeping (RECORD, INSTALLER,
direct_url.json); the bytecode is compiled in one process, in sorted order, with a fixed hash
seed. The same sources give the same bytes, hence the same ``source_code_hash`` in Terraform
and the same ``CodeSha256`` in Lambda.

Usage: ``python scripts/build_lambdas.py [--src SRC] [--out OUT] [--package NAME ...]
[--architecture x86_64|arm64]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

try:
    from packaging.markers import default_environment
    from packaging.requirements import Requirement
except ImportError:  # pip always vendors it
    from pip._vendor.packaging.markers import default_environment
    from pip._vendor.packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644
# Lambda's limit for a zip uploaded directly (Terraform's ``filename``).
MAX_ZIP_BYTES = 50 * 1024 * 1024
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for the unzipped function
REQUIREMENTS = ROOT / "scripts" / "lambda-requirements.txt"
DEPS_CACHE = ROOT / "build" / ".lambda-deps"

# The Python of the Lambda runtime (Terraform ``var.lambda_runtime`` defaults to python3.12).
LAMBDA_PYTHON = "3.12"
# Wheel platforms per Lambda architecture (Terraform ``var.lambda_architecture``): python3.12
# runs on Amazon Linux 2023, glibc 2.34, so any manylinux tag up to 2.34 loads there.
GLIBC_MINORS = (34, 28, 27, 26, 17)
MACHINES = {"x86_64": "x86_64", "arm64": "aarch64"}
PLATFORMS = {
    arch: (*(f"manylinux_2_{minor}_{machine}" for minor in GLIBC_MINORS), f"manylinux2014_{machine}")
    for arch, machine in MACHINES.items()
}
DEFAULT_ARCHITECTURE = "x86_64"
# Every function talks to AWS: the pinned SDK goes into every zip.
SDK = ("boto3",)

# Modules every function imports (settings, clients, key scheme, JSON logs).
CORE_MODULES = (
    "movielake/__init__.py",
    "movielake/config.py",
    "movielake/aws.py",
    "movielake/keys.py",
    "movielake/log.py",
)

# Runs under the runtime's Python: compiles [source, .pyc, name shown in tracebacks] triples
# from stdin as unchecked-hash bytecode.
COMPILE_BYTECODE = """
import json, os, py_compile, sys
for source, target, name in json.load(sys.stdin):
    os.makedirs(os.path.dirname(target), exist_ok=True)
    py_compile.compile(source, cfile=target, dfile=name, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
"""

# Bookkeeping pip writes into .dist-info that differs between installs; METADATA stays so that
# importlib.metadata.version() keeps working inside the Lambda.
DIST_INFO_DROPPED = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})


@dataclass(frozen=True)
class Package:
    """One Lambda zip: which source packages, handler modules and dependencies it holds."""

    name: str
    packages: tuple[str, ...]
    handlers: tuple[str, ...]
    dependencies: tuple[str, ...] = ()
    excluded: frozenset[str] = field(default_factory=frozenset)  # files, or folders ending in /
    # (repository folder, folder in the zip): data files shipped beside the modules.
    data: tuple[tuple[str, str], ...] = ()
    modules: tuple[str, ...] = ()  # single movielake modules beyond CORE_MODULES
    # The AWS services the functions create clients for: only their botocore models ship.
    services: tuple[str, ...] = ("s3",)

    @property
    def requirements(self) -> tuple[str, ...]:
        """The distributions pip installs into the zip: the SDK plus the concern's own."""
        return (*SDK, *self.dependencies)


PACKAGES = {
    "csv_ingest": Package(
        name="csv_ingest",
        packages=("movielake/ingest",),
        handlers=("movielake.ingest.handler",),
        services=("s3", "glue"),  # glue: the ingested file's date partition
    ),
    "tmdb_enrich": Package(
        name="tmdb_enrich",
        packages=("movielake/tmdb",),
        handlers=("movielake.tmdb.handlers",),
        # certifi: the CA bundle DuckDB verifies S3's TLS against (movielake.duckdb_s3).
        dependencies=(
            "httpx",
            "sniffio",
            "aiolimiter",
            "duckdb",
            "duckdb-extension-httpfs",
            "certifi",
            "aws-lambda-powertools",
        ),
        modules=("movielake/duckdb_s3.py", "movielake/metrics.py", "movielake/lease.py"),
        services=("s3", "sqs", "secretsmanager", "glue"),
    ),
    # The refine drives Athena with boto3, on AWS and on the local stack alike (the local moto
    # server executes Athena): no DuckDB. sqlglot reads the models' table names and renames
    # them to the staged versions (movielake.analysis.translate).
    "refine": Package(
        name="refine",
        packages=("movielake/refine", "movielake/analysis", "movielake/catalog"),
        handlers=("movielake.refine.handler",),
        dependencies=("sqlglot", "aws-lambda-powertools"),
        modules=("movielake/metrics.py", "movielake/lease.py"),
        services=("s3", "glue", "athena"),
        # The report, the query command, both analysis engines and the DuckDB refine engine's
        # session (`movielake refine --engine local`) are CLI tools.
        excluded=frozenset(
            {
                "movielake/analysis/report/",
                "movielake/analysis/cli.py",
                "movielake/analysis/athena_engine.py",
                "movielake/analysis/duckdb_engine.py",
                "movielake/analysis/engines.py",
                "movielake/catalog/cli.py",
                "movielake/refine/cli.py",
            }
        ),
        data=(
            ("sql/trusted", "movielake/refine/sql/trusted"),
            ("sql/refined", "movielake/refine/sql/refined"),
            ("sql/checks", "movielake/refine/sql/checks"),
        ),
    ),
}


@dataclass(frozen=True)
class Target:
    """What the dependencies are installed for: the Lambda runtime's Python and architecture."""

    python: str = LAMBDA_PYTHON
    architecture: str = DEFAULT_ARCHITECTURE

    @property
    def platforms(self) -> tuple[str, ...]:
        """The manylinux wheel platforms the runtime accepts on the architecture."""
        return PLATFORMS[self.architecture]

    @property
    def runtime(self) -> str:
        """The Lambda runtime identifier (Terraform ``var.lambda_runtime``): ``python3.12``."""
        return f"python{self.python}"

    def record(self) -> dict[str, object]:
        """What ``<zip>.target.json`` says: Terraform's lambda.tf refuses a plan whose
        ``lambda_runtime`` or ``lambda_architecture`` differ from ``runtime``/``architecture``."""
        return {
            "runtime": self.runtime,
            "architecture": self.architecture,
            "python": self.python,
            "platforms": list(self.platforms),
        }


class BuildError(RuntimeError):
    """The package cannot be built; the message says what is missing and where."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_noise(path: PurePosixPath) -> bool:
    return "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}


def _unused_service_model(rel: str, services: tuple[str, ...]) -> bool:
    """Whether ``rel`` is under ``botocore/data/<service>/`` for a service not in ``services``
    (the files directly in ``botocore/data``, endpoints and partitions, always ship)."""
    parts = rel.split("/")
    return len(parts) > 3 and parts[:2] == ["botocore", "data"] and parts[2] not in services


def _excluded(rel: str, excluded: frozenset[str]) -> bool:
    """Whether ``rel`` is an excluded file or lies in an excluded folder (an entry ending in ``/``)."""
    return rel in excluded or any(rel.startswith(entry) for entry in excluded if entry.endswith("/"))


def source_files(src: Path, package: Package) -> dict[str, Path]:
    """Archive name -> file for the movielake modules of ``package``; fails on a missing one."""
    files: dict[str, Path] = {}
    missing: list[str] = []
    for rel in (*CORE_MODULES, *package.modules):
        path = src / rel
        if path.is_file():
            files[rel] = path
        else:
            missing.append(f"module {rel[:-3].replace('/', '.')} ({path})")
    for pkg in package.packages:
        pkg_dir = src / pkg
        if not (pkg_dir / "__init__.py").is_file():
            missing.append(f"package {pkg.replace('/', '.')} ({pkg_dir}/__init__.py)")
            continue
        for path in sorted(pkg_dir.rglob("*")):
            rel = path.relative_to(src).as_posix()
            if path.is_file() and not _is_noise(PurePosixPath(rel)) and not _excluded(rel, package.excluded):
                files[rel] = path
    for handler in package.handlers:
        rel = handler.replace(".", "/") + ".py"
        if rel not in files:
            missing.append(f"handler module {handler} ({src / rel})")
    for folder, target in package.data:
        found = sorted(p for p in (src.parent / folder).glob("*") if p.is_file())
        if not found:
            missing.append(f"data files in {src.parent / folder}")
        files.update({f"{target}/{path.name}": path for path in found})
    if missing:
        raise BuildError(f"cannot build {package.name}.zip, missing: " + "; ".join(missing))
    return files


def read_pins(path: Path = REQUIREMENTS) -> dict[str, str]:
    """Canonical name -> exact version from the pin file; anything but ``name==version`` fails."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!-]+)", line)
        if not match:
            raise BuildError(f"{path}:{number}: {raw!r} is not an exact pin `name==version`")
        pins[_canonical(match.group(1))] = match.group(2)
    return pins


def marker_environment(target: Target) -> dict[str, str]:
    """PEP 508 marker values of the Lambda runtime (Amazon Linux, CPython ``target.python``).

    pip evaluates markers for the interpreter running it even with ``--python-version``, so
    the closure is computed here, for the target.
    """
    env = dict(default_environment())
    env.update(
        {
            "python_version": target.python,
            "python_full_version": f"{target.python}.0",
            "implementation_name": "cpython",
            "platform_python_implementation": "CPython",
            "os_name": "posix",
            "sys_platform": "linux",
            "platform_system": "Linux",
            "platform_machine": MACHINES[target.architecture],
            "extra": "",
        }
    )
    return env


def _pip_install(specs: list[str], target: Target, site: Path) -> None:
    """``pip install --no-deps`` of exact versions, as wheels for the target, into ``site``."""
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--no-warn-script-location", "--no-deps", "--target", str(site),
        "--python-version", target.python, "--implementation", "cp",
        *(f"--platform={platform}" for platform in target.platforms), "--only-binary=:all:", *specs,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BuildError(
            f"pip could not install {', '.join(specs)} for Python {target.python} on "
            f"{target.architecture} (is the package registry reachable?):\n{result.stderr.strip()}"
        )


def install_dependencies(
    requirements: tuple[str, ...], target: Target, cache: Path, pins_file: Path = REQUIREMENTS
) -> Path:
    """Install ``requirements`` and their closure for ``target`` into a cached directory.

    Each round installs the pinned versions of the names not yet installed (``--no-deps``),
    then follows their ``Requires-Dist`` whose markers hold on the target. A name without an
    exact pin fails the build. The cache key is every input (requirements, pin file, Python,
    platform), so a changed pin installs afresh.
    """
    pins = read_pins(pins_file)
    key_text = "\n".join([*sorted(requirements), pins_file.read_text(), target.python, *target.platforms])
    site = cache / hashlib.sha256(key_text.encode()).hexdigest()[:24]
    if (site / ".complete").is_file():
        return site
    staging = cache / f".{site.name}.{os.getpid()}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    env = marker_environment(target)
    needed_by = {_canonical(name): "the zip" for name in requirements}
    installed: set[str] = set()
    try:
        while batch := sorted(set(needed_by) - installed):
            unpinned = [name for name in batch if name not in pins]
            if unpinned:
                name = unpinned[0]
                raise BuildError(
                    f"{name} is needed by {needed_by[name]} on Python {target.python} but not pinned "
                    f"in {pins_file}; add `{name}==<version>`"
                )
            _pip_install([f"{name}=={pins[name]}" for name in batch], target, staging)
            installed.update(batch)
            for dist in metadata.distributions(path=[str(staging)]):
                parent = _canonical(dist.metadata["Name"])
                for spec in dist.requires or ():
                    req = Requirement(spec)
                    if req.marker is None or req.marker.evaluate(env):
                        needed_by.setdefault(_canonical(req.name), parent)
    except BuildError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    (staging / ".complete").write_text(key_text)
    shutil.rmtree(site, ignore_errors=True)
    staging.rename(site)
    return site


def dependency_files(site: Path) -> dict[str, Path]:
    """Archive name -> file for what pip installed into ``site`` (no scripts, no bookkeeping)."""
    files: dict[str, Path] = {}
    for path in sorted(site.rglob("*")):
        rel = PurePosixPath(path.relative_to(site).as_posix())
        if not path.is_file() or rel.parts[0] in {"bin", ".complete"} or _is_noise(rel):
            continue
        if rel.parts[0].endswith(".dist-info") and rel.name in DIST_INFO_DROPPED:
            continue
        files[str(rel)] = path
    return files


def installed_versions(site: Path) -> list[str]:
    """``name==version`` of every distribution installed into ``site``, sorted."""
    return sorted(f"{d.metadata['Name']}=={d.version}" for d in metadata.distributions(path=[str(site)]))


def runtime_python(target: Target) -> str | None:
    """The interpreter of the Lambda runtime's Python on this machine, or None (with a note)."""
    from movielake.local.runtime import LocalRuntimeError, find_interpreter

    try:
        return find_interpreter(f"python{target.python}")
    except LocalRuntimeError as exc:
        print(f"build_lambdas: note: the zips carry sources only, so each cold start compiles them: {exc}",
              file=sys.stderr)  # fmt: skip
        return None


def bytecode(files: dict[str, Path], python: str, target: Target, workdir: Path) -> dict[str, Path]:
    """Archive name -> .pyc for every module in ``files``, compiled by ``python`` into ``workdir``.

    One process compiles them all in sorted order with a fixed hash seed, so the same sources
    give the same bytes.
    """
    tag = f"cpython-{target.python.replace('.', '')}"
    jobs: dict[str, tuple[str, str, str]] = {}
    for rel in sorted(files):
        if rel.endswith(".py"):
            module = PurePosixPath(rel)
            name = str(module.parent / "__pycache__" / f"{module.stem}.{tag}.pyc")
            jobs[name] = (str(files[rel]), str(workdir / name), rel)
    result = subprocess.run(
        [python, "-I", "-S", "-c", COMPILE_BYTECODE],
        input=json.dumps(list(jobs.values())),
        capture_output=True,
        text=True,
        env={"PYTHONHASHSEED": "0", "PATH": os.environ.get("PATH", "")},
        check=False,
    )
    if result.returncode != 0:
        raise BuildError(f"{python} could not compile the zip's modules:\n{result.stderr.strip()[-2000:]}")
    return {name: workdir / name for name in jobs}


def target_record_path(zip_path: Path) -> Path:
    """The build record beside a zip: ``build/refine.zip`` -> ``build/refine.target.json``."""
    return zip_path.with_suffix(".target.json")


def write_zip(target: Path, files: dict[str, Path]) -> None:
    """Write ``files`` into ``target`` byte-for-byte reproducibly (atomic replace)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, so external_attr carries the permissions
            info.external_attr = FILE_MODE << 16
            archive.writestr(info, files[name].read_bytes(), compresslevel=9)
    tmp.replace(target)


def build(package: Package, src: Path, out: Path, target: Target, cache: Path = DEPS_CACHE) -> Path:
    """Build one zip and return its path."""
    files = source_files(src, package)
    site = install_dependencies(package.requirements, target, cache)
    for rel, path in dependency_files(site).items():
        if _unused_service_model(rel, package.services):
            continue
        if rel in files:
            raise BuildError(f"{rel} is shipped by two sources")
        files[rel] = path
    zip_path = out / f"{package.name}.zip"
    python = runtime_python(target)
    with tempfile.TemporaryDirectory(prefix="movielake-pyc-") as workdir:
        if python is not None:
            files.update(bytecode(files, python, target, Path(workdir)))
        write_zip(zip_path, files)
        unzipped = sum(path.stat().st_size for path in files.values())
    size = zip_path.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise BuildError(f"{zip_path} is {size} bytes, over Lambda's {MAX_ZIP_BYTES}-byte upload limit")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BuildError(
            f"{zip_path} unzips to {unzipped} bytes, over Lambda's {MAX_UNZIPPED_BYTES}-byte limit"
        )
    target_record_path(zip_path).write_text(json.dumps(target.record(), indent=2) + "\n")
    return zip_path


def describe(target: Path) -> str:
    """One line: path, size, hex sha256 and the base64 sha256 Lambda reports as CodeSha256."""
    digest = hashlib.sha256(target.read_bytes()).digest()
    b64 = base64.b64encode(digest).decode()
    return f"{target}  {target.stat().st_size} bytes  sha256={digest.hex()}  CodeSha256={b64}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints one line per zip, exits 2 on a build error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source root holding movielake/")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output directory")
    parser.add_argument(
        "--package", action="append", choices=sorted(PACKAGES), help="build only this zip (repeatable)"
    )
    parser.add_argument(
        "--architecture",
        choices=sorted(PLATFORMS),
        default=os.environ.get("LAMBDA_ARCHITECTURE", DEFAULT_ARCHITECTURE),
        help="Lambda architecture the wheels are chosen for (Terraform var.lambda_architecture); "
        "env LAMBDA_ARCHITECTURE",
    )
    parser.add_argument("--cache", type=Path, default=DEPS_CACHE, help="cache of installed dependencies")
    args = parser.parse_args(argv)
    target = Target(architecture=args.architecture)
    try:
        for name in args.package or sorted(PACKAGES):
            package = PACKAGES[name]
            zip_path = build(package, args.src.resolve(), args.out.resolve(), target, args.cache.resolve())
            site = install_dependencies(package.requirements, target, args.cache.resolve())
            print(f"{describe(zip_path)}  ({', '.join(installed_versions(site))})")
    except BuildError as exc:
        print(f"build_lambdas: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
