"""The command table: every command module imports (a broken one fails loudly, never vanishes)."""

from __future__ import annotations

import importlib
import sys
import types

import pytest

from engine.app.cli import COMMANDS, build_parser


@pytest.mark.parametrize("path, module, help_", COMMANDS)
def test_every_command_module_imports_and_has_its_entry_points(path, module, help_):
    mod = importlib.import_module(module)
    assert callable(mod.add_arguments) and callable(mod.run)


def test_a_broken_command_module_fails_the_parser(monkeypatch):
    broken = types.ModuleType("broken_cmd")  # no add_arguments: importing works, wiring fails
    monkeypatch.setitem(sys.modules, "broken_cmd", broken)
    monkeypatch.setattr("engine.app.cli.COMMANDS", [(("x",), "broken_cmd", "x")])
    with pytest.raises(AttributeError):
        build_parser()


def test_a_module_that_cannot_import_is_an_error_not_a_missing_command(monkeypatch):
    monkeypatch.setattr("engine.app.cli.COMMANDS", [(("x",), "engine.app.no_such_module", "x")])
    with pytest.raises(ModuleNotFoundError):
        build_parser()


def test_the_process_entry_points_freeze_the_heap_and_main_does_not(tmp_path):
    """console() (the ``flowbt`` script, ``python -m engine.app.cli``) returns main's exit
    code and freezes the heap so that finalisation skips full collections; main() alone,
    which tests call in one process, freezes nothing."""
    import subprocess
    import tomllib
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    scripts = tomllib.loads((root / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["flowbt"] == "engine.app.cli:console"
    code = ("import gc, sys; from engine.app.cli import console, main\n"
            f"argv = ['signals', '--store', {str(tmp_path / 'no_store')!r}, '--etf', 'X',"
            f" '--out', {str(tmp_path / 'o')!r}]\n"
            "rc = main(argv); n = gc.get_freeze_count()\n"
            "rc2 = console(argv)\n"
            "print(rc, n, rc2, gc.get_freeze_count() > 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, check=True).stdout.split()
    assert out == ["2", "0", "2", "True"], out
