"""Terminal output of the commands: quiet mode, progress bars, the monitor table.

Progress bars (rich) are drawn only when stdout is a terminal and ``--quiet`` is off, so logs
and pipes get no control characters; ``--quiet`` itself is applied by
:func:`engine.app.cli.main` (stdout silenced, errors still on stderr).
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass

__all__ = ["Console", "progress_bar"]


def _interactive() -> bool:
    return bool(getattr(sys.stdout, "isatty", lambda: False)())


@contextlib.contextmanager
def progress_bar(description: str, total: int, *, enabled: bool | None = None):
    """Yield ``update(key, done, total)`` drawing a rich progress bar; a no-op when output is
    not a terminal (or ``enabled=False``)."""
    if enabled is None:
        enabled = _interactive()
    if not enabled:
        yield lambda key, done, total: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeElapsedColumn(), transient=True) as prog:
        task = prog.add_task(description, total=total)

        def update(key, done, total_):
            prog.update(task, completed=done, total=total_)

        yield update


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
