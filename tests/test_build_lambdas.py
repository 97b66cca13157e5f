"""scripts/build_lambdas.sh: what each zip holds, that it is reproducible and importable.

Most tests build from a scaffold source tree (the real core modules plus minimal handler
packages) so they do not depend on the state of the ingest and TMDB packages; the last tests
build the real tree, as `make build` does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "build_lambdas.sh"
SRC = ROOT / "src"
CORE = ("__init__.py", "config.py", "aws.py", "keys.py", "log.py")
# What the Lambda Python runtime provides besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
HANDLERS = {
    "csv_ingest": {"movielake.ingest.handler": ("handler",)},
    "tmdb_enrich": {"movielake.tmdb.handlers": ("plan", "work")},
}

pytestmark = pytest.mark.slow


def run_build(src: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Run the shell entry point with this interpreter (the venv's) on ``src``."""
    env = {**os.environ, "PYTHON": sys.executable}
    return subprocess.run(
        ["bash", str(SCRIPT), "--src", str(src), "--out", str(out), *extra],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture
def scaffold(tmp_path: Path) -> Path:
    """A source tree: the real core modules, plus tiny ingest and tmdb packages."""
    src = tmp_path / "src"
    pkg = src / "movielake"
    pkg.mkdir(parents=True)
    for name in (*CORE, "duckdb_s3.py"):
        shutil.copy2(SRC / "movielake" / name, pkg / name)
    (pkg / "synthetic.py").write_text("import pandas  # never shipped\n")
    ingest = pkg / "ingest"
    ingest.mkdir()
    (ingest / "__init__.py").write_text("")
    (ingest / "validation.py").write_text("RULES = ()\n")
    (ingest / "handler.py").write_text(
        "from movielake import aws, config, keys, log\n"
        "from movielake.ingest import validation\n\n"
        "def handler(event, context):\n    return {'rules': len(validation.RULES)}\n"
    )
    (ingest / "__pycache__").mkdir()
    (ingest / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"noise")
    tmdb = pkg / "tmdb"
    tmdb.mkdir()
    (tmdb / "__init__.py").write_text("")
    (tmdb / "emulator.py").write_text("raise ImportError('dev only')\n")
    (tmdb / "handlers.py").write_text(
        "import aiolimiter\nimport anyio\nimport httpx\n\n"
        "from movielake import aws, config, keys, log\n\n"
        "def plan(event, context):\n    return httpx.__version__\n\n"
        "def work(event, context):\n    return aiolimiter.AsyncLimiter(1).max_rate\n"
    )
    return src


@pytest.fixture
def runtime_dir(tmp_path: Path) -> Path:
    """Stand-in for the Lambda runtime's site-packages: boto3 and its dependencies only."""
    import boto3

    site = Path(boto3.__file__).resolve().parents[1]
    target = tmp_path / "runtime"
    target.mkdir()
    for name in RUNTIME_PACKAGES:
        source = site / name if (site / name).is_dir() else site / f"{name}.py"
        (target / source.name).symlink_to(source)
    return target


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def import_in_runtime(zip_path: Path, runtime: Path, tmp_path: Path, handlers: dict[str, tuple[str, ...]]):
    """Extract the zip and import its handlers in an isolated interpreter (no site-packages)."""
    task = tmp_path / f"task-{zip_path.stem}"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    checks = "; ".join(
        f"import {module} as m; assert all(callable(getattr(m, f)) for f in {funcs!r})"
        for module, funcs in handlers.items()
    )
    code = f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime)!r}]; {checks}; print('ok')"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_zips_hold_only_what_each_function_needs(scaffold: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_build(scaffold, out)
    assert result.returncode == 0, result.stderr

    csv = names(out / "csv_ingest.zip")
    assert sorted(csv) == sorted(
        [f"movielake/{n}" for n in CORE]
        + ["movielake/ingest/__init__.py", "movielake/ingest/handler.py", "movielake/ingest/validation.py"]
    )

    tmdb = names(out / "tmdb_enrich.zip")
    assert "movielake/tmdb/handlers.py" in tmdb
    assert "movielake/tmdb/emulator.py" not in tmdb
    assert "movielake/synthetic.py" not in tmdb
    tops = {n.split("/")[0] for n in tmdb}
    for package in ("httpx", "httpcore", "h11", "anyio", "idna", "certifi", "aiolimiter", "duckdb"):
        assert package in tops, package
    assert not tops & {"boto3", "botocore", "s3transfer", "urllib3"}, "runtime-provided packages shipped"
    assert not [n for n in tmdb if "__pycache__" in n or n.endswith((".pyc", "/RECORD", "/INSTALLER"))]
    assert any(n.endswith(".dist-info/METADATA") for n in tmdb), "importlib.metadata needs METADATA"
    assert "movielake/duckdb_s3.py" in tmdb and "movielake/duckdb_s3.py" not in csv
    assert any(n.endswith("httpfs.duckdb_extension") for n in tmdb), "the planner loads httpfs offline"
    assert (out / "csv_ingest.zip").stat().st_size < 5 * 1024 * 1024
    assert (out / "tmdb_enrich.zip").stat().st_size < 50 * 1024 * 1024  # Lambda's direct upload limit


