"""Benchmark flowbt's simulation layer against bare vectorbt; write benchmarks/results/simulation.md.

Two measurements, side by side:

1. **Layer overhead** -- the reference core/satellite portfolio (README "Concepts", bundled
   real prices 2011-02 .. 2025-09, strategy + 3 benchmarks): ``engine.simulation.simulate``
   (size arrays, missing-price checks, equity, weights, orders, metrics) against one bare
   ``vbt.Portfolio.from_orders`` call on a pre-built size array. Target: <= 1.20x.
2. **Sweep throughput and memory** -- 1,000 core/satellite variants (a 10 x 10 x 10 grid of
   trigger thresholds) over 30 years (7,560 bars) of 10 seeded synthetic assets (9 ETFs +
   CASH): one bare ``from_orders`` call over all variants, flowbt in process with chunks of
   100 variants, flowbt over 2 worker processes, flowbt on a local Dask cluster (2 workers).
   Each mode runs in its own subprocess; peak memory is that child's ``ru_maxrss`` (from
   ``os.wait4``). Targets: >= 3,000 variant-years/s and <= 4 GB.

Deterministic inputs (``--seed``); an untimed warm-up per child (its time -- numba compile or
cache load -- is reported separately); a parity check against the bare call before timing;
``--repeats`` timed runs, median reported.

    python -m benchmarks.bench_simulation [--seed 0] [--repeats 3] [--variants 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks._results import median_time, run_json_child, write_table
from engine.conventions import PERIODS_PER_YEAR

RESULTS = Path(__file__).resolve().parent / "results" / "simulation.md"
BARS_PER_YEAR = PERIODS_PER_YEAR
N_YEARS = 30
CHUNK = 100

REFERENCE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "core_satellite.toml"


# ------------------------------------------------------------------------------------ inputs
def synthetic_prices(n_bars: int, seed: int) -> pd.DataFrame:
    """Nine correlated GBM ETF closes plus CASH at 2 %/yr (seeded)."""
    from engine.prices import with_cash

    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.009, n_bars)
    idio = rng.normal(0.0001, 0.008, (n_bars, 9))
    beta = np.linspace(0.6, 1.4, 9)
    rets = market[:, None] * beta + idio
    rets[0] = 0.0
    close = 100.0 * np.cumprod(1.0 + rets, axis=0)
    dates = pd.bdate_range("1995-01-02", periods=n_bars)
    px = pd.DataFrame(close, index=dates, columns=[f"E{i}" for i in range(9)])
    return with_cash(px, 2.0)


def sweep_params(n_variants: int):
    """Core/satellite params over a grid of the three trigger thresholds."""
    import itertools

    from strategies.core_satellite import CoreSatelliteParams
    from strategies.triggers import Action, Condition, Trigger

    sleeves = {"core": {"E0": 0.25, "E1": 0.20, "E2": 0.15},
               "satellite": {"E3": 0.08, "E4": 0.07, "E5": 0.06, "E6": 0.04},
               "growth": {"E7": 0.10}, "cash": {"CASH": 0.05}}
    side = int(round(n_variants ** (1 / 3)))
    up = np.linspace(0.05, 0.60, side)
    dd1 = -np.linspace(0.03, 0.35, side)
    dd2 = -np.linspace(0.05, 0.40, side)
    out = []
    for a, b, c in itertools.islice(itertools.product(up, dd1, dd2), n_variants):
        trig = (
            Trigger("add_e8", Condition("asset", "E8", "return_since_anchor", ">=", float(a)),
                    Action("set_weight", 0.05, asset="E8", funding="cash")),
            Trigger("growth_up", Condition("asset", "E7", "drawdown", "<=", float(b)),
                    Action("set_weight", 0.15, asset="E7")),
            Trigger("core_up", Condition("asset", "E0", "drawdown", "<=", float(c)),
                    Action("scale_sleeve", 0.70, sleeve="core")),
        )
        out.append(CoreSatelliteParams(sleeves=sleeves, triggers=trig))
    return out


def sweep_weights(prices: pd.DataFrame, n_variants: int) -> tuple[dict, float]:
    """Decisions of every variant and the seconds it took."""
    from strategies.base import Context
    from strategies.core_satellite import CoreSatellite

    ctx = Context(prices)
    t0 = time.perf_counter()
    w = {f"v{i:05d}": CoreSatellite(p).decide(ctx).weights
         for i, p in enumerate(sweep_params(n_variants))}
    return w, time.perf_counter() - t0


def bare_inputs(prices: pd.DataFrame, weights: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Close and size frames for one bare from_orders call (built with flowbt's build_size)."""
    from engine.simulation import build_size

    assets = list(prices.columns)
    variants = list(weights)
    cols = pd.MultiIndex.from_product([variants, assets], names=["variant", "asset"])
    close = pd.DataFrame(np.tile(prices.to_numpy(), (1, len(variants))), index=prices.index,
                         columns=cols, copy=False)
    size = np.hstack([build_size(prices, weights[v], assets, 1, v)[0] for v in variants])
    return close, pd.DataFrame(size, index=prices.index, columns=cols, copy=False)


