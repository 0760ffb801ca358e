"""The ``flowbt`` command line.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and
``run(args) -> int``; this file only wires them up, so ``flowbt --help`` stays fast (modules
import numba/vectorbt inside ``run``, never at module level). Exit codes: 0 ok, 2 bad input or config (one clear line
on stderr; ``--debug`` shows the traceback), 1 unexpected failure.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

__all__ = ["main"]

#: (command path, module, help). The module provides add_arguments(parser) and run(args).
COMMANDS: list[tuple[tuple[str, ...], str, str]] = [
    (("demo",), "engine.app.demo", "run the main job end to end on the bundled data"),
    (("data", "check"), "engine.app.data_check", "load and validate data files, print their data quality"),
    (("data", "synth"), "engine.app.data_synth", "write a seeded synthetic market to a Parquet store"),
    (("data", "import"), "engine.app.data_import", "import real data files into a Parquet store"),
    (("data", "compact"), "engine.app.data_compact", "group a store's daily flows by stock, "
                                                     "for fast reads of a few stocks"),
    (("signals",), "engine.app.signals_cmd", "compute and export constituent-synthesized flow signals"),
    (("bench",), "benchmarks.bench_synthesis", "time flow synthesis against pandas and scipy"),
    (("backtest",), "engine.app.backtest", "run a strategy config and write its results"),
    (("sweep",), "engine.app.sweep", "run the parameter grid declared in a config"),
    (("report",), "engine.app.report", "build the self-contained HTML report of a run directory"),
    (("monitor",), "engine.app.monitor", "the weekly/monthly flow checklist and its warnings"),
    (("stress",), "engine.app.stress", "stress-test a config: windows, shocks, Monte Carlo, "
                                       "scenario tree"),
]

#: One example per command for its --help (a module's own epilog wins).
EXAMPLES: dict[tuple[str, ...], str] = {
    ("demo",): "flowbt demo --out out/demo            # prints a summary, writes out/demo/report.html",
    ("data", "check"): "flowbt data check tests/data/pykrx/"
                       "net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv --kind krx-netbuy",
    ("data", "synth"): "flowbt data synth --days 7500 --stocks 3000 --etfs 200 --seed 0 --out store/",
    ("data", "compact"): "flowbt data compact --store store/",
    ("bench",): "flowbt bench --small 250 300 12 20 --skip-large --repeats 3",
    ("backtest",): "flowbt backtest examples/core_satellite.toml --out out/cs --report",
    ("sweep",): "flowbt sweep examples/sweep_triggers.toml --out out/sweep --report",
    ("report",): "flowbt report out/cs",
    ("monitor",): "flowbt monitor --asof 2026-02-27 --out out/monitor --report",
    ("stress",): "flowbt stress examples/stress_core_satellite.toml --out out/stress --report",
    ("signals",): "flowbt signals --store store/ --etf 152100 --out out/signals --report",
    ("data", "import"): "flowbt data import datasets/data/us_etf_daily_flows_2026q1.parquet "
                        "datasets/data/us_etf_adjclose.parquet --store us_store/",
}

#: Descriptions of command groups (``flowbt data --help``) and the command whose example
#: their help shows.
GROUPS: dict[str, str] = {
    "data": "Data files and stores: check a file, import real files into a versioned Parquet "
            "store, or write a seeded synthetic market to one; compact a store for fast reads "
            "of a few stocks.",
}
GROUP_EXAMPLE: dict[str, tuple[str, ...]] = {"data": ("data", "import")}

#: Descriptions for commands whose module sets none.
DESCRIPTIONS: dict[tuple[str, ...], str] = {
    ("bench",): "Time constituent flow synthesis (flowbt's numba kernel) against pandas and "
                "scipy.sparse after a parity check; write the table to benchmarks/results/. "
                "Sizes are T N K E: T trading days, N stocks, K investor types, E ETFs "
                "(--small runs all three implementations, --large flowbt and scipy only).",
    ("backtest",): "Run one strategy config and its benchmarks on vectorbt; write equity, "
                   "weights, orders, the trigger log, metrics and run.json to --out.",
    ("sweep",): "Run the cartesian grid of the config's [sweep] table in resumable chunks "
                "(in process or on Dask) and write one metrics row per variant to --out.",
    ("data", "check"): "Load and validate data files with their format's loader; print what "
                       "was read and the data-quality summary of each (exit 2 on the first bad "
                       "file). A progress bar over several files on a terminal.",
    ("data", "synth"): "Write a seeded synthetic KRX-like market (per-stock investor flows, "
                       "holdings, prices) to a Parquet store.",
}


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions wrapped to the terminal; the epilog (``example:`` and its indented
    command lines) kept as written."""

    def _fill_text(self, text, width, indent):
        if "\n  " in text or text.startswith("example"):
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("flowbt")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowbt", description="Backtest ETF fund-flow rotation strategies.",
        epilog="example:\n  flowbt demo --out out/demo   # the whole job on the bundled data\n"
               "`flowbt COMMAND --help` describes each command.",
        formatter_class=_HelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--version", action="version", version=f"flowbt {_version()}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for path, module, help_ in COMMANDS:
        if len(path) == 1:
            p = subs.add_parser(path[0], help=help_,
                                formatter_class=_HelpFormatter)
        else:
            if path[0] not in groups:
                g = subs.add_parser(path[0], help=f"{path[0]} commands",
                                    description=GROUPS.get(path[0]),
                                    epilog=f"example:\n  {EXAMPLES[GROUP_EXAMPLE[path[0]]]}",
                                    formatter_class=_HelpFormatter)
                groups[path[0]] = g.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                                   required=True)
            p = groups[path[0]].add_parser(
                path[1], help=help_, formatter_class=_HelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
        p.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS,
                       help="print nothing but errors")
        p.set_defaults(_module=module)
        # A module that fails to import is a bug: let it fail here, loudly, rather than vanish
        # from --help (tests/engine/app/test_cli.py imports every command module).
        importlib.import_module(module).add_arguments(p)
        if not p.description:
            p.description = DESCRIPTIONS.get(path, help_[:1].upper() + help_[1:] + ".")
        if not p.epilog and path in EXAMPLES:
            p.epilog = "example:\n  " + EXAMPLES[path]
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flowbt`` console script."""
    from engine.errors import ConfigError, DataError

    args = build_parser().parse_args(argv)
    try:
        mod = importlib.import_module(args._module)
        if getattr(args, "quiet", False):
            # --quiet on every command: stdout silenced, errors still reach stderr
            import contextlib
            import os

            with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
                return int(mod.run(args) or 0)
        return int(mod.run(args) or 0)
    except (DataError, ConfigError, FileNotFoundError) as exc:
        if getattr(args, "debug", False):
            traceback.print_exc()
        print(f"flowbt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` etc.: stop quietly, like Unix tools
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def console(argv: list[str] | None = None) -> int:
    """The ``flowbt`` console script and ``python -m engine.app.cli``: :func:`main`, then the
    heap frozen because the process is about to end.

    Python's finalisation runs full garbage collections over every object the imports made
    (numba's type registries, pandas, plotly); for a short command they cost a good part of
    its wall time (``benchmarks/results/store_signals.md``). :func:`gc.freeze` moves them to
    the permanent generation, which collections skip; reference counting still frees them.
    Only the process entry points do it: tests call :func:`main` in one process, where
    frozen objects would never be collected.
    """
    import gc

    rc = main(argv)
    gc.freeze()
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(console())
