"""Derived flow signals: thin pandas wrappers around the kernels in :mod:`engine.nb`.

Each wrapper takes a Series or a DataFrame (time on the index), hands its column-major float
values to a kernel (no copy for a single-dtype frame) and puts the labels back; float32 input stays float32 (kernels
accumulate in float64), anything else becomes float64. Inputs are never modified.

Point in time: every output row ``t`` depends on input rows ``<= t`` only (pinned for each
signal by ``tests/engine/test_signal_properties.py``). Defaults are defined once:
``DDOF`` (1, as pandas) for every standard deviation and ``min_periods = window`` for rolling
statistics, as pandas; ``DDOF`` and ``PERIODS_PER_YEAR`` live in :mod:`engine.conventions`.
"""

from __future__ import annotations

import enum

import numpy as np
import pandas as pd

from engine.conventions import DDOF, PERIODS_PER_YEAR
from engine.errors import DataError
from engine.nb import divergence_nb as dnb
from engine.nb import etf_nb, rolling_nb, streaks_nb, tracking_nb
from engine.periods import period_code

__all__ = [
    "DDOF",
    "PERIODS_PER_YEAR",
    "Divergence",
    "divergence",
    "etf_flows_from_shares",
    "ewma",
    "flow_pct_aum",
    "premium_discount",
    "relative_strength",
    "rolling_sum",
    "rolling_zscore",
    "streaks",
    "tracking_difference",
    "tracking_error",
    "volume_spike",
]



class Divergence(enum.IntEnum):
    """Price-flow divergence labels (codes of :mod:`engine.nb.divergence_nb`)."""

    neutral = dnb.NEUTRAL
    trend = dnb.TREND
    distribution = dnb.DISTRIBUTION
    accumulation = dnb.ACCUMULATION
    rotation_out = dnb.ROTATION_OUT


def _dtype(obj) -> np.dtype:
    dts = [obj.dtype] if isinstance(obj, pd.Series) else list(obj.dtypes)
    if dts and all(d == np.float32 for d in dts):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def _values(obj, dtype=None) -> np.ndarray:
    """(T, C) column-major float array of a Series or DataFrame.

    A single-dtype DataFrame already holds its values column-major, so this is usually a
    view (no copy); the kernels never write to their inputs.
    """
    if not isinstance(obj, pd.Series | pd.DataFrame):
        raise TypeError(f"expected a pandas Series or DataFrame, got {type(obj).__name__}")
    dtype = _dtype(obj) if dtype is None else dtype
    arr = obj.to_numpy(dtype=dtype)
    if arr.ndim == 1:
        arr = arr[:, None]
    return np.asfortranarray(arr)


def _out(values: np.ndarray, dtype=None) -> np.ndarray:
    """Column-major (T, C) output buffer for a 2-D kernel (NumPy's allocator backs large
    arrays with huge pages: allocating here, not inside numba, halves the first-touch cost;
    see benchmarks/results/signals.md)."""
    T, C = values.shape
    return np.empty((C, T), values.dtype if dtype is None else dtype).T


def _wrap(out: np.ndarray, like):
    """Labels back on a kernel result (column-major (T, C): pandas takes it without a copy)."""
    if isinstance(like, pd.Series):
        return pd.Series(out[:, 0], index=like.index, name=like.name, copy=False)
    return pd.DataFrame(out, index=like.index, columns=like.columns, copy=False)


def _label_gap(mine: pd.Index, other: pd.Index) -> list:
    """Labels of ``mine`` absent from ``other``, in ``mine``'s order."""
    return list(mine[~mine.isin(other)])


