"""``flowbt signals``: compute and export constituent-synthesized flow signals.

Examples::

    flowbt signals --store store/ --etf 152100 --investor financial_investment individual \\
        --max-stale-sessions 15 --out runs/sig
    flowbt signals --synthetic --days 500 --stocks 100 --etfs 5 --etf all --compare-methods \\
        --out runs/sig-synth
    flowbt signals --bundled --evaluate --out runs/sig-krx     # KOSPI/KOSDAQ market-wide flows
    flowbt signals --synthetic --etf all --replication 10,30 --out runs/track

Writes into ``--out`` (schema in :mod:`engine.flow_signals`): ``signals.parquet`` and
``signals.csv`` (long: date, etf, investor, method, value, unit, period_start, period_end),
``positions.parquet`` (the running sums), ``coverage.parquet`` (one row per ETF-day or
ETF-period), ``quality.json`` (the data-quality items), ``point_in_time.csv`` and ``run.json``;
with ``--evaluate`` also ``evaluation.csv``; with ``--replication N,...`` also ``tracking.csv``
(daily sampled vs full replication returns and their difference) and ``tracking_summary.csv``
(annualized tracking error per ETF and N, :mod:`engine.tracking`). Prints the point-in-time problems (ETF, first
usable date, days without usable weights, weight not covered) and the data-quality summary.
"""

from __future__ import annotations

import argparse

__all__ = ["add_arguments", "run", "load_signal_inputs"]

