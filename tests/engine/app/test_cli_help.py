"""The command line helps: --version, --quiet everywhere, a description and an example in
every --help, bench's T N K E explained."""

from __future__ import annotations

import pytest

from engine.app.cli import COMMANDS, build_parser, main


def _sub(parser, path):
    p = parser
    for name in path:
        action = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        p = action.choices[name]
    return p


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("flowbt ")


@pytest.mark.parametrize("path", [c[0] for c in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_description_example_and_quiet(path):
    p = _sub(build_parser(), path)
    text = p.format_help()
    assert p.description and len(p.description) > 30
    assert "example:" in text and "flowbt " + " ".join(path) in text.split("example:")[1]
    assert "--quiet" in text


def test_bench_help_explains_sizes():
    text = _sub(build_parser(), ("bench",)).format_help()
    for word in ("T trading days", "N stocks", "K investor types", "E ETFs"):
        assert word in text


def test_quiet_prints_nothing(tmp_path, capsys):
    assert main(["monitor", "--quiet", "--asof", "2026-02-27", "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out == ""
    assert (tmp_path / "monitor.json").exists()


def test_error_names_the_flag(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "flowbt report RUN_DIR" in capsys.readouterr().err


@pytest.mark.parametrize("path", [(), ("data",)], ids=["flowbt", "flowbt data"])
def test_the_top_level_and_group_help_have_description_and_example(path):
    text = _sub(build_parser(), path).format_help()
    p = _sub(build_parser(), path)
    assert p.description and len(p.description) > 30
    assert "example:" in text and "flowbt " in text.split("example:")[1]
