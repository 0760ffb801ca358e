"""``flowbt backtest CONFIG --out DIR [--start DATE] [--end DATE]``.

Writes to ``DIR``:

* ``equity.parquet`` -- portfolio value (dates x variants: the strategy and its benchmarks);
* ``weights.parquet`` -- actual weights after each close, long: date, variant, asset, weight;
* ``orders.parquet`` -- every fill: variant, date, asset, size (+buy/-sell), price, value, fees;
* ``triggers.csv`` -- the trigger / warning log: date, variant, rule, action, detail;
* ``metrics.csv`` -- one row per variant (vectorbt metrics, turnover, fees, TE / IR);
* ``run.json`` -- config hash, data hash, package versions, date range, command.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["add_arguments", "package_versions", "run", "write_outputs"]

#: Packages whose versions go into run.json.
VERSIONED = ("flowbt", "vectorbt", "numba", "numpy", "pandas", "pyarrow", "pydantic", "dask")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="TOML run configuration (see examples/)")
    parser.add_argument("--out", required=True, help="output directory (created)")
    parser.add_argument("--start", default=None, help="first date, overrides [data] start")
    parser.add_argument("--end", default=None, help="last date, overrides [data] end")
    parser.add_argument("--report", action="store_true",
                        help="also write DIR/report.html (flowbt report DIR)")


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape the results."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def write_outputs(result, out: Path, argv: list[str] | None = None) -> dict:
    """Write a :class:`engine.app.runner.RunResult` to ``out``; return the run.json content."""
    import pandas as pd

    from engine.app.runner import data_hash

    out.mkdir(parents=True, exist_ok=True)
    sim = result.sim
    equity = sim.equity.copy()
    equity.columns = equity.columns.astype(str)
    equity.index.name = "date"
    equity.to_parquet(out / "equity.parquet")
    frames = []
    for v, w in (sim.weights or {}).items():
        long = w.rename_axis("date").reset_index().melt(id_vars="date", var_name="asset",
                                                        value_name="weight")
        frames.append(long.assign(variant=v)[["date", "variant", "asset", "weight"]])
    weights = (pd.concat(frames, ignore_index=True) if frames
               else pd.DataFrame(columns=["date", "variant", "asset", "weight"]))
    weights.to_parquet(out / "weights.parquet", index=False)
    sim.orders.to_parquet(out / "orders.parquet", index=False)
    sim.log.to_csv(out / "triggers.csv", index=False)
    sim.metrics.to_csv(out / "metrics.csv")
    prices = result.prepared.market.prices
    info = {
        "name": result.config.name,
        "config_file": result.config.file,
        "config_hash": result.config.hash,
        "data_hash": data_hash(prices),
        "data_source": result.config.data.source,
        "start": str(prices.index[0].date()),
        "end": str(prices.index[-1].date()),
        "n_bars": len(prices),
        "variants": list(map(str, sim.equity.columns)),
        "unexecuted_decisions": sim.unexecuted,
        "packages": package_versions(),
        "command": argv if argv is not None else sys.argv,
    }
    scen = scenario_results(result)
    if scen is not None:
        scen.to_csv(out / "scenarios.csv")
        info["scenarios"] = list(map(str, scen.index))
    (out / "run.json").write_text(json.dumps(info, indent=2, default=str))
    return info


def scenario_results(result):
    """Per-scenario metrics and their probability-weighted expectation, for strategies that
    declare scenarios (``scenario_variants(ctx)`` on the strategy and a ``probabilities``
    mapping on its params, e.g. the regime allocation); ``None`` for the others.

    Each scenario's allocation is simulated as its own variant over the run's prices with the
    run's costs; the last row, ``probability_weighted``, is ``sum_s p_s * metric_s``
    (:func:`strategies.regime.probability_weighted`). Metrics are the same as in metrics.csv.
    """
    import pandas as pd

    from engine.app.runner import make_strategy, sim_kwargs
    from engine.simulation import simulate

    cfg = result.config
    strat = make_strategy(cfg.strategy_kind, cfg.strategy_params)
    params = cfg.strategy_params
    if not (hasattr(strat, "scenario_variants") and hasattr(params, "probabilities")):
        return None
    from strategies.regime import probability_weighted

    ctx = result.prepared.ctx
    variants = strat.scenario_variants(ctx)
    sim = simulate(result.prepared.market.prices, variants, keep_weights=False,
                   keep_orders=False, keep_portfolio=False,
                   **sim_kwargs(cfg, result.prepared.market))
    probs = dict(params.probabilities)
    m = sim.metrics.loc[list(variants)].astype(float)
    expected = probability_weighted({s: m.loc[s] for s in variants}, probs)
    table = pd.concat([m, expected.to_frame("probability_weighted").T])
    table.insert(0, "probability", [probs[s] for s in variants] + [1.0])
    table.index.name = "scenario"
    return table


def run(args: argparse.Namespace) -> int:
    from engine.app.config import load_config
    from engine.app.runner import run_backtest

    cfg = load_config(args.config)
    result = run_backtest(cfg, start=args.start, end=args.end)
    out = Path(args.out)
    write_outputs(result, out)
    from engine.app.report import record_config

    record_config(out, cfg)
    q = result.prepared.market.quality
    if q is not None:
        # the report's data-quality section reads it (README "Run directories")
        from engine.report.files import quality_records

        (out / "quality.json").write_text(json.dumps(quality_records(q), indent=2))
    if q is not None:
        print(q.summary())
    m = result.sim.metrics
    cols = [c for c in ("total_return", "annualized_return", "annualized_volatility",
                        "sharpe_ratio", "max_drawdown", "turnover_per_year") if c in m]
    print(m[cols].to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"{len(result.sim.log)} trigger events; results in {out}")
    if getattr(args, "report", False):
        from engine.app.report import write_run_report

        print(f"report: {write_run_report(out)}")
    return 0
