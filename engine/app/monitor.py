"""``flowbt monitor [--asof DATE] [--store DIR] [--out DIR] [--report]``: the weekly and
monthly flow checklist (:mod:`engine.monitor`) on the bundled 2026 Q1 ETF flows and prices, or
on a store's (:func:`datasets.store.load_monitor_inputs`; a store of the bundled files gives the
same monitor.json: tests/engine/app/test_monitor_store_cli.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

__all__ = ["add_arguments", "load_inputs", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Compute the flow monitor for the latest date in the data (or --asof): weekly RSP "
        "flow persistence, IWM price-flow divergence, QQQ vs SPY, IEMG inflows; monthly sector "
        "flows, equal-weight vs cap-weight, small-cap premium, leveraged-ETF volume; the "
        "three flow warnings; the month's tables. Writes monitor.json (and report.html with "
        "--report) to --out.")
    parser.epilog = "example:\n  flowbt monitor --asof 2026-02-27 --out out/monitor --report"
    parser.add_argument("--asof", default=None,
                        help="date to monitor, YYYY-MM-DD (default: the last flow date)")
    parser.add_argument("--store", default=None, metavar="DIR",
                        help="read flows/prices from a flowbt data store instead of the "
                             "bundled data (USD ETF flows: flowbt data import FLOWS PRICES "
                             "--store DIR records their currency)")
    parser.add_argument("--out", default="out/monitor",
                        help="output directory for monitor.json (default: out/monitor)")
    parser.add_argument("--report", action="store_true", help="also write DIR/report.html")


def load_inputs(store: str | None):
    """(flows long, prices wide, volume wide or None, source name, DataQuality)."""
    if store is None:
        from datasets.bundled import (
            load_us_etf_adjclose,
            load_us_etf_flows_2026q1,
            load_us_etf_shares_nav,
        )

        sn = load_us_etf_shares_nav()
        volume = sn.pivot(index="date", columns="ticker", values="Volume").sort_index()
        return (load_us_etf_flows_2026q1(), load_us_etf_adjclose(), volume,
                "bundled us_etf_daily_flows_2026q1", None)
    import importlib

    from engine.errors import DataError

    try:
        store_mod = importlib.import_module("datasets.store")
    except ImportError as exc:
        raise DataError("this build has no data store (datasets.store)", file=store,
                        fix="drop --store to use the bundled flows") from exc
    for fn in ("load_monitor_inputs",):
        if hasattr(store_mod, fn):
            return getattr(store_mod, fn)(store)
    raise DataError("the data store has no ETF flows and prices reader (load_monitor_inputs)",
                    file=store, fix="drop --store to use the bundled flows")


def run(args: argparse.Namespace) -> int:
    from engine.app.console import Console
    from engine.monitor import run_monitor
    from engine.report.files import quality_records

    con = Console.from_args(args)
    flows, prices, volume, source, _ = load_inputs(args.store)
    res = run_monitor(flows, prices, volume=volume, asof=args.asof, source=source)
    out = Path(args.out)
    from engine.app.outputs import RunDir

    with RunDir(out, command="monitor") as rd:
        rd.path("monitor.json").write_text(json.dumps(res.to_dict(), indent=2,
                                                      ensure_ascii=False))
        rd.path("quality.json").write_text(json.dumps(quality_records(res.quality), indent=2))
        rd.finish({"name": f"monitor {res.asof.date()}", "command": ["flowbt", "monitor", *(
            ["--asof", args.asof] if args.asof else [])], "asof": str(res.asof.date()),
            "data_source": source})
    con.monitor_table(res)
    con.print(res.quality.summary())
    if args.report:
        from engine.app.report import write_run_report

        con.print(f"report: {write_run_report(out)}")
    con.print(f"monitor.json in {out}")
    return 0
