"""Index tracking by sampling: the top-N constituents by weight against full replication.

Model (DESIGN.md §1, "Index tracking")
--------------------------------------
Each holdings snapshot of an ETF (the portfolio deposit file, :class:`engine.market.Holdings`)
is the index's composition. A snapshot becomes usable on the first session ``a`` on or after
``effective_date + lag_days`` (the rule of :meth:`Holdings.to_csr`); at the close of ``a`` both
portfolios are (re)built from it and then held, buy and hold, until the close of the session
the next snapshot becomes usable:

* **full replication** holds every constituent at its snapshot weight (renormalized to sum 1,
  which it does within the holdings tolerance);
* **sampling** holds the ``n`` largest weights (ties broken by stock code), renormalized to
  sum 1.

Between rebalances a holding's value drifts with its price, ``v_i(t) = w_i P_i(t) / P_i(a)``, as
a cap-weighted index does, and the portfolio's return on session ``t`` (close ``t-1`` to
close ``t``) is ``sum_i v_i(t) / sum_i v_i(t-1) - 1``. The return of session ``t`` is earned by
the holdings in force at the close of ``t-1``: a snapshot usable on ``a`` changes returns from
``a + 1`` on, so nothing after ``t`` enters the value on ``t`` (prefix invariant).

Outputs
-------
tracking difference (per session, fraction)
    ``r_sampled[t] - r_full[t]``; NaN before the first usable snapshot, on its first session,
    and on a session where a held constituent has no price on ``t-1`` or ``t`` (counted).
tracking error (fraction per year)
    ``std(tracking difference, ddof=1) * sqrt(252)``
    (:data:`engine.conventions.PERIODS_PER_YEAR`, :data:`engine.conventions.DDOF`), over the
    sessions where it is known. With ``n`` at least the number of constituents the sampled
    portfolio *is* the full one and the tracking error is exactly 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.conventions import DDOF, PERIODS_PER_YEAR
from engine.errors import DataError, DataQuality
from engine.market import Holdings

__all__ = ["FULL", "TrackingResult", "replication_returns", "replication_tracking",
           "tracking_error"]

#: The ``n`` that stands for full replication (every constituent).
FULL = None


def replication_returns(holdings: Holdings, prices: pd.DataFrame, etf: str,
                        n: int | None = FULL, *, lag_days: int = 0,
                        quality: DataQuality | None = None) -> pd.DataFrame:
    """Daily returns of one ETF's replicating portfolio (top ``n`` or every constituent).

    Parameters
    ----------
    holdings : Holdings
        Point-in-time snapshots.
    prices : pd.DataFrame, shape (T, N)
        Constituent closes (dates x stock codes, currency per share; NaN where absent).
    etf : str
    n : int or None
        Number of constituents held; None = full replication.
    lag_days : int
        Publication lag of the snapshots, calendar days (>= 0).
    quality : DataQuality, optional
        Receives the count of sessions without a price for a held constituent.

    Returns
    -------
    pd.DataFrame, shape (T, 3)
        ``return`` (fraction per session), ``n_held`` (constituents held over the session)
        and ``weight_held`` (fraction of the snapshot's weight the held stocks carry), index
        the price dates. NaN where the portfolio does not exist or a price is missing.

    Examples
    --------
    >>> h = Holdings(pd.DataFrame({"etf": "E", "effective_date": "2024-01-01",
    ...     "stock": ["a", "b"], "weight": [0.75, 0.25]}))
    >>> p = pd.DataFrame({"a": [10.0, 11.0], "b": [20.0, 18.0]},
    ...     index=pd.to_datetime(["2024-01-02", "2024-01-03"]))
    >>> replication_returns(h, p, "E")["return"].round(6).tolist()    # 0.75*10% + 0.25*(-10%)
    [nan, 0.05]
    >>> replication_returns(h, p, "E", 1)["return"].round(6).tolist()
    [nan, 0.1]
    """
    if n is not None and (isinstance(n, bool) or int(n) != n or n < 1):
        raise ValueError(f"n must be a positive integer or None, got {n!r}")
    dates = pd.DatetimeIndex(prices.index)
    cols = pd.Index(prices.columns).astype(str)
    px = prices.to_numpy(np.float64)
    _, csr = holdings.to_csr(dates, cols, etfs=[etf], lag_days=lag_days)
    return _csr_returns(csr, np.arange(len(csr.etf)), px, cols, dates, n, etf, quality)


def _csr_returns(csr, snaps: np.ndarray, px: np.ndarray, cols: pd.Index,
                 dates: pd.DatetimeIndex, n: int | None, etf: str,
                 quality: DataQuality | None) -> pd.DataFrame:
    """The returns of :func:`replication_returns` from snapshots ``snaps`` of a laid-out
    :class:`engine.market.HoldingsCSR` (one ETF's, in date order)."""
    T = len(dates)
    ret = np.full(T, np.nan)
    n_held = np.full(T, np.nan)
    w_held = np.full(T, np.nan)
    missing_days, first_missing = 0, None
    for s in snaps:
        lo, hi = csr.indptr[s], csr.indptr[s + 1]
        pos, w = csr.stock[lo:hi], csr.weight[lo:hi]
        a, b = int(csr.start[s]), int(min(csr.stop[s], T - 1))
        if b <= a:  # usable only on the last session: no return is earned on it
            continue
        # top n on the snapshot's weights, ties by stock code; a constituent absent from the
        # price panel keeps its place (and makes the sessions unknown), it is never dropped
        codes = np.where(pos >= 0, np.asarray(cols[np.clip(pos, 0, None)], dtype=object),
                         "\uffff")
        order = np.lexsort((codes, -w))
        if n is not None:
            order = order[:n]
        keep_pos, keep_w = pos[order], w[order] / w[order].sum()
        if (keep_pos < 0).any():
            seg = np.full((b - a + 1, len(keep_pos)), np.nan)
        else:
            seg = px[a:b + 1][:, keep_pos]
        with np.errstate(invalid="ignore", divide="ignore"):
            # buy and hold from the close of a: each holding's value is w_i P_i(t) / P_i(a)
            ok = np.isfinite(seg).all(axis=1) & np.isfinite(seg[0]).all()
            value = np.where(ok, (seg / seg[0]) @ keep_w, np.nan)
            r = value[1:] / value[:-1] - 1.0
        ret[a + 1:b + 1] = r
        n_held[a + 1:b + 1] = len(keep_pos)
        w_held[a + 1:b + 1] = w[order].sum() / w.sum()
        bad = ~np.isfinite(r)
        if bad.any():
            missing_days += int(bad.sum())
            if first_missing is None:
                first_missing = dates[a + 1 + int(np.argmax(bad))]
    if quality is not None and missing_days:
        quality.add(f"tracking {etf}", "kept NaN",
                    f"sessions without a price for a held constituent (top {n or 'all'}; "
                    f"first {first_missing.date()})", missing_days,
                    rule="return unknown, left out of the tracking error")
    return pd.DataFrame({"return": ret, "n_held": n_held, "weight_held": w_held}, index=dates)


def tracking_error(difference: pd.Series) -> float:
    """Annualized tracking error: ``std(difference, ddof=1) * sqrt(252)`` over known sessions.

    Parameters
    ----------
    difference : pd.Series
        Daily tracking difference (fraction).

    Returns
    -------
    float
        Fraction per year; NaN with fewer than two known sessions.
    """
    d = pd.Series(difference, dtype=np.float64).dropna()
    if len(d) < 2:
        return float("nan")
    return float(d.std(ddof=DDOF) * np.sqrt(PERIODS_PER_YEAR))


@dataclass(frozen=True)
class TrackingResult:
    """Sampling against full replication for a set of ETFs and sample sizes.

    Attributes
    ----------
    daily : pd.DataFrame
        Long: ``date, etf, n, return_full, return_sampled, tracking_difference`` (fractions
        per session), ``n_held`` and ``weight_held`` (fraction of the snapshot's weight the
        sample holds).
    summary : pd.DataFrame
        One row per (etf, n): ``sessions`` (known tracking differences), ``n_constituents``
        (of the last snapshot usable on the price dates), ``weight_held`` (mean),
        ``tracking_difference_total`` (sampled minus full cumulative return over the known
        sessions, fraction) and ``tracking_error`` (fraction per year).
    """

    daily: pd.DataFrame
    summary: pd.DataFrame


def replication_tracking(holdings: Holdings, prices: pd.DataFrame, ns, *,
                         etfs=None, lag_days: int = 0,
                         quality: DataQuality | None = None) -> TrackingResult:
    """Tracking difference and error of top-``n`` sampling for each ETF and each ``n``.

    Parameters
    ----------
    holdings : Holdings
    prices : pd.DataFrame, shape (T, N)
        Constituent closes (dates x stock codes).
    ns : sequence of int
        Sample sizes (each >= 1).
    etfs : sequence of str, optional
        Default: every ETF of ``holdings``.
    lag_days : int
    quality : DataQuality, optional

    Returns
    -------
    TrackingResult
    """
    ns = [int(n) for n in ns]
    if not ns or any(n < 1 for n in ns):
        raise ValueError(f"sample sizes must be integers >= 1, got {ns}")
    etfs = list(holdings.etfs) if etfs is None else [str(e) for e in etfs]
    unknown = sorted(set(etfs) - set(holdings.etfs))
    if unknown:
        raise DataError(f"no holdings for ETFs {unknown}")
    dates = pd.DatetimeIndex(prices.index)
    cols = pd.Index(prices.columns).astype(str)
    px = prices.to_numpy(np.float64)
    # one layout of every ETF's snapshots (to_csr is one pass over the whole table)
    _, csr = holdings.to_csr(dates, cols, etfs=etfs, lag_days=lag_days)
    daily, rows = [], []
    for e, etf in enumerate(etfs):
        snaps = np.flatnonzero(csr.etf == e)
        full = _csr_returns(csr, snaps, px, cols, dates, FULL, etf, quality)
        n_const = int(csr.indptr[snaps[-1] + 1] - csr.indptr[snaps[-1]]) if len(snaps) else 0
        for n in ns:
            samp = _csr_returns(csr, snaps, px, cols, dates, n, etf, None)
            td = samp["return"] - full["return"]
            known = td.notna() & full["return"].notna()
            daily.append(pd.DataFrame({
                "date": full.index, "etf": etf, "n": n,
                "return_full": full["return"].to_numpy(),
                "return_sampled": samp["return"].to_numpy(),
                "tracking_difference": td.to_numpy(),
                "n_held": samp["n_held"].to_numpy(),
                "weight_held": samp["weight_held"].to_numpy(),
            }))
            growth_s = float(np.prod(1.0 + samp["return"][known]))
            growth_f = float(np.prod(1.0 + full["return"][known]))
            rows.append({"etf": etf, "n": n, "sessions": int(known.sum()),
                         "n_constituents": n_const,
                         "weight_held": float(samp["weight_held"][known].mean())
                         if known.any() else float("nan"),
                         "tracking_difference_total": growth_s - growth_f
                         if known.any() else float("nan"),
                         "tracking_error": tracking_error(td[known])})
    return TrackingResult(pd.concat(daily, ignore_index=True), pd.DataFrame(rows))