def _pair(a, b, func: str = "signal", names: tuple[str, str] = ("a", "b")):
    """Check that two inputs share their labels; a Series beside a DataFrame is broadcast
    across its columns. Returns ``(a_values, b_values, like)``.

    Both inputs must have the same index (and, for two DataFrames, the same columns, in any
    order): an inner join would drop the dates or ETFs one side lacks without a word (issue
    #10 item 1, ``tests/engine/test_trust_drops.py::test_pair_refuses_label_mismatch``).

    Raises
    ------
    DataError
        Naming the function, the argument, the first missing ETF column or date, and the fix.
    """
    na, nb = names
    fix = (f"reindex both inputs onto one index first, e.g. {nb} = {nb}.reindex({na}.index) "
           "(the rows it adds are NaN, so the signal is NaN there)")
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        for x, y, nx, ny in ((a, b, na, nb), (b, a, nb, na)):
            gap = _label_gap(x.columns, y.columns)
            if gap:
                raise DataError(
                    f"{func}: {len(gap)} column(s) of {nx} absent from {ny} (first {gap[0]!r})",
                    column=str(gap[0]),
                    fix=f"give {ny} the same ETF columns as {nx}, or select the common ones "
                        f"({nx}[cols], {ny}[cols])")
        b = b[a.columns]
    for x, y, nx, ny in ((a, b, na, nb), (b, a, nb, na)):
        gap = _label_gap(pd.Index(x.index), pd.Index(y.index))
        if gap:
            first = gap[0].date() if isinstance(gap[0], pd.Timestamp) else gap[0]
            raise DataError(f"{func}: {len(gap)} date(s) of {nx} absent from {ny} "
                            f"(first {first})", fix=fix)
    if not a.index.equals(b.index):  # same labels, other order: align (nothing lost)
        b = b.reindex(a.index)
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.Series):
        b = pd.DataFrame({c: b for c in a.columns}, index=b.index)
        b.columns = a.columns
    elif isinstance(a, pd.Series) and isinstance(b, pd.DataFrame):
        a = pd.DataFrame({c: a for c in b.columns}, index=a.index)
        a.columns = b.columns
    dtype = np.dtype(np.float32) if _dtype(a) == _dtype(b) == np.float32 else np.dtype(np.float64)
    return _values(a, dtype), _values(b, dtype), a


def _window(window_bars: int, name: str = "window_bars") -> int:
    w = int(window_bars)
    if w < 1 or w != window_bars:
        raise ValueError(f"{name} must be an integer >= 1, got {window_bars!r}")
    return w


def _minp(min_periods, window: int) -> int:
    return window if min_periods is None else int(min_periods)


def rolling_sum(x, window_bars: int, min_periods: int | None = None):
    """Sum over the last ``window_bars`` rows, NaN skipped.

    Equivalent to ``x.rolling(window_bars, min_periods).sum()`` (``min_periods`` defaults to
    the window, as pandas), computed with compensated sums re-started every window (exact
    under a large common offset).

    Examples
    --------
    >>> rolling_sum(pd.Series([1.0, 2.0, 3.0, 4.0]), 2).tolist()
    [nan, 3.0, 5.0, 7.0]
    """
    w = _window(window_bars)
    v = _values(x)
    return _wrap(rolling_nb.rolling_sum_nb(v, w, _minp(min_periods, w), _out(v)), x)


def rolling_zscore(x, window_bars: int, min_periods: int | None = None, ddof: int = DDOF):
    """z-score of each value against the last ``window_bars`` rows (the window includes it).

    .. math:: z_t = (x_t - \\mathrm{mean}_{t-w+1..t}) / \\mathrm{std}_{t-w+1..t}

    Notes
    -----
    ``ddof`` defaults to :data:`DDOF` (1, as pandas). A window of equal values (zero
    standard deviation) gives NaN, never inf; so does a NaN value or an inf in the window.

    Examples
    --------
    >>> rolling_zscore(pd.Series([1.0, 2.0, 3.0, 3.0, 3.0]), 3).round(4).tolist()
    [nan, nan, 1.0, 0.5774, nan]
    """
    w = _window(window_bars)
    v = _values(x)
    return _wrap(rolling_nb.rolling_zscore_nb(v, w, _minp(min_periods, w), int(ddof), _out(v)),
                 x)


def ewma(x, span_bars: float, min_periods: int = 0):
    """Exponentially weighted moving average with ``alpha = 2 / (span_bars + 1)``.

    Equivalent to ``x.ewm(span=span_bars, adjust=True, ignore_na=False).mean()`` (pandas'
    defaults: a NaN row keeps aging the older weights; the average starts at the first
    value).

    Examples
    --------
    >>> ewma(pd.Series([1.0, np.nan, 3.0]), 3).round(4).tolist()
    [1.0, 1.0, 2.6]
    """
    if not span_bars >= 1:
        raise ValueError(f"span_bars must be >= 1, got {span_bars!r}")
    alpha = 2.0 / (float(span_bars) + 1.0)
    v = _values(x)
    return _wrap(rolling_nb.ewma_nb(v, alpha, int(min_periods), _out(v)), x)


