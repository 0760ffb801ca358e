"""A KRW-based investor holding USD assets, unhedged or hedged.

Notation: ``E[t]`` the portfolio's equity in USD (e.g. ``SimResult.equity``), ``X[t]`` the
USD/KRW rate in KRW per USD (:func:`datasets.fx_data.load_usdkrw`), ``r_usd[t] = E[t]/E[t-1] - 1``,
``r_fx[t] = X[t]/X[t-1] - 1``, ``dt`` the calendar days from t-1 to t over 365.

Unhedged
    ``E_krw[t] = E[t] * X[t]``: the investor takes the full FX return,
    ``1 + r_krw = (1 + r_usd)(1 + r_fx)``.

Hedged (hedge ratio h, a one-day FX forward on the start-of-day value, rolled daily)
    .. math:: r_{krw}[t] = (1 + r_{usd})(1 + r_{fx}) - 1 - h\\, r_{fx} - h\\, c\\, dt

    The forward sold on ``h`` of yesterday's value pays back ``-h r_fx`` (the FX move on the
    hedged notional), and costs the carry ``c = hedge_cost_pct_per_year / 100``: the forward
    points, i.e. the USD rate minus the KRW rate (positive when USD rates are higher, which
    makes hedging cost the KRW investor; negative = the hedge earns carry). What stays unhedged
    is the cross term ``r_usd * r_fx`` (the day's gain is not hedged until the next roll) and
    ``1 - h`` of the notional. With ``h = 0`` and ``c = 0`` this is exactly the unhedged case.
    ``E_krw[0] = E[0] * X[0]``.

FX dates
--------
FRED publishes no rate on US holidays; :func:`align_fx` carries the last published rate
forward onto such sessions (the rate that was known then) and counts every filled day in the
returned :class:`engine.errors.DataQuality`. A session before the first rate is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality

__all__ = ["DAYS_PER_YEAR_FX", "align_fx", "krw_equity", "krw_returns"]

#: Day count of the hedge carry (money-market convention for KRW / USD forwards: act/365).
DAYS_PER_YEAR_FX = 365.0


def align_fx(usdkrw: pd.Series, dates: pd.DatetimeIndex,
             quality: DataQuality | None = None) -> pd.Series:
    """USD/KRW on ``dates``: the last published rate on or before each date.

    Parameters
    ----------
    usdkrw : pd.Series
        KRW per USD by publication date.
    dates : pd.DatetimeIndex
        Sessions of the USD equity.
    quality : DataQuality, optional
        Receives the count of sessions filled with an earlier rate.

    Returns
    -------
    pd.Series
        KRW per USD on ``dates``.
    """
    dates = pd.DatetimeIndex(dates)
    # dropna: a NaN rate is an unpublished day; the carry below counts every such session
    fx = pd.Series(usdkrw, dtype=np.float64).dropna().sort_index()
    if fx.empty or dates[0] < fx.index[0]:
        raise DataError(f"no USD/KRW rate on or before {dates[0].date()}",
                        fix=f"start the backtest on or after {fx.index[0].date() if len(fx) else '?'}")
    out = fx.reindex(dates, method="ffill")
    filled = int((~dates.isin(fx.index)).sum())
    if quality is not None:
        quality.add("usdkrw", "carried forward", "sessions without a published USD/KRW rate",
                    filled, rule="last published rate (no look-ahead)")
    return out.rename("usdkrw")


def krw_returns(equity_usd: pd.Series, fx: pd.Series, *, hedge_ratio: float = 0.0,
                hedge_cost_pct_per_year: float = 0.0) -> pd.Series:
    """Daily KRW returns of a USD equity curve (see the module docstring for the model).

    Parameters
    ----------
    equity_usd : pd.Series, shape (T,)
    fx : pd.Series, shape (T,)
        KRW per USD on the same dates (see :func:`align_fx`).
    hedge_ratio : float
        0 = unhedged, 1 = fully hedged.
    hedge_cost_pct_per_year : float
        Carry of the hedge, percent per year (USD rate minus KRW rate).

    Returns
    -------
    pd.Series, shape (T,)
        First value 0.
    """
    if not 0.0 <= hedge_ratio <= 1.0:
        raise ValueError(f"hedge_ratio must be in [0, 1], got {hedge_ratio}")
    e = equity_usd.to_numpy(np.float64)
    # exact-date lookup: a missing rate raises just below, nothing is filled here
    x = fx.reindex(equity_usd.index).to_numpy(np.float64)
    if np.isnan(x).any():
        raise DataError("FX rate missing on an equity date", fix="align it with align_fx")
    r_usd = np.zeros_like(e)
    r_fx = np.zeros_like(e)
    r_usd[1:] = e[1:] / e[:-1] - 1.0
    r_fx[1:] = x[1:] / x[:-1] - 1.0
    dt = np.zeros_like(e)
    idx = pd.DatetimeIndex(equity_usd.index)
    # Timedelta division is unit-safe (pandas 3 indexes may be datetime64[us], not [ns])
    dt[1:] = (idx[1:] - idx[:-1]) / pd.Timedelta(days=1) / DAYS_PER_YEAR_FX
    c = hedge_cost_pct_per_year / 100.0
    r = (1.0 + r_usd) * (1.0 + r_fx) - 1.0 - hedge_ratio * (r_fx + c * dt)
    return pd.Series(r, index=equity_usd.index, name="return_krw")


def krw_equity(equity_usd: pd.Series | pd.DataFrame, usdkrw: pd.Series, *,
               hedged: bool = False, hedge_ratio: float = 1.0,
               hedge_cost_pct_per_year: float = 0.0,
               quality: DataQuality | None = None) -> pd.Series | pd.DataFrame:
    """Equity in KRW of a USD portfolio for a KRW-based investor.

    Parameters
    ----------
    equity_usd : pd.Series or pd.DataFrame, shape (T,) or (T, n_variants)
        USD equity curves.
    usdkrw : pd.Series
        KRW per USD (publication dates; aligned with :func:`align_fx`).
    hedged : bool
        False: unhedged (``E * X``). True: hedge ``hedge_ratio`` of the value.
    hedge_ratio : float
        Used when ``hedged``.
    hedge_cost_pct_per_year : float
        Hedge carry, percent per year (used when ``hedged``).
    quality : DataQuality, optional
        Receives the FX fill count.

    Returns
    -------
    Same type as ``equity_usd``, in KRW.

    Examples
    --------
    >>> d = pd.to_datetime(["2024-01-02", "2024-01-03"])
    >>> e = pd.Series([100.0, 110.0], index=d)
    >>> x = pd.Series([1300.0, 1430.0], index=d)
    >>> krw_equity(e, x).tolist()
    [130000.0, 157300.0]
    >>> krw_equity(e, x, hedged=True).round(6).tolist()    # keeps +10 % USD, and the cross term
    [130000.0, 144300.0]
    """
    fx = align_fx(usdkrw, equity_usd.index, quality)
    if isinstance(equity_usd, pd.DataFrame):
        return pd.DataFrame({c: krw_equity(equity_usd[c], fx, hedged=hedged,
                                           hedge_ratio=hedge_ratio,
                                           hedge_cost_pct_per_year=hedge_cost_pct_per_year)
                             for c in equity_usd.columns}, index=equity_usd.index)
    if not hedged:
        return (equity_usd.astype(np.float64) * fx).rename(equity_usd.name)
    r = krw_returns(equity_usd, fx, hedge_ratio=hedge_ratio,
                    hedge_cost_pct_per_year=hedge_cost_pct_per_year)
    start = float(equity_usd.iloc[0]) * float(fx.iloc[0])
    return (start * np.cumprod(1.0 + r)).rename(equity_usd.name)