def bare_run(close: pd.DataFrame, size: pd.DataFrame, fees: float) -> np.ndarray:
    import vectorbt as vbt

    is_cash = np.array([c[1] == "CASH" for c in close.columns])
    fee = np.where(is_cash, 0.0, fees)[None, :]
    pf = vbt.Portfolio.from_orders(close, size, size_type="targetpercent", group_by="variant",
                                   cash_sharing=True, call_seq="auto", init_cash=1.0,
                                   fees=fee, slippage=fee, freq="1D")
    return pf.value().to_numpy()


# -------------------------------------------------------------------------------- child modes
def child(mode: str, seed: int, repeats: int, n_variants: int) -> dict:
    from engine.simulation import simulate

    fees = 5e-4
    if mode == "overhead":
        from engine.app.config import load_config
        from engine.app.runner import benchmark_weights, decide, prepare

        cfg = load_config(REFERENCE_CONFIG)
        prep = prepare(cfg)
        weights = {cfg.name: decide(cfg, prep.ctx).weights, **benchmark_weights(cfg, prep.ctx)}
        cols = [c for c in prep.market.prices.columns
                if any(c in w.columns for w in weights.values())]
        prices = prep.market.prices[cols]
        t0 = time.perf_counter()
        close, size = bare_inputs(prices, weights)
        ref = bare_run(close, size, fees)  # warm-up (compile / cache load)
        warm = time.perf_counter() - t0

        def ours():
            return simulate(prices, weights, fee_rate=fees, slippage_rate=fees,
                            init_cash=1.0, benchmarks=["VOO", "RSP", "static"])

        res = ours()
        # Parity: flowbt equity == bare vectorbt equity on the same portfolio.
        np.testing.assert_allclose(res.equity[list(weights)].to_numpy(), ref, rtol=1e-10)
        t_bare = median_time(bare_run, repeats, close, size, fees).median
        t_ours = median_time(ours, repeats).median
        return {"mode": mode, "bars": len(prices), "variants": len(weights),
                "warmup_s": warm, "bare_s": t_bare, "flowbt_s": t_ours}

    n_bars = N_YEARS * BARS_PER_YEAR
    prices = synthetic_prices(n_bars, seed)
    if mode in ("e2e", "e2e_dask2", "e2e_pandas"):
        return _child_e2e(mode, prices, n_variants, repeats, fees)
    weights, decide_s = sweep_weights(prices, n_variants)
    t0 = time.perf_counter()  # warm-up on a small slice: compile / cache load, untimed
    small = {k: weights[k] for k in list(weights)[:2]}
    simulate(prices, small, fee_rate=fees, slippage_rate=fees)
    warm = time.perf_counter() - t0
    first = {k: weights[k] for k in list(weights)[:CHUNK]}
    if mode == "bare":
        close, size = bare_inputs(prices, weights)

        def run():
            return bare_run(close, size, fees)
    else:
        kw = dict(fee_rate=fees, slippage_rate=fees, keep_weights=False, keep_orders=False,
                  keep_portfolio=False, chunk_variants=CHUNK)
        if mode == "inproc":
            def run():
                return simulate(prices, weights, **kw)
        elif mode == "procs2":
            def run():
                return simulate(prices, weights, n_jobs=2, **kw)
        elif mode == "dask2":
            def run():
                return _dask_run(prices, weights, kw)
        else:
            raise ValueError(mode)
        # Parity before timing: the first chunk equals a bare from_orders call.
        c, s = bare_inputs(prices, first)
        ref = bare_run(c, s, fees)
        got = simulate(prices, first, **kw).equity.to_numpy()
        np.testing.assert_allclose(got, ref, rtol=1e-10)
    t, times, _ = median_time(run, repeats)
    return {"mode": mode, "bars": n_bars, "variants": n_variants, "decide_s": decide_s,
            "warmup_s": warm, "sim_s": t, "times": times}


