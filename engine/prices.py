"""Price panels for simulation: the ``CASH`` asset that accrues a short rate."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.market import CASH

__all__ = ["cash_index", "with_cash"]

#: Day-count basis for money-market accrual (T-bill convention, actual/360).
CASH_DAY_BASIS = 360.0

#: Longest gap (calendar days) over which a short rate is carried forward by default.
MAX_CARRY_DAYS = 10


def cash_index(dates: pd.DatetimeIndex, rate_pct: pd.Series | float, *,
               quality: DataQuality | None = None, source: str = "short rate",
               max_carry_days: int = MAX_CARRY_DAYS, before_start: str = "error") -> pd.Series:
    """Price of a cash account that starts at 1 and accrues ``rate_pct`` (percent per year).

    The rate observed on day t-1 accrues over the calendar days from t-1 to t (actual/360):
    ``P[t] = P[t-1] * (1 + r[t-1] / 100 * days / 360)``. Using yesterday's rate keeps the
    series free of look-ahead.

    Parameters
    ----------
    dates : pd.DatetimeIndex, shape (T,)
    rate_pct : pd.Series or float
        Annual short rate in percent (e.g. the 13-week T-bill yield), indexed by date.
    quality : DataQuality, optional
        Receives the count of days whose rate is carried forward and, with
        ``before_start="zero"``, of days before the rate series starts (accruing 0).
    source : str
        Name of the rate series for messages and the quality summary.
    max_carry_days : int
        Longest gap (calendar days) over which the last known rate is carried forward (bond
        market holidays: the bundled T-bill series' longest is 7 days, 2001-09-11..17).
    before_start : {"error", "zero"}
        Dates before the first known rate: an error (default), or accrue 0 (counted).

    Returns
    -------
    pd.Series, shape (T,)
        Named ``CASH``.

    Raises
    ------
    DataError
        A gap in the rate longer than ``max_carry_days``, or dates before the rate series
        starts with ``before_start="error"``: naming the dates and the fix (issue #10 item 3,
        ``tests/engine/test_trust_drops.py::test_cash_rate_gaps_are_counted_or_refused``).

    Examples
    --------
    >>> d = pd.DatetimeIndex(["2024-01-01", "2024-01-02", "2024-01-04"])
    >>> cash_index(d, 3.6).round(6).tolist()
    [1.0, 1.0001, 1.0003]
    """
    dates = pd.DatetimeIndex(dates)
    if before_start not in ("error", "zero"):
        raise ValueError(f"before_start must be 'error' or 'zero', got {before_start!r}")
    if np.isscalar(rate_pct):
        r = np.full(len(dates), float(rate_pct))
    else:
        known = pd.Series(rate_pct, dtype=np.float64).sort_index().dropna()
        # dropna: a NaN rate is "not published that day"; the carry below counts it
        r = known.reindex(dates, method="ffill").to_numpy(np.float64)
        # date of the rate each day uses (NaT before the series starts)
        used = pd.Series(known.index, index=known.index).reindex(dates, method="ffill")
        before = int(np.isnan(r).sum())
        if before:
            first = known.index[0].date() if len(known) else None
            if before_start == "error":
                raise DataError(
                    f"{source} starts {first}, after the first price date {dates[0].date()}: "
                    f"CASH would accrue 0% on {before:,} days", column=source,
                    fix=f"start the data on or after {first} (data.start in the config) or "
                        "supply the rate from the first price date")
            if quality is not None:
                quality.add(source, "treated as 0", "days before the rate series starts",
                            before, rule="CASH accrues 0% until the first known rate")
            r = np.where(np.isnan(r), 0.0, r)
        live = used.notna().to_numpy()
        gap_days = ((dates[live] - pd.DatetimeIndex(used[live])) / pd.Timedelta(days=1))
        gap_days = np.asarray(gap_days, dtype=np.float64)
        if (gap_days > max_carry_days).any():
            i = int(np.argmax(gap_days > max_carry_days))
            d = dates[live][i]
            raise DataError(
                f"{source} has no value for {gap_days[i]:.0f} days up to {d.date()} (last known "
                f"{pd.Timestamp(used[live].iloc[i]).date()}); more than max_carry_days="
                f"{max_carry_days}", column=source,
                fix="fill the rate series for those dates, or pass a larger max_carry_days")
        if quality is not None:
            quality.add(source, "carried forward", "days without a published rate",
                        int((gap_days > 0).sum()),
                        rule=f"CASH accrues the last known rate (<= {max_carry_days} days)")
    # resolution-agnostic (pandas 3 infers s/ms/us/ns per index): divide by a Timedelta
    days = np.asarray((dates[1:] - dates[:-1]) / pd.Timedelta(days=1), dtype=np.float64)
    growth = np.ones(len(dates))
    growth[1:] = 1.0 + r[:-1] / 100.0 * days / CASH_DAY_BASIS
    return pd.Series(np.cumprod(growth), index=dates, name=CASH)


def with_cash(prices: pd.DataFrame, rate_pct: pd.Series | float = 0.0, **kw) -> pd.DataFrame:
    """Return ``prices`` with a ``CASH`` column accruing ``rate_pct`` (see :func:`cash_index`,
    whose keyword arguments ``kw`` are passed on)."""
    out = prices.drop(columns=[CASH], errors="ignore").copy()
    out[CASH] = cash_index(out.index, rate_pct, **kw).to_numpy()
    return out
