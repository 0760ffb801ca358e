"""``flowbt backtest CONFIG --out DIR [--start DATE] [--end DATE]``.

Writes to ``DIR``:

* ``equity.parquet`` -- portfolio value (dates x variants: the strategy and its benchmarks);
* ``weights.parquet`` -- actual weights after each close, long: date, variant, asset, weight;
* ``orders.parquet`` -- every fill: variant, date, asset, size (+buy/-sell), price, value, fees;
* ``triggers.csv`` -- the trigger / warning log: date, variant, rule, action, detail;
* ``metrics.csv`` -- one row per variant (vectorbt metrics, turnover, fees, TE / IR);
* ``run.json`` -- config hash, data hash, package versions, date range, command, when the
  benchmarks were bought (``benchmark_start``, ``benchmarks_from``), the warnings printed and
  the manifest ``files`` (:mod:`engine.app.outputs`);
* ``scenarios.csv`` -- only for strategies that declare scenarios (regime);
* ``fx.csv``, ``fx_summary.csv`` -- with an ``[fx]`` table: the equity of a KRW investor,
  unhedged and/or hedged, next to the USD one (:mod:`engine.app.investor`);
* ``contributions.csv``, ``contributions_summary.csv`` -- with a ``[contributions]`` table:
  invested vs value of the contribution plan, money- and time-weighted returns.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import metadata
from pathlib import Path

__all__ = ["add_arguments", "benchmark_note", "package_versions", "run", "write_outputs"]

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
    """Write a :class:`engine.app.runner.RunResult` to ``out``; return the run.json content.

    Goes through :class:`engine.app.outputs.RunDir`: run.json lists the files written
    (``"files"``), files an earlier flowbt run left there are removed, and a directory holding
    files flowbt did not write is refused (ConfigError naming ``--out``).
    """
    import pandas as pd

    from engine.app.outputs import RunDir
    from engine.app.runner import benchmark_start_date, run_identity

    sim = result.sim
    with RunDir(out, command="backtest") as rd:
        equity = sim.equity.copy()
        equity.columns = equity.columns.astype(str)
        equity.index.name = "date"
        equity.to_parquet(rd.path("equity.parquet"))
        frames = []
        for v, w in (sim.weights or {}).items():
            long = w.rename_axis("date").reset_index().melt(id_vars="date", var_name="asset",
                                                            value_name="weight")
            frames.append(long.assign(variant=v)[["date", "variant", "asset", "weight"]])
        weights = (pd.concat(frames, ignore_index=True) if frames
                   else pd.DataFrame(columns=["date", "variant", "asset", "weight"]))
        weights.to_parquet(rd.path("weights.parquet"), index=False)
        sim.orders.to_parquet(rd.path("orders.parquet"), index=False)
        sim.log.to_csv(rd.path("triggers.csv"), index=False)
        sim.metrics.to_csv(rd.path("metrics.csv"))
        prices = result.prepared.market.prices
        cfg = result.config
        info = run_identity(cfg, prices)
        info.update({
            "variants": list(map(str, sim.equity.columns)),
            "unexecuted_decisions": sim.unexecuted,
            "benchmarks_from": (str(benchmark_start_date(
                cfg, result.prepared.ctx, result.decisions[cfg.name]).date())
                if cfg.simulation.benchmarks else None),
            "command": argv if argv is not None else sys.argv,
        })
        q = result.prepared.market.quality
        if q is not None:
            # the report's data-quality section reads it (README "Run directories")
            from engine.report.files import quality_records

            rd.path("quality.json").write_text(json.dumps(quality_records(q), indent=2))
        inv = getattr(result, "investor", None)
        for name in ("fx", "fx_summary", "contributions", "contributions_summary"):
            table = getattr(inv, name, None)
            if table is not None:
                table.to_csv(rd.path(f"{name}.csv"), index=False)
        if inv is not None and inv.contributions_summary is not None:
            info["contributions"] = inv.contributions_summary.to_dict("records")
        if inv is not None and inv.fx_summary is not None:
            info["fx"] = inv.fx_summary.to_dict("records")
        scen = scenario_results(result)
        if scen is not None:
            scen.to_csv(rd.path("scenarios.csv"), index=False)
            info["scenarios"] = list(dict.fromkeys(map(str, scen["scenario"])))
        return rd.finish(info)


def benchmark_note(info: dict) -> str | None:
    """The printed line saying when the benchmarks were bought (None without benchmarks)."""
    if not info.get("benchmarks_from"):
        return None
    if info["benchmark_start"] == "first_bar":
        return (f"benchmarks bought on the first bar {info['start']} "
                "(simulation.benchmark_start = \"first_bar\")")
    if info["benchmarks_from"] == info["start"]:
        return f"benchmarks bought on the strategy's first decision, the first bar {info['start']}"
    return (f"benchmarks bought on the strategy's first decision {info['benchmarks_from']} "
            f"(it holds cash from {info['start']} while its signals warm up); set "
            "simulation.benchmark_start = \"first_bar\" to buy them on the first bar")


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
    info = write_outputs(result, out)
    q = result.prepared.market.quality
    if q is not None:
        print(q.summary())
    m = result.sim.metrics
    cols = [c for c in ("total_return", "annualized_return", "annualized_volatility",
                        "sharpe_ratio", "max_drawdown", "turnover_per_year") if c in m]
    print(m[cols].to_string(float_format=lambda x: f"{x:.4f}"))
    from engine.app.outputs import print_run_notes

    print_run_notes(info)
    if result.investor is not None:
        from engine.app.investor import summary_lines

        for line in summary_lines(cfg, result.investor):
            print(line)
    print(f"{len(result.sim.log)} trigger events; results in {out}")
    if getattr(args, "report", False):
        from engine.app.report import write_run_report

        print(f"report: {write_run_report(out)}")
    return 0
