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
