"""``flowbt sweep CONFIG --out DIR [--chunk N] [--scheduler ADDRESS|local]``.

Runs the cartesian grid of the config's ``[sweep]`` table (dotted key paths -> lists of values)
and writes one metrics row per variant:

* ``DIR/chunks/chunk_<k>.parquet`` -- written as each chunk of variants finishes; a rerun with
  the same config skips the chunks already written (resume);
* ``DIR/benchmarks.csv`` -- the metrics of the benchmarks (simulated once);
* ``DIR/metrics.csv`` -- all variants: ``variant``, one column per swept key path (its value),
  ``n_trigger_events`` and the metrics of :func:`engine.simulation.simulate` including tracking
  error / information ratio against each benchmark;
* ``DIR/run.json`` -- config hash, data hash, package versions, grid size, chunking, when the
  benchmarks were bought, the warnings printed and the manifest ``files``
  (:mod:`engine.app.outputs`; ``chunks/`` is kept across reruns for resuming).
* ``DIR/selected_equity.parquet`` -- equity of the best, median and worst variants by
  ``selected_by`` (default sharpe_ratio; re-simulated, 3 variants) and of the benchmarks, for
  the report.

Variants are named ``v00000``.. in grid order (the last key varies fastest).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

__all__ = ["add_arguments", "run", "run_sweep", "sweep_chunk"]

#: Variants per chunk when neither --chunk nor [simulation] chunk_variants is given.
DEFAULT_CHUNK = 100
#: The metric ranking the best / median / worst variants of selected_equity.parquet.
SELECT_BY = "sharpe_ratio"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="TOML run configuration with a [sweep] table")
    parser.add_argument("--out", required=True, help="output directory (created; resumable)")
    parser.add_argument("--chunk", type=int, default=None,
                        help=f"variants per chunk (default [simulation] chunk_variants or "
                             f"{DEFAULT_CHUNK})")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address, or 'local' for a local cluster; default: "
                             "in process")
    parser.add_argument("--report", action="store_true",
                        help="also write DIR/report.html (flowbt report DIR)")


def selected_equity(cfg, prep, metrics, names: list[str], grid: list[dict],
                    metric: str = SELECT_BY, bench_weights: dict | None = None):
    """Equity (dates x columns) of the best, median and worst variants by ``metric``,
    re-simulated from their overrides (3 variants: cheap), plus the benchmarks.

    Columns are named ``"best v00012"``, ``"median v00500"``, ``"worst v00987"``; the median
    is the variant at the middle rank (lower middle for an even count). Variants whose metric
    is NaN are left out of the ranking.
    """
    from engine.app.config import set_paths, validate_config
    from engine.app.runner import decide, sim_kwargs
    from engine.simulation import simulate

    ranked = metrics.dropna(subset=[metric]).sort_values(metric, ascending=False,
                                                         kind="stable")
    if ranked.empty:
        return None
    picks = {"best": ranked["variant"].iloc[0],
             "median": ranked["variant"].iloc[(len(ranked) - 1) // 2],
             "worst": ranked["variant"].iloc[-1]}
    weights = {}
    for label, v in picks.items():
        c = validate_config(set_paths(cfg.raw, grid[names.index(v)]), file=cfg.file)
        weights[f"{label} {v}"] = decide(c, prep.ctx).weights
    weights.update(bench_weights or {})
    sim = simulate(prep.market.prices, weights, keep_weights=False, keep_orders=False,
                   keep_portfolio=False, benchmarks=list(bench_weights or {}),
                   **sim_kwargs(cfg, prep.market))
    eq = sim.equity.copy()
    eq.columns = eq.columns.astype(str)
    eq.index.name = "date"
    return eq


def sweep_chunk(raw: dict, file: str | None, overrides: list[dict], names: list[str], *,
                ctx, sim_kwargs: dict, bench_returns):
    """Decide and simulate one chunk of variants; return their metrics rows (a DataFrame)."""
    from engine.app.config import set_paths, validate_config
    from engine.app.runner import decide
    from engine.simulation import simulate

    weights, n_events = {}, {}
    cache: dict = {}  # condition measures shared by the chunk's variants (fast path)
    for name, ov in zip(names, overrides, strict=True):
        cfg = validate_config(set_paths(raw, ov), file=file)
        fast = _fast_decisions(cfg, ctx, cache)
        if fast is not None:
            weights[name], n_events[name] = fast
            continue
        d = decide(cfg, ctx)
        weights[name] = d.weights
        n_events[name] = len(d.log)
    sim = simulate(ctx.prices, weights, keep_weights=False, keep_orders=False,
                   keep_portfolio=False, benchmark_returns=bench_returns, **sim_kwargs)
    m = sim.metrics.reset_index()
    for j, k in enumerate(overrides[0]):
        m.insert(1 + j, k, [ov[k] for ov in overrides])
    m.insert(1 + len(overrides[0]), "n_trigger_events", [n_events[n] for n in names])
    return m


def _fast_decisions(cfg, ctx, cache: dict):
    """(weights, number of log rows) from the fast decision path, or None when it does not
    apply (another strategy kind, or a trigger on a signal).

    ``strategies.core_satellite_paths.decide_paths`` returns exactly ``CoreSatellite.decide``'s
    weights (tests/engine/app/test_sweep_fast_path.py: identical metrics.csv); ``cache`` holds
    the condition measures, which depend on everything but the threshold.
    """
    if cfg.strategy_kind != "core_satellite":
        return None
    params = cfg.strategy_params
    if any(t.condition.on != "asset" for t in params.triggers):
        return None
    import numpy as np

    from strategies.core_satellite_paths import decide_paths

    px = cache.get("prices")
    if px is None:
        px = cache["prices"] = ctx.prices.to_numpy(np.float64)[None]
    d = decide_paths(params, px, list(map(str, ctx.prices.columns)), ctx.dates, cache=cache)
    return d.weights(0), int(d.n_events()[0])


def run_sweep(cfg, out: Path, *, chunk: int | None = None, scheduler: str | None = None,
              progress=None) -> dict:
    """Run the grid of ``cfg.sweep``; write the outputs to ``out``; return run.json content."""
    from engine.app.config import sweep_grid
    from engine.app.outputs import RunDir
    from engine.app.runner import prepare, sim_kwargs
    from engine.errors import ConfigError

    if not cfg.sweep:
        raise ConfigError("sweep", {}, "the config has no [sweep] table to run")
    t0 = time.perf_counter()
    grid = sweep_grid(cfg.sweep)
    chunk = chunk or cfg.simulation.chunk_variants or DEFAULT_CHUNK
    prep = prepare(cfg)
    kwargs = sim_kwargs(cfg, prep.market)
    with RunDir(out, command="sweep", resumable=("chunks",)) as rd:
        return _run_in(rd, cfg, out, prep, kwargs, grid, chunk, scheduler, progress, t0)


def _run_in(rd, cfg, out: Path, prep, kwargs: dict, grid: list, chunk: int,
            scheduler: str | None, progress, t0: float) -> dict:
    """The body of :func:`run_sweep` inside its output directory."""
    import pandas as pd

    from engine.app.runner import benchmark_start_date, benchmark_weights, data_hash, run_identity
    from engine.app.scale import claim_dir, run_chunks
    from engine.simulation import simulate

    # Everything the chunks depend on: a rerun resumes only from chunks of the same run, and a
    # changed config into the same --out is refused before anything is overwritten.
    fingerprint = hashlib.sha256(json.dumps(
        [cfg.hash, data_hash(prep.market.prices), grid, chunk], sort_keys=True, default=str,
    ).encode()).hexdigest()
    (out / "chunks").mkdir(exist_ok=True)
    claim_dir(out / "chunks", fingerprint)
    bench = bw = None
    if cfg.simulation.benchmarks:
        bw = benchmark_weights(cfg, prep.ctx)
        bsim = simulate(prep.market.prices, bw, keep_weights=False, keep_orders=False,
                        keep_portfolio=False, benchmarks=list(bw), **kwargs)
        bsim.metrics.to_csv(rd.path("benchmarks.csv"))
        bench = bsim.returns
    names = [f"v{i:05d}" for i in range(len(grid))]
    tasks = []
    for k, i in enumerate(range(0, len(grid), chunk)):
        tasks.append((f"chunk_{k:05d}", (cfg.raw, cfg.file, grid[i:i + chunk],
                                         names[i:i + chunk])))
    paths = run_chunks(sweep_chunk, tasks, out / "chunks", scheduler=scheduler,
                       shared=dict(ctx=prep.ctx, sim_kwargs=kwargs, bench_returns=bench),
                       progress=progress, fingerprint=fingerprint)
    metrics = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    metrics.to_csv(rd.path("metrics.csv"), index=False)
    sel = selected_equity(cfg, prep, metrics, names, grid, bench_weights=bw)
    if sel is not None:
        sel.to_parquet(rd.path("selected_equity.parquet"))
    prices = prep.market.prices
    info = run_identity(cfg, prices)
    info.update({
        "n_variants": len(grid),
        "swept_keys": list(cfg.sweep),
        "chunk_variants": chunk,
        "n_chunks": len(tasks),
        "scheduler": scheduler or "in-process",
        # one date for every variant: the benchmarks are simulated once, from the base
        # config's first decision (or the first bar)
        "benchmarks_from": (str(benchmark_start_date(cfg, prep.ctx).date())
                            if cfg.simulation.benchmarks else None),
        "selected_by": SELECT_BY,
        "seconds": round(time.perf_counter() - t0, 3),
        "command": sys.argv,
    })
    return rd.finish(info)


def run(args: argparse.Namespace) -> int:
    from engine.app.config import load_config
    from engine.app.console import bar_enabled, progress_bar

    cfg = load_config(args.config)
    # a bar on a terminal (off with --quiet or when piped); the chunks' count is known only
    # inside run_sweep, which passes it with every update
    with progress_bar("sweep chunks", None, enabled=bar_enabled(args)) as update:
        info = run_sweep(cfg, Path(args.out), chunk=args.chunk, scheduler=args.scheduler,
                         progress=update)
    from engine.app.outputs import print_run_notes

    print_run_notes(info)
    print(f"{info['n_variants']} variants x {info['n_bars']} bars in {info['seconds']} s "
          f"({info['n_chunks']} chunks, {info['scheduler']}); results in {args.out}")
    if getattr(args, "report", False):
        from engine.app.report import write_run_report

        print(f"report: {write_run_report(args.out)}")
    return 0
