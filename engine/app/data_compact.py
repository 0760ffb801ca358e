"""``flowbt data compact``: (re)build a store's stock-grouped copy of its daily flows.

Example::

    flowbt data compact --store store/
    flowbt data compact --store store/ --status     # what the copy serves now, no writing

Reading a few hundred stocks (``flowbt signals --etf X``) from the monthly ``flows``
partitions decodes every partition's rows of every stock; the copy (layout and rules in
:mod:`datasets.flows_by_stock`) holds each stock's rows together, so such a read decodes only
its stocks. It is derived and rebuildable: reads use it only for the months whose partitions
are unchanged since it was built, so an import never makes it serve stale rows (days appended
since are read from their partitions until the next compaction).
A damaged copy (index or file unreadable or missing) is never used: reads take its months from
the partitions (counted in the data-quality summary), ``--status`` says it is damaged, and
compacting again (or deleting ``flows_by_stock/``) repairs it.
"""

from __future__ import annotations

import argparse

__all__ = ["COMPACT_HINT_MONTHS", "add_arguments", "compact_hint", "run"]

#: Monthly partitions outside the stock-grouped copy from which ``flowbt data import`` and
#: ``flowbt signals --etf`` suggest ``flowbt data compact`` (two years: below that the
#: partitions read quickly enough).
COMPACT_HINT_MONTHS = 24


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``flowbt data compact``."""
    parser.add_argument("--store", required=True, metavar="DIR", help="a flowbt store")
    parser.add_argument("--status", action="store_true",
                        help="print what the copy serves now and write nothing")


def _status_line(s: dict, where: str = "DIR") -> str:
    if s.get("damaged"):
        return (f"damaged stock-grouped copy ({s['damaged']}): all {s['months_after']} "
                f"monthly partitions are read; run `flowbt data compact --store {where}` "
                f"again or delete its flows_by_stock/")
    if not s["compacted"]:
        return f"not compacted: all {s['months_after']} monthly partitions are read"
    served = s["valid_through"] or "nothing"
    return (f"compacted through {s['through']}; serves through {served}; "
            f"{s['months_after']} later monthly partitions are read from flows/")


def compact_hint(store, where, *, start=None, end=None) -> str | None:
    """The line suggesting ``flowbt data compact`` when reading a few stocks of ``store``
    (those of ``[start, end]``) would decode :data:`COMPACT_HINT_MONTHS` or more monthly
    partitions in full; None otherwise."""
    from datasets.flows_by_stock import compaction_status

    s = compaction_status(store, start=start, end=end)
    if s["months_after"] < COMPACT_HINT_MONTHS:
        return None
    what = ("its stock-grouped copy is damaged" if s.get("damaged") else
            "not compacted" if not s["compacted"] else
            f"the stock-grouped copy serves through {s['valid_through'] or 'no month'}")
    return (f"store: {s['months_after']} monthly partitions are read in full, outside the "
            f"stock-grouped copy ({what}); `flowbt data compact --store {where}` makes "
            "`flowbt signals --etf` read a few ETFs' stocks faster")


def run(args: argparse.Namespace) -> int:
    """Entry point of ``flowbt data compact``."""
    import time

    from datasets.flows_by_stock import compact_flows, compaction_status
    from datasets.store import open_store

    store = open_store(args.store)
    if args.status:
        print(_status_line(compaction_status(store), args.store))
        return 0
    t0 = time.perf_counter()
    r = compact_flows(store)
    if r["through"] is None:
        print(f"{store.path}: no daily flows to compact")
        return 0
    print(f"{store.path}: {r['rows']:,} rows of {r['stocks']:,} stocks, {r['months']} months "
          f"through {r['through']} -> {r['files']} files, {r['bytes'] / 1e9:.2f} GB, in "
          f"{time.perf_counter() - t0:.1f} s")
    print(_status_line(compaction_status(store), args.store))
    return 0
