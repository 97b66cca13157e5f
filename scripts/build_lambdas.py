"""Build the Lambda packages ``build/csv_ingest.zip`` and ``build/tmdb_enrich.zip``.

Each zip holds only what its functions import: the core movielake modules, the concern's
package, and (for TMDB) the HTTP client and DuckDB with its httpfs extension (the planner's
film selection). boto3 and botocore are not shipped: the Lambda Python runtime provides them.

Dependencies are copied from the distributions installed in the interpreter running this
script (the project's .venv), so their versions are exactly the ones the tests ran with, and
the build works offline. A compiled dependency (DuckDB) is accepted only when its wheel was
built for Linux on this machine's architecture: build on Linux x86_64 (or aarch64) with the
Python version of the Lambda runtime, and deploy with the matching ``lambda_architecture``.
Lambda's limits are checked: 50 MB zipped (direct upload), 250 MB unzipped.

The zips are reproducible: entries sorted, fixed timestamps (1980-01-01) and permissions,
no ``__pycache__`` or install bookkeeping (RECORD, INSTALLER, direct_url.json). The same
sources give the same bytes, hence the same ``source_code_hash`` in Terraform and the same
``CodeSha256`` in Lambda.

Usage: ``python scripts/build_lambdas.py [--src SRC] [--out OUT] [--package NAME ...]``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.metadata as metadata
import platform
import re
import sys
import zipfile
from collections.abc import Iterable, Iterator
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
MAX_ZIP_BYTES = 50 * 1024 * 1024  # Lambda's limit for a zip uploaded directly
MAX_UNZIPPED_BYTES = 250 * 1024 * 1024  # Lambda's limit for the unzipped function

# Modules every function imports (settings, clients, key scheme, JSON logs).
CORE_MODULES = (
    "movielake/__init__.py",
    "movielake/config.py",
    "movielake/aws.py",
    "movielake/keys.py",
    "movielake/log.py",
)

# Provided by the Lambda Python runtime: never shipped.
RUNTIME_PROVIDED = frozenset(
    {"boto3", "botocore", "s3transfer", "jmespath", "urllib3", "python-dateutil", "six"}
)

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
    excluded: frozenset[str] = field(default_factory=frozenset)
    modules: tuple[str, ...] = ()  # single movielake modules beyond CORE_MODULES


PACKAGES = {
    "csv_ingest": Package(
        name="csv_ingest",
        packages=("movielake/ingest",),
        handlers=("movielake.ingest.handler",),
    ),
    "tmdb_enrich": Package(
        name="tmdb_enrich",
        packages=("movielake/tmdb",),
        handlers=("movielake.tmdb.handlers",),
        dependencies=("httpx", "aiolimiter", "duckdb", "duckdb-extension-httpfs"),
        # The TMDB emulator is a development tool (local stack, tests), never deployed.
        excluded=frozenset({"movielake/tmdb/emulator.py"}),
        modules=("movielake/duckdb_s3.py",),
    ),
}


class BuildError(RuntimeError):
    """The package cannot be built; the message says what is missing and where."""


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _is_noise(path: PurePosixPath) -> bool:
    return "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}


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
            if path.is_file() and not _is_noise(PurePosixPath(rel)) and rel not in package.excluded:
                files[rel] = path
    for handler in package.handlers:
        rel = handler.replace(".", "/") + ".py"
        if rel not in files:
            missing.append(f"handler module {handler} ({src / rel})")
    if missing:
        raise BuildError(f"cannot build {package.name}.zip, missing: " + "; ".join(missing))
    return files


def dependency_closure(roots: Iterable[str]) -> list[metadata.Distribution]:
    """The installed distributions ``roots`` need at run time, minus what Lambda provides."""
    env = default_environment()
    env["extra"] = ""
    seen: dict[str, metadata.Distribution] = {}
    pending = [_canonical(r) for r in roots]
    while pending:
        name = pending.pop()
        if name in seen or name in RUNTIME_PROVIDED:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError as exc:
            raise BuildError(
                f"dependency {name} is not installed in {sys.prefix}; run `make install` first"
            ) from exc
        seen[name] = dist
        for spec in dist.requires or ():
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate(env):
                pending.append(_canonical(req.name))
    return [seen[n] for n in sorted(seen)]


def lambda_platform_tag() -> str:
    """The wheel platform suffix a compiled dependency needs: Linux on this machine's CPU."""
    machine = platform.machine().lower()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)


