"""``flowbt data import FILE... --store DIR``: import real data files into a flowbt store.

Example (the real KRX files shipped in tests/data/pykrx)::

    flowbt data import tests/data/pykrx/net_purchases_by_ticker_KOSPI_inv*_20210115_20210122.csv \\
        tests/data/pykrx/market_cap_by_ticker_ALL_20210104.csv --store store/
    flowbt data import tests/data/pykrx/etf_pdf_152100_20210402.csv --store store/ \\
        --effective-date 2021-01-14

Files may come in any order; importing a file twice changes nothing; two files disagreeing on
a value are an error naming both. The logic is :func:`datasets.store_import.import_files`
(layout: :mod:`datasets.store`).
"""

from __future__ import annotations

import argparse

from datasets.check import KINDS

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``flowbt data import``."""
    parser.add_argument("files", metavar="FILE", nargs="+",
                        help="CSV (UTF-8 or CP949) or Parquet files, any order")
    parser.add_argument("--store", required=True, metavar="DIR",
                        help="store directory (created if missing)")
    parser.add_argument("--kind", default=None, choices=KINDS,
                        help="what every file is (default: detected per file)")
    parser.add_argument("--effective-date", default=None, metavar="DATE",
                        help="holdings/PDF: the date the snapshot is effective from, overriding "
                             "the file's (a PDF is published for a date; it may have held earlier)")
    parser.add_argument("--date", default=None, metavar="DATE",
                        help="date of a one-day file whose name does not carry it")
    parser.add_argument("--stock", default=None, metavar="CODE",
                        help="stock of a by-date file whose name does not carry it")
    parser.add_argument("--etf", default=None, help="ETF code of a PDF (default: file name)")
    parser.add_argument("--encoding", default=None,
                        help="force a text encoding (default: detect UTF-8 / CP949)")
    parser.add_argument("--weight-unit", default=None, choices=("pct", "fraction"),
                        help="unit of holdings weights (default pct)")
    parser.add_argument("--allow-partial", action="store_true", default=None,
                        help="holdings: accept top-N snapshots that sum to less than 100%%")
    parser.add_argument("--nav-from", default=None, choices=("close",),
                        help="etf-shares-nav: use the close as NAV when there is none")
    parser.add_argument("--currency", default=None, choices=("USD", "KRW"),
                        help="etf-flows, etf-shares-nav: the flows' currency when the file does "
                             "not say it (a flow_usd column says USD); a store holds ETF flows "
                             "of one currency")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``flowbt data import``."""
    from datasets.store_import import import_files
    from engine.errors import DataQuality

    q = DataQuality()
    res = import_files(args.files, args.store, kind=args.kind, quality=q,
                       progress=False if getattr(args, "quiet", False) else None,
                       effective_date=args.effective_date, date=args.date, stock=args.stock,
                       etf=args.etf, encoding=args.encoding, weight_unit=args.weight_unit,
                       allow_partial=args.allow_partial, nav_from=args.nav_from,
                       currency=args.currency)
    from collections import Counter

    by_kind = Counter(res.kinds[n] for n in res.added)
    for kind, n in sorted(by_kind.items()):
        shown = [x for x in res.added if res.kinds[x] == kind]
        more = f" and {n - 3} more" if n > 3 else ""
        print(f"imported {n} --kind {kind} files: {', '.join(shown[:3])}{more}")
    if res.skipped:
        more = f" and {len(res.skipped) - 3} more" if len(res.skipped) > 3 else ""
        print(f"skipped {len(res.skipped)} files already in the store: "
              f"{', '.join(res.skipped[:3])}{more}")
    rows = ", ".join(f"{n:,} {t} rows" for t, n in res.rows.items()) or "no rows"
    print(f"{args.store}: {len(res.added)} files added ({rows}), {len(res.skipped)} skipped, "
          f"{res.partitions_written} partitions written")
    if res.rows.get("flows"):
        from datasets.store import open_store
        from engine.app.data_compact import compact_hint

        hint = compact_hint(open_store(args.store), args.store)
        if hint:
            print(hint)
    if len(q.rows_read) > 10:  # thousands of daily files: one line for the reads
        n_rows = sum(q.rows_read.values())
        shown = DataQuality(list(q.items), {f"{len(q.rows_read):,} files": n_rows})
        print(shown.summary())
    else:
        print(q.summary())
    return 0
