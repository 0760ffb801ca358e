"""``flowbt signals`` for one ETF from a large store: warm wall time, and what reading only
what it needs saves.

Usage::

    python -m benchmarks.bench_store_signals [--days 2500 7500] [--stocks 3000] [--etfs 200]
                                             [--etf E005] [--store-root DIR] [--repeats 3]

For each size, a synthetic store (``datasets.synth_store.write_store`` of ``make_market``;
kept under ``--store-root`` when given, so a second run reuses it) is read side by side in
this process: the whole store (``Store.flows()`` + ``Store.holdings()``, only up to
``--whole-up-to`` days, for memory) and only the ETF's holdings, its constituents' rows and
the four default investors' net buying, three ways: the previous selective read
(``Store.read_table`` of whole partitions filtered with ``pc.is_in``, pandas, ``astype(str)``
and factorize; replicated here), the monthly partitions read as arrays (``Store.flows(...,
compacted=False)``) and the stock-grouped copy (``flowbt data compact``,
:mod:`datasets.flows_by_stock`; built if absent or stale, its build timed). Every selected
panel must equal the others (and the same slice of the whole one). Then the command itself,
``python -m engine.app.cli signals --store DIR --etf E``, runs ``--repeats`` times in fresh
processes without and with the copy, interleaved (the first of each loads the numba and page
caches; the others are warm), and once under cProfile for the breakdown of a warm run. With
``--baseline DIR`` (a source tree of an earlier flowbt, e.g. ``git archive REV | tar -x -C
DIR``), that tree's command runs interleaved with them on the same store.
Writes ``benchmarks/results/store_signals.md``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._results import write_table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "store_signals.md"
INVESTORS = ("foreign", "institution", "individual", "pension")


def _store(days, args, root: Path):
    from datasets.store import open_store

    path = root / f"store_{days}x{args.stocks}x{args.etfs}"
    want = {"n_days": days, "n_stocks": args.stocks, "n_etfs": args.etfs, "seed": 0}
    if (path / "manifest.json").is_file():
        st = open_store(path)
        syn = st.manifest.get("synthetic", {}).get("params", {})
        if all(syn.get(k) == v for k, v in want.items()):
            return st, 0.0
        raise SystemExit(f"{path} holds another store ({syn}); remove it")
    from datasets.synth_store import write_store
    from datasets.synthetic import make_market

    t0 = time.perf_counter()
    write_store(make_market(days, args.stocks, args.etfs, seed=0), path)
    return open_store(path), time.perf_counter() - t0


def _old_selected_read(st, stocks, investors):
    """The selective read as ``Store.flows`` did it before the array reader: whole partitions
    filtered in Arrow, to pandas, stock codes through ``astype(str)`` + factorize."""
    import numpy as np
    import pandas as pd

    cols = ["date", "stock", "market_cap", "close", "src_market"] + [
        c for k in investors for c in (f"net_buy_{k}", f"src_net_buy_{k}")]
    t = st.read_table("flows", columns=cols, isin={"stock": sorted({str(x) for x in stocks})})
    ti, ud = pd.factorize(pd.DatetimeIndex(t["date"]).as_unit("ns"), sort=True)
    si, us = pd.factorize(t["stock"].astype(str), sort=True)
    T, N = len(ud), len(us)
    net = np.empty((T, N, len(investors)))
    for j, k in enumerate(investors):
        g = np.full((T, N), np.nan)
        g[ti, si] = t[f"net_buy_{k}"].to_numpy()
        net[:, :, j] = g
    return net


#: The commands' environment: a user's, so with the bytecode cache. A shell that sets
#: PYTHONDONTWRITEBYTECODE (this sandbox does) would make every "warm" run compile the
#: project's modules from source again.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _profile(cmd, tmp: Path) -> list[str]:
    """Seconds of one warm command under cProfile, by part (profiling overhead included)."""
    import pstats

    prof = tmp / "signals.prof"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "cProfile", "-o", str(prof), *cmd], check=True,
                   cwd=ROOT, capture_output=True, env=ENV)
    wall = time.perf_counter() - t0
    st = pstats.Stats(str(prof))
    cum = {}
    for (file, _, name), (_, _, _, ct, _) in st.stats.items():
        key = (Path(file).name, name)
        cum[key] = max(cum.get(key, 0.0), ct)

    def c(f, n):
        return cum.get((f, n), 0.0)

    # numba's one-time cost of a process: its import and the cached kernels' loads (the
    # first load initialises the CPU target's registries); paid by whichever part calls a
    # kernel first
    numba = sum(ct for (file, _, name), (_, _, _, ct, _) in st.stats.items()
                if (file.endswith("numba/__init__.py") and name == "<module>")
                or (file.endswith("numba/core/caching.py") and name == "load_overload"))

    run = c("signals_cmd.py", "run")
    hold = c("store.py", "holdings")
    rows = c("flows_by_stock.py", "read_flow_rows")
    flows = c("store.py", "flows")
    syn = c("flow_signals.py", "signals_long")
    chart = c("flows.py", "write_signals_chart")
    load = c("signals_cmd.py", "load_signal_inputs")
    parts = [
        ("interpreter start, imports, argument parsing (wall - `run`)", wall - run),
        ("holdings of the ETF (`Store.holdings(etfs=...)`)", hold),
        ("flow rows read (`read_flow_rows`: Parquet decode, stock codes)", rows),
        ("panel built from the rows (`Store.flows` - read: grids, stale caps; its first "
         "kernel call pays numba's one-time cost)", flows - rows),
        ("rest of loading (period totals, ...)", load - hold - flows),
        ("synthesis (`signals_long`)", syn),
        ("HTML position chart (`write_signals_chart`)", chart),
        ("outputs, coverage, point in time, quality summary (rest of `run`)",
         run - load - syn - chart),
    ]
    return ["| part of one warm run, with the copy (cProfile) | seconds |", "|---|---:|",
            *[f"| {what} | {sec:.2f} |" for what, sec in parts],
            f"| total under cProfile | {wall:.2f} |",
            f"| of which numba's import and cached-kernel loads (in the parts above) | "
            f"{numba:.2f} |", ""]


def _one_size(days, args, root: Path, tmp: Path) -> list[str]:
    import shutil

    import numpy as np
    import pandas as pd

    from datasets.flows_by_stock import COMPACT_DIR, compact_flows, compaction_status

    st, t_make = _store(days, args, root)
    size = sum(f.stat().st_size for f in (st.path / "flows").glob("*.parquet"))
    copy, off = st.path / COMPACT_DIR, st.path / (COMPACT_DIR + ".off")
    if off.exists() and not copy.exists():  # an interrupted earlier run
        os.replace(off, copy)
    t_compact = None
    if compaction_status(st)["months_after"]:
        t0 = time.perf_counter()
        compact_flows(st)
        t_compact = time.perf_counter() - t0
    copy_size = sum(f.stat().st_size for f in copy.iterdir())
    t_full = None
    if days <= args.whole_up_to:
        t0 = time.perf_counter()
        full, hold_all = st.flows(), st.holdings()
        t_full = time.perf_counter() - t0
    hold = st.holdings(etfs=[args.etf])
    stocks = pd.unique(hold.table["stock"])
    t_old, t_part, t_copy = [], [], []
    for _ in range(max(2, args.repeats)):  # interleaved: the same load on each
        t0 = time.perf_counter()
        old = _old_selected_read(st, stocks, INVESTORS)
        t_old.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        part = st.flows(stocks=stocks, investors=INVESTORS, shares=False, compacted=False)
        t_part.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        comp = st.flows(stocks=stocks, investors=INVESTORS, shares=False)
        t_copy.append(time.perf_counter() - t0)
    assert np.array_equal(old, part.net_buy, equal_nan=True)
    for name in ("net_buy", "market_cap", "close"):
        assert np.array_equal(getattr(comp, name), getattr(part, name), equal_nan=True)
    assert comp.dates.equals(part.dates) and comp.stocks.equals(part.stocks)
    if t_full is not None:
        si = full.stocks.get_indexer(part.stocks)
        ki = [full.investors.index(k) for k in part.investors]
        assert np.array_equal(part.net_buy, full.net_buy[:, si][:, :, ki], equal_nan=True)
        assert np.array_equal(part.market_cap, full.market_cap[:, si], equal_nan=True)
        del full, hold_all
    T, n_sel = len(part.dates), len(part.stocks)
    del part, comp, old
    cmd = ["-m", "engine.app.cli", "signals", "--store", str(st.path), "--etf", args.etf]
    modes = (["baseline"] if args.baseline else []) + ["without", "with"]
    walls = {m: [] for m in modes}
    load0 = os.getloadavg()[0]
    try:
        for i in range(max(2, args.repeats)):
            for mode in modes:
                if mode != "with":
                    os.replace(copy, off)
                try:
                    where = Path(args.baseline).resolve() if mode == "baseline" else ROOT
                    t0 = time.perf_counter()
                    subprocess.run([sys.executable, *cmd, "--out", str(tmp / f"o{days}{mode}{i}")],
                                   check=True, cwd=where, capture_output=True,
                                   env={**ENV, "PYTHONPATH": str(where)})
                    walls[mode].append(time.perf_counter() - t0)
                finally:
                    if mode != "with":
                        os.replace(off, copy)
        a = pd.read_parquet(tmp / f"o{days}without0" / "signals.parquet")
        b = pd.read_parquet(tmp / f"o{days}with0" / "signals.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        if args.baseline:
            pd.testing.assert_frame_equal(a, pd.read_parquet(
                tmp / f"o{days}baseline0" / "signals.parquet"), check_exact=True)
        prof = _profile([*cmd, "--out", str(tmp / f"o{days}prof")], tmp)
    finally:
        if off.exists() and not copy.exists():
            os.replace(off, copy)
        shutil.rmtree(off, ignore_errors=True)
    load1 = os.getloadavg()[0]
    warm = {m: statistics.median(w[1:]) for m, w in walls.items()}
    whole = ("not run (it needs ~12 GB at this size)" if t_full is None else f"{t_full:.2f}")
    med = statistics.median
    return [
        f"## {T:,} days x {args.stocks:,} stocks x 12 investors, {args.etfs} ETFs", "",
        f"Store: {size / 1e9:.2f} GB of flows partitions"
        + (f", written in {t_make:.0f} s" if t_make else ", reused") + f"; its stock-grouped "
        f"copy {copy_size / 1e9:.2f} GB" + (f", built in {t_compact:.0f} s (`flowbt data "
                                            "compact`)" if t_compact else ", reused")
        + f"; ETF {args.etf}: {n_sel} constituents over its history. Load average "
        f"{load0:.2f} -> {load1:.2f} (1 min) over the command runs.", "",
        "| read (median of interleaved repeats) | seconds |", "|---|---:|",
        f"| whole store: `Store.flows()` + `Store.holdings()` | {whole} |",
        f"| {args.etf}'s {n_sel} stocks, 4 investors, no share counts: previous read "
        f"(`read_table` + `is_in`, pandas, `astype(str)` + factorize) | {med(t_old):.2f} |",
        f"| the same, monthly partitions read as arrays (`flows(..., compacted=False)`) | "
        f"{med(t_part):.2f} |",
        f"| the same, from the stock-grouped copy (`flows(...)` after `flowbt data compact`) "
        f"| {med(t_copy):.2f} |", "",
        (f"- the selected panel equals the same slice of the whole one ({t_full / med(t_copy):.0f}x "
         "faster with the copy)." if t_full is not None else
         "- the three selected panels are equal; parity with the whole panel is checked at "
         "the smaller size and in tests/datasets/test_flows_by_stock.py."),
        f"- `flowbt signals --store DIR --etf {args.etf}` (fresh process each)"
        + (f", the earlier flowbt ({args.baseline_label or args.baseline}): first "
           f"{walls['baseline'][0]:.2f} s, warm "
           f"**{warm['baseline']:.2f} s**; this one" if args.baseline else "")
        + f" without the copy: first {walls['without'][0]:.2f} s, warm "
        f"**{warm['without']:.2f} s**; with it: first {walls['with'][0]:.2f} s, warm "
        f"**{warm['with']:.2f} s** (medians of {len(walls['with']) - 1}, interleaved); same "
        "signals.parquet.",
        f"- Target (issue 11) < 3 s warm: **{'met' if warm['with'] < 3 else 'not met'}** at "
        f"{T:,} days with the copy ({'met' if warm['without'] < 3 else 'not met'} without).",
        "", *prof,
    ]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, nargs="+", default=[2500, 7500])
    p.add_argument("--stocks", type=int, default=3000)
    p.add_argument("--etfs", type=int, default=200)
    p.add_argument("--etf", default="E005")
    p.add_argument("--store-root", default=None,
                   help="keep the stores here (store_<days>x<stocks>x<etfs>) to reuse them")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--baseline", default=None, metavar="DIR",
                   help="source tree of an earlier flowbt whose command runs side by side")
    p.add_argument("--baseline-label", default=None,
                   help="what --baseline is, for the table (e.g. 'main at 4fd8294')")
    p.add_argument("--whole-up-to", type=int, default=2500,
                   help="read the whole store only up to this many days (memory)")
    a = p.parse_args(argv)
    lines = ["# flowbt signals, one ETF from a large store (generated by "
             "benchmarks/bench_store_signals.py)", "",
             "The 2 CPUs are shared with other jobs; warm = page cache, numba cache and "
             "bytecode cache loaded by the first run (PYTHONDONTWRITEBYTECODE unset for the "
             "commands, as in a user's shell).", ""]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        root = Path(a.store_root) if a.store_root else tmp
        for days in a.days:
            lines += _one_size(days, a, root, tmp)
        t_start = []
        for _ in range(3):  # the interpreter and the imports alone
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import engine.app.cli, "
                            "engine.app.signals_cmd, engine.flow_signals, datasets.store"],
                           check=True, cwd=ROOT, env=ENV)
            t_start.append(time.perf_counter() - t0)
    lines.append(f"Interpreter start and imports alone: {statistics.median(t_start):.2f} s of "
                 "each run.")
    write_table(RESULTS, "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