def check_platform(dist: metadata.Distribution) -> bool:
    """Whether ``dist`` is platform-specific; raises when it is not built for Lambda's Linux here."""
    wheel = dist.read_text("WHEEL") or ""
    platforms = {line.split("-")[-1].strip() for line in wheel.splitlines() if line.startswith("Tag:")}
    if platforms <= {"any"}:
        return False
    arch = lambda_platform_tag()
    if not any(p.startswith("manylinux") and p.endswith(f"_{arch}") for p in platforms):
        raise BuildError(
            f"dependency {dist.metadata['Name']} is built for {sorted(platforms)}, not Linux {arch}: build "
            "the Lambda zips on Linux (the CPU sets lambda_architecture: x86_64 or arm64)"
        )
    return True


def distribution_files(dist: metadata.Distribution) -> dict[str, Path]:
    """Archive name -> installed file for one distribution (compiled only for Lambda's Linux)."""
    name = dist.metadata["Name"]
    compiled_ok = check_platform(dist)
    files: dict[str, Path] = {}
    for entry in dist.files or ():
        rel = PurePosixPath(entry.as_posix())
        if rel.parts[0] == ".." or _is_noise(rel):
            continue  # console scripts land outside site-packages
        if rel.parts[0].endswith(".dist-info") and rel.name in DIST_INFO_DROPPED:
            continue
        if rel.suffix in {".so", ".pyd", ".dylib"} and not compiled_ok:
            raise BuildError(f"dependency {name} contains a compiled extension ({rel}) but no platform tag")
        path = Path(str(dist.locate_file(entry)))
        if path.is_file():
            files[str(rel)] = path
    if not files:
        raise BuildError(f"dependency {name} has no installed files listed (editable install?)")
    return files


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


def build(package: Package, src: Path, out: Path) -> Path:
    """Build one zip and return its path."""
    files = source_files(src, package)
    for dist in dependency_closure(package.dependencies):
        for rel, path in distribution_files(dist).items():
            if rel in files:
                raise BuildError(f"{rel} is shipped by two sources")
            files[rel] = path
    target = out / f"{package.name}.zip"
    write_zip(target, files)
    size = target.stat().st_size
    if size > MAX_ZIP_BYTES:
        raise BuildError(f"{target} is {size} bytes, over Lambda's {MAX_ZIP_BYTES}-byte upload limit")
    unzipped = sum(path.stat().st_size for path in files.values())
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BuildError(
            f"{target} unzips to {unzipped} bytes, over Lambda's {MAX_UNZIPPED_BYTES}-byte limit"
        )
    return target


def describe(target: Path) -> str:
    """One line: path, size, hex sha256 and the base64 sha256 Lambda reports as CodeSha256."""
    digest = hashlib.sha256(target.read_bytes()).digest()
    b64 = base64.b64encode(digest).decode()
    return f"{target}  {target.stat().st_size} bytes  sha256={digest.hex()}  CodeSha256={b64}"


def _versions(package: Package) -> Iterator[str]:
    for dist in dependency_closure(package.dependencies):
        yield f"{dist.metadata['Name']}=={dist.version}"


def main(argv: list[str] | None = None) -> int:
    """Command line entry point; prints one line per zip, exits 2 on a build error."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="source root holding movielake/")
    parser.add_argument("--out", type=Path, default=ROOT / "build", help="output directory")
    parser.add_argument(
        "--package", action="append", choices=sorted(PACKAGES), help="build only this zip (repeatable)"
    )
    args = parser.parse_args(argv)
    try:
        for name in args.package or sorted(PACKAGES):
            package = PACKAGES[name]
            target = build(package, args.src.resolve(), args.out.resolve())
            deps = ", ".join(_versions(package)) or "no dependencies"
            print(f"{describe(target)}  ({deps})")
    except BuildError as exc:
        print(f"build_lambdas: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