DEFAULT_INVESTORS = ("foreign", "institution", "individual", "pension")
METHODS = ("bp", "amount", "shares", "weighted_amount")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``flowbt signals``."""
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", metavar="DIR", help="a flowbt store (data import / data synth)")
    src.add_argument("--bundled", action="store_true",
                     help="the bundled KOSPI/KOSDAQ market-wide net buying (each market as "
                          "the portfolio of all its stocks)")
    src.add_argument("--synthetic", action="store_true",
                     help="a seeded synthetic market (--days, --stocks, --etfs, --seed, "
                          "--signal-strength)")
    src.add_argument("--config", metavar="FILE",
                     help="read the [data] table of a config (source, path, max_stale_sessions)")
    parser.add_argument("--etf", nargs="+", default=["all"],
                        help="ETF codes, or 'all' (default)")
    parser.add_argument("--investor", nargs="+", default=list(DEFAULT_INVESTORS),
                        help="investor ids (default foreign institution individual pension)")
    parser.add_argument("--method", default="bp", choices=METHODS,
                        help="bp (default: net buying / market cap, weighted, in bp); amount, "
                             "shares, weighted_amount are the naive sums, for contrast")
    parser.add_argument("--compare-methods", action="store_true",
                        help="compute every method side by side (bp next to the naive sums)")
    parser.add_argument("--start", default=None, help="first date")
    parser.add_argument("--end", default=None, help="last date")
    parser.add_argument("--lag-days", type=int, default=0,
                        help="holdings publication lag in calendar days (default 0)")
    parser.add_argument("--max-stale-sessions", type=int, default=None,
                        help="how many sessions a market-cap snapshot may serve later days "
                             "(default 0, or [data] max_stale_sessions); each use is counted")
    parser.add_argument("--evaluate", action="store_true",
                        help="evaluate the signal against forward returns (IC, quantiles, ...)")
    parser.add_argument("--replication", type=replication_sizes, default=None,
                        metavar="N[,N2...]",
                        help="also compare sampling (the top N constituents by weight, "
                             "renormalized) with full replication on the constituent closes: "
                             "tracking.csv (daily tracking difference) and tracking_summary.csv "
                             "(annualized tracking error); see engine.tracking")
    parser.add_argument("--out", required=True, metavar="DIR", help="output directory")
    parser.add_argument("--report", action="store_true",
                        help="also write DIR/report.html (flowbt report DIR)")
    g = parser.add_argument_group("synthetic market (with --synthetic)")
    g.add_argument("--days", type=int, default=750)
    g.add_argument("--stocks", type=int, default=200)
    g.add_argument("--etfs", type=int, default=10)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--signal-strength", type=float, default=0.0)
    g.add_argument("--signal-horizon-days", type=int, default=10,
                   help="sessions the planted signal moves returns over (default 10)")


def replication_sizes(text: str) -> list[int]:
    """``--replication 10,30`` -> [10, 30] (positive integers, comma separated).

    Raises
    ------
    argparse.ArgumentTypeError
        Naming the bad item (argparse prefixes the flag).
    """
    out = []
    for item in str(text).split(","):
        item = item.strip()
        if not item.isdigit() or int(item) < 1:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not a sample size: give positive integers, e.g. 10,30")
        out.append(int(item))
    return sorted(set(out))


def _bundled_inputs():
    """Market-wide net buying as a two-'stock' panel: KOSPI and KOSDAQ, each its own ETF."""
    import numpy as np
    import pandas as pd

    import datasets
    from engine.market import ConstituentFlows, Holdings

    nb = datasets.load_krx_investor_netbuy()
    idx = datasets.load_krx_market_index()
    markets = ["KOSDAQ", "KOSPI"]
    inv = [c[len("KOSPI_"):-len("_krw")] for c in nb.columns if c.startswith("KOSPI_")]
    dates = nb.index.intersection(idx.index)
    net = np.stack([np.column_stack([nb.loc[dates, f"{m}_{k}_krw"].to_numpy(np.float64)
                                     for k in inv]) for m in markets], axis=1)
    cap = np.column_stack([idx.loc[dates, f"{m}_market_cap_krw"].to_numpy(np.float64)
                           for m in markets])
    close = np.column_stack([idx.loc[dates, f"{m}_close"].to_numpy(np.float64) for m in markets])
    flows = ConstituentFlows(dates=dates, stocks=markets, investors=tuple(inv), net_buy=net,
                             market_cap=cap, close=close)
    hold = Holdings(pd.DataFrame({"etf": markets, "effective_date": dates[0], "stock": markets,
                                  "weight": 1.0}))
    prices = pd.DataFrame(close, index=dates, columns=markets)
    return flows, hold, [], prices


def load_signal_inputs(args, quality):
    """(daily flows or None, holdings, period totals, prices or None) for the chosen source."""
    from engine.errors import ConfigError, DataError

    source, path, stale = None, None, args.max_stale_sessions
    if args.config:
        from engine.app.config import load_config

        cfg = load_config(args.config)
        from engine.app.runner import store_path

        source = cfg.data.source
        path = store_path(cfg) if source == "store" else None
        if stale is None:
            stale = cfg.data.max_stale_sessions
        if source == "synthetic":
            from datasets.synthetic import make_market

            m = make_market(**cfg.data.synthetic.model_dump())
            return m.flows, m.holdings, [], m.prices
        if source == "krx_market":
            return _bundled_inputs()
        if source != "store":
            raise ConfigError("data.source", source, "flowbt signals needs constituent flows: "
                              "use source = 'store', 'synthetic' or 'krx_market'")
    stale = 0 if stale is None else stale
    if stale < 0:
        raise ConfigError("--max-stale-sessions", stale, "must be >= 0")
    if args.bundled:
        return _bundled_inputs()
    if args.synthetic:
        from datasets.synthetic import make_market

        m = make_market(args.days, args.stocks, args.etfs, seed=args.seed,
                        signal_strength=args.signal_strength,
                        signal_horizon_days=args.signal_horizon_days)
        return m.flows, m.holdings, [], m.prices
    import pandas as pd

    from datasets.store import open_store

    store = open_store(path or args.store)
    # named ETFs: read only their holdings, their constituents' rows and the investors and
    # columns asked for (a large store holds thousands of stocks); --evaluate reads it all
    etfs = None if args.etf == ["all"] else [str(e) for e in args.etf]
    hold = store.holdings(etfs=etfs) if etfs and not args.evaluate else None
    if hold is None or set(etfs or ()) - set(hold.etfs):
        hold = store.holdings()  # all of it: an unknown --etf is named against every ETF
        stocks = investors = None
    else:
        stocks = pd.unique(hold.table["stock"])
        # an investor the store lacks: read them all, so the message lists what it has
        investors = args.investor if set(args.investor) <= set(store.investors) else None
    shares = bool(args.compare_methods or args.method == "shares" or stocks is None)
    # closes serve --replication and --evaluate only (NaN otherwise: nothing reads them)
    close = bool(args.replication or args.evaluate or stocks is None)
    flows = store.flows(start=args.start, end=args.end, max_stale_sessions=stale,
                        quality=quality, stocks=stocks, investors=investors, shares=shares,
                        close=close)
    if stocks is not None:
        from engine.app.data_compact import compact_hint

        hint = compact_hint(store, path or args.store, start=args.start, end=args.end)
        if hint:
            print(hint)
    if flows is not None and not flows.investors:
        flows = None  # market caps only (snapshots serving period totals)
    periods = store.period_totals(max_stale_sessions=stale, quality=quality)
    if hold is None:
        raise DataError("the store has no holdings", file=str(store.path),
                        fix="import PDFs or holdings files with `flowbt data import`")
    if flows is None and not periods:
        raise DataError("the store has no net buying", file=str(store.path),
                        fix="import net-purchases files with `flowbt data import`")
    # closes serve --evaluate only
    prices = store.prices(start=args.start, end=args.end) if args.evaluate else None
    return flows, hold, periods, prices


def _replication(args, flows, hold, etfs, quality):
    """Sampling vs full replication on the constituent closes of the daily panel."""
    import pandas as pd

    from engine.errors import ConfigError
    from engine.tracking import replication_tracking

    if flows is None:
        raise ConfigError("--replication", ",".join(map(str, args.replication)),
                          "needs daily constituent closes; the data has period totals only")
    close = flows.frame("close")
    if args.start is not None:
        close = close.loc[close.index >= pd.Timestamp(args.start)]
    if args.end is not None:
        close = close.loc[close.index <= pd.Timestamp(args.end)]
    return replication_tracking(hold, close, args.replication, etfs=etfs,
                                lag_days=args.lag_days, quality=quality)


def tracking_lines(summary) -> str:
    """The terminal lines of ``--replication``: one per (ETF, N) up to 20, else the median."""
    head = "replication by sampling (top N by weight) vs full: annualized tracking error"
    if len(summary) <= 20:
        lines = [f"  {r.etf} top {r.n} of {r.n_constituents}: TE {r.tracking_error:.2%}/yr, "
                 f"weight held {r.weight_held:.1%}, tracking difference "
                 f"{r.tracking_difference_total:+.2%} over {r.sessions} sessions"
                 for r in summary.itertuples()]
    else:
        med = summary.groupby("n")["tracking_error"].median()
        lines = [f"  top {n}: median TE {te:.2%}/yr over {summary['etf'].nunique()} ETFs"
                 for n, te in med.items()]
    return "\n".join([head, *lines, "  (tracking.csv, tracking_summary.csv)"])


def run(args: argparse.Namespace) -> int:
    """Entry point of ``flowbt signals``."""
    import json
    import sys
    import warnings
    from pathlib import Path

    import pandas as pd

    from engine.errors import ConfigError, DataQuality
    from engine.flow_signals import (
        period_signals,
        point_in_time_report,
        positions_long,
        signals_long,
    )
    from engine.synthesis import NoUsableHoldingsWarning, UnmatchedConstituentsWarning

    q = DataQuality()
    flows, hold, periods, prices = load_signal_inputs(args, q)
    etfs = None if args.etf == ["all"] else [str(e) for e in args.etf]
    if etfs is not None:
        unknown = [e for e in etfs if e not in set(hold.etfs)]
        if unknown:
            raise ConfigError("--etf", " ".join(unknown), "no holdings for these ETFs; the "
                              f"data has {', '.join(list(hold.etfs)[:10])}"
                              + (" ..." if len(hold.etfs) > 10 else ""))
    methods = list(METHODS) if args.compare_methods else [args.method]
    if "shares" in methods and ((flows is not None and flows.net_buy_shares is None)
                                or (flows is None and periods
                                    and periods[0].flows.net_buy_shares is None)):
        methods.remove("shares")
    have = set(flows.investors) if flows is not None else set()
    for p in periods:
        have |= set(p.flows.investors)
    missing = [k for k in args.investor if k not in have]
    if missing:
        q.add("flowbt signals", "left out", f"requested investors not in the data "
              f"({', '.join(missing)})", len(missing), rule="--investor")
        print(f"not in the data: {', '.join(missing)} (it has {', '.join(sorted(have))})")
    sig_parts, cov_parts, pit_parts = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnmatchedConstituentsWarning)  # counted in quality
        # printed under "point in time" (ETF, first usable date, days without weights) and
        # counted in quality: the Python warning would say it again with a source line
        warnings.simplefilter("ignore", NoUsableHoldingsWarning)
        if flows is not None:
            s, c = signals_long(flows, hold, etfs=etfs, investors=args.investor,
                                methods=methods, lag_days=args.lag_days, quality=q)
            sig_parts.append(s)
            cov_parts.append(c)
            pit_parts.append(point_in_time_report(c, hold, lag_days=args.lag_days, quality=q))
        if periods:
            ps = [p for p in periods if (args.start is None or p.end >= pd.Timestamp(args.start))
                  and (args.end is None or p.end <= pd.Timestamp(args.end))]
            s, c = period_signals(ps, hold, etfs=etfs, investors=args.investor, methods=methods,
                                  lag_days=args.lag_days, quality=q)
            sig_parts.append(s)
            cov_parts.append(c)
            pit_parts.append(point_in_time_report(c, hold, lag_days=args.lag_days, quality=q,
                                                  unit="periods"))
    signals = pd.concat(sig_parts, ignore_index=True)
    coverage = pd.concat(cov_parts, ignore_index=True)
    positions = positions_long(signals)
    tracking = None
    if args.replication:
        tracking = _replication(args, flows, hold, etfs, q)
    out = Path(args.out)
    from engine.app.outputs import RunDir, register_files

    # pandas writes DataFrame.attrs into the Parquet metadata as JSON; the synthesis attrs
    # (first usable dates as Timestamps) are reported in quality.json / point_in_time.csv
    for frame in (signals, positions, coverage):
        frame.attrs = {}
    with RunDir(out, command="signals") as rd:
        signals.to_parquet(rd.path("signals.parquet"), index=False)
        signals.to_csv(rd.path("signals.csv"), index=False)
        positions.to_parquet(rd.path("positions.parquet"), index=False)
        coverage.to_parquet(rd.path("coverage.parquet"), index=False)
        pit = pd.concat(pit_parts)
        pit.to_csv(rd.path("point_in_time.csv"))
        if tracking is not None:
            tracking.daily.to_csv(rd.path("tracking.csv"), index=False)
            tracking.summary.to_csv(rd.path("tracking_summary.csv"), index=False)
        evaluation = None
        if args.evaluate:
            from engine.app.signals_eval import evaluate_run

            rd.path("evaluation.csv")  # evaluate_run writes it into out
            evaluation = evaluate_run(signals, prices, flows, out)
        items = [dict(source=i.source, action=i.action, what=i.what, count=i.count,
                      rule=i.rule) for i in q.items]
        # COMMON.md: quality.json is the list of data-quality items (rows read go to run.json)
        rd.path("quality.json").write_text(
            json.dumps(items, indent=2, ensure_ascii=False, default=str) + "\n")
        run_doc = {"command": "flowbt " + " ".join(sys.argv[1:]), "methods": methods,
                   "investors": list(args.investor), "etfs": etfs or "all",
                   "lag_days": args.lag_days, "max_stale_sessions": args.max_stale_sessions,
                   "source": args.store or ("bundled" if args.bundled else "synthetic"
                                            if args.synthetic else args.config),
                   "quality": items, "rows_read": q.rows_read,
                   "dates": [str(signals["date"].min()), str(signals["date"].max())]
                   if len(signals) else []}
        rd.finish(run_doc)
    # The cumulative position per investor as one self-contained HTML page (read from the
    # files just written, so it equals `flowbt report` on this directory's flows section).
    from engine.report import write_signals_chart

    chart = write_signals_chart(out)
    register_files(out, [chart.name])

    n_etf = signals["etf"].nunique()
    print(f"{len(signals):,} signal rows: {n_etf} ETFs x {signals['investor'].nunique()} "
          f"investors x {len(methods)} methods -> {out}")
    print("point in time")
    for msg in pit["message"]:
        print(f"  {msg}")
    last = positions.dropna(subset=["value"]).groupby(["etf", "investor", "method"]).last()
    if len(last) and n_etf <= 5:
        print("position at the end (running sum)")
        for (e, k, m), r in last.iterrows():
            print(f"  {e} {k} {m}: {r['value']:,.6g} {r['unit']} ({r['date'].date()})")
    if evaluation is not None:
        print(evaluation)
    if tracking is not None:
        print(tracking_lines(tracking.summary))
    print(q.summary())
    print(f"position chart: {chart}")
    if getattr(args, "report", False):
        from engine.app.report import write_run_report

        print(f"report: {write_run_report(out)}")
    return 0
