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
    (("data", "check"), "engine.app.data_check", "load and validate a data file, print its data quality"),
    (("data", "synth"), "engine.app.data_synth", "write a seeded synthetic market to a Parquet store"),
    (("bench",), "benchmarks.bench_synthesis", "time flow synthesis against pandas and scipy"),
    (("backtest",), "engine.app.backtest", "run a strategy config and write its results"),
    (("sweep",), "engine.app.sweep", "run the parameter grid declared in a config"),
    (("stress",), "engine.app.stress", "stress-test a config: windows, shocks, Monte Carlo, "
                                       "scenario tree"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flowbt", description="Backtest ETF fund-flow rotation strategies."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for path, module, help_ in COMMANDS:
        if len(path) == 1:
            p = subs.add_parser(path[0], help=help_)
        else:
            if path[0] not in groups:
                g = subs.add_parser(path[0], help=f"{path[0]} commands")
                groups[path[0]] = g.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                                   required=True)
            p = groups[path[0]].add_parser(path[1], help=help_)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks on errors")
        p.set_defaults(_module=module)
        # A module that fails to import is a bug: let it fail here, loudly, rather than vanish
        # from --help (tests/engine/app/test_cli.py imports every command module).
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``flowbt`` console script."""
    from engine.errors import ConfigError, DataError

    args = build_parser().parse_args(argv)
    try:
        mod = importlib.import_module(args._module)
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


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
