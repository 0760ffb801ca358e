"""README.md cannot drift from the command line: every fenced ``flowbt`` command parses with
the CLI's own argparse (parsed, not run), names files that exist, and the commands table lists
every command with options it really has. The examples in each ``--help`` parse too.

Running them is a manual check (``python -m tests.engine.app.readme_commands --run DIR``):
the long ones (a 1,000-variant sweep, 10,000 Monte Carlo paths, the benchmark) take minutes.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex

import pytest

from engine.app.cli import COMMANDS, build_parser
from tests.engine.app.readme_commands import README, ROOT, commands, fenced_blocks

CMDS = commands()


def _parse(argv: list[str]):
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            return build_parser().parse_args(argv)
    except SystemExit as exc:  # argparse's error exit
        pytest.fail(f"`flowbt {shlex.join(argv)}` does not parse (exit {exc.code}): "
                    f"{err.getvalue().strip()}")


def _sub(path):
    p = build_parser()
    for name in path:
        action = next(a for a in p._actions if a.__class__.__name__ == "_SubParsersAction")
        p = action.choices[name]
    return p


def test_the_extractor_finds_the_readme_commands():
    text = "```sh\nD=tests/data\nflowbt data check $D/x.csv  # note\nflowbt report a \\\n" \
           "    --out b\n$ flowbt monitor\nnot flowbt\n```\n`flowbt inline` is prose\n"
    assert fenced_blocks(text) == [["D=tests/data", "flowbt data check $D/x.csv  # note",
                                    "flowbt report a \\", "    --out b", "$ flowbt monitor",
                                    "not flowbt"]]
    assert [a for _, a in commands(text)] == [["data", "check", "tests/data/x.csv"],
                                              ["report", "a", "--out", "b"], ["monitor"]]
    assert len(CMDS) >= 15
    assert {a[0] for _, a in CMDS} >= {"monitor", "backtest", "sweep", "data", "signals",
                                       "stress", "bench"}


@pytest.mark.parametrize("argv", [a for _, a in CMDS], ids=lambda a: " ".join(a)[:60])
def test_every_readme_command_parses(argv):
    args = _parse(argv)
    assert args._module  # a real command was selected


@pytest.mark.parametrize("argv", [a for _, a in CMDS], ids=lambda a: " ".join(a)[:60])
def test_readme_commands_name_files_that_exist(argv):
    for a in argv:
        if a.startswith(("examples/", "tests/", "datasets/")):
            assert (ROOT / a).exists(), f"`flowbt {shlex.join(argv)}` names {a}, which is missing"


def _table_rows() -> list[str]:
    text = README.read_text()
    table = text[text.index("| command | what it does |"):]
    table = table[:table.index("\n\n")]
    return re.findall(r"^\| `(flowbt [^`]+)` \|", table, flags=re.M)


def test_the_commands_table_lists_every_command_with_real_options():
    rows = _table_rows()
    listed = set()
    for row in rows:
        words = row.split()[1:]
        path = tuple(w for w in words[:2] if re.fullmatch(r"[a-z]+", w))
        path = path if path in {c[0] for c in COMMANDS} else path[:1]
        listed.add(path)
        opts = {o for a in _sub(path)._actions for o in a.option_strings}
        for flag in re.findall(r"--[a-z][a-z-]*", row):
            assert flag in opts, f"README table: `{row}` shows {flag}, which flowbt " \
                                 f"{' '.join(path)} does not have"
    assert listed == {c[0] for c in COMMANDS}, "commands missing from the README table"


def _help_examples():
    for path, _, _ in COMMANDS:
        text = _sub(path).format_help()
        for line in text.split("example:", 1)[1].splitlines():
            line = line.strip()
            if line.startswith("flowbt "):
                yield path, shlex.split(line, comments=True)[1:]


@pytest.mark.parametrize(("path", "argv"), list(_help_examples()),
                         ids=lambda x: " ".join(x)[:60])
def test_every_help_example_parses_and_names_files_that_exist(path, argv):
    assert tuple(argv[:len(path)]) == path
    _parse(argv)
    for a in argv:
        if a.startswith(("examples/", "tests/", "datasets/")):
            assert (ROOT / a).exists(), f"the --help example of flowbt {' '.join(path)} names {a}"


def _shown_output(prompt: str) -> tuple[list[str], list[str]]:
    """(argv, output lines) of the README block that starts with ``$ <prompt>``."""
    for lines in fenced_blocks(README.read_text()):
        if lines and lines[0] == "$ " + prompt:
            return shlex.split(prompt)[1:], lines[1:]
    raise AssertionError(f"README shows no `$ {prompt}` block")


def _run_lines(argv, capsys) -> list[str]:
    from engine.app.cli import main

    assert main(argv) == 0
    return [ln.rstrip() for ln in capsys.readouterr().out.splitlines()]


def _without_report(argv: list[str], out: str) -> list[str]:
    argv = [a for a in argv if a != "--report"]
    return [*argv[:argv.index("--out") + 1], out, *argv[argv.index("--out") + 2:]]


def test_the_readme_monitor_output_is_what_it_prints(tmp_path, capsys):
    argv, shown = _shown_output("flowbt monitor --asof 2026-02-27 --out out/monitor --report")
    got = _run_lines(_without_report(argv, str(tmp_path / "m")), capsys)
    for line in shown:
        if line.startswith(("report: ", "monitor.json in ")):
            continue  # the paths of this run differ
        assert line in got, f"README shows {line!r}; flowbt monitor prints no such line"


@pytest.mark.slow
def test_the_readme_backtest_output_is_what_it_prints(tmp_path, capsys, monkeypatch):
    argv, shown = _shown_output(
        "flowbt backtest examples/core_satellite.toml --out out/cs --report")
    monkeypatch.chdir(ROOT)
    got = _run_lines(_without_report(argv, str(tmp_path / "cs")), capsys)
    for line in shown:
        if line.startswith(("report: ", "3 trigger events; results in ")):
            continue
        assert line in got, f"README shows {line!r}; flowbt backtest prints no such line"
