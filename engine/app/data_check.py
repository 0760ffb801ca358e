"""``flowbt data check FILE [--kind KIND]``: load and validate one data file, print what it holds.

The reading and the summary are :func:`datasets.check.check_file`; without ``--kind`` the kind
is detected (:func:`datasets.check.detect_kind`); when the given kind fails but another reads
the file, the error says which. This module is the command.
"""

from __future__ import annotations

import argparse

from datasets.check import KINDS, check_file, detect_kind, explain_kind_failure

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``flowbt data check``."""
    parser.add_argument("file", metavar="FILE", help="CSV (UTF-8 or CP949) or Parquet file")
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
    from engine.errors import DataError

    opts = {k: v for k, v in (("etf", args.etf), ("date", args.date),
                              ("weight_unit", args.weight_unit),
                              ("allow_partial", args.allow_partial or None),
                              ("nav_from", args.nav_from), ("encoding", args.encoding))
            if v is not None}
    kind = args.kind
    if kind is None:
        kind = detect_kind(args.file, encoding=args.encoding, options=opts)
        print(f"detected --kind {kind}")
    try:
        text = check_file(args.file, kind, encoding=args.encoding, etf=args.etf, date=args.date,
                          weight_unit=args.weight_unit, allow_partial=args.allow_partial,
                          nav_from=args.nav_from, top=args.top)
    except DataError as exc:
        if args.kind is None:
            raise
        raise explain_kind_failure(exc, args.file, kind, opts) from exc
    print(text)
    return 0
