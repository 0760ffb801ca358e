"""Progress bars: drawn (rich) on a terminal, never in piped output or with ``--quiet``.

``flowbt stress`` shows one over its Monte Carlo chunks and ``flowbt data check`` one over
several files; pytest's captured stdout is not a terminal, so the commands' real output here
must hold no bar and no ANSI escape, and a bar forced on into a StringIO console shows
``n/n``.
"""

from __future__ import annotations

import contextlib
import io
import re

from rich.console import Console as RichConsole

import engine.app.console as console_mod
from engine.app.cli import main
from engine.app.console import progress_bar
from tests.conftest import FIXTURES, ROOT

ANSI = re.compile(r"\x1b\[")
BAR_CHARS = ("━", "█", "╸", "╺")
CHECK_FILES = [FIXTURES / "us" / "etf_flows_2026q1_slice.csv",
               FIXTURES / "pykrx" / "market_cap_by_ticker_ALL_20210104.csv",
               FIXTURES / "pykrx" / "etf_pdf_152100_20210402.csv"]


def _clean(text: str) -> None:
    assert not ANSI.search(text), "ANSI escape in piped output"
    assert not any(c in text for c in BAR_CHARS), "progress-bar characters in piped output"


def test_a_forced_bar_renders_n_of_n_into_a_console():
    buf = io.StringIO()
    con = RichConsole(file=buf, force_terminal=True, width=80)
    with progress_bar("chunks", None, enabled=True, console=con) as update:
        for i in range(1, 5):
            update(f"chunk_{i}", i, 4)
    text = buf.getvalue()
    assert "chunks" in text and "4/4" in text
    assert any(c in text for c in BAR_CHARS)


def test_a_key_with_a_section_names_it_on_the_bar():
    # flowbt stress runs several path sections through one bar: it says whose chunks it counts
    buf = io.StringIO()
    con = RichConsole(file=buf, force_terminal=True, width=100)
    with progress_bar("stress chunks", None, enabled=True, console=con) as update:
        update("shock_1/paths_0000000", 1, 2)
        update("shock_1/paths_0000100", 2, 2)
    text = buf.getvalue()
    assert "stress chunks (shock_1)" in text and "2/2" in text


def test_the_bar_is_a_no_op_when_stdout_is_not_a_terminal(capsys):
    with progress_bar("chunks", 3) as update:
        for i in range(1, 4):
            update("k", i, 3)
    assert capsys.readouterr().out == ""


class _Spy:
    """Wraps :func:`progress_bar`: records ``enabled`` and every update, draws into a
    StringIO console when the command would draw (so the wiring is seen without a tty)."""

    def __init__(self, terminal: bool):
        self.enabled, self.updates, self.buf = [], [], io.StringIO()
        self.terminal = terminal
        self.real = console_mod.progress_bar

    @contextlib.contextmanager
    def __call__(self, description, total, *, enabled=None, console=None):
        self.enabled.append(enabled)
        draw = (self.terminal if enabled is None else enabled)
        con = RichConsole(file=self.buf, force_terminal=True, width=80)
        with self.real(description, total, enabled=draw, console=con) as upd:
            def update(key, done, total_):
                self.updates.append((done, total_))
                upd(key, done, total_)

            yield update


def test_data_check_of_several_files_piped_has_no_bar(capsys, monkeypatch):
    spy = _Spy(terminal=False)
    monkeypatch.setattr(console_mod, "progress_bar", spy)
    assert main(["data", "check", *map(str, CHECK_FILES)]) == 0
    out = capsys.readouterr().out
    _clean(out)
    for f in CHECK_FILES:
        assert f"== {f}" in out
    assert out.rstrip().endswith("3 files checked")
    assert spy.enabled == [None] and spy.updates == [(1, 3), (2, 3), (3, 3)]
    assert spy.buf.getvalue() == ""  # not a terminal: nothing drawn


def test_data_check_on_a_terminal_draws_the_bar_and_quiet_silences_it(capsys, monkeypatch):
    spy = _Spy(terminal=True)
    monkeypatch.setattr(console_mod, "progress_bar", spy)
    assert main(["data", "check", *map(str, CHECK_FILES)]) == 0
    assert "3/3" in spy.buf.getvalue()
    capsys.readouterr()
    spy.buf = io.StringIO()
    assert main(["--quiet", "data", "check", *map(str, CHECK_FILES)]) == 0
    assert spy.enabled[-1] is False and spy.buf.getvalue() == ""
    assert capsys.readouterr().out == ""


def test_one_file_gets_no_bar(capsys, monkeypatch):
    spy = _Spy(terminal=True)
    monkeypatch.setattr(console_mod, "progress_bar", spy)
    assert main(["data", "check", str(CHECK_FILES[0])]) == 0
    assert spy.enabled == [False] and spy.buf.getvalue() == ""
    out = capsys.readouterr().out
    assert out.startswith("detected --kind etf-flows") and "files checked" not in out


def _small_stress(tmp_path) -> str:
    """examples/stress_core_satellite.toml cut to a 30-path Monte Carlo in 3 chunks."""
    text = (ROOT / "examples" / "stress_core_satellite.toml").read_text()
    for old, new in (("sections = [\"windows\", \"shocks\", \"montecarlo\", \"tree\"]",
                      "sections = [\"montecarlo\"]"),
                     ("n_paths = 10000", "n_paths = 30"), ("chunk_paths = 1000", "chunk_paths = 10"),
                     ("horizon_days = 252            # one year", "horizon_days = 20  # short")):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "stress_small.toml"
    path.write_text(text)
    return str(path)


def test_stress_piped_or_quiet_shows_no_bar_and_one_summary_line(tmp_path, capsys, monkeypatch):
    spy = _Spy(terminal=True)  # as on a terminal: the bar gets the chunk updates
    monkeypatch.setattr(console_mod, "progress_bar", spy)
    assert main(["stress", _small_stress(tmp_path), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    _clean(out)  # the spy draws into its own buffer: stdout has only the chatter
    assert "written (" not in out  # the old per-chunk lines are gone
    summary = [ln for ln in out.splitlines() if ln.startswith("stress sections:")]
    assert len(summary) == 1 and "30 paths in 3 chunks of 10" in summary[0]
    assert spy.enabled == [None] and spy.updates == [(1, 3), (2, 3), (3, 3)]
    assert "3/3" in spy.buf.getvalue()
    # --quiet: no bar (enabled=False) and nothing on stdout; a second run in the same process
    # is quick (data and kernels are loaded)
    assert main(["stress", "--quiet", _small_stress(tmp_path), "--out", str(tmp_path / "q")]) == 0
    assert capsys.readouterr().out == "" and spy.enabled[-1] is False
    assert (tmp_path / "q" / "montecarlo.parquet").is_file()
