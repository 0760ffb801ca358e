"""Price panels for simulation: the ``CASH`` asset that accrues a short rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.market import CASH

__all__ = ["cash_index", "with_cash"]

#: Day-count basis for money-market accrual (T-bill convention, actual/360).
CASH_DAY_BASIS = 360.0


def cash_index(dates: pd.DatetimeIndex, rate_pct: pd.Series | float) -> pd.Series:
    """Price of a cash account that starts at 1 and accrues ``rate_pct`` (percent per year).

    The rate observed on day t-1 accrues over the calendar days from t-1 to t (actual/360):
    ``P[t] = P[t-1] * (1 + r[t-1] / 100 * days / 360)``. Using yesterday's rate keeps the
    series free of look-ahead. A missing rate is carried forward from the last known value
    (never back-filled); a rate series that starts after ``dates[0]`` accrues 0 until it starts.

    Parameters
    ----------
    dates : pd.DatetimeIndex, shape (T,)
    rate_pct : pd.Series or float
        Annual short rate in percent (e.g. the 13-week T-bill yield), indexed by date.

    Returns
    -------
    pd.Series, shape (T,)
        Named ``CASH``.

    Examples
    --------
    >>> d = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04"])
    >>> cash_index(d, 3.6).round(6).tolist()
    [1.0, 1.0001, 1.0003]
    """
    dates = pd.DatetimeIndex(dates)
    if np.isscalar(rate_pct):
        r = np.full(len(dates), float(rate_pct))
    else:
        r = pd.Series(rate_pct).sort_index().reindex(dates, method="ffill").to_numpy(np.float64)
        r = np.where(np.isnan(r), 0.0, r)
    # resolution-agnostic (pandas 3 infers s/ms/us/ns per index): divide by a Timedelta
    days = np.asarray((dates[1:] - dates[:-1]) / pd.Timedelta(days=1), dtype=np.float64)
    growth = np.ones(len(dates))
    growth[1:] = 1.0 + r[:-1] / 100.0 * days / CASH_DAY_BASIS
    return pd.Series(np.cumprod(growth), index=dates, name=CASH)


def with_cash(prices: pd.DataFrame, rate_pct: pd.Series | float = 0.0) -> pd.DataFrame:
    """Return ``prices`` with a ``CASH`` column accruing ``rate_pct`` (see :func:`cash_index`)."""
    out = prices.drop(columns=[CASH], errors="ignore").copy()
    out[CASH] = cash_index(out.index, rate_pct).to_numpy()
    return out
