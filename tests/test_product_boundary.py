"""The product (the Lambda code and the CLI's AWS path) never imports the local stand-ins.

Every module of ``src/movielake`` outside ``movielake/local/`` is parsed (not imported) and
each import statement resolved, relative ones included; the local stack joins the CLI only
through the ``movielake.plugins`` entry points.
"""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "movielake"
STAND_INS = "movielake.local"


def module_name(path: Path, root: Path = SRC) -> str:
    """``src/movielake/catalog/cli.py`` -> ``movielake.catalog.cli`` (packages by their __init__)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = SRC) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in the file, ``from`` imports by their names too."""
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def is_stand_in(name: str) -> bool:
    return name == STAND_INS or name.startswith(STAND_INS + ".")


PRODUCT = sorted(p for p in PACKAGE.rglob("*.py") if "local" not in p.relative_to(PACKAGE).parts[:1])


def test_the_product_is_every_module_outside_local() -> None:
    assert len(PRODUCT) > 40, "the product modules were not found"
    assert all(not module_name(p).startswith(STAND_INS) for p in PRODUCT)


@pytest.mark.parametrize("path", PRODUCT, ids=lambda p: module_name(p))
def test_no_product_module_imports_the_stand_ins(path: Path) -> None:
    offending = [f"line {line}: {name}" for line, name in imported_modules(path) if is_stand_in(name)]
    assert not offending, f"{module_name(path)} imports the local stand-ins: {'; '.join(offending)}"


def test_the_checker_sees_absolute_and_relative_imports(tmp_path: Path) -> None:
    """The resolution the test relies on, on a file that does import the stand-ins."""
    fake = tmp_path / "movielake" / "catalog" / "bad.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("import json\nfrom ..local import roles\nfrom movielake import local\n")
    names = [n for _, n in imported_modules(fake, tmp_path) if is_stand_in(n)]
    assert names == ["movielake.local", "movielake.local.roles", "movielake.local"]


def test_the_local_stack_registers_through_the_entry_point() -> None:
    (plugin,) = [ep for ep in entry_points(group="movielake.plugins") if ep.name == "local"]
    assert plugin.value == "movielake.local.plugin"
    module = plugin.load()
    for hook in ("register", "invoke_at_endpoint"):
        assert callable(getattr(module, hook)), hook


def test_without_the_plugin_the_local_paths_say_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A product installed without the local stack: a local hook fails with one line saying
    what to install, and there is no ``movielake local``."""
    from movielake import cli, plugins

    monkeypatch.setattr(plugins, "installed", lambda: ())
    with pytest.raises(plugins.PluginMissingError, match=r"install movielake with its local extra"):
        plugins.hook("invoke_at_endpoint", "invoking a Lambda on a local endpoint")
    with pytest.raises(SystemExit) as exit_info:  # no `movielake local` without the plugin
        cli.main(["local", "status"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'local'" in capsys.readouterr().err
