"""Benchmark constituent flow synthesis: naive pandas vs scipy.sparse vs flowbt (``flowbt bench``).

What it does, in order (``--seed`` makes the inputs deterministic):

1. Measures this machine's roofline in the same run (:mod:`benchmarks.roofline`).
2. JIT: times the first call in a subprocess with an empty numba cache directory (cold
   compile), then in a second subprocess on the same directory (cached load).
3. Small size (default 250 days x 300 stocks x 12 investors x 20 ETFs): the naive pandas
   way (long frame merged with daily holdings and market caps, multiply, group-by-sum), the
   scipy.sparse way and flowbt; parity checked before timing.
4. Large size (default 7,500 x 3,000 x 12 x 200, 50..500 constituents, quarterly
   rebalance), float64 and float32: scipy.sparse (one sparse (E x N) @ dense (N x T_p*K)
   product per rebalance period, transposes included) and flowbt (both kernel layouts);
   parity checked against scipy before timing. Pandas is not run at this size (its long
   frame would not fit); it is compared per (day, holding, investor) element.

5. End to end at the large size, float64 (issue 11: within 1.5x of the kernel alone), calls
   interleaved in rounds: the gather kernel alone (outputs preallocated), ``synthesize_flows`` with the Holdings' layout cached (every call after the
   first) and with the cache cleared (the first call), ``Holdings.to_csr``,
   ``Holdings(table)`` with str and with categorical etf/stock columns, and (``--e2e-only``)
   ``Store.holdings()`` of a holdings-only store; medians and fastest rounds. ``--e2e-only`` runs just this step and
   writes ``benchmarks/results/synthesis_e2e.md`` (a minute and a half instead of three).

Timed work starts from the HoldingsCSR (``Holdings.to_csr`` is shared by every method and
timed apart) and ends with the (T, E, K) array. Useful flops = 2 x K x (day, holding)
pairs; bytes read = net buying + market caps. The flowbt rows include the coverage output. Writes ``benchmarks/results/synthesis.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._results import median_time, run_json_child, script_main, write_table

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]

_PROBE = r"""
import json, sys, time
import numpy as np
t0 = time.perf_counter()
from engine.synthesis import Method, synthesize_arrays
from benchmarks.oracles import make_synthesis_arrays
t_import = time.perf_counter() - t0
a = make_synthesis_arrays(20, 30, 3, 3, seed=0, min_holdings=3, max_holdings=8,
                          rebalance_every_days=7)
out = {}
for dt in ("float64", "float32"):
    x = a.net_buy.astype(dt); m = a.market_cap.astype(dt)
    t0 = time.perf_counter()
    synthesize_arrays(x, m, a.csr, 3, Method.BP, with_coverage=False)
    out[dt] = time.perf_counter() - t0
out["import"] = t_import
print(json.dumps(out))
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``flowbt bench`` / ``python -m benchmarks.bench_synthesis``."""
    parser.add_argument("--seed", type=int, default=0, help="input generator seed")
    parser.add_argument("--small", type=int, nargs=4, default=[250, 300, 12, 20],
                        metavar=("T", "N", "K", "E"), help="small size (pandas runs here)")
    parser.add_argument("--large", type=int, nargs=4, default=[7500, 3000, 12, 200],
                        metavar=("T", "N", "K", "E"), help="large size")
    parser.add_argument("--skip-large", action="store_true", help="small size only")
    parser.add_argument("--dtypes", default="float64,float32")
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats (median)")
    parser.add_argument("--out", type=Path, default=RESULTS / "synthesis.md",
                        help="markdown table to write")
    parser.add_argument("--e2e-only", action="store_true",
                        help="only the end-to-end breakdown at the large size (float64), "
                        "written to --e2e-out")
    parser.add_argument("--e2e-out", type=Path, default=RESULTS / "synthesis_e2e.md",
                        help="markdown table of --e2e-only")
    parser.add_argument("--isolated-child", action="store_true", help=argparse.SUPPRESS)


def _jit_probe() -> dict:
    """First-call times in two fresh processes sharing one new numba cache directory."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONPATH=str(root))
        runs = []
        for _ in range(2):
            p = subprocess.run([sys.executable, "-c", _PROBE], env=env, cwd=root,
                               capture_output=True, text=True, check=True)
            runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    return {"cold": runs[0], "cached": runs[1]}


