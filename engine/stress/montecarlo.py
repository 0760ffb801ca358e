"""Monte Carlo of a strategy on bootstrapped price paths: paths, outcomes, summaries.

The pieces a chunked run puts together (``engine.app.stress`` runs them per chunk of paths):

* :func:`bootstrap_paths` -- price paths (P, H + 1, N) from joint daily returns, each path from
  its own seed (:func:`engine.stress.bootstrap.path_rng`), optionally with drift / volatility
  multipliers and a first-day shock (the scenario tree's path specifications);
* :func:`outcomes` -- CAGR, maximum drawdown, final value and total return of each path;
* :func:`summarize` -- percentiles, VaR and CVaR at 95 / 99 % of those outcomes;
* :func:`trigger_probability` -- the probability each trigger fires within the horizon, with a
  Wilson 95 % interval (``scipy.stats.binomtest(...).proportion_ci(method="wilson")``) and the
  median days to fire among the paths where it fired.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.conventions import PERIODS_PER_YEAR
from engine.peaks import drawdown_from_peak
from engine.stress.bootstrap import path_rng, stationary_indices_many

__all__ = ["FAN_PERCENTILES", "PERCENTILES", "bootstrap_paths", "fan_days", "fan_quantiles",
           "joint_returns", "outcomes", "summarize", "trigger_probability", "wilson_interval"]

#: Percentiles reported by :func:`summarize` (percent).
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)
#: Bands of the Monte Carlo fan chart (percent).
FAN_PERCENTILES = (5, 25, 50, 75, 95)


def fan_days(horizon: int, points: int = 64) -> np.ndarray:
    """Days (0..horizon) at which every path's value is kept for the fan chart.

    Every ``ceil(horizon / (points - 1))``-th day from day 0, plus the last day: a fixed set
    that depends on the horizon only, so each chunk of paths stores the same days and the
    fan's quantiles are over all paths whatever the chunking.
    """
    step = max(1, -(-int(horizon) // (points - 1)))
    return np.unique(np.r_[np.arange(0, horizon + 1, step), horizon]).astype(np.int64)


def fan_quantiles(values: np.ndarray, percentiles=FAN_PERCENTILES) -> np.ndarray:
    """Percentiles across paths of values (P, D) -> (len(percentiles), D), float64.

    ``np.percentile`` (linear interpolation) over every path: exact, no sketch or merge of
    per-chunk quantiles.
    """
    v = np.asarray(values, dtype=np.float64)
    return np.percentile(v, list(percentiles), axis=0)


def joint_returns(prices: pd.DataFrame) -> pd.DataFrame:
    """Joint daily simple returns of ``prices`` (first row dropped), refusing gaps.

    Raises
    ------
    DataError
        A price is missing in the sample (nothing is filled: a bootstrap row must be a real
        day of every asset); names the asset and its first / missing date.
    """
    from engine.errors import DataError

    bad = prices.isna()
    if bad.to_numpy().any():
        col = bad.any().idxmax()
        first = prices[col].first_valid_index()
        where = prices.index[bad[col].to_numpy()][0]
        raise DataError(f"{col} has no price on {where.date()} in the Monte Carlo sample "
                        f"(its first price is {None if first is None else first.date()})",
                        column=str(col),
                        fix="set [stress.montecarlo] history_start on or after that date")
    r = prices.pct_change(fill_method=None).iloc[1:]
    return r


def bootstrap_paths(returns: np.ndarray, start_prices: np.ndarray, paths: Sequence[int],
                    horizon: int, block_length: float, seed: int, *,
                    drift_mult: np.ndarray | None = None, vol_mult: np.ndarray | None = None,
                    first_day: np.ndarray | None = None, lead_in_days: int = 0,
                    stream: int | None = None) -> np.ndarray:
    """Price paths from a stationary block bootstrap of joint daily returns.

    Parameters
    ----------
    returns : ndarray, shape (n_obs, N)
        Joint daily simple returns (rows = days, no NaN).
    start_prices : ndarray, shape (N,)
        Prices on day 0 of every path.
    paths : sequence of int
        Path ids; path ``i`` always draws the same rows (its own seed).
    horizon : int
        Simulated days after day 0.
    block_length : float
        Mean block length (days).
    seed : int
    drift_mult, vol_mult : ndarray, shape (N,), optional
        Each resampled return becomes ``mu * drift_mult + (r - mu) * vol_mult`` where ``mu`` is
        the asset's sample mean (1 = unchanged).
    first_day : ndarray, shape (N,), optional
        Instantaneous move on day ``lead_in_days + 1`` (fraction) replacing the resampled
        return; NaN = none.
    lead_in_days : int
        Days of zero return before the first resampled day, so that an allocation decided on
        day 0 is held (after the execution lag) when the shock lands.
    stream : int, optional
        Family of paths (:func:`engine.stress.bootstrap.path_rng`).

    Returns
    -------
    ndarray, shape (P, horizon + 1, N)
        Day 0 is ``start_prices``.
    """
    r = np.asarray(returns, dtype=np.float64)
    n_obs, n = r.shape
    lead = int(lead_in_days)
    if not 0 <= lead <= horizon:
        raise ValueError(f"lead_in_days {lead} outside [0, horizon {horizon}]")
    h = horizon - lead
    idx = stationary_indices_many(n_obs, h, block_length,
                                  [path_rng(seed, i, stream) for i in paths])
    rs = r[idx]  # (P, H - lead, N)
    if drift_mult is not None or vol_mult is not None:
        mu = r.mean(axis=0)
        dm = np.ones(n) if drift_mult is None else np.asarray(drift_mult, dtype=np.float64)
        vm = np.ones(n) if vol_mult is None else np.asarray(vol_mult, dtype=np.float64)
        rs = mu * dm + (rs - mu) * vm
    if first_day is not None and h > 0:
        fd = np.asarray(first_day, dtype=np.float64)
        live = ~np.isnan(fd)
        rs[:, 0, live] = fd[live]
    if lead:
        rs = np.concatenate([np.zeros((len(idx), lead, n)), rs], axis=1)
    out = np.empty((len(idx), horizon + 1, n))
    out[:, 0] = start_prices
    out[:, 1:] = start_prices * np.cumprod(1.0 + rs, axis=1)
    return out


def outcomes(equity: np.ndarray, init_cash: float,
             bars_per_year: float = PERIODS_PER_YEAR) -> dict[str, np.ndarray]:
    """Per-path outcomes of equity curves (P, T): CAGR, max drawdown, final value, return.

    ``cagr = (final / init_cash) ** (bars_per_year / (T - 1)) - 1`` (T - 1 simulated days);
    ``max_drawdown`` is the most negative fall from the running peak (<= 0, fraction).
    """
    eq = np.asarray(equity, dtype=np.float64)
    final = eq[:, -1]
    total = final / init_cash - 1.0
    days = max(eq.shape[1] - 1, 1)
    with np.errstate(invalid="ignore"):
        cagr = (final / init_cash) ** (bars_per_year / days) - 1.0
    mdd = drawdown_from_peak(eq.T).min(axis=0) if eq.shape[0] else np.zeros(0)
    return {"cagr": cagr, "max_drawdown": mdd, "final_value": final, "total_return": total}


def summarize(frame: pd.DataFrame, metrics: Sequence[str], by: str = "variant",
              init_cash: float | None = None, weights: np.ndarray | None = None) -> pd.DataFrame:
    """Distribution summary of each metric per group: mean, std, percentiles, VaR / CVaR.

    VaR and CVaR (fractions of loss, > 0 = a loss) are reported for ``total_return``:
    ``var_q = -quantile(total_return, 1 - q)`` and ``cvar_q`` the mean loss at or beyond it;
    for ``final_value`` in currency against ``init_cash``. Other metrics get NaN there.
    ``weights`` (one per row, e.g. scenario probabilities / branch sizes) weight the quantiles
    and means (the mixture of a scenario tree); quantiles are then the inverse of the
    weighted empirical CDF.
    """
    rows = []
    w_all = None if weights is None else np.asarray(weights, dtype=np.float64)
    for g, sub in frame.groupby(by, sort=False):
        w = None if w_all is None else w_all[frame.index.get_indexer(sub.index)]
        for m in metrics:
            x = sub[m].to_numpy(np.float64)
            row = {by: g, "metric": m, "n": len(x)}
            row.update(_describe(x, w))
            loss = None
            if m == "total_return":
                loss = -x
            elif m == "final_value" and init_cash is not None:
                loss = init_cash - x
            for q in (95, 99):
                if loss is None:
                    row[f"var{q}"] = row[f"cvar{q}"] = np.nan
                else:
                    v = _quantile(loss, q / 100, w)
                    tail = loss >= v
                    ww = np.ones(len(loss)) if w is None else w
                    row[f"var{q}"] = v
                    row[f"cvar{q}"] = float(np.sum(loss[tail] * ww[tail]) / np.sum(ww[tail]))
            rows.append(row)
    return pd.DataFrame(rows)


def _quantile(x: np.ndarray, q: float, w: np.ndarray | None) -> float:
    if w is None:
        return float(np.quantile(x, q))
    order = np.argsort(x, kind="stable")
    cw = np.cumsum(w[order])
    k = int(np.searchsorted(cw, q * cw[-1], side="left"))
    return float(x[order][min(k, len(x) - 1)])


def _describe(x: np.ndarray, w: np.ndarray | None) -> dict:
    if w is None:
        out = {"mean": float(np.mean(x)), "std": float(np.std(x, ddof=1)) if len(x) > 1
               else np.nan}
        out.update({f"p{p:02d}": float(np.percentile(x, p)) for p in PERCENTILES})
        return out
    mean = float(np.sum(w * x) / np.sum(w))
    out = {"mean": mean, "std": float(np.sqrt(np.sum(w * (x - mean) ** 2) / np.sum(w)))}
    out.update({f"p{p:02d}": _quantile(x, p / 100, w) for p in PERCENTILES})
    return out


def wilson_interval(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a binomial proportion (scipy's ``proportion_ci``)."""
    from scipy.stats import binomtest

    if n == 0:
        return (np.nan, np.nan)
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def trigger_probability(fire_day: pd.DataFrame, horizon: int,
                        level: float = 0.95) -> pd.DataFrame:
    """Probability that each trigger fires within ``horizon`` days.

    Parameters
    ----------
    fire_day : pd.DataFrame, shape (paths, triggers)
        Days from the path's start to the trigger's first fire; NaN = did not fire.

    Returns
    -------
    pd.DataFrame
        One row per trigger: n_paths, n_fired, probability, wilson_low, wilson_high,
        median_days_to_fire (among the paths where it fired; NaN if none).
    """
    rows = []
    for trig in fire_day.columns:
        d = fire_day[trig].to_numpy(np.float64)
        fired = ~np.isnan(d) & (d <= horizon)
        n, k = len(d), int(fired.sum())
        lo, hi = wilson_interval(k, n, level)
        rows.append({"trigger": trig, "n_paths": n, "n_fired": k,
                     "probability": k / n if n else np.nan, "wilson_low": lo,
                     "wilson_high": hi,
                     "median_days_to_fire": float(np.median(d[fired])) if k else np.nan})
    return pd.DataFrame(rows)
