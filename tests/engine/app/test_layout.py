"""The house layout is checked, not remembered: the import contracts in pyproject.toml.

``make test`` runs ``lint-imports`` itself; these tests show that the contracts cover every
core module and that a deliberately wrong import breaks them.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT = Path(sys.executable).with_name("lint-imports")
CONTRACTS = {c["id"]: c for c in
             tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]}


def _engine_children() -> set[str]:
    out = set()
    for p in (ROOT / "engine").iterdir():
        if p.name.startswith(("_", ".")):
            continue
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists()):
            out.add(f"engine.{p.stem}")
    return out


def test_every_core_module_is_under_the_core_contract():
    core = set(CONTRACTS["core"]["source_modules"])
    assert core == _engine_children() - {"engine.app"}, (
        "a module of engine/ is missing from (or stale in) the 'core' contract of pyproject.toml")


def test_engine_package_init_imports_only_the_core():
    tree = ast.parse((ROOT / "engine" / "__init__.py").read_text())
    names = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    names |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    bad = {n for n in names if n.split(".")[0] in ("strategies", "datasets", "benchmarks")
           or n.startswith("engine.app")}
    assert not bad
    # the lazy table of engine/__init__.py names only core modules too
    import engine

    assert not [m for m in engine._LAZY.values() if m.startswith("engine.app")]


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True,
                          env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"}, timeout=300)


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory):
    if not LINT.exists():
        pytest.fail(f"{LINT} missing: install the dev extra (pip install -e '.[dev]')")
    dst = tmp_path_factory.mktemp("layout")
    for name in ("engine", "strategies", "datasets", "benchmarks"):
        shutil.copytree(ROOT / name, dst / name,
                        ignore=shutil.ignore_patterns("__pycache__", "data", "results"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


def test_contracts_hold_on_the_tree(tree_copy):
    r = _lint(tree_copy)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "broken" in r.stdout and " 0 broken" in r.stdout


@pytest.mark.parametrize("module, line, contract", [
    ("engine/metrics.py", "import strategies.base", "the core imports neither"),
    ("engine/synthesis.py", "from engine.app import config", "the core imports neither"),
    ("engine/nb/etf_nb.py", "import pandas", "engine.nb imports no pandas"),
    ("datasets/krx.py", "import strategies", "strategies and datasets"),
    ("strategies/base.py", "import engine.app.runner", "the application sits on"),
])
def test_a_wrong_import_breaks_a_contract(tree_copy, tmp_path, module, line, contract):
    bad = tmp_path / "tree"
    shutil.copytree(tree_copy, bad)
    f = bad / module
    f.write_text(f.read_text() + f"\n{line}  # deliberately wrong\n")
    r = _lint(bad)
    assert r.returncode != 0
    assert contract in r.stdout and "BROKEN" in r.stdout
