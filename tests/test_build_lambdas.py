"""scripts/build_lambdas.sh: what each zip holds, that it is reproducible and importable.

Most tests build from a scaffold source tree (the real core modules plus minimal handler
packages) so they do not depend on the state of the ingest and TMDB packages; the last tests
build the real tree, as `make build` does. Dependencies, the AWS SDK included, are installed
for the Lambda runtime's Python and platform from scripts/lambda-requirements.txt.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import pytest
from conftest import load_build_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "build_lambdas.sh"
SRC = ROOT / "src"
SQL = ROOT / "sql"
# The scaffold has the CSV and TMDB packages only.
SCAFFOLDED = ("--package", "csv_ingest", "--package", "tmdb_enrich")
CORE = ("__init__.py", "config.py", "aws.py", "keys.py", "log.py")
PINS = ROOT / "scripts" / "lambda-requirements.txt"
SDK_TOPS = {"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py"}
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
    for name in (*CORE, "duckdb_s3.py", "metrics.py", "lease.py"):
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
    (tmdb / "handlers.py").write_text(
        "import aiolimiter\nimport anyio\nimport httpx\n\n"
        "from movielake import aws, config, keys, log\n\n"
        "def plan(event, context):\n    return httpx.__version__\n\n"
        "def work(event, context):\n    return aiolimiter.AsyncLimiter(1).max_rate\n"
    )
    return src


def names(zip_path: Path) -> list[str]:
    with zipfile.ZipFile(zip_path) as archive:
        return archive.namelist()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pinned(name: str) -> str:
    """The version scripts/lambda-requirements.txt pins for ``name``."""
    for line in PINS.read_text().splitlines():
        if line.startswith(f"{name}=="):
            return line.split("==", 1)[1].strip()
    raise AssertionError(f"{name} is not pinned in {PINS}")


def dist_version(zip_path: Path, name: str) -> str:
    """The ``Version:`` of distribution ``name`` as shipped in the zip (its METADATA)."""
    with zipfile.ZipFile(zip_path) as archive:
        (metadata,) = [n for n in archive.namelist() if re.fullmatch(rf"{name}-[^/]+\.dist-info/METADATA", n)]
        text = archive.read(metadata).decode()
    return re.search(r"^Version: (.+)$", text, re.MULTILINE).group(1).strip()


def import_in_runtime(
    zip_path: Path,
    python: str,
    tmp_path: Path,
    handlers: dict[str, tuple[str, ...]],
    extracted: bool = False,
):
    """Extract the zip (unless ``extracted`` into ``tmp_path/task``) and import its handlers
    under the Lambda runtime's Python, zip alone, writing no bytecode (a read-only task dir)."""
    task = tmp_path / "task" if extracted else tmp_path / f"task-{zip_path.stem}"
    if not extracted:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(task)
    checks = "; ".join(
        f"import {module} as m; assert all(callable(getattr(m, f)) for f in {funcs!r})"
        for module, funcs in handlers.items()
    )
    code = f"import sys; sys.path[:0] = [{str(task)!r}]; {checks}; print('ok')"
    return subprocess.run(
        [python, "-I", "-S", "-B", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=tmp_path,
    )


def test_zips_hold_only_what_each_function_needs(scaffold: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_build(scaffold, out, *SCAFFOLDED)
    assert result.returncode == 0, result.stderr

    csv = names(out / "csv_ingest.zip")
    ours = [n for n in csv if n.startswith("movielake/") and "/__pycache__/" not in n]  # .pyc: below
    assert sorted(ours) == sorted(
        [f"movielake/{n}" for n in CORE]
        + ["movielake/ingest/__init__.py", "movielake/ingest/handler.py", "movielake/ingest/validation.py"]
    )
    csv_tops = {n.split("/")[0] for n in csv if not n.startswith(("movielake/", "__pycache__/"))}
    assert {t for t in csv_tops if ".dist-info" not in t} == SDK_TOPS, "the SDK and nothing else"

    tmdb = names(out / "tmdb_enrich.zip")
    assert "movielake/tmdb/handlers.py" in tmdb
    assert "movielake/synthetic.py" not in tmdb
    tops = {n.split("/")[0] for n in tmdb}
    for package in (
        "httpx",
        "httpcore",
        "h11",
        "anyio",
        "sniffio",
        "idna",
        "certifi",
        "aiolimiter",
        "duckdb",
    ):
        assert package in tops, package
    assert tops >= SDK_TOPS, "every zip ships the pinned SDK"
    assert "bin" not in tops, "console scripts are not shipped"
    assert not [n for n in tmdb if n.endswith(("/RECORD", "/INSTALLER"))]
    assert "movielake/ingest/__pycache__/handler.cpython-311.pyc" not in csv  # the source tree's own
    assert any(n.endswith(".dist-info/METADATA") for n in tmdb), "importlib.metadata needs METADATA"
    assert "movielake/duckdb_s3.py" in tmdb and "movielake/duckdb_s3.py" not in csv
    assert "movielake/metrics.py" in tmdb and "aws_lambda_powertools" in tops, "run metrics (EMF)"
    assert "movielake/lease.py" in tmdb and "movielake/lease.py" not in csv
    assert any(n.endswith("httpfs.duckdb_extension") for n in tmdb), "the planner loads httpfs offline"
    for zip_name in ("csv_ingest.zip", "tmdb_enrich.zip"):
        assert (out / zip_name).stat().st_size < 50 * 1024 * 1024  # Lambda's direct-upload limit


def test_every_module_ships_the_runtimes_unchecked_bytecode(
    scaffold: Path, lambda_python: str, tmp_path: Path
) -> None:
    """Lambda's /var/task is read-only: the zip carries each module's .pyc for the runtime's
    Python, used as it is (unchecked-hash), so no cold start compiles anything."""
    out = tmp_path / "out"
    assert run_build(scaffold, out, "--package", "csv_ingest").returncode == 0
    zip_path = out / "csv_ingest.zip"
    shipped = names(zip_path)
    sources = [PurePosixPath(n) for n in shipped if n.endswith(".py")]
    expected = {str(p.parent / "__pycache__" / f"{p.stem}.cpython-312.pyc") for p in sources}
    assert {n for n in shipped if n.endswith(".pyc")} == expected
    magic = subprocess.run(
        [lambda_python, "-I", "-c", "import importlib.util; print(importlib.util.MAGIC_NUMBER.hex())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    with zipfile.ZipFile(zip_path) as archive:
        header = archive.read("movielake/ingest/__pycache__/handler.cpython-312.pyc")[:8]
        archive.extractall(tmp_path / "task")
    assert header[:4].hex() == magic
    assert int.from_bytes(header[4:8], "little") == 0b01  # hash-based, source not checked (PEP 552)
    # The bytecode is what runs: a changed source is not even read.
    (tmp_path / "task" / "movielake" / "ingest" / "validation.py").write_text("raise SystemExit(3)\n")
    imported = import_in_runtime(zip_path, lambda_python, tmp_path, HANDLERS["csv_ingest"], extracted=True)
    assert imported.returncode == 0, imported.stderr


def test_same_sources_give_the_same_bytes(scaffold: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    assert run_build(scaffold, first, *SCAFFOLDED).returncode == 0
    # New mtimes and modes on every source must not change the zips.
    for path in scaffold.rglob("*.py"):
        os.utime(path, (2_000_000_000, 2_000_000_000))
        path.chmod(0o600)
    assert run_build(scaffold, second, *SCAFFOLDED).returncode == 0
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


def test_handlers_import_from_the_zip_alone_under_the_runtime_python(
    scaffold: Path, lambda_python: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run_build(scaffold, out, *SCAFFOLDED).returncode == 0
    for name, handlers in HANDLERS.items():
        result = import_in_runtime(out / f"{name}.zip", lambda_python, tmp_path, handlers)
        assert result.returncode == 0 and result.stdout.strip() == "ok", (name, result.stderr)


def test_markers_are_resolved_for_the_target_python_not_the_builder(tmp_path: Path) -> None:
    """anyio needs exceptiongroup below Python 3.11 only: the target decides, not this venv."""
    build = load_build_script()
    requirements = build.PACKAGES["tmdb_enrich"].requirements
    site = build.install_dependencies(requirements, build.Target(python="3.12"), tmp_path / "cache")
    assert not [v for v in build.installed_versions(site) if v.startswith("exceptiongroup")]
    with pytest.raises(build.BuildError, match=r"exceptiongroup is needed by anyio on Python 3\.10"):
        build.install_dependencies(requirements, build.Target(python="3.10"), tmp_path / "cache")


def test_a_dependency_without_an_exact_pin_fails_the_build(tmp_path: Path) -> None:
    build = load_build_script()
    pins = tmp_path / "pins.txt"
    pins.write_text("".join(line + "\n" for line in PINS.read_text().splitlines() if "jmespath" not in line))
    with pytest.raises(build.BuildError, match=r"jmespath is needed by (boto3|botocore) on Python 3.12"):
        build.install_dependencies(build.SDK, build.Target(), tmp_path / "cache", pins)
    pins.write_text("boto3>=1.35\n")
    with pytest.raises(build.BuildError, match="not an exact pin"):
        build.read_pins(pins)


def test_a_missing_module_is_named(scaffold: Path, tmp_path: Path) -> None:
    (scaffold / "movielake" / "tmdb" / "handlers.py").unlink()
    result = run_build(scaffold, tmp_path / "out", "--package", "tmdb_enrich")
    assert result.returncode == 2
    assert "movielake.tmdb.handlers" in result.stderr
    assert not (tmp_path / "out" / "tmdb_enrich.zip").exists()


def service_models(zip_path: Path) -> set[str]:
    """The services whose botocore models the zip ships."""
    return {n.split("/")[2] for n in names(zip_path) if n.startswith("botocore/data/") and n.count("/") > 3}


@pytest.mark.parametrize("name", ["csv_ingest", "tmdb_enrich", "refine"])
def test_each_zip_ships_the_models_of_the_services_its_code_calls_and_no_other(name: str) -> None:
    """botocore's 445 service models are a third of a zip: only those the shipped modules
    create clients for go in, and a client for a service left out would fail on AWS."""
    zip_path = ROOT / "build" / f"{name}.zip"
    if not zip_path.exists():
        pytest.skip(f"{zip_path} is missing: run `make build`")
    with zipfile.ZipFile(zip_path) as archive:
        code = [archive.read(n).decode() for n in archive.namelist() if re.fullmatch(r"movielake/.*\.py", n)]
        assert "botocore/data/endpoints.json" in archive.namelist()
    called = {m for text in code for m in re.findall(r"client\(\s*\"([a-z0-9-]+)\"", text)}
    assert called, 'the modules create their clients with aws.client("<service>", ...)'
    assert service_models(zip_path) == called | {"s3"}


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_real_sources_build_and_import(name: str, lambda_python: str, tmp_path: Path) -> None:
    """The zip `make build` deploys: built from src/, importable under the runtime's Python."""
    out = tmp_path / "out"
    result = run_build(SRC, out, "--package", name)
    assert result.returncode == 0, result.stderr
    stand_ins = [n for n in names(out / f"{name}.zip") if n.startswith("movielake/local/")]
    assert not stand_ins, f"{name}.zip ships local stand-ins: {stand_ins}"
    imported = import_in_runtime(out / f"{name}.zip", lambda_python, tmp_path, HANDLERS[name])
    assert imported.returncode == 0, imported.stderr


def test_the_refine_zip_drives_athena_without_duckdb(lambda_python: str, tmp_path: Path) -> None:
    """refine.zip: the SQL models, sqlglot (the staged tables' renaming) and the Athena engine,
    no DuckDB (the refine runs on Athena on AWS and on the local stack alike), importable from
    the zip alone under the runtime's Python; its build record says what it was built for."""
    out = tmp_path / "out"
    result = run_build(SRC, out, "--package", "refine")
    assert result.returncode == 0, result.stderr
    zip_path = out / "refine.zip"
    shipped = names(zip_path)
    for path in (p for zone in ("trusted", "refined", "checks") for p in SQL.glob(f"{zone}/*.sql")):
        assert f"movielake/refine/sql/{path.parent.name}/{path.name}" in shipped, path
    assert not any(n.startswith("movielake/refine/sql/report/") for n in shipped)  # the report's, not a model
    assert any(n.startswith("sqlglot/") for n in shipped)
    assert "movielake/refine/athena.py" in shipped
    duckdb = [n for n in shipped if n.split("/")[0].lower().lstrip("_").startswith("duckdb")]
    assert duckdb == [], f"refine.zip ships DuckDB: {duckdb[:5]}"
    assert not any(n.startswith("movielake/analysis/report/") for n in shipped)  # matplotlib stays out
    record = json.loads((out / "refine.target.json").read_text())
    assert (record["runtime"], record["architecture"]) == ("python3.12", "x86_64")
    code = (
        "from movielake.config import Settings\n"
        "from movielake.refine.engines import make_engine\n"
        "settings = Settings(glue_database='db', refine_workgroup='wg', region='us-east-1')\n"
        "engine = make_engine(settings, 'aws')\n"
        "print(type(engine).__name__)\n"
    )
    task = tmp_path / "task"
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(task)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PATH": os.environ["PATH"]}
    ran = subprocess.run(
        [lambda_python, "-I", "-S", "-c", f"import sys; sys.path[:0] = [{str(task)!r}]\n{code}"],
        capture_output=True, text=True, timeout=120, env=env, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "AthenaRefineEngine"
    imported = import_in_runtime(
        zip_path, lambda_python, tmp_path, {"movielake.refine.handler": ("handler",)}
    )
    assert imported.returncode == 0, imported.stderr


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_the_deployed_zips_carry_the_pinned_sdk(name: str) -> None:
    """build/ (what `make build` made and Terraform deploys) ships exactly the pinned SDK."""
    zip_path = ROOT / "build" / f"{name}.zip"
    if not zip_path.exists():
        pytest.skip(f"{zip_path} is missing: run `make build`")
    for dist in ("boto3", "botocore", "s3transfer"):
        assert dist_version(zip_path, dist) == pinned(dist), dist


def test_the_tmdb_zip_selects_with_its_own_duckdb_and_httpfs(lambda_python: str, tmp_path: Path) -> None:
    """The planner's selection runs from the zip alone: DuckDB and httpfs load, a CSV is read,
    and a lake session verifies TLS against the CA bundle shipped in the zip (not a path
    compiled into httpfs, which the Lambda image need not have)."""
    out = tmp_path / "out"
    assert run_build(SRC, out, "--package", "tmdb_enrich").returncode == 0
    task = tmp_path / "task"
    with zipfile.ZipFile(out / "tmdb_enrich.zip") as archive:
        archive.extractall(task)
    csv = tmp_path / "movies.csv"
    csv.write_text("id|anoLancamento|genero|numeroVotos\ntt1|1999|War|20000\ntt2|1999|Comedy|20000\n")
    code = "\n".join(
        (
            f"import sys; sys.path[:0] = [{str(task)!r}]",
            "import duckdb; print(duckdb.__file__)",
            "from movielake.duckdb_s3 import httpfs_extension_path, sql_string",
            "from movielake.tmdb.selection import Filters, select_ids, selection_connection",
            "c = selection_connection(); c.execute(f'LOAD {sql_string(str(httpfs_extension_path()))}')",
            f"print(select_ids(c, {str(csv)!r}, Filters(), size=1).ids)",
            "from movielake.config import Settings; from movielake.duckdb_s3 import connect",
            "lake = connect(Settings(region='us-east-1', endpoint_url='https://s3.us-east-1.amazonaws.com'))",
            "print(*lake.execute(\"SELECT current_setting('ca_cert_file'),"
            " current_setting('enable_server_cert_verification')\").fetchone())",
        )
    )
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PATH": os.environ["PATH"]}
    result = subprocess.run(
        [lambda_python, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120, env=env,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    origin, ids, tls = result.stdout.strip().splitlines()
    assert origin.startswith(str(task)), "duckdb must come from the zip"
    assert ids == "['tt1']"
    ca_file, verified = tls.rsplit(" ", 1)
    assert verified == "True"
    assert Path(ca_file).relative_to(task).as_posix() == "certifi/cacert.pem"
    assert Path(ca_file).is_file() and b"BEGIN CERTIFICATE" in Path(ca_file).read_bytes()
