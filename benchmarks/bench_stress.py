"""Benchmark ``flowbt stress``; write benchmarks/results/stress.md.

Measured side by side in one run (the machine is shared: ratios, not absolute times, are the
figures to read):

1. **Monte Carlo, fast path vs backtest machinery** -- 10,000 bootstrapped paths x 252 days of
   the reference portfolio (examples/stress_core_satellite.toml: 9 held assets + IWM added by a
   trigger + XLK read by one + CASH = 12 columns, monthly rebalance, 3-point drift band, three
   triggers), in process, chunks of 1,000 (``engine.app.scale.run_chunks`` with
   ``engine.app.stress_paths.mc_chunk``), against a sample of the same paths each run through
   ``flowbt backtest``'s machinery (``engine.app.runner.decide`` + ``engine.simulation.simulate``
   on vectorbt), timed per path and scaled to 10,000. Parity first: the sample's equity from
   both paths agrees to 1e-9. Targets: >= 50x, < 15 s, peak RSS < 2 GB.
2. **The same Monte Carlo on a 2-worker Dask LocalCluster** -- target within 1.5x of in
   process: the cluster started in the run (``--scheduler local``, workers forked; and
   spawned, as before, for comparison) and a cluster already running (``--scheduler
   tcp://``), with the time split into cluster start-up, scatter, chunks and shut-down
   (``run_chunks(timings=...)``) and the per-chunk overhead.
3. **`flowbt stress examples/stress_core_satellite.toml` end to end, warm** (windows, shocks,
   10,000-path Monte Carlo, the tree; second of two runs in one child). Target < 60 s.
4. **Sweep end to end** -- benchmarks/bench_simulation.py's 1,000-variant 30-year sweep: the
   bare vectorbt call, end to end with the fast decision path (what ``flowbt sweep`` does) and
   with the pandas path, in the same run. Target: end to end >= 8x the bare call.

Each mode runs in its own subprocess; peak memory is that child's ``ru_maxrss``.

    python -m benchmarks.bench_stress [--seed 0] [--repeats 3] [--paths 10000] [--sample 20]
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
import pandas as pd

from benchmarks._results import median_time, run_json_child, write_table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "stress.md"
CONFIG = ROOT / "examples" / "stress_core_satellite.toml"
HORIZON = 252
CHUNK = 1000


def _setup(seed: int, strategy_only: bool):
    from engine.app.config import load_config
    from engine.app.runner import prepare
    from engine.app.stress import _columns, _sim
    from engine.app.stress_config import validate_stress
    from engine.app.stress_paths import variant_params
    from engine.app.stress_sections import _shared, return_sample

    cfg = load_config(CONFIG)
    sc = validate_stress(cfg.stress)
    prep = prepare(cfg)
    variants = variant_params(cfg)
    if strategy_only:
        variants = {cfg.name: variants[cfg.name]}
    cols = _columns(variant_params(cfg))
    rets, block, _ = return_sample(prep.market.prices[cols], sc.montecarlo)
    px = prep.market.prices
    shared = _shared(rets, px.iloc[-1], cols, px.index[-1], HORIZON, block, seed, variants,
                     _sim(cfg))
    return cfg, prep, shared


def child(mode: str, args) -> dict:
    from engine.app.scale import run_chunks
    from engine.app.stress_paths import mc_chunk

    if mode in ("mc_inproc", "mc_inproc_all", "mc_dask2", "mc_dask2_spawn"):
        from engine.app import scale

        if mode == "mc_dask2_spawn":  # the start method before forking (for comparison)
            scale.LOCAL_START_METHOD = "spawn"
        _, _, shared = _setup(args.seed, strategy_only=mode != "mc_inproc_all")
        t0 = time.perf_counter()
        mc_chunk(0, 20, **shared)  # warm-up: numba cache load / compile, untimed
        warm = time.perf_counter() - t0
        tasks = _tasks(args.paths)
        scheduler = "local" if mode.startswith("mc_dask2") else None
        parts: list[dict] = []

        def run():
            with tempfile.TemporaryDirectory() as d:
                timings: dict = {}
                paths = run_chunks(mc_chunk, tasks, d, scheduler=scheduler, n_workers=2,
                                   shared=shared, timings=timings)
                parts.append(timings)
                return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)

        t, times, frame = median_time(run, args.repeats)
        parts = parts[-len(times):]  # the timed runs (median_time's warm-up run, if any, first)
        return {"mode": mode, "paths": args.paths, "s": t, "times": times, "warmup_s": warm,
                "chunks": len(tasks), "rows": len(frame),
                "start_method": parts[0].get("start_method"),
                "parts": {k: float(np.median([p.get(k, np.nan) for p in parts]))
                          for k in parts[0] if k != "start_method"},
                "final_value_mean": float(frame["final_value"].mean())}
    if mode == "mc_dask2_warm":
        # An existing cluster (what --scheduler tcp://... uses): started and warmed outside the
        # timing, so the row shows the per-chunk cost of Dask itself. Its workers are spawned
        # (fresh interpreters, as `dask worker` processes are).
        import dask
        from dask.distributed import Client, LocalCluster

        _, _, shared = _setup(args.seed, strategy_only=True)
        tasks = _tasks(args.paths)
        t0 = time.perf_counter()
        with dask.config.set({"distributed.worker.multiprocessing-method": "spawn"}):
            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
        with cluster, Client(cluster) as client:
            start = time.perf_counter() - t0
            for f in [client.submit(mc_chunk, 0, 20, pure=False, workers=[w], **shared)
                      for w in client.scheduler_info()["workers"]]:
                f.result()  # warm each worker
            warm = time.perf_counter() - t0 - start
            parts = []

            def run():
                with tempfile.TemporaryDirectory() as d:
                    timings: dict = {}
                    run_chunks(mc_chunk, tasks, d, scheduler=cluster.scheduler_address,
                               shared=shared, timings=timings)
                    parts.append(timings)

            t, times, _ = median_time(run, args.repeats)
        parts = parts[-len(times):]
        return {"mode": mode, "paths": args.paths, "s": t, "times": times,
                "warmup_s": warm, "cluster_start_s": start, "chunks": len(tasks),
                "start_method": "spawn",
                "parts": {k: float(np.median([p.get(k, np.nan) for p in parts]))
                          for k in parts[0] if k != "start_method"}}
    if mode == "mc_backtest":
        return _child_backtest(args)
    if mode == "cli":
        times = []
        for _ in range(2):  # the first run is the warm-up (numba cache, OS file cache)
            with tempfile.TemporaryDirectory() as d:
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "engine.app.cli", "stress", str(CONFIG),
                                "--out", d], check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
                times.append(time.perf_counter() - t0)
                info = json.loads((Path(d) / "run.json").read_text())
        return {"mode": mode, "s": times[-1], "warmup_s": times[0],
                "sections": info["seconds"]}
    raise ValueError(mode)


def _tasks(n_paths: int) -> list[tuple[str, tuple[int, int]]]:
    return [(f"paths_{lo:07d}", (lo, min(lo + CHUNK, n_paths))) for lo in range(0, n_paths, CHUNK)]


def _child_backtest(args) -> dict:
    """A sample of the Monte Carlo's paths, each through flowbt backtest's machinery."""
    from engine.app.runner import decide, sim_kwargs
    from engine.app.stress_paths import mc_chunk, path_dates, run_variants
    from engine.simulation import simulate
    from engine.stress.montecarlo import bootstrap_paths
    from strategies.base import Context

    cfg, prep, shared = _setup(args.seed, strategy_only=True)
    ids = list(range(args.sample))
    px = bootstrap_paths(shared["returns"], shared["start_prices"], ids, HORIZON,
                         shared["block_length"], shared["seed"])
    dates = path_dates(pd.Timestamp(shared["last_date"]), HORIZON)
    cols = shared["columns"]
    kw = sim_kwargs(cfg, prep.market)

    def one(p):
        prices = pd.DataFrame(px[p], index=dates, columns=cols)
        w = decide(cfg, Context(prices)).weights
        return simulate(prices, {cfg.name: w}, **kw).equity[cfg.name].to_numpy()

    one(0)  # warm-up
    fast = run_variants(shared["variants"], px, cols, dates, shared["sim"])[cfg.name][0]
    for p in range(min(5, len(ids))):  # parity before timing
        np.testing.assert_allclose(fast[p], one(p), rtol=1e-9)
    t0 = time.perf_counter()
    for p in ids:
        one(p)
    per_path = (time.perf_counter() - t0) / len(ids)
    # Also time the sample itself on the fast path (same paths, one chunk).
    t1 = time.perf_counter()
    mc_chunk(0, len(ids), **shared)
    fast_sample = time.perf_counter() - t1
    return {"mode": "mc_backtest", "sample": len(ids), "per_path_s": per_path,
            "scaled_s": per_path * args.paths, "fast_sample_s": fast_sample}


def run_child(mode: str, args) -> dict:
    return run_json_child("benchmarks.bench_stress",
                          ["--child", mode, "--seed", str(args.seed), "--repeats",
                           str(args.repeats), "--paths", str(args.paths), "--sample",
                           str(args.sample)], cwd=ROOT)

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--paths", type=int, default=10_000)
    p.add_argument("--sample", type=int, default=20)
    p.add_argument("--modes", default="mc_backtest,mc_inproc,mc_inproc_all,mc_dask2,"
                                      "mc_dask2_spawn,mc_dask2_warm,cli,sweep")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    rows = {}
    for mode in args.modes.split(","):
        print(f"running {mode} ...", flush=True)
        if mode == "sweep":
            from benchmarks import bench_simulation as bs

            sargs = argparse.Namespace(seed=args.seed, repeats=args.repeats, variants=1000)
            rows["sweep"] = {m: bs.run_child(m, sargs) for m in ("bare", "e2e", "e2e_pandas")}
        else:
            rows[mode] = run_child(mode, args)
        print(json.dumps(rows[mode]), flush=True)
    report(rows, args)
    return 0


def _dask_table(rows: dict, mc: dict, args) -> list[str]:
    """The Dask rows: where the time goes (cluster start-up, scatter, chunks, shut-down)."""
    runs = [(m, rows[m]) for m in ("mc_dask2", "mc_dask2_spawn", "mc_dask2_warm") if m in rows]
    if not runs:
        return []
    n_chunks = runs[0][1]["chunks"]
    names = {"mc_dask2": "`--scheduler local`: cluster started in the run, workers forked",
             "mc_dask2_spawn": "cluster started in the run, workers spawned (before this "
                               "change)",
             "mc_dask2_warm": "cluster already running and warmed, workers spawned (as "
                              "`--scheduler tcp://`)"}
    out = [f"### Dask, 2 workers, {n_chunks} chunks of {CHUNK} paths (strategy only)", "",
           "Start-up = starting the LocalCluster and connecting (0 on a running cluster: "
           "its start and warm-up are in the note below the table); first chunk = the chunk "
           "a forked cluster runs in this process before forking (loads the kernels the "
           "workers inherit); scatter = shipping the shared context (returns, start prices, "
           "variants) to every worker once; Dask chunks = submitting, computing and writing "
           "the other chunks; close = shutting the cluster down; other = the rest of the "
           "total (importing dask.distributed on the first run, reading the chunks back). "
           "Per-chunk overhead = (2 x Dask chunks time - in-process time per chunk x chunks "
           "on Dask) / chunks on Dask, with in process "
           f"{mc['s']:.2f} s / {n_chunks}: the worker-seconds each chunk costs beyond its "
           "in-process time (0 = perfect 2-way parallelism; on 2 cores shared with the "
           "client, the scheduler and other jobs it includes their CPU).", "",
           "| mode | total (s) | x in process | start-up (s) | first chunk (s) | scatter (s) | "
           "Dask chunks (s) | close (s) | other (s) | per-chunk overhead (s) | peak RSS (GB) "
           "| target |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"]
    per = mc["s"] / n_chunks
    for m, r in runs:
        p = r.get("parts", {})
        start = p.get("cluster_start", np.nan) if m != "mc_dask2_warm" else 0.0
        first = p.get("in_process", 0.0)
        n_dask = r["chunks"] - (1 if "in_process" in p else 0)
        tasks = p.get("tasks", np.nan)
        over = (2 * tasks - per * n_dask) / n_dask
        other = r["s"] - sum(p.get(k, 0.0) for k in ("in_process", "scatter", "tasks", "close"))
        other -= start
        out.append(f"| {names[m]} | {r['s']:.2f} | {r['s'] / mc['s']:.2f}x | {start:.2f} | "
                   f"{first:.2f} | {p.get('scatter', np.nan):.2f} | {tasks:.2f} | "
                   f"{p.get('close', np.nan):.2f} | {other:.2f} | {over:.3f} | "
                   f"{r['peak_rss_gb']:.2f} | {'within 1.5x' if m == 'mc_dask2' else ''} |")
    dw = rows.get("mc_dask2_warm")
    if dw:
        out += ["", f"The running cluster took {dw['cluster_start_s']:.2f} s to start and "
                f"{dw['warmup_s']:.2f} s for a 20-path chunk on each worker (imports, kernels) "
                "before its timing began."]
    return out + [""]


def report(rows: dict, args) -> None:
    lines = ["# Stress benchmark", "",
             f"Generated by `python -m benchmarks.bench_stress --seed {args.seed} --repeats "
             f"{args.repeats} --paths {args.paths} --sample {args.sample}` on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {os.cpu_count()} CPUs, "
             "shared with other jobs while it ran (read the ratios, measured side by side). "
             "Medians of the timed runs after an untimed warm-up; parity (1e-9) checked "
             "before timing.", ""]
    bt, mc = rows.get("mc_backtest"), rows.get("mc_inproc")
    if bt and mc:
        ratio = bt["scaled_s"] / mc["s"]
        lines += ["## Monte Carlo: 10,000 paths x 252 days, reference portfolio", "",
                  "| mode | time (s) | paths/s | ratio vs backtest machinery | peak RSS (GB) | "
                  "warm-up (s) | target |", "|---|---:|---:|---:|---:|---:|---|",
                  f"| backtest machinery (decide + vectorbt simulate per path), "
                  f"{bt['sample']} paths timed, scaled to {args.paths:,} | {bt['scaled_s']:.1f} "
                  f"| {1 / bt['per_path_s']:,.0f} | 1.0x | {bt['peak_rss_gb']:.2f} | | |",
                  f"| fast path, in process, chunks of {CHUNK} (strategy) | {mc['s']:.2f} | "
                  f"{args.paths / mc['s']:,.0f} | {ratio:.0f}x | {mc['peak_rss_gb']:.2f} | "
                  f"{mc['warmup_s']:.2f} | >= 50x, < 15 s, < 2 GB |"]
        al = rows.get("mc_inproc_all")
        if al:
            lines.append(f"| fast path, in process, strategy + 3 benchmarks (what `flowbt "
                         f"stress` runs) | {al['s']:.2f} | {args.paths / al['s']:,.0f} | "
                         f"| {al['peak_rss_gb']:.2f} | {al['warmup_s']:.2f} | |")
        lines += ["", *_dask_table(rows, mc, args)]
        lines += ["", f"The {bt['sample']} sampled paths on the fast path took "
                  f"{bt['fast_sample_s']:.3f} s in one chunk (fixed costs dominate at that "
                  "size).", ""]
    cli = rows.get("cli")
    if cli:
        secs = ", ".join(f"{k} {v:.1f} s" for k, v in cli["sections"].items())
        lines += ["## `flowbt stress examples/stress_core_satellite.toml`, end to end", "",
                  "| run | time (s) | peak RSS (GB) | target |", "|---|---:|---:|---|",
                  f"| warm (second run) | {cli['s']:.1f} | {cli['peak_rss_gb']:.2f} | < 60 s |",
                  f"| first run (warm-up) | {cli['warmup_s']:.1f} | | |", "",
                  f"Sections of the warm run: {secs}.", ""]
    sw = rows.get("sweep")
    if sw:
        bare = sw["bare"]["sim_s"]
        lines += ["## Sweep end to end (benchmarks/bench_simulation.py, 1,000 variants x 30 "
                  "years)", "",
                  "| mode | time (s) | variant-years/s | x bare vectorbt | peak RSS (GB) | "
                  "target |", "|---|---:|---:|---:|---:|---|"]
        names = {"bare": "bare vectorbt, one from_orders call",
                 "e2e": "end to end, fast decision path (flowbt sweep)",
                 "e2e_pandas": "end to end, CoreSatellite.decide (pandas)"}
        for m in ("bare", "e2e", "e2e_pandas"):
            r = sw[m]
            vy = r["variants"] * r["bars"] / 252 / r["sim_s"]
            lines.append(f"| {names[m]} | {r['sim_s']:.2f} | {vy:,.0f} | {bare / r['sim_s']:.1f}x"
                         f" | {r['peak_rss_gb']:.2f} | {'>= 8x' if m == 'e2e' else ''} |")
        lines.append("")
    write_table(RESULTS, lines)


if __name__ == "__main__":
    sys.exit(main())
