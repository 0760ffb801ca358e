"""``flowbt stress CONFIG --out DIR [--scheduler local|tcp://HOST:PORT] [--chunk N]``.

Runs the ``[stress]`` table of a core/satellite config (schema: engine/app/stress_config.py;
example: examples/stress_core_satellite.toml) and writes to ``DIR``:

* ``windows.csv`` -- historical windows: per window and variant return, max drawdown, trough,
  days to recover (or "not recovered by the end of the data"), triggers fired; refused windows
  as rows with ``status`` naming the asset without prices and its first date;
* ``shocks.csv`` / ``shock_betas.csv`` -- hypothetical shocks: the immediate, 30- and 90-day
  returns of every variant, the triggers that fire on the shock day and their probability
  within the horizon; the betas (with standard errors and R²) that propagated each shock;
* ``montecarlo.parquet`` -- one row per path and variant: CAGR, max drawdown, final value,
  total return, ``fire_day_<trigger>`` (days to the first fire, NaN = not within the horizon);
* ``mc_fan.csv`` -- the fan chart: per variant and day (64 fixed days of the horizon), the
  5/25/50/75/95th percentiles of portfolio value over all paths (each chunk keeps its paths'
  values on those days, float32, so the percentiles are exact whatever the chunking);
* ``mc_summary.csv`` -- percentiles, VaR / CVaR 95 / 99 per variant and metric;
* ``trigger_probability.csv`` -- per trigger: probability of firing within the horizon, Wilson
  95 % interval, median days to fire;
* ``scenarios.csv`` -- the scenario tree: each branch and the mixture (engine.stress.tree);
* ``run.json`` -- config and data hashes, block length, seeds, chunking, timings, packages and
  the data-quality items (``quality``).

Monte Carlo paths run in chunks through engine/app/scale.py (in process by default; Dask with
``--scheduler``); each chunk is written to ``DIR/chunks/montecarlo/`` as it finishes and a
rerun resumes from them (a fingerprint of config, data and chunking guards the directory).
Each shock's continuation paths and each scenario branch's paths run the same way, in
``DIR/chunks/shock_<k>/`` and ``DIR/chunks/branch_<b>/``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

__all__ = ["add_arguments", "run", "run_stress"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="TOML run configuration with a [stress] table")
    parser.add_argument("--out", required=True, help="output directory (created; resumable)")
    parser.add_argument("--report", action="store_true",
                        help="also write DIR/report.html (flowbt report DIR)")
    parser.add_argument("--scheduler", default=None,
                        help="Dask scheduler address (tcp://HOST:PORT), or 'local' for a local "
                             "cluster; default: in process")
    parser.add_argument("--chunk", type=int, default=None,
                        help="paths per chunk of the Monte Carlo, each shock and each "
                             "scenario branch (default [stress.montecarlo] chunk_paths)")


def _sim(cfg) -> dict:
    from engine.errors import ConfigError

    s = cfg.simulation
    if s.expense_drag:
        raise ConfigError("simulation.expense_drag", True, "flowbt stress simulates ETF closes; "
                          "declare index stand-ins under [stress.proxies] with expense_ratio")
    return dict(fee_rate=s.fee_rate, slippage_rate=s.slippage_rate,
                execution_lag_bars=s.execution_lag_bars, init_cash=s.init_cash)


def _columns(variants: dict) -> list[str]:
    """Every price column the variants read (held assets and condition assets), CASH last."""
    from strategies.core_satellite import CoreSatellite

    cols: list[str] = []
    for p in variants.values():
        for a in [*CoreSatellite(p).assets(), *(t.condition.name for t in p.triggers)]:
            if a not in cols and a != "CASH":
                cols.append(a)
    return [*cols, "CASH"]


def run_stress(cfg, out: Path, *, scheduler: str | None = None, chunk: int | None = None,
               progress=None) -> dict:
    """Run every section of ``cfg.stress``; write the files; return the run.json content."""
    from engine.app.outputs import RunDir
    from engine.app.runner import prepare
    from engine.app.stress_config import validate_stress
    from engine.app.stress_paths import variant_params
    from engine.errors import DataQuality

    t0 = time.perf_counter()
    if cfg.strategy_kind == "core_satellite":
        variants = variant_params(cfg)
        cols = _columns(variants)
    else:
        # Any strategy replays the historical windows through flowbt backtest's machinery;
        # paths (shocks, Monte Carlo, the tree) need the core_satellite fast path.
        variants, cols = {}, []
        paths = [s for s in validate_stress(cfg.stress, file=cfg.file).sections
                 if s != "windows"]
        if paths:
            from engine.errors import ConfigError

            raise ConfigError("stress.sections", paths,
                              f"a {cfg.strategy_kind} strategy runs the historical windows "
                              "only (shocks, Monte Carlo and the tree simulate paths through "
                              "the core_satellite fast path); set stress.sections = "
                              "[\"windows\"]", file=cfg.file)
    sc = validate_stress(cfg.stress, file=cfg.file, assets=cols or None)
    sim = _sim(cfg)
    prep = prepare(cfg)
    quality = DataQuality()
    if prep.market.quality is not None:
        quality = quality.merge([prep.market.quality])
    with RunDir(out, command="stress", resumable=("chunks",)) as rd:
        return _run_in(rd, cfg, out, sc, sim, prep, quality, variants, cols, scheduler, chunk,
                       progress, t0)


def _run_in(rd, cfg, out: Path, sc, sim, prep, quality, variants, cols, scheduler, chunk,
            progress, t0) -> dict:
    """The body of :func:`run_stress` inside its output directory (:class:`RunDir`)."""
    from engine.app import stress_sections as sec
    from engine.app.backtest import package_versions
    from engine.app.runner import data_hash

    info: dict = {"name": cfg.name, "config_file": cfg.file, "config_hash": cfg.hash,
                  "data_hash": data_hash(prep.market.prices), "seed": sc.seed,
                  "sections": list(sc.sections), "scheduler": scheduler or "in-process",
                  "variants": list(variants), "seconds": {}, "config": cfg.raw}

    missing = [c for c in cols if c not in prep.market.prices.columns]
    if missing:
        from engine.errors import ConfigError

        raise ConfigError("strategy.sleeves", missing, "assets not in the data's price columns")
    sample = None
    if {"montecarlo", "shocks", "tree"} & set(sc.sections):
        sample, block, sample_info = sec.return_sample(prep.market.prices[cols], sc.montecarlo)
        info["montecarlo_sample"] = sample_info
    for name in ("windows", "shocks", "montecarlo", "tree"):
        if name not in sc.sections:
            continue
        t = time.perf_counter()
        if name == "windows":
            table = sec.run_windows(cfg, sc, quality)
            table.to_csv(rd.path("windows.csv"), index=False)
        elif name == "shocks":
            table, betas = sec.run_shocks(cfg, sc, prep, variants, cols, sim, sample, block,
                                          quality, out=out, chunk=chunk, scheduler=scheduler,
                                          progress=progress)
            table.to_csv(rd.path("shocks.csv"), index=False)
            betas.to_csv(rd.path("shock_betas.csv"), index=False)
        elif name == "montecarlo":
            for f in ("montecarlo.parquet", "mc_fan.csv", "mc_summary.csv",
                      "trigger_probability.csv"):
                rd.path(f)  # written by run_montecarlo into out
            mc = sec.run_montecarlo(cfg, sc, prep, variants, cols, sim, sample, block, out,
                                    scheduler=scheduler, chunk=chunk, progress=progress)
            info["montecarlo"] = mc
        else:
            table = sec.run_tree(cfg, sc, prep, variants, cols, sim, sample, block, out=out,
                                 chunk=chunk, scheduler=scheduler, progress=progress)
            table.to_csv(rd.path("scenarios.csv"), index=False)
        info["seconds"][name] = round(time.perf_counter() - t, 3)
    prices = prep.market.prices
    info.update({
        "start": str(prices.index[0].date()), "end": str(prices.index[-1].date()),
        "seconds_total": round(time.perf_counter() - t0, 3),
        "quality": [dict(source=i.source, action=i.action, what=i.what, count=i.count,
                         rule=i.rule) for i in quality.items],
        "packages": package_versions(), "command": sys.argv,
    })
    rd.path("quality.json").write_text(json.dumps(info["quality"], indent=2, ensure_ascii=False,
                                                   default=str))
    info = rd.finish(info)
    info["_quality"] = quality
    return info


def fingerprint(*parts) -> str:
    """SHA-256 of everything a set of chunks depends on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def run(args: argparse.Namespace) -> int:
    from engine.app.config import load_config
    from engine.app.console import bar_enabled, progress_bar

    cfg = load_config(args.config)
    # a bar over the chunks of each path section (Monte Carlo, shocks, tree branches) on a
    # terminal (none with --quiet or when piped); each section passes its count with updates
    with progress_bar("stress chunks", None, enabled=bar_enabled(args)) as update:
        info = run_stress(cfg, Path(args.out), scheduler=args.scheduler, chunk=args.chunk,
                          progress=update)
    print(info.pop("_quality").summary())
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in info["seconds"].items())
    mc = info.get("montecarlo")
    paths = (f"; {mc['n_paths']:,} paths in {mc['n_chunks']} chunks of {mc['chunk_paths']:,}"
             if mc else "")
    print(f"stress sections: {secs}; total {info['seconds_total']:.1f} s{paths}; results in "
          f"{args.out}")
    from engine.app.outputs import print_run_notes

    print_run_notes(info)
    if getattr(args, "report", False):
        from engine.app.report import write_run_report

        print(f"report: {write_run_report(args.out)}")
    return 0