def _pairs(csr, T):
    """Number of (day, holding) pairs with the stock in the panel."""
    ok = csr.stock >= 0
    nnz = np.add.reduceat(ok.astype(np.int64), csr.indptr[:-1]) if len(csr.etf) else 0
    return int(np.sum(nnz * (csr.stop - csr.start)))


def _row(size, dtype, method, seconds, elements, bytes_read, flops, roof):
    from benchmarks.roofline import roofline_time

    rt = roofline_time(roof, bytes_read, flops)
    return {
        "size": size, "dtype": dtype, "method": method, "seconds": seconds,
        "ns_per_element": 1e9 * seconds / elements, "gbs": bytes_read / seconds / 1e9,
        "gflops": flops / seconds / 1e9, "roofline_fraction": rt / seconds,
        "roofline_s": rt,
    }


def _run_small(args, roof, rows, log):
    from benchmarks.oracles import make_synthesis_arrays, synthesize_oracle, synthesize_scipy
    from engine.synthesis import Method, synthesize_arrays, synthesize_flows

    T, N, K, E = args.small
    for dtype in args.dtypes.split(","):
        a = make_synthesis_arrays(T, N, K, E, seed=args.seed, dtype=dtype,
                                  min_holdings=min(50, N // 4), max_holdings=min(500, N // 2))
        flows, holdings = a.flows(), a.holdings()
        size = f"{T}x{N}x{K}x{E}"
        # Timed like for like: the array-level kernel (the path timed below) and the pandas
        # way with the same policy (an ETF-day with no constituent present stays 0).
        t_pd, _, want = median_time(synthesize_oracle, 1, flows, holdings, "bp",
                                    uncovered_nan=False)
        rtol = 1e-9 if dtype == "float64" else 1e-4
        scale = np.nanmax(np.abs(want.to_numpy(np.float64)))
        arr = synthesize_arrays(a.net_buy, a.market_cap, a.csr, E, Method.BP,
                                with_coverage=False)[0]
        np.testing.assert_allclose(arr.reshape(T, -1).astype(np.float64),
                                   want.to_numpy(np.float64), rtol=rtol, atol=rtol * scale)
        sp_out = synthesize_scipy(a.net_buy, a.market_cap, a.csr, E)
        np.testing.assert_allclose(sp_out.reshape(T, -1).astype(np.float64),
                                   want.to_numpy(np.float64), rtol=rtol, atol=rtol * scale)
        # and the public wrapper against the pandas way with its NaN-when-uncovered policy
        got = synthesize_flows(flows, holdings, method="bp")
        np.testing.assert_allclose(
            got.to_numpy(np.float64),
            synthesize_oracle(flows, holdings, "bp").to_numpy(np.float64),
            rtol=rtol, atol=rtol * scale)
        log(f"small {dtype}: parity ok (flowbt == pandas == scipy; wrapper == pandas)")
        pairs = _pairs(a.csr, T)
        elements = pairs * K
        bytes_read = a.net_buy.nbytes + a.market_cap.nbytes
        flops = 2.0 * elements
        rows.append(_row(size, dtype, "naive pandas", t_pd, elements, bytes_read, flops, roof))
        t_sp = median_time(synthesize_scipy, args.repeats, a.net_buy, a.market_cap, a.csr,
                           E).median
        rows.append(_row(size, dtype, "scipy.sparse", t_sp, elements, bytes_read, flops, roof))
        t_fb = median_time(synthesize_arrays, args.repeats, a.net_buy, a.market_cap, a.csr,
                           E, Method.BP).median
        rows.append(_row(size, dtype, "flowbt", t_fb, elements, bytes_read, flops, roof))
        log(f"small {dtype}: pandas {t_pd:.3f}s scipy {t_sp:.4f}s flowbt {t_fb:.4f}s")


def _run_large(args, roof, rows, log, extra):
    from benchmarks.oracles import make_synthesis_arrays, synthesize_scipy
    from engine.synthesis import Method, synthesize_arrays

    T, N, K, E = args.large
    size = f"{T}x{N}x{K}x{E}"
    for dtype in args.dtypes.split(","):
        t0 = time.perf_counter()
        a = make_synthesis_arrays(T, N, K, E, seed=args.seed, dtype=dtype)
        log(f"large {dtype}: generated in {time.perf_counter() - t0:.1f}s "
            f"({len(a.csr.etf)} snapshots, {len(a.csr.stock)} holdings rows)")
        if dtype == args.dtypes.split(",")[0]:
            tab = a.holdings_table()
            from engine.market import Holdings

            t0 = time.perf_counter()  # Holdings() alone, not the generator's table
            h = Holdings(tab)
            t_hold = time.perf_counter() - t0
            t_csr = median_time(h.to_csr, 1, a.dates, a.stocks).median
            extra["to_csr"] = (t_hold, t_csr, size)
            extra["breakdown"] = _breakdown(a, h, E, args.repeats, log, tab)
            del tab, h
        fb = synthesize_arrays(a.net_buy, a.market_cap, a.csr, E, Method.BP,
                               with_coverage=False)[0]
        sp_out = synthesize_scipy(a.net_buy, a.market_cap, a.csr, E)
        rtol = 1e-9 if dtype == "float64" else 1e-4
        scale = float(np.nanmax(np.abs(sp_out)))
        np.testing.assert_allclose(fb, sp_out, rtol=rtol, atol=rtol * scale)
        by_stock = synthesize_arrays(a.net_buy, a.market_cap, a.csr, E, Method.BP,
                                     layout="by_stock")[0]
        np.testing.assert_allclose(by_stock, sp_out, rtol=rtol, atol=rtol * scale)
        log(f"large {dtype}: parity ok (flowbt by_etf == by_stock == scipy)")
        del fb, sp_out, by_stock
        pairs = _pairs(a.csr, T)
        elements = pairs * K
        bytes_read = a.net_buy.nbytes + a.market_cap.nbytes
        flops = 2.0 * elements
        t_sp = median_time(synthesize_scipy, args.repeats // 2, a.net_buy, a.market_cap,
                           a.csr, E).median
        rows.append(_row(size, dtype, "scipy.sparse", t_sp, elements, bytes_read, flops, roof))
        log(f"large {dtype}: scipy {t_sp:.3f}s")
        for layout, label in (("by_stock", "flowbt by_stock"), ("by_etf", "flowbt")):
            t_fb = median_time(synthesize_arrays, args.repeats, a.net_buy, a.market_cap,
                               a.csr, E, Method.BP, layout=layout).median
            rows.append(_row(size, dtype, label, t_fb, elements, bytes_read, flops, roof))
            log(f"large {dtype}: {label} {t_fb:.3f}s")
        del a


def _breakdown(a, holdings, n_etfs, repeats, log, table=None, store=None) -> dict:
    """Where the default kernel's time goes, calls interleaved so noise hits all alike.

    ``kernel``: :func:`engine.nb.gather_nb.synthesize_gather_nb` alone (bp, coverage,
    int32 stock positions as ``synthesize_arrays`` passes them, outputs preallocated);
    ``kernel_int64``: the same with int64 positions; ``input_pass``: the same with no ETF
    active (reads and scales ``x``, writes the output, gathers nothing); ``one_thread``: the
    kernel on one numba thread; ``synthesize_flows``: the public call end to end on a Holdings object that has laid
    itself out on this panel already (the cached layout, what every call after the first
    gets); ``synthesize_flows_cold``: the same with the layout cache cleared first
    (``Holdings.to_csr``, active snapshots, int32 positions, snapshot weights, then kernel,
    coverage bookkeeping, labels); ``to_csr``: ``Holdings.to_csr`` alone;
    ``holdings``: ``Holdings(table)`` (sort check, validation; with ``table``, str columns);
    ``holdings_cat``: the same table with categorical ``etf`` / ``stock`` (sorted categories;
    what ``Store.holdings`` hands over) and ``synthesize_flows_cold_cat``: the first call on
    that Holdings; ``store``: ``Store.holdings()`` of a holdings-only store of the same table
    from its layout cache (``holdings_layout.npz``, written by the first read) and
    ``synthesize_flows_cold_cached``: the first call on that Holdings; ``store_parts``: the
    read of the Parquet partitions (``layout_cache=False``: the Arrow chunks checked and
    ordered by ``engine.holdings_arrow``) and ``synthesize_flows_cold_store``: the first
    call on its Holdings;
    ``e2e_cat``, ``e2e_str``, ``e2e_store``, ``e2e_store_parts``: one timed call from the
    table (or the store) to
    the synthesis, ``synthesize_flows(flows, Holdings(table))`` with a new Holdings each time,
    right after the kernel call of the same round.
    """
    import numba
    import pandas as pd

    from engine.market import Holdings
    from engine.nb import gather_nb
    from engine.nb.synthesis_nb import active_snapshot_nb
    from engine.synthesis import clear_layout_cache, synthesize_flows

    T, N, K = a.net_buy.shape
    E = n_etfs
    csr = a.csr
    active = active_snapshot_nb(T, E, csr.etf, csr.start, csr.stop)
    none_active = np.full_like(active, -1)
    out = np.empty((T, E, K), a.net_buy.dtype)
    cov = np.empty((T, E))
    kt, wt = (0,) * K, (0,) * gather_nb.lane_count(K)
    stock32 = csr.stock.astype(np.int32)
    chunks = 4 * numba.get_num_threads()

    def kernel(act, stock, n_chunks=chunks):
        gather_nb.synthesize_gather_nb(a.net_buy, a.market_cap, 1e4, True, kt, wt, act,
                                       csr.indptr, stock, csr.weight, csr.weight, True, True,
                                       n_chunks, out, cov)

    threads = numba.get_num_threads()

    def one_thread():
        numba.set_num_threads(1)
        try:
            kernel(active, stock32, 4)
        finally:
            numba.set_num_threads(threads)

    flows = a.flows()
    # the end-to-end calls right after the kernel they are compared with: after the
    # one-thread case the next call measured ~0.2 s slower on the 2-CPU VM
    cases = {"kernel": lambda: kernel(active, stock32)}
    if table is not None:
        cat_table = table.assign(etf=table["etf"].astype("category"),
                                 stock=table["stock"].astype("category"))
        h_cat = Holdings(cat_table)
        # parity: the categorical and the store's Holdings lay out the same synthesis
        want = synthesize_flows(flows, holdings)
        pd.testing.assert_frame_equal(synthesize_flows(flows, h_cat), want)
        # one timed call from the table to the synthesis (a new Holdings each time, so
        # its layout is built: the first call)
        cases["e2e_cat"] = lambda: synthesize_flows(flows, Holdings(cat_table))
    if store is not None:
        h_store = store.holdings(layout_cache=False)
        pd.testing.assert_frame_equal(synthesize_flows(flows, h_store), want)
        store.holdings()  # writes the layout cache the next reads take
        h_cached = store.holdings()
        pd.testing.assert_frame_equal(synthesize_flows(flows, h_cached), want)
        cases["e2e_store"] = lambda: synthesize_flows(flows, store.holdings())
        cases["e2e_store_parts"] = lambda: synthesize_flows(
            flows, store.holdings(layout_cache=False))
    if table is not None:
        cases["e2e_str"] = lambda: synthesize_flows(flows, Holdings(table))
    cases.update({
        "synthesize_flows": lambda: synthesize_flows(flows, holdings),
        "synthesize_flows_cold": lambda: (clear_layout_cache(holdings),
                                          synthesize_flows(flows, holdings)),
        "kernel_int64": lambda: kernel(active, csr.stock),
        "input_pass": lambda: kernel(none_active, stock32),
        "one_thread": one_thread,
        "to_csr": lambda: holdings.to_csr(a.dates, a.stocks),
    })
    if table is not None:
        cases["holdings"] = lambda: Holdings(table)
        cases["holdings_cat"] = lambda: Holdings(cat_table)
        cases["synthesize_flows_cold_cat"] = lambda: (clear_layout_cache(h_cat),
                                                      synthesize_flows(flows, h_cat))
    if store is not None:
        cases["store"] = store.holdings
        cases["synthesize_flows_cold_cached"] = lambda: (clear_layout_cache(h_cached),
                                                         synthesize_flows(flows, h_cached))
        cases["store_parts"] = lambda: store.holdings(layout_cache=False)
        cases["synthesize_flows_cold_store"] = lambda: (clear_layout_cache(h_store),
                                                        synthesize_flows(flows, h_store))
    for fn in cases.values():  # warm-up: compile or load every specialization
        fn()
    times: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(max(1, repeats)):
        for k, fn in cases.items():
            times[k].append(median_time(fn, 1).median)
    res = {k: float(np.median(v)) for k, v in times.items()}
    # fastest round too: on a shared machine the least disturbed call of each step
    res.update({f"{k}_min": float(np.min(v)) for k, v in times.items()})
    res["threads"] = threads
    log("breakdown: " + ", ".join(f"{k} {v:.3f}s" for k, v in res.items()
                                  if k != "threads" and not k.endswith("_min")))
    return res


def _e2e_lines(b: dict, size: str) -> list[str]:
    """The end-to-end table of :func:`_breakdown` (seconds and ratio to the kernel alone)."""
    rows = [
        ("kernel alone (outputs preallocated)", "kernel"),
        ("`synthesize_flows`, layout cached on the Holdings (every call after the first)",
         "synthesize_flows"),
        ("`synthesize_flows`, layout built (first call on a Holdings: to_csr, active, "
         "int32 positions, snapshot weights)", "synthesize_flows_cold"),
        ("`Holdings.to_csr` alone", "to_csr"),
    ]
    if "holdings" in b:
        rows += [("`Holdings(table)` construction, str etf/stock (sort check, validation)",
                  "holdings"),
                 ("sum: `Holdings(table)` + first `synthesize_flows`, str etf/stock",
                  ("holdings", "synthesize_flows_cold"))]
    if "holdings_cat" in b:
        rows += [("`Holdings(table)` construction, categorical etf/stock", "holdings_cat"),
                 ("first `synthesize_flows` on that Holdings", "synthesize_flows_cold_cat"),
                 ("sum: `Holdings(table)` + first `synthesize_flows`, categorical etf/stock",
                  ("holdings_cat", "synthesize_flows_cold_cat"))]
    if "store" in b:
        rows += [("`Store.holdings()` from its layout cache (`holdings_layout.npz`, current)",
                  "store"),
                 ("first `synthesize_flows` on that Holdings", "synthesize_flows_cold_cached"),
                 ("sum: `Store.holdings()` (cache) + first `synthesize_flows`",
                  ("store", "synthesize_flows_cold_cached")),
                 ("`Store.holdings(layout_cache=False)` (read the Parquet partitions, "
                  "check and order their Arrow chunks)", "store_parts"),
                 ("first `synthesize_flows` on the store's Holdings",
                  "synthesize_flows_cold_store"),
                 ("sum: `Store.holdings(layout_cache=False)` + first `synthesize_flows`",
                  ("store_parts", "synthesize_flows_cold_store"))]
    rows += [(name, key) for name, key in (
        ("one call: `synthesize_flows(flows, Holdings(table))`, categorical etf/stock",
         "e2e_cat"),
        ("one call: `synthesize_flows(flows, Holdings(table))`, str etf/stock", "e2e_str"),
        ("one call: `synthesize_flows(flows, store.holdings())` (layout cache current)",
         "e2e_store"),
        ("one call: `synthesize_flows(flows, store.holdings(layout_cache=False))`",
         "e2e_store_parts"),
    ) if key in b]
    out = [f"### `synthesize_flows` end to end vs the kernel alone at {size} (same run, "
           "interleaved calls)", "",
           "| step | median (s) | fastest (s) | median - kernel median (s) | median / kernel "
           "median | fastest / kernel fastest | target <= 1.5x (medians) |",
           "|---|---:|---:|---:|---:|---:|---|"]

    def get(key, suffix=""):
        keys = key if isinstance(key, tuple) else (key,)
        return sum(b[k + suffix] for k in keys)

    k, k_min = b["kernel"], b["kernel_min"]
    for name, key in rows:
        t, t_min = get(key), get(key, "_min")
        verdict = ("met" if t / k <= 1.5 else "not met") if "synthesize_flows" in name else ""
        diff = f"{t - k:+.3f}" if t >= 0.5 * k else ""
        out.append(f"| {name} | {t:.3f} | {t_min:.3f} | {diff} | {t / k:.2f}x | "
                   f"{t_min / k_min:.2f}x | {verdict} |")
    load = os.getloadavg()
    out += ["", f"Load average when the table was written: {load[0]:.2f} (1 min), "
            f"{load[1]:.2f} (5 min) on {os.cpu_count()} CPUs. On a shared machine the kernel "
            "(all threads) slows with the load; the column of differences is the time spent "
            "outside the kernel, to set against an unloaded kernel time."]
    return out


def _markdown(args, roof, jit, rows, extra) -> str:
    lines = [
        "# Constituent flow synthesis benchmark",
        "",
        "Generated by `benchmarks/bench_synthesis.py` (`flowbt bench`); do not edit.",
        "",
        f"- seed {args.seed}; repeats {args.repeats} (median); numba threads "
        f"{roof['threads']}; {os.cpu_count()} CPUs; load average "
        f"{os.getloadavg()[0]:.2f} (1 min) when written",
        f"- roofline measured in this run: read bandwidth **{roof['bandwidth_gbs']:.1f} GB/s** "
        f"(numba parallel sum over {roof['bandwidth_bytes'] / 1e9:.1f} GB; np.sum "
        f"{roof['numpy_sum_gbs']:.1f} GB/s), dense matmul **{roof['matmul_gflops']:.1f} "
        f"GFLOP/s** (np.dot {roof['matmul_n']}x{roof['matmul_n']} float64; {roof['blas']})",
        "- roofline time = max(bytes read / bandwidth, useful flops / matmul rate); bytes "
        "read = net buying + market caps; useful flops = 2 x K x (day, holding) pairs; "
        "flowbt times include the coverage output (what `synthesize_flows` uses)",
        f"- ceiling for this kernel, measured in this run: flowbt's gather loop on rows in L1 "
        f"(one loaded value per multiply-add, all threads) runs at **"
        f"{roof['gather_gflops']:.1f} GFLOP/s = {roof['gather_gflops'] / roof['matmul_gflops']:.0%}"
        "** of the matmul rate. Random holdings give no loaded value to reuse from a register "
        "across ETFs (a matmul reuses each one many times), so this loop cannot pass that "
        "fraction of the roofline here, even with every row in L1 and nothing else to do; "
        "the last column measures against that ceiling",
        f"- JIT, first call in a fresh process with an empty cache (compile): float64 "
        f"{jit['cold']['float64']:.2f} s, float32 {jit['cold']['float32']:.2f} s; "
        f"second process, same cache (load): float64 {jit['cached']['float64']:.3f} s, "
        f"float32 {jit['cached']['float32']:.3f} s",
    ]
    if "to_csr" in extra:
        th, tc, size = extra["to_csr"]
        lines.append(f"- holdings preparation at {size} (shared by every method, not in the "
                     f"times below; first calls): Holdings() {th:.2f} s, Holdings.to_csr "
                     f"{tc:.3f} s")
    if "breakdown" in extra:
        b = extra["breakdown"]
        lines.append(
            f"- where the default kernel's time goes at {size} {args.dtypes.split(',')[0]} "
            f"(medians of {args.repeats} interleaved calls, outputs preallocated): kernel "
            f"**{b['kernel']:.3f} s**; its pass over the input and output alone (no ETF "
            f"active) **{b['input_pass']:.3f} s**, so the gathers take "
            f"{b['kernel'] - b['input_pass']:.3f} s; on one thread {b['one_thread']:.3f} s "
            f"({b['one_thread'] / b['kernel']:.1f}x the {b['threads']}-thread time); with "
            f"int64 stock positions instead of int32 {b['kernel_int64']:.3f} s; "
            f"`synthesize_flows` end to end (layout cached on the Holdings: kernel, coverage "
            f"bookkeeping, labels) {b['synthesize_flows']:.3f} s, with the layout built "
            f"(to_csr too) {b['synthesize_flows_cold']:.3f} s")
        lines += ["", *_e2e_lines(b, size), ""]
    lines += [
        "",
        "| size (TxNxKxE) | dtype | method | time (s) | ns / element | GB/s | useful GFLOP/s "
        "| roofline (s) | fraction of roofline | fraction of gather ceiling |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['size']} | {r['dtype']} | {r['method']} | {r['seconds']:.4g} | "
            f"{r['ns_per_element']:.3g} | {r['gbs']:.2f} | {r['gflops']:.2f} | "
            f"{r['roofline_s']:.3g} | {r['roofline_fraction']:.1%} | "
            f"{r['gflops'] / roof['gather_gflops']:.1%} |")
    lines += ["", "## Ratios (same run)", ""]
    by = {(r["size"], r["dtype"], r["method"]): r for r in rows}
    for (size, dtype, method), r in by.items():
        if method != "flowbt":
            continue
        small_pd = [v for (s, d, m), v in by.items() if d == dtype and m == "naive pandas"]
        sp = by.get((size, dtype, "scipy.sparse"))
        if small_pd:
            ratio = small_pd[0]["ns_per_element"] / r["ns_per_element"]
            lines.append(f"- {size} {dtype}: flowbt vs naive pandas (per element, pandas at "
                         f"{small_pd[0]['size']}): **{ratio:,.0f}x** (target >= 1,000x)")
        if sp:
            lines.append(f"- {size} {dtype}: flowbt vs scipy.sparse: "
                         f"**{sp['seconds'] / r['seconds']:.1f}x** (target >= 5x)")
        lines.append(f"- {size} {dtype}: flowbt at **{r['roofline_fraction']:.0%}** of the "
                     "roofline (target >= 50% at the large size in float64; ceiling of the "
                     f"gather loop here {roof['gather_gflops'] / roof['matmul_gflops']:.0%}), "
                     f"**{r['gflops'] / roof['gather_gflops']:.0%}** of the gather ceiling")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    """Run the benchmark, print progress and the table, write ``args.out``."""
    from benchmarks.roofline import measure

    def log(msg):
        print(msg, flush=True)

    if args.isolated_child:
        print(json.dumps(_isolated(args)))
        return 0
    if args.e2e_only:
        return _run_e2e_only(args, log)
    roof = measure()
    log(f"roofline: {roof['bandwidth_gbs']:.1f} GB/s, {roof['matmul_gflops']:.1f} GFLOP/s")
    jit = _jit_probe()
    log(f"jit: cold {jit['cold']}, cached {jit['cached']}")
    rows: list[dict] = []
    extra: dict = {}
    _run_small(args, roof, rows, log)
    if not args.skip_large:
        _run_large(args, roof, rows, log, extra)
    write_table(args.out, _markdown(args, roof, jit, rows, extra))
    return 0


def _holdings_store(tab, path: Path):
    """A store holding only ``tab`` as its holdings (what ``flowbt data import`` writes)."""
    import numpy as np

    from datasets.store import SYNTHETIC_SRC, create_store, open_store

    st = create_store(path)
    st.add_rows("holdings", tab.assign(src_weight=np.int32(SYNTHETIC_SRC)),
                {"weight": ["weight"]})
    st.write_manifest()
    return open_store(path)


def _isolated(args) -> dict:
    """``--isolated-child``: each way of calling ``synthesize_flows`` end to end, alone with
    the kernel in a fresh process (``--repeats`` pairs (kernel, call), one way at a time).

    In the interleaved rounds of :func:`_breakdown` a one-call step follows a dozen other
    steps that allocate and free hundreds of MB, so it also pays for the allocator's state
    they leave (page faults on re-grown heaps). A user's process calls one way repeatedly:
    this is that case, and the ratio to the kernel of the same loop is what the target is
    read from.
    """
    import numba

    from benchmarks.oracles import make_synthesis_arrays
    from engine.market import Holdings
    from engine.nb import gather_nb
    from engine.nb.synthesis_nb import active_snapshot_nb
    from engine.synthesis import synthesize_flows

    T, N, K, E = args.large
    a = make_synthesis_arrays(T, N, K, E, seed=args.seed)
    tab = a.holdings_table()
    cat = tab.assign(etf=tab["etf"].astype("category"), stock=tab["stock"].astype("category"))
    csr, flows = a.csr, a.flows()
    active = active_snapshot_nb(T, E, csr.etf, csr.start, csr.stop)
    out, cov = np.empty((T, E, K), a.net_buy.dtype), np.empty((T, E))
    kt, wt = (0,) * K, (0,) * gather_nb.lane_count(K)
    stock32 = csr.stock.astype(np.int32)

    def kernel():
        gather_nb.synthesize_gather_nb(a.net_buy, a.market_cap, 1e4, True, kt, wt, active,
                                       csr.indptr, stock32, csr.weight, csr.weight, True,
                                       True, 4 * numba.get_num_threads(), out, cov)

    def kernel_fresh():  # the same with its outputs allocated by the call, as in synthesize_flows
        o, c = np.empty((T, E, K), a.net_buy.dtype), np.empty((T, E))
        gather_nb.synthesize_gather_nb(a.net_buy, a.market_cap, 1e4, True, kt, wt, active,
                                       csr.indptr, stock32, csr.weight, csr.weight, True,
                                       True, 4 * numba.get_num_threads(), o, c)
        return o, c

    res = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = _holdings_store(tab, Path(tmp) / "store")
        ways = {"fresh": kernel_fresh,
                "cat": lambda: synthesize_flows(flows, Holdings(cat)),
                "store": lambda: synthesize_flows(flows, store.holdings()),
                "store_parts": lambda: synthesize_flows(
                    flows, store.holdings(layout_cache=False)),
                "str": lambda: synthesize_flows(flows, Holdings(tab))}
        for name, call in ways.items():
            kernel(), call()  # compile / load, first touch
            k, c = [], []
            for _ in range(max(1, args.repeats)):
                k.append(median_time(kernel, 1).median)
                c.append(median_time(call, 1).median)
            res[name] = {"kernel": float(np.median(k)), "call": float(np.median(c)),
                         "kernel_min": float(np.min(k)), "call_min": float(np.min(c))}
    return res


def _isolated_lines(r: dict) -> list[str]:
    names = {"fresh": "the kernel with its outputs allocated in the call (new pages touched "
                      "first inside the kernel, as in `synthesize_flows`)",
             "cat": "`synthesize_flows(flows, Holdings(table))`, categorical etf/stock",
             "store": "`synthesize_flows(flows, store.holdings())` (read included; the "
                      "layout cache written by the first read, current)",
             "store_parts": "`synthesize_flows(flows, store.holdings(layout_cache=False))` "
                            "(read of the Parquet partitions included)",
             "str": "`synthesize_flows(flows, Holdings(table))`, str etf/stock"}
    out = ["### One way of calling at a time, alone with the kernel in a fresh process", "",
           "Each row: a fresh process's loop of (kernel, call) pairs for that way only "
           "(what a user's process does), the ratio to the kernel of the same loop.", "",
           "| call | kernel median (s) | call median (s) | median / kernel median | "
           "fastest / kernel fastest | target <= 1.5x (medians) |",
           "|---|---:|---:|---:|---:|---|"]
    for k, v in r.items():
        ratio = v["call"] / v["kernel"]
        out.append(f"| {names[k]} | {v['kernel']:.3f} | {v['call']:.3f} | {ratio:.2f}x | "
                   f"{v['call_min'] / v['kernel_min']:.2f}x | "
                   f"{'' if k == 'fresh' else 'met' if ratio <= 1.5 else 'not met'} |")
    return out + [""]


def _run_e2e_only(args: argparse.Namespace, log) -> int:
    """``--e2e-only``: the end-to-end table at the large size, float64, to ``--e2e-out``."""
    import numba

    from benchmarks.oracles import make_synthesis_arrays
    from engine.market import Holdings

    T, N, K, E = args.large
    size = f"{T}x{N}x{K}x{E}"
    t0 = time.perf_counter()
    a = make_synthesis_arrays(T, N, K, E, seed=args.seed)
    tab = a.holdings_table()
    log(f"large float64: generated in {time.perf_counter() - t0:.1f}s "
        f"({len(a.csr.etf)} snapshots, {len(a.csr.stock)} holdings rows)")
    with tempfile.TemporaryDirectory() as tmp:
        store = _holdings_store(tab, Path(tmp) / "store")
        log(f"holdings-only store written in {time.perf_counter() - t0:.1f}s (cumulative)")
        b = _breakdown(a, Holdings(tab), E, args.repeats, log, tab, store)
    n_snap, n_rows = len(a.csr.etf), len(a.csr.stock)
    del a, tab, store  # the fresh process below generates its own inputs
    iso = run_json_child("benchmarks.bench_synthesis",
                         ["--isolated-child", "--seed", str(args.seed), "--repeats",
                          str(args.repeats), "--large", *map(str, args.large)], cwd=ROOT)
    log(f"isolated: {iso}")
    text = "\n".join([
        "# `synthesize_flows` end to end vs the kernel",
        "",
        "Generated by `benchmarks/bench_synthesis.py --e2e-only`; do not edit.",
        "",
        f"- seed {args.seed}; {args.repeats} rounds of interleaved calls (median); numba "
        f"threads {numba.get_num_threads()}; {os.cpu_count()} CPUs; float64; "
        f"{n_snap} snapshots, {n_rows:,} holdings rows",
        "- kernel alone = `engine.nb.gather_nb.synthesize_gather_nb` (bp, coverage lane, int32 "
        "positions, outputs preallocated), the figure issue 11's 1.5x target is measured "
        "against",
        "- holdings given three ways: the generator's table with str `etf`/`stock` (rows "
        "sorted); the same with categorical `etf`/`stock` (sorted categories); and a "
        "holdings-only store of it (`datasets.store`, one Parquet partition per year, "
        "`etf`/`stock` dictionary-encoded) read by `Store.holdings()`: from its layout cache "
        "(`datasets/holdings_layout.py`; the first read of the partitions writes it, an import "
        "that changes a partition makes it stale) or, with `layout_cache=False`, from the "
        "partitions (their Arrow chunks checked and put in (etf, date) order by "
        "`engine/holdings_arrow.py`, no pandas)",
        "",
        *_e2e_lines(b, size),
        *_isolated_lines({k: v for k, v in iso.items() if k != "peak_rss_gb"}),
    ]) + "\n"
    write_table(args.e2e_out, text)
    return 0


def main(argv: list[str] | None = None) -> int:
    return script_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
