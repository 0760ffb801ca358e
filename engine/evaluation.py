"""Signal evaluation: does a flow signal predict forward returns?

What a quant asks before backtesting a flow rule (alphalens' tear sheet is the field's
reference; alphalens-reloaded is not installed beside pandas 3 here, so this is written with
pandas/NumPy and tested against plain pandas and statsmodels' HAC standard errors):

* information coefficient (rank = Spearman, and Pearson) between the signal known at the close
  of day t and the forward return that starts after it is known, at horizons of 1, 5, 20 and
  60 sessions, with Newey-West t-statistics (Bartlett kernel, ``h`` lags for an ``h``-session
  horizon, since overlapping forward returns are autocorrelated up to ``h - 1``);
* quantile mean forward returns and the top-minus-bottom spread, the hit rate (sign of the
  signal = sign of the forward return);
* IC decay (the signal lagged ``d`` sessions against the 1-session forward return) and the
  signal's autocorrelation and top-quantile turnover.

Two modes. ``cross_section`` (3 or more assets: stocks, ETFs): each day's IC is the
correlation across assets, then averaged over days. ``time_series`` (one or two assets, e.g.
the market-wide flow of KOSPI against the KOSPI index): per asset, the correlation over time;
its Newey-West standard error is that of the mean of the product of the standardized series.
Quantile breakpoints in time-series mode are full-sample (an evaluation, not a rule).

Publication lag: with ``lag_bars = 1`` (KRX publishes investor flows after the close of t) the
forward return of day t is ``close[t + 1 + h] / close[t + 1] - 1``: it starts at the first
close at which one could trade on the signal.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = ["HORIZONS", "evaluate_signal", "forward_returns", "newey_west_se"]

#: Default horizons in sessions.
HORIZONS = (1, 5, 20, 60)


def forward_returns(prices: pd.DataFrame, horizon_bars: int, lag_bars: int = 1) -> pd.DataFrame:
    """``close[t + lag + h] / close[t + lag] - 1`` dated t (NaN where the future is unknown).

    Examples
    --------
    >>> p = pd.DataFrame({"A": [1.0, 2.0, 4.0, 8.0]})
    >>> forward_returns(p, 1, lag_bars=1)["A"].tolist()
    [1.0, 1.0, nan, nan]
    """
    if horizon_bars < 1 or lag_bars < 0:
        raise ValueError("horizon_bars must be >= 1 and lag_bars >= 0")
    start = prices.shift(-lag_bars)
    return prices.shift(-(lag_bars + horizon_bars)) / start - 1.0


def newey_west_se(x: np.ndarray, lags: int) -> float:
    """Newey-West (Bartlett) standard error of the mean of ``x`` (NaNs removed).

    Equivalent to statsmodels ``OLS(x, ones).fit(cov_type="HAC", cov_kwds={"maxlags": lags})``
    without small-sample correction.
    """
    x = np.asarray(x, np.float64)
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return np.nan
    u = x - x.mean()
    s = u @ u / n
    for j in range(1, min(lags, n - 1) + 1):
        s += 2.0 * (1.0 - j / (lags + 1.0)) * (u[j:] @ u[:-j]) / n
    return float(np.sqrt(max(s, 0.0) / n))


def _rank_rows(a: np.ndarray) -> np.ndarray:
    """Average ranks along axis 1, NaN kept (pandas ``rank(axis=1)``)."""
    return pd.DataFrame(a).rank(axis=1).to_numpy()


def _row_corr(x: np.ndarray, y: np.ndarray, min_assets: int = 3) -> np.ndarray:
    """Pearson correlation of each row of x with the same row of y over pairs both present."""
    m = np.isfinite(x) & np.isfinite(y)
    n = m.sum(axis=1)
    xs, ys = np.where(m, x, 0.0), np.where(m, y, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx, my = xs.sum(1) / n, ys.sum(1) / n
        dx, dy = np.where(m, x - mx[:, None], 0.0), np.where(m, y - my[:, None], 0.0)
        r = (dx * dy).sum(1) / np.sqrt((dx * dx).sum(1) * (dy * dy).sum(1))
    r[n < min_assets] = np.nan
    return r


def _cs_rank(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    m = np.isfinite(x) & np.isfinite(y)
    return _row_corr(_rank_rows(np.where(m, x, np.nan)), _rank_rows(np.where(m, y, np.nan)))


def _ts_products(x: np.ndarray, y: np.ndarray, rank: bool) -> np.ndarray:
    """Products of the standardized series (their mean is the correlation over time)."""
    m = np.isfinite(x) & np.isfinite(y)
    a, b = x[m], y[m]
    if rank:
        a = pd.Series(a).rank().to_numpy()
        b = pd.Series(b).rank().to_numpy()
    if len(a) < 3:
        return np.array([])
    za = (a - a.mean()) / a.std()
    zb = (b - b.mean()) / b.std()
    return za * zb


def evaluate_signal(signal: pd.DataFrame, prices: pd.DataFrame, *,
                    horizons: Sequence[int] = HORIZONS, lag_bars: int = 1, quantiles: int = 5,
                    mode: str | None = None, decay_lags: Sequence[int] = (0, 1, 2, 5, 10, 20)
                    ) -> pd.DataFrame:
    """IC, quantile returns and hit rate of ``signal`` against forward returns of ``prices``.

    Parameters
    ----------
    signal : DataFrame, shape (T, A)
        Signal known at the close of each date (e.g. flow in bp), columns = assets.
    prices : DataFrame, shape (T', A')
        Closes; aligned to ``signal`` on dates and assets (only common ones are used).
    horizons : sequence of int
        Forward horizons in sessions.
    lag_bars : int
        Sessions between the signal's date and the start of its forward return.
    quantiles : int
    mode : {"cross_section", "time_series"}, optional
        Default: cross_section with 3 or more assets.
    decay_lags : sequence of int
        Lags of the signal for the IC decay (against the 1-session forward return).

    Returns
    -------
    DataFrame
        One row per (asset, horizon) (``asset = "all"`` in cross-section mode) with
        ``n`` (dates), ``rank_ic``, ``rank_ic_t``, ``pearson_ic``, ``pearson_ic_t``,
        ``q1`` .. ``q<quantiles>`` (mean forward return of each signal quantile, q1 lowest),
        ``top_minus_bottom``, ``hit_rate``. ``attrs``: ``mode``, ``decay`` (DataFrame of the
        rank IC by signal lag), ``autocorr`` (lag-1 autocorrelation of the signal, its
        cross-sectional ranks in cross-section mode), ``turnover`` (share of the top quantile
        replaced per session).
    """
    dates = signal.index.intersection(prices.index)
    assets = signal.columns.intersection(prices.columns)
    if len(dates) < 3 or len(assets) == 0:
        raise ValueError("signal and prices share fewer than 3 dates or no asset")
    sig = signal.loc[dates, assets].astype(np.float64)
    px = prices.loc[dates, assets].astype(np.float64)
    mode = mode or ("cross_section" if len(assets) >= 3 else "time_series")
    rows = []
    x = sig.to_numpy()
    for h in horizons:
        y = forward_returns(px, h, lag_bars).to_numpy()
        if mode == "cross_section":
            rows.append(_cs_row("all", h, x, y, quantiles))
        else:
            for j, a in enumerate(assets):
                rows.append(_ts_row(a, h, x[:, j], y[:, j], quantiles))
    out = pd.DataFrame(rows)
    y1 = forward_returns(px, 1, lag_bars).to_numpy()
    dec = []
    for d in decay_lags:
        xd = sig.shift(d).to_numpy()
        if mode == "cross_section":
            dec.append({"asset": "all", "lag": d, "rank_ic": np.nanmean(_cs_rank(xd, y1))})
        else:
            for j, a in enumerate(assets):
                p = _ts_products(xd[:, j], y1[:, j], True)
                dec.append({"asset": a, "lag": d, "rank_ic": p.mean() if len(p) else np.nan})
    out.attrs["mode"] = mode
    out.attrs["decay"] = pd.DataFrame(dec)
    if mode == "cross_section":
        r = _rank_rows(x)
        out.attrs["autocorr"] = float(np.nanmean(_row_corr(r[1:], r[:-1])))
        q = _quantile_rows(x, quantiles)
        top = q == quantiles - 1
        stay = (top[1:] & top[:-1]).sum(1)
        was = top[:-1].sum(1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.attrs["turnover"] = float(np.nanmean(np.where(was > 0, 1 - stay / was, np.nan)))
    else:
        out.attrs["autocorr"] = {a: float(sig[a].autocorr(1)) for a in assets}
        turn = {}
        for a in assets:
            s = sig[a]
            top = (s >= s.quantile(1 - 1 / quantiles)).to_numpy()
            turn[a] = float(np.mean(top[1:] != top[:-1]))
        out.attrs["turnover"] = turn
    return out


def _quantile_rows(x: np.ndarray, q: int) -> np.ndarray:
    """Quantile 0..q-1 of each value within its row (by rank), -1 where NaN."""
    r = pd.DataFrame(x).rank(axis=1, pct=True).to_numpy()
    out = np.where(np.isfinite(r), np.minimum((np.ceil(r * q) - 1), q - 1), -1)
    return out.astype(np.int64)


def _t(x: np.ndarray, lags: int) -> float:
    """Newey-West t-statistic of the mean of ``x``; NaN when the standard error is 0 or NaN."""
    if not np.isfinite(x).any():
        return np.nan
    se = newey_west_se(x, lags)
    return float(np.nanmean(x) / se) if se > 0 else np.nan


def _cs_row(asset, h, x, y, q) -> dict:
    ric = _cs_rank(x, y)
    pic = _row_corr(x, y)
    row = {"asset": asset, "horizon": h, "n": int(np.isfinite(ric).sum()),
           "rank_ic": np.nanmean(ric), "rank_ic_t": _t(ric, h),
           "pearson_ic": np.nanmean(pic), "pearson_ic_t": _t(pic, h)}
    qs = _quantile_rows(np.where(np.isfinite(y), x, np.nan), q)
    for k in range(q):
        sel = qs == k
        with np.errstate(invalid="ignore"):
            per_day = np.where(sel, y, 0.0).sum(1) / sel.sum(1)
        row[f"q{k + 1}"] = np.nanmean(per_day)
    row["top_minus_bottom"] = row[f"q{q}"] - row["q1"]
    m = np.isfinite(x) & np.isfinite(y) & (x != 0) & (y != 0)
    row["hit_rate"] = float(np.mean(np.sign(x[m]) == np.sign(y[m]))) if m.any() else np.nan
    return row


def _ts_row(asset, h, x, y, q) -> dict:
    pr = _ts_products(x, y, True)
    pp = _ts_products(x, y, False)
    row = {"asset": asset, "horizon": h, "n": len(pr),
           "rank_ic": pr.mean() if len(pr) else np.nan,
           "rank_ic_t": _t(pr, h),
           "pearson_ic": pp.mean() if len(pp) else np.nan,
           "pearson_ic_t": _t(pp, h)}
    m = np.isfinite(x) & np.isfinite(y)
    xs, ys = pd.Series(x[m]), pd.Series(y[m])
    lab = pd.qcut(xs.rank(method="first"), q, labels=False) if len(xs) >= q else None
    for k in range(q):
        row[f"q{k + 1}"] = float(ys[lab == k].mean()) if lab is not None else np.nan
    row["top_minus_bottom"] = row[f"q{q}"] - row["q1"]
    nz = (xs != 0) & (ys != 0)
    row["hit_rate"] = float(np.mean(np.sign(xs[nz]) == np.sign(ys[nz]))) if nz.any() else np.nan
    return row