def _child_e2e(mode: str, prices: pd.DataFrame, n_variants: int, repeats: int,
               fees: float) -> dict:
    """Decide + simulate every variant, chunk by chunk (what ``flowbt sweep`` does)."""
    import tempfile

    from engine.app.scale import run_chunks
    from engine.simulation import simulate

    params = sweep_params(n_variants)
    names = [f"v{i:05d}" for i in range(n_variants)]
    kw = dict(fee_rate=fees, slippage_rate=fees, keep_weights=False, keep_orders=False,
              keep_portfolio=False)
    tasks = [(f"chunk_{k:05d}", (names[i:i + CHUNK], params[i:i + CHUNK]))
             for k, i in enumerate(range(0, n_variants, CHUNK))]
    t0 = time.perf_counter()
    small, _ = sweep_weights(prices, 2)
    simulate(prices, small, **kw)
    warm = time.perf_counter() - t0
    scheduler = "local" if mode == "e2e_dask2" else None
    fn = _chunk_decide_sim_pandas if mode == "e2e_pandas" else _chunk_decide_sim
    # Parity before timing: the fast path's metrics equal the pandas path's on one chunk.
    _, (n0, p0) = tasks[0]
    pd.testing.assert_frame_equal(fn(n0, p0, prices=prices, kw=kw),
                                  _chunk_decide_sim_pandas(n0, p0, prices=prices, kw=kw))

    def run():
        with tempfile.TemporaryDirectory() as d:
            run_chunks(fn, tasks, d, scheduler=scheduler, n_workers=2,
                       shared={"prices": prices, "kw": kw})

    t, times, _ = median_time(run, repeats)
    return {"mode": mode, "bars": len(prices), "variants": n_variants, "decide_s": float("nan"),
            "warmup_s": warm, "sim_s": t, "times": times}


def _chunk_decide_sim(names, params, *, prices, kw):
    """What ``flowbt sweep`` does per chunk: the fast decision path (condition measures shared
    by the chunk's variants), then one simulate call."""
    from engine.simulation import simulate
    from strategies.core_satellite_paths import decide_paths

    cache: dict = {}
    px = prices.to_numpy(np.float64)[None]
    cols, dates = list(prices.columns), pd.DatetimeIndex(prices.index)
    w = {n: decide_paths(p, px, cols, dates, cache=cache).weights(0)
         for n, p in zip(names, params, strict=True)}
    return simulate(prices, w, **kw).metrics.reset_index()


def _chunk_decide_sim_pandas(names, params, *, prices, kw):
    """The same chunk through ``CoreSatellite.decide`` (the pandas decision path)."""
    from engine.simulation import simulate
    from strategies.base import Context
    from strategies.core_satellite import CoreSatellite

    ctx = Context(prices)
    w = {n: CoreSatellite(p).decide(ctx).weights for n, p in zip(names, params, strict=True)}
    return simulate(prices, w, **kw).metrics.reset_index()


def _chunk_sim(names, ws, *, prices, kw):
    from engine.simulation import simulate

    r = simulate(prices, dict(zip(names, ws, strict=True)), **kw)
    return r.metrics.reset_index()


def _dask_run(prices, weights, kw):
    import tempfile

    from engine.app.scale import run_chunks

    names = list(weights)
    tasks = [(f"chunk_{k:05d}", (names[i:i + CHUNK], [weights[n] for n in names[i:i + CHUNK]]))
             for k, i in enumerate(range(0, len(names), CHUNK))]
    with tempfile.TemporaryDirectory() as d:
        run_chunks(_chunk_sim, tasks, d, scheduler="local", n_workers=2,
                   shared={"prices": prices, "kw": kw})


# ----------------------------------------------------------------------------------- parent
def run_child(mode: str, args) -> dict:
    # dask/process workers are grandchildren: their memory is reported by the child itself
    return run_json_child("benchmarks.bench_simulation",
                          ["--child", mode, "--seed", str(args.seed), "--repeats",
                           str(args.repeats), "--variants", str(args.variants)],
                          cwd=Path(__file__).resolve().parents[1])

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--variants", type=int, default=1000)
    p.add_argument("--modes",
                   default="overhead,bare,inproc,procs2,dask2,e2e,e2e_pandas,e2e_dask2")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        res = child(args.child, args.seed, args.repeats, args.variants)
        if args.child in ("procs2", "dask2", "e2e_dask2"):
            import resource

            res["workers_peak_rss_gb"] = (
                resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024**2)
        print(json.dumps(res))
        return 0
    rows = []
    for mode in args.modes.split(","):
        print(f"running {mode} ...", flush=True)
        rows.append(run_child(mode, args))
        print(json.dumps(rows[-1]), flush=True)
    report(rows, args)
    return 0