def streaks(x, freq: str | None = None):
    """Signed run length of same-sign values: +n after n rows of inflow, -n after n rows of
    outflow, 0 on a zero, NaN on NaN.

    Parameters
    ----------
    x : Series or DataFrame
        Flows (any unit) on a daily index.
    freq : {None, "W", "W-FRI", "M", "ME"}
        ``None``: per row. ``"W"``: on weekly sums (weeks ending Friday); ``"M"``: on
        calendar-month sums.

    Returns
    -------
    Series or DataFrame
        Daily: the input's index. Weekly/monthly: one row per period that has at least one
        row of data, labelled at the period's calendar end (the Friday, the month's last
        calendar day). A period with a NaN on any of its rows is NaN (unknown, never a
        partial sum) and breaks the streak, as :func:`engine.app.inputs.period_total` does by
        default (``missing="nan"``).

    Notes
    -----
    No look-ahead: a week's sum is complete only at its last session, so its label is the
    week's end; a consumer at date ``t`` may use only rows labelled ``<= t`` (the last,
    still incomplete period carries a label after the data's last date). Rows labelled on or
    before the input's last date never change when rows are appended.

    The labels are calendar dates (W-FRI, month end), which may be a holiday or weekend and
    so absent from a session index. A consumer that works on a market's sessions should take
    the period totals from :func:`engine.app.inputs.period_total` instead, which dates each
    period at its last session of an exchange calendar (and checks that no session is
    missing from the data), and run ``streaks`` on those totals.

    Examples
    --------
    >>> s = pd.Series([1.0, -2.0, -1.0, 0.0, 5.0], index=pd.bdate_range("2024-01-01", periods=5))
    >>> streaks(s).tolist()
    [1.0, -1.0, -2.0, 0.0, 1.0]
    """
    if freq is None or freq == "D":
        v = _values(x)
        return _wrap(streaks_nb.streaks_nb(v, _out(v, np.float64)), x)
    idx = pd.DatetimeIndex(x.index)
    labels = idx.to_period(period_code(freq)).end_time.normalize()
    sums = x.groupby(labels).sum(min_count=1)
    # A period with any unknown day is unknown: summing its known days would pass off a
    # partial total as the period's flow (and could flip its sign).
    sums = sums.mask(x.isna().groupby(labels).any())
    sums.index.name = x.index.name
    v = _values(sums)
    return _wrap(streaks_nb.streaks_nb(v, _out(v, np.float64)), sums)


def etf_flows_from_shares(shares, nav):
    """Creation/redemption flow ``(shares[t] - shares[t-1]) * nav[t-1]`` (currency units).

    The new shares are created at the previous day's NAV; the first row is NaN.

    Examples
    --------
    >>> etf_flows_from_shares(pd.Series([100.0, 110.0, 105.0]), pd.Series([10.0, 11.0, 12.0])).tolist()
    [nan, 100.0, -55.0]
    """
    a, b, like = _pair(shares, nav, "etf_flows_from_shares", ("shares", "nav"))
    return _wrap(etf_nb.etf_flows_nb(a, b, _out(a)), like)


def flow_pct_aum(flow, aum):
    """Flow as a percentage of the previous day's assets: ``100 * flow[t] / aum[t-1]``.

    ``aum`` is shares outstanding x NAV (currency units); the first row and any
    non-positive previous AUM give NaN.

    Examples
    --------
    >>> flow_pct_aum(pd.Series([0.0, 5.0]), pd.Series([100.0, 105.0])).tolist()
    [nan, 5.0]
    """
    a, b, like = _pair(flow, aum, "flow_pct_aum", ("flow", "aum"))
    return _wrap(etf_nb.flow_pct_aum_nb(a, b, _out(a)), like)


def volume_spike(volume, window_bars: int, min_periods: int | None = None):
    """Volume over its trailing mean of the ``window_bars`` previous rows (today excluded,
    so a spike does not dampen itself): 3.8 reads "+280%".

    Equivalent to ``volume / volume.rolling(w, min_periods).mean().shift(1)``; a trailing
    mean <= 0 gives NaN.

    Examples
    --------
    >>> volume_spike(pd.Series([10.0, 10.0, 38.0]), 2).tolist()
    [nan, nan, 3.8]
    """
    w = _window(window_bars)
    v = _values(volume)
    return _wrap(etf_nb.volume_spike_nb(v, w, _minp(min_periods, w), _out(v)), volume)