def test_same_sources_give_the_same_bytes(scaffold: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert run_build(scaffold, first).returncode == 0
    # New mtimes and modes on every source must not change the zips.
    for path in scaffold.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        path.chmod(0o600)
    assert run_build(scaffold, second).returncode == 0
    for zip_name in ("csv_ingest.zip", "tmdb_enrich.zip"):
        assert sha256(first / zip_name) == sha256(second / zip_name), zip_name
        with zipfile.ZipFile(first / zip_name) as archive:
            infos = archive.infolist()
        assert [i.filename for i in infos] == sorted(i.filename for i in infos)
        assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in infos} == {0o100644}


def test_a_source_change_changes_the_zip(scaffold: Path, tmp_path: Path) -> None:
    assert run_build(scaffold, tmp_path / "a", "--package", "csv_ingest").returncode == 0
    handler = scaffold / "movielake" / "ingest" / "handler.py"
    handler.write_text(handler.read_text() + "\n# changed\n")
    assert run_build(scaffold, tmp_path / "b", "--package", "csv_ingest").returncode == 0
    assert sha256(tmp_path / "a" / "csv_ingest.zip") != sha256(tmp_path / "b" / "csv_ingest.zip")


def test_handlers_import_with_only_the_runtime_beside_the_zip(
    scaffold: Path, runtime_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_build(scaffold, out).returncode == 0
    for name, handlers in HANDLERS.items():
        result = import_in_runtime(out / f"{name}.zip", runtime_dir, tmp_path, handlers)
        assert result.returncode == 0 and result.stdout.strip() == "ok", (name, result.stderr)


def test_the_runtime_stand_in_lacks_the_shipped_dependencies(runtime_dir: Path, tmp_path: Path) -> None:
    """Guards the import test: httpx must come from the zip, not leak in from the venv."""
    code = f"import sys; sys.path[:0] = [{str(runtime_dir)!r}]; import boto3; import httpx"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "No module named 'httpx'" in result.stderr


def test_a_missing_module_is_named(scaffold: Path, tmp_path: Path) -> None:
    (scaffold / "movielake" / "tmdb" / "handlers.py").unlink()
    result = run_build(scaffold, tmp_path / "out", "--package", "tmdb_enrich")
    assert result.returncode == 2
    assert "movielake.tmdb.handlers" in result.stderr
    assert not (tmp_path / "out" / "tmdb_enrich.zip").exists()


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_real_sources_build_and_import(name: str, runtime_dir: Path, tmp_path: Path) -> None:
    """The zip `make build` deploys: built from src/ and importable in the Lambda runtime."""
    out = tmp_path / "out"
    result = run_build(SRC, out, "--package", name)
    assert result.returncode == 0, result.stderr
    assert (out / f"{name}.zip").stat().st_size < 50 * 1024 * 1024
    imported = import_in_runtime(out / f"{name}.zip", runtime_dir, tmp_path, HANDLERS[name])
    assert imported.returncode == 0, imported.stderr


def test_the_tmdb_zip_selects_with_its_own_duckdb_and_httpfs(runtime_dir: Path, tmp_path: Path) -> None:
    """The planner's selection runs from the zip alone: DuckDB and httpfs load, a CSV is read."""
    out = tmp_path / "out"
    assert run_build(SRC, out, "--package", "tmdb_enrich").returncode == 0
    task = tmp_path / "task"
    with zipfile.ZipFile(out / "tmdb_enrich.zip") as archive:
        archive.extractall(task)
    csv = tmp_path / "movies.csv"
    csv.write_text("id|anoLancamento|genero|numeroVotos\ntt1|1999|War|20000\ntt2|1999|Comedy|20000\n")
    code = "\n".join(
        (
            f"import sys; sys.path[:0] = [{str(task)!r}, {str(runtime_dir)!r}]",
            "import duckdb; print(duckdb.__file__)",
            "from movielake.duckdb_s3 import httpfs_extension_path, sql_string",
            "from movielake.tmdb.selection import Filters, select_ids, selection_connection",
            "c = selection_connection(); c.execute(f'LOAD {sql_string(str(httpfs_extension_path()))}')",
            f"print(select_ids(c, {str(csv)!r}, Filters(), size=1).ids)",
        )
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    origin, ids = result.stdout.strip().splitlines()
    assert origin.startswith(str(task)), "duckdb must come from the zip"
    assert ids == "['tt1']"