def report(rows: list[dict], args) -> int:
    """Render the measured rows as the results table and write it."""
    lines = ["# Simulation benchmark", "",
             f"Generated by `python -m benchmarks.bench_simulation --seed {args.seed} "
             f"--repeats {args.repeats} --variants {args.variants}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
             f"{os.cpu_count()} CPUs (shared machine: timings are noisy). Median of "
             f"{args.repeats} timed runs after an untimed warm-up; parity with bare vectorbt "
             "(rtol 1e-10) checked before timing.", ""]
    ov = [r for r in rows if r["mode"] == "overhead"]
    if ov:
        r = ov[0]
        lines += ["## Layer overhead (reference core/satellite + 3 benchmarks, bundled data)", "",
                  "| bars | variants | bare from_orders + value (s) | flowbt simulate (s) | "
                  "ratio | target | warm-up (s) |",
                  "|---:|---:|---:|---:|---:|---|---:|",
                  f"| {r['bars']} | {r['variants']} | {r['bare_s']:.3f} | {r['flowbt_s']:.3f} | "
                  f"{r['flowbt_s'] / r['bare_s']:.2f}x | <= 1.20x | {r['warmup_s']:.2f} |", ""]
    sw = [r for r in rows if r["mode"] != "overhead"]
    if sw:
        names = {"bare": "bare vectorbt, one from_orders call",
                 "inproc": f"flowbt simulate, chunks of {CHUNK}, in process",
                 "procs2": f"flowbt simulate, chunks of {CHUNK}, 2 processes",
                 "dask2": f"flowbt via engine.app.scale, chunks of {CHUNK}, local Dask (2 workers)",
                 "e2e": f"end to end: decide (fast path, as flowbt sweep) + simulate, chunks of "
                        f"{CHUNK}, in process",
                 "e2e_pandas": f"end to end: decide (CoreSatellite.decide, pandas) + simulate, "
                               f"chunks of {CHUNK}, in process",
                 "e2e_dask2": f"end to end: decide + simulate, chunks of {CHUNK}, local Dask "
                              "(2 workers)"}
        r0 = next((r for r in sw if np.isfinite(r["decide_s"])), sw[0])
        lines += [f"## Sweep: {r0['variants']} variants x {r0['bars']} bars "
                  f"({r0['bars'] / BARS_PER_YEAR:.0f} years) x 10 assets", "",
                  "Simulation-only rows take precomputed decisions (deciding all variants took "
                  f"{r0['decide_s']:.1f} s in one process); end-to-end rows decide and simulate "
                  "each chunk (the work of `flowbt sweep` minus TOML validation). Targets: "
                  ">= 3,000 variant-years/s, <= 4 GB peak.", "",
                  "Peak RSS of workers is `RUSAGE_CHILDREN` of the benchmark child: an upper "
                  "bound, since Linux keeps a forked worker's pre-exec peak (the parent's "
                  "image).", "",
                  "| mode | time (s) | variant-years/s | x bare vectorbt | peak RSS, main (GB) | "
                  "peak RSS, workers (GB, upper bound) | warm-up (s) | target |",
                  "|---|---:|---:|---:|---:|---:|---:|---|"]
        bare = next((r["sim_s"] for r in sw if r["mode"] == "bare"), None)
        for r in sw:
            vy = r["variants"] * r["bars"] / BARS_PER_YEAR / r["sim_s"]
            wk = r.get("workers_peak_rss_gb")
            x = "" if bare is None else f"{bare / r['sim_s']:.1f}x"
            target = ">= 8x (issue 13)" if r["mode"] == "e2e" else ""
            lines.append(f"| {names[r['mode']]} | {r['sim_s']:.2f} | {vy:,.0f} | {x} | "
                         f"{r['peak_rss_gb']:.2f} | {'' if wk is None else f'{wk:.2f}'} | "
                         f"{r['warmup_s']:.2f} | {target} |")
        lines.append("")
    write_table(RESULTS, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
