"""Small run directories written by hand in the schemas of README "Run directories", for the
report tests (every number here is chosen, not computed by flowbt)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

#: The backtest fixture's trigger log (the report must show every rule and action).
TRIGGERS = pd.DataFrame({
    "date": ["2024-02-05", "2024-03-11"], "variant": ["strat", "strat"],
    "rule": ["xlk_correction_vug_15", "rsp_outflow_warning"],
    "action": ["set_weight VUG 0.15 (funding pro_rata)", "warning: equal-weight trend ending"],
    "detail": ["XLK drawdown=-0.0510 <= -0.05", "RSP weekly flow < 0 for 2 weeks"]})


def backtest_dir(path, n_days: int = 120) -> None:
    """A 120-session backtest (under a year) of ``strat`` vs VOO with sleeves."""
    path.mkdir(parents=True, exist_ok=True)
    dates = pd.bdate_range("2024-01-02", periods=n_days, name="date")
    rng = np.random.default_rng(0)
    eq = pd.DataFrame({"strat": 1e5 * np.cumprod(1 + rng.normal(4e-4, 0.01, n_days)),
                       "VOO": 1e5 * np.cumprod(1 + rng.normal(5e-4, 0.011, n_days))},
                      index=dates)
    eq.to_parquet(path / "equity.parquet")
    rows = []
    for v in ("strat", "VOO"):
        w = {"strat": {"RSP": 0.5, "VOO": 0.3, "CASH": 0.2}, "VOO": {"VOO": 1.0, "CASH": 0.0}}[v]
        for d in dates:
            for a, x in w.items():
                rows.append((d, v, a, x))
    pd.DataFrame(rows, columns=["date", "variant", "asset", "weight"]).to_parquet(
        path / "weights.parquet", index=False)
    pd.DataFrame({"variant": ["strat", "strat", "VOO", "strat"],
                  "date": pd.to_datetime(["2024-01-03", "2024-01-03", "2024-01-03",
                                          "2024-02-06"]),
                  "asset": ["RSP", "VOO", "VOO", "VUG"], "size": [100.0, 60.0, 200.0, 10.0],
                  "price": [500.0, 500.0, 500.0, 300.0], "value": [5e4, 3e4, 1e5, 3e3],
                  "fees": [25.0, 15.0, 50.0, 1.5]}).to_parquet(path / "orders.parquet",
                                                                 index=False)
    TRIGGERS.to_csv(path / "triggers.csv", index=False)
    pd.DataFrame({"variant": ["strat", "VOO"], "total_return": [0.05, 0.07],
                  "annualized_return": [0.11, 0.15], "sharpe_ratio": [0.9, 1.1],
                  "max_drawdown": [-0.08, -0.09], "tracking_error_vs_VOO": [0.031, 0.0],
                  "information_ratio_vs_VOO": [-0.4, np.nan]}).to_csv(
        path / "metrics.csv", index=False)
    (path / "run.json").write_text(json.dumps({
        "name": "strat", "config_hash": "c0ffee", "data_hash": "d00d", "start": "2024-01-02",
        "end": str(dates[-1].date()), "n_bars": n_days, "command": ["flowbt", "backtest"],
        "packages": {"pandas": "3.1"},
        "config": {"name": "strat", "strategy": {"kind": "core_satellite", "sleeves": {
            "core": {"RSP": 0.5, "VOO": 0.3}, "cash": {"CASH": 0.2}}}}}))
    (path / "quality.json").write_text(json.dumps([
        {"source": "prices.csv", "action": "set NaN", "what": "stale closes", "count": 3,
         "rule": "unchanged 5 days"}]))


def signals_dir(path, etfs=("E000", "E001"), n_days: int = 30) -> None:
    """A signals directory: bp and amount, foreign / individual / institution / pension."""
    path.mkdir(parents=True, exist_ok=True)
    dates = pd.bdate_range("2025-01-02", periods=n_days)
    rng = np.random.default_rng(1)
    rows = []
    for e in etfs:
        for inv in ("foreign", "individual", "institution", "pension"):
            bp = rng.normal(0, 1, n_days)
            for m, unit, scale in (("bp", "bp", 1.0), ("amount", "KRW", 1e9)):
                for d, x in zip(dates, bp * scale * (1 if m == "bp" else rng.choice(
                        [1, -1], n_days, p=[0.9, 0.1])), strict=True):
                    rows.append((d, e, inv, m, float(x), unit))
    sig = pd.DataFrame(rows, columns=["date", "etf", "investor", "method", "value", "unit"])
    sig.to_parquet(path / "signals.parquet", index=False)
    pos = sig.sort_values("date").copy()
    pos["value"] = pos.groupby(["etf", "investor", "method"])["value"].cumsum()
    pos.to_parquet(path / "positions.parquet", index=False)
    pd.DataFrame([(d, e, 0.97, True) for d in dates for e in etfs],
                 columns=["date", "etf", "covered_weight", "usable"]).to_parquet(
        path / "coverage.parquet", index=False)
    (path / "quality.json").write_text("[]")
    (path / "run.json").write_text(json.dumps({"name": "signals fixture",
                                               "command": ["flowbt", "signals"]}))


#: The sweep fixture's Sharpe ratios on the (a x b) grid, with c the third key.
SWEEP_SHARPE = {(0.1, -0.05, 1): 0.5, (0.1, -0.05, 2): 0.7, (0.1, -0.1, 1): 0.4,
                (0.1, -0.1, 2): 0.4, (0.2, -0.05, 1): 0.9, (0.2, -0.05, 2): 1.1,
                (0.2, -0.1, 1): 0.2, (0.2, -0.1, 2): 0.0}


def sweep_dir(path) -> None:
    """A sweep directory over three keys (2 x 2 x 2 variants) with selected equity."""
    path.mkdir(parents=True, exist_ok=True)
    keys = ["strategy.a", "strategy.b", "strategy.c"]
    rows = [{"variant": f"v{i:05d}", keys[0]: a, keys[1]: b, keys[2]: c, "n_trigger_events": i,
             "sharpe_ratio": s, "annualized_return": s / 10, "max_drawdown": -0.1}
            for i, ((a, b, c), s) in enumerate(SWEEP_SHARPE.items())]
    pd.DataFrame(rows).to_csv(path / "metrics.csv", index=False)
    pd.DataFrame({"variant": ["VOO"], "sharpe_ratio": [0.8]}).to_csv(
        path / "benchmarks.csv", index=False)
    dates = pd.bdate_range("2024-01-02", periods=50, name="date")
    pd.DataFrame({"best v00005": np.linspace(100, 130, 50), "median v00000": np.linspace(
        100, 110, 50), "worst v00007": np.linspace(100, 95, 50), "VOO": np.linspace(100, 120, 50)},
        index=dates).to_parquet(path / "selected_equity.parquet")
    (path / "run.json").write_text(json.dumps({
        "name": "sweep fixture", "swept_keys": keys, "n_variants": len(rows),
        "selected_by": "sharpe_ratio", "command": ["flowbt", "sweep"]}))


def stress_dir(path) -> None:
    """A stress directory with two tables, Monte Carlo terminal values and a fan."""
    path.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"window": ["2020 covid", "2022 rates"], "start": ["2020-02-19", "2022-01-03"],
                  "strategy_return": [-0.21, -0.15]}).to_csv(path / "windows.csv", index=False)
    pd.DataFrame({"trigger": ["sp500_down_7pct"], "probability": [0.42]}).to_csv(
        path / "trigger_probability.csv", index=False)
    pd.DataFrame({"path": range(200), "final_value": np.linspace(0.8, 1.6, 200)}).to_parquet(
        path / "montecarlo.parquet", index=False)
    days = np.arange(0, 253, 4)
    fan = []
    for v, drift in (("strategy", 0.0004), ("VOO", 0.0003)):
        mid = 100_000 * np.exp(drift * days)
        spread = 0.01 * np.sqrt(days)
        fan.append(pd.DataFrame({
            "variant": v, "day": days,
            "date": [str(d.date()) for d in pd.bdate_range("2025-01-02", periods=253)[days]],
            "n_paths": 200, "p05": mid * (1 - 1.6 * spread), "p25": mid * (1 - 0.7 * spread),
            "p50": mid, "p75": mid * (1 + 0.7 * spread), "p95": mid * (1 + 1.6 * spread)}))
    pd.concat(fan).to_csv(path / "mc_fan.csv", index=False)
    (path / "run.json").write_text(json.dumps({"name": "stress fixture"}))
