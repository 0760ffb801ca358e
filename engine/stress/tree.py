"""Scenario trees: branches with probabilities, their outcome distributions and the mixture.

Each branch is a path specification (drift / volatility multipliers and first-day shocks per
asset group, applied to bootstrapped paths) and the allocation the analyst responds with; the
runner simulates every branch's paths for the response strategy and the benchmarks. Here:

* :func:`mixture` -- the probability-weighted union of the branches' samples: every path of
  branch b carries the weight ``p_b / n_b``. Quantiles of the mixture are quantiles of that
  weighted sample (the inverse of the mixture's CDF), never averages of branch quantiles --
  a 5 % quantile of a 60/25/15 mixture is not the 60/25/15 average of three 5 % quantiles.
* :func:`tree_table` -- ``scenarios.csv``: per branch and for the mixture, per variant, the
  distribution of total return and final value, the expected value, VaR / CVaR, the worst
  branch and the regret against each benchmark, ``E[max(0, V_bench - V_strategy)]`` on the
  same paths (paired: a branch's paths are the same draws for every variant).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from engine.stress.montecarlo import summarize

__all__ = ["mixture", "tree_table"]


def mixture(samples: Mapping[str, pd.DataFrame], probabilities: Mapping[str, float]) -> pd.DataFrame:
    """All branches' rows with ``branch`` and ``weight`` = p_b / n_b (n_b paths of branch b).

    ``samples[b]`` holds one row per path and variant (columns path, variant, metrics...);
    the weights of each variant's rows sum to 1 over the mixture.
    """
    frames = []
    for b, df in samples.items():
        n_b = df.groupby("variant")["path"].transform("count").to_numpy(np.float64)
        frames.append(df.assign(branch=b, weight=float(probabilities[b]) / n_b))
    return pd.concat(frames, ignore_index=True)


def tree_table(mix: pd.DataFrame, strategy: str, benchmarks: Sequence[str],
               probabilities: Mapping[str, float], init_cash: float) -> pd.DataFrame:
    """``scenarios.csv`` rows (see the module notes) from a :func:`mixture` frame."""
    rows = []
    metrics = ["total_return", "final_value"]
    parts = [(b, mix[mix["branch"] == b], None, probabilities[b]) for b in probabilities]
    parts.append(("mixture", mix, mix["weight"].to_numpy(), 1.0))
    for scen, df, w, prob in parts:
        df = df.reset_index(drop=True)
        summ = summarize(df, metrics, by="variant", init_cash=init_cash, weights=w)
        for v in df["variant"].unique():
            s = summ[summ["variant"] == v].set_index("metric")
            mine = df[df["variant"] == v]
            row = {"scenario": scen, "probability": prob, "variant": v, "n_paths": len(mine),
                   "expected_value": float(np.average(mine["final_value"],
                                                      weights=None if w is None else
                                                      mine["weight"])),
                   "expected_return": s.loc["total_return", "mean"]}
            for q in ("p01", "p05", "p25", "p50", "p75", "p95", "p99"):
                row[f"return_{q}"] = s.loc["total_return", q]
            for q in ("var95", "cvar95", "var99", "cvar99"):
                row[f"return_{q}"] = s.loc["total_return", q]
            row["return_std"] = s.loc["total_return", "std"]
            for b in benchmarks:
                row[f"regret_vs_{b}"] = _regret(df, v, b, w is not None)
            rows.append(row)
    out = pd.DataFrame(rows)
    strat = out[(out["variant"] == strategy) & (out["scenario"] != "mixture")]
    worst = strat.loc[strat["expected_return"].idxmin(), "scenario"] if len(strat) else ""
    out["worst_branch"] = out["scenario"] == worst
    return out


def _regret(df: pd.DataFrame, variant: str, bench: str, weighted: bool) -> float:
    """E[max(0, V_bench - V_variant)] over the same paths (and branches), currency units."""
    a = df[df["variant"] == variant].set_index(["branch", "path"]) if "branch" in df else \
        df[df["variant"] == variant].set_index("path")
    b = df[df["variant"] == bench].set_index(a.index.names)
    if b.empty:
        return np.nan
    b = b.reindex(a.index)
    diff = np.maximum(0.0, b["final_value"].to_numpy() - a["final_value"].to_numpy())
    return float(np.average(diff, weights=a["weight"].to_numpy() if weighted else None))
