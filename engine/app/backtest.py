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
        scen.to_csv(out / "scenarios.csv", index=False)
        info["scenarios"] = list(dict.fromkeys(map(str, scen["scenario"])))
    (out / "run.json").write_text(json.dumps(info, indent=2, default=str))
    return info


def scenario_results(result):
    """The scenario tree of a strategy that declares scenarios (``scenario_weights(name)`` on
    the strategy and a ``probabilities`` mapping on its params, e.g. the regime allocation);
    ``None`` for the others.

    Each scenario is a branch: bootstrapped paths of the run's own joint daily returns (with
    the ``[[stress.tree.branches]]`` path specification of the same name, if any) through the
    scenario's allocation and the benchmarks; ``scenarios.csv`` holds each branch's
    distribution and the probability-weighted mixture (quantiles of the mixture), worst branch
    and regret (:func:`engine.app.stress_sections.regime_tree`).
    """
    from engine.app.runner import make_strategy

    cfg = result.config
    strat = make_strategy(cfg.strategy_kind, cfg.strategy_params)
    if not (hasattr(strat, "scenario_weights") and hasattr(cfg.strategy_params,
                                                           "probabilities")):
        return None
    from engine.app.stress_sections import regime_tree

    return regime_tree(cfg, result.prepared)


def run(args: argparse.Namespace) -> int:
    from engine.app.config import load_config
    from engine.app.runner import run_backtest

    cfg = load_config(args.config)
    result = run_backtest(cfg, start=args.start, end=args.end)
    out = Path(args.out)
    write_outputs(result, out)
    q = result.prepared.market.quality
    if q is not None:
        print(q.summary())
    m = result.sim.metrics
    cols = [c for c in ("total_return", "annualized_return", "annualized_volatility",
                        "sharpe_ratio", "max_drawdown", "turnover_per_year") if c in m]
    print(m[cols].to_string(float_format=lambda x: f"{x:.4f}"))
    print(f"{len(result.sim.log)} trigger events; results in {out}")
    return 0