def relative_strength(a, b, window_bars: int | None = None):
    """Ratio of the growth of ``a`` to the growth of ``b`` (prices or total-return indices).

    ``window_bars=None``: since the first row where both are positive,
    ``(a[t]/a[t0]) / (b[t]/b[t0])``. ``window_bars=w``: over the last ``w`` rows,
    ``(a[t]/a[t-w]) / (b[t]/b[t-w])``. Above 1: ``a`` outperformed (QQQ vs SPY, RSP vs VOO).

    Examples
    --------
    >>> relative_strength(pd.Series([100.0, 110.0]), pd.Series([50.0, 50.0])).tolist()
    [1.0, 1.1]
    """
    w = 0 if window_bars is None else _window(window_bars)
    av, bv, like = _pair(a, b, "relative_strength", ("a", "b"))
    return _wrap(etf_nb.relative_strength_nb(av, bv, w, _out(av)), like)


def tracking_difference(etf_ret, index_ret, window_bars: int):
    """ETF cumulative return minus its index's over the last ``window_bars`` rows
    (fractions; negative = the ETF lagged). Returns are simple returns per row; any NaN in
    the window gives NaN. ``index_ret`` may be a Series broadcast over ETF columns.

    Examples
    --------
    >>> tracking_difference(pd.Series([0.01, 0.01]), pd.Series([0.01, 0.02]), 2).round(6).tolist()
    [nan, -0.0101]
    """
    w = _window(window_bars)
    av, bv, like = _pair(etf_ret, index_ret, "tracking_difference", ("etf_ret", "index_ret"))
    return _wrap(tracking_nb.tracking_difference_nb(av, bv, w, _out(av)), like)


def tracking_error(etf_ret, index_ret, window_bars: int,
                   periods_per_year: float = PERIODS_PER_YEAR, min_periods: int | None = None,
                   ddof: int = DDOF):
    """Annualized tracking error: rolling std (``ddof``) of ``etf_ret - index_ret`` times
    ``sqrt(periods_per_year)`` (fraction per year). NaN rows are skipped as in a pandas
    rolling std with ``min_periods`` (default: the window)."""
    w = _window(window_bars)
    av, bv, like = _pair(etf_ret, index_ret, "tracking_error", ("etf_ret", "index_ret"))
    out = tracking_nb.tracking_error_nb(av, bv, w, _minp(min_periods, w), int(ddof),
                                        float(periods_per_year), _out(av))
    return _wrap(out, like)


def premium_discount(close, nav):
    """Premium (> 0) or discount (< 0) of the market price to NAV: ``close / nav - 1``
    (fraction); NaN where NAV is missing or <= 0.

    Examples
    --------
    >>> premium_discount(pd.Series([101.0]), pd.Series([100.0])).round(6).tolist()
    [0.01]
    """
    a, b, like = _pair(close, nav, "premium_discount", ("close", "nav"))
    return _wrap(etf_nb.premium_discount_nb(a, b, _out(a)), like)


def divergence(price_change, flow, *, price_band: float = 0.0, flow_band: float = 0.0):
    """Label each (price change, flow) point.

    ``trend`` (price up, flow in), ``distribution`` (price up, flow out: profit taking),
    ``accumulation`` (price down, flow in: contrarian buying), ``rotation_out`` (price down,
    flow out), ``neutral`` when ``|price_change| <= price_band`` or ``|flow| <= flow_band``
    (so an exact zero is neutral). A NaN input gives a missing label.

    Returns
    -------
    Series or DataFrame of ``category`` dtype with the :class:`Divergence` names as
    categories (in code order).

    Examples
    --------
    >>> divergence(pd.Series([0.02, 0.02, -0.01, -0.01, 0.001]),
    ...            pd.Series([5.0, -5.0, 5.0, -5.0, 5.0]), price_band=0.005).tolist()
    ['trend', 'distribution', 'accumulation', 'rotation_out', 'neutral']
    """
    if price_band < 0 or flow_band < 0:
        raise ValueError("price_band and flow_band must be >= 0")
    a, b, like = _pair(price_change, flow, "divergence", ("price_change", "flow"))
    codes = dnb.divergence_nb(a, b, float(price_band), float(flow_band), _out(a, np.int8))
    names = [d.name for d in Divergence]
    cat = pd.CategoricalDtype(names)

    def col(c):
        # int8 codes in -1..4 by construction (the kernel's codes): pandas keeps int8 codes
        # for five categories, so skipping the validation and the int64 cast avoids two
        # passes per column (3x faster on 2,400 columns)
        return pd.Categorical.from_codes(codes[:, c], dtype=cat, validate=False)

    if isinstance(like, pd.Series):
        return pd.Series(col(0), index=like.index, name=like.name)
    df = pd.DataFrame(dict(enumerate(col(j) for j in range(codes.shape[1]))), index=like.index,
                      copy=False)
    df.columns = like.columns
    return df
