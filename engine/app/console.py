"""Terminal output of the commands: quiet mode, progress bars, the monitor table.

Progress bars (rich) are drawn only when stdout is a terminal and ``--quiet`` is off, so logs
and pipes get no control characters; ``--quiet`` itself is applied by
:func:`engine.app.cli.main` (stdout silenced, errors still on stderr).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

__all__ = ["Console", "bar_enabled", "progress_bar"]


def _interactive() -> bool:
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


@contextlib.contextmanager
def progress_bar(description: str, total: int | None, *, enabled: bool | None = None,
                 console=None):
    """Yield ``update(key, done, total)`` drawing a rich progress bar.

    Parameters
    ----------
    description : str
        Shown left of the bar ("sweep chunks").
    total : int or None
        Number of steps when known; ``update`` may set it later (a chunk runner knows it
        only once it has looked at what is already written).
    enabled : bool, optional
        Default: only when stdout is a terminal. ``False`` (``--quiet``, pipes, logs) yields a
        no-op, so no control characters reach the output.
    console : rich.console.Console, optional
        Where to draw (default: rich's console on stdout); tests pass one writing to a
        ``StringIO``.
    """
    if enabled is None:
        enabled = _interactive()
    if not enabled:
        yield lambda key, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True,
                  console=console) as prog:
        task = prog.add_task(description, total=total)

        def update(key, done, total_):
            # a runner of several sections (stress: montecarlo, shock_0, branch_1, ...) names
            # the section before a "/" in the key; each section counts its own chunks
            part = str(key).split("/")[0] if "/" in str(key) else None
            prog.update(task, completed=done, total=total_,
                        description=f"{description} ({part})" if part else description)

        yield update


def bar_enabled(args) -> bool | None:
    """``enabled`` for :func:`progress_bar` from a command's arguments: off with ``--quiet``,
    else decided by the terminal (None)."""
    return False if getattr(args, "quiet", False) else None


@dataclass
class Console:
    """Printing for one command (``quiet`` drops everything but errors)."""

    quiet: bool = False

    @classmethod
    def from_args(cls, args) -> Console:
        return cls(quiet=bool(getattr(args, "quiet", False)))

    def print(self, *a) -> None:
        if not self.quiet:
            print(*a, flush=True)

    def monitor_table(self, res) -> None:
        """The monitor as rich tables (plain text when not a terminal)."""
        if self.quiet:
            return
        from rich.console import Console as RichConsole
        from rich.table import Table

        con = RichConsole(force_terminal=_interactive(), width=110 if not _interactive()
                          else None)
        t = Table(title=f"flow monitor as of {res.asof.date()} (week {res.week[0].date()} .. "
                        f"{res.week[1].date()}, month to date from {res.month[0].date()})")
        for c in ("", "item", "reading"):
            t.add_column(c)
        for w in res.warnings:
            mark = {True: "[bold red]FIRES[/]", False: "[green]no[/]",
                    None: "[yellow]no data[/]"}[w["fires"]]
            t.add_row(f"warning {mark}", w["warning"], w["reading"])
        for kind, rows in (("weekly", res.weekly), ("monthly", res.monthly)):
            for r in rows:
                t.add_row(kind, r["item"], r["reading"])
        con.print(t)
        s = Table(title="sectors this month")
        for c in ("ticker", "return", "flow USD bn", "divergence"):
            s.add_column(c, justify="right" if c != "divergence" else "left")
        for r in res.tables["sectors"]:
            s.add_row(r["ticker"], "" if r["return"] is None else f"{r['return']:+.2%}",
                      "" if r["flow_usd"] is None else f"{r['flow_usd'] / 1e9:+.2f}",
                      r["divergence"])
        con.print(s)
