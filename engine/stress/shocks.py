"""Hypothetical shocks: factor betas by least squares and their propagation to every asset.

A shock is an instantaneous move of one factor (the S&P 500 -7 %, tech -5 %, the 10-year yield
-50 bp, the Fama-French market factor -7 %, ...). Each asset's move is its beta on that factor
times the move, the betas estimated over a lookback window of daily data ending at the as-of
date:

.. math::  r_{i,t} = \\alpha_i + \\sum_k \\beta_{i,k} f_{k,t} + \\varepsilon_{i,t},
           \\qquad \\Delta p_i = \\sum_k \\beta_{i,k} \\, m_k

with ordinary least squares (``numpy.linalg.lstsq``), the classical standard errors
``sqrt(diag(s^2 (X'X)^-1))``, ``s^2 = SSR / (n - K - 1)``, and R². Hand-written rather than
statsmodels' OLS because it solves every asset in one call on the same design matrix (one
``lstsq`` with N right-hand sides); the numbers are pinned against ``np.polyfit`` and a
hand-computed two-asset portfolio in tests/engine/stress/test_shocks.py.

The intercept is not part of the move (an instantaneous shock has no time to earn alpha).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["ols_betas", "portfolio_move", "propagate"]


def ols_betas(asset_returns: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Betas of every asset on the factors over the rows both have.

    Parameters
    ----------
    asset_returns : pd.DataFrame, shape (T, N)
        Daily returns (fractions).
    factors : pd.DataFrame, shape (T', K)
        Daily factor values (fractions, or bp for yield changes); aligned on dates.

    Returns
    -------
    pd.DataFrame, index = assets
        ``alpha``, ``beta_<k>`` and ``se_<k>`` for each factor, ``r2``, ``n_obs`` and
        ``n_dropped`` (rows of ``asset_returns`` left out: a date the factors lack, or a NaN in
        the row -- reported, never filled). An asset with zero variance (CASH) gets beta 0,
        R² NaN.

    Raises
    ------
    ValueError
        Fewer rows than factors + 2 after aligning (no degrees of freedom).
    """
    # A factor may be one of the assets (VOO regressed on VOO): keep the two apart.
    fac = factors.rename(columns=lambda c: f"factor::{c}")
    joined = asset_returns.join(fac, how="inner")
    y = joined[asset_returns.columns].to_numpy(np.float64)
    x = joined[fac.columns].to_numpy(np.float64)
    ok = np.isfinite(y).all(axis=1) & np.isfinite(x).all(axis=1)
    y, x = y[ok], x[ok]
    n, k = x.shape
    if n < k + 2:
        raise ValueError(f"{n} common observations for {k} factors: too few for a regression")
    design = np.column_stack([np.ones(n), x])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)  # (K + 1, N)
    resid = y - design @ coef
    ssr = (resid ** 2).sum(axis=0)
    sst = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    s2 = ssr / (n - k - 1)
    xtx_inv = np.linalg.inv(design.T @ design)
    se = np.sqrt(np.outer(np.diag(xtx_inv), s2))  # (K + 1, N)
    with np.errstate(invalid="ignore", divide="ignore"):
        r2 = np.where(sst > 0, 1.0 - ssr / sst, np.nan)
    out = pd.DataFrame(index=pd.Index(asset_returns.columns, name="asset"))
    out["alpha"] = coef[0]
    for j, c in enumerate(factors.columns):
        out[f"beta_{c}"] = coef[j + 1]
        out[f"se_{c}"] = se[j + 1]
    out["r2"] = r2
    out["n_obs"] = n
    out["n_dropped"] = len(asset_returns) - n
    flat = sst <= 0  # a constant series (CASH): no exposure, not a spurious fit
    for c in factors.columns:
        out.loc[flat, f"beta_{c}"] = 0.0
    return out


def propagate(betas: pd.DataFrame, moves: Mapping[str, float]) -> pd.Series:
    """Each asset's instantaneous move: ``sum_k beta_k * move_k`` (fractions).

    ``moves`` maps factor names (the ``beta_<name>`` columns) to their move; factors not named
    do not move.

    Examples
    --------
    >>> b = pd.DataFrame({"beta_m": [1.2, 0.5]}, index=["A", "B"])
    >>> propagate(b, {"m": -0.1}).round(6).tolist()
    [-0.12, -0.05]
    """
    out = pd.Series(0.0, index=betas.index, name="move")
    for f, m in moves.items():
        col = f"beta_{f}"
        if col not in betas.columns:
            raise KeyError(f"no beta on factor {f!r}; factors: "
                           f"{[c[5:] for c in betas.columns if c.startswith('beta_')]}")
        out = out + betas[col] * float(m)
    return out


def portfolio_move(weights: pd.Series, moves: pd.Series) -> float:
    """The buy-and-hold portfolio's instantaneous return: ``sum_i w_i * move_i``."""
    w = weights.astype(np.float64)
    w = w[w != 0]
    missing = [a for a in w.index if a not in moves.index]
    if missing:
        raise KeyError(f"no propagated move for held assets {missing}")
    return float((w * moves[w.index]).sum())
