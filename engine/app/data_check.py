"""``flowbt data check FILE... [--kind KIND]``: load and validate data files, print what they hold.

The reading and the summary are :func:`datasets.check.check_file`; without ``--kind`` the kind
is detected per file (:func:`datasets.check.detect_kind`); when the given kind fails but
another reads the file, the error says which. Several files are checked in order under a
progress bar (on a terminal, not with ``--quiet``); the first bad one stops the check with
its error. This module is the command.
"""

from __future__ import annotations

import argparse

from datasets.check import KINDS, check_file, detect_kind, explain_kind_failure

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``flowbt data check``."""
    parser.add_argument("files", metavar="FILE", nargs="+",
                        help="CSV (UTF-8 or CP949) or Parquet files (several: checked in turn)")
    parser.add_argument("--kind", default=None, choices=KINDS,
                        help="what the file is (default: detected from its columns)")
    parser.add_argument("--encoding", default=None,
                        help="force a text encoding (default: detect UTF-8 / CP949)")
    parser.add_argument("--etf", default=None, help="ETF code of a PDF (default: file name)")
    parser.add_argument("--date", default=None,
                        help="effective date of a PDF (default: file name)")
    parser.add_argument("--weight-unit", default="pct", choices=("pct", "fraction"),
                        help="unit of holdings weights (default pct)")
    parser.add_argument("--allow-partial", action="store_true",
                        help="holdings, holdings-wide: accept top-N snapshots that sum to less "
                             "than 100%% (weights kept as given, coverage reported)")
    parser.add_argument("--nav-from", default=None, choices=("close",),
                        help="etf-shares-nav: use the close as NAV when there is none")
    parser.add_argument("--top", type=int, default=5, help="how many largest values to show")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``flowbt data check``."""
    from engine.app.console import bar_enabled, progress_bar

    files = list(args.files)
    # one file is one read: a bar only over several files (a single large file shows none)
    with progress_bar("data check", len(files),
                      enabled=False if len(files) < 2 else bar_enabled(args)) as update:
        for i, path in enumerate(files, 1):
            if len(files) > 1:
                print(f"== {path}")
            print(_check_one(path, args))
            update(path, i, len(files))
    if len(files) > 1:
        print(f"{len(files)} files checked")
    return 0


def _check_one(path, args) -> str:
    """The report text of one file (the detected kind line first when --kind is left out)."""
    from engine.errors import DataError

    opts = {k: v for k, v in (("etf", args.etf), ("date", args.date),
                              ("weight_unit", args.weight_unit),
                              ("allow_partial", args.allow_partial or None),
                              ("nav_from", args.nav_from), ("encoding", args.encoding))
            if v is not None}
    kind = args.kind
    head = ""
    if kind is None:
        kind = detect_kind(path, encoding=args.encoding, options=opts)
        head = f"detected --kind {kind}\n"
    try:
        text = check_file(path, kind, encoding=args.encoding, etf=args.etf, date=args.date,
                          weight_unit=args.weight_unit, allow_partial=args.allow_partial,
                          nav_from=args.nav_from, top=args.top)
    except DataError as exc:
        if args.kind is None:
            raise
        raise explain_kind_failure(exc, path, kind, opts) from exc
    return head + text
