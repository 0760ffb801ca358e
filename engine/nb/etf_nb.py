"""ETF-level kernels: creation/redemption flows, flow as % of AUM, volume spikes,
premium/discount and relative strength (time is axis 0).

2-D kernels run the 1-D kernel on each column in parallel and return column-major arrays
(see :mod:`engine.nb`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.nb.rolling_nb import rolling_sum_count_1d_nb


@njit(cache=True, error_model="numpy")
def etf_flows_1d_nb(shares, nav, out):
    """Creation/redemption flow: ``flow[t] = (shares[t] - shares[t-1]) * nav[t-1]``.

    ``out[0]`` is NaN (no previous day); NaN inputs give NaN. Oracle:
    ``shares.diff() * nav.shift(1)``.
    """
    out[0] = np.nan
    for t in range(1, shares.shape[0]):
        out[t] = (shares[t] - shares[t - 1]) * nav[t - 1]


@njit(parallel=True, cache=True, error_model="numpy")
def etf_flows_nb(shares, nav, out):
    """2-D :func:`etf_flows_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = shares.shape
    for c in prange(C):
        etf_flows_1d_nb(shares[:, c], nav[:, c], out[:, c])
    return out


@njit(cache=True, error_model="numpy")
def _pct_of_prev(flow_t, aum_prev):
    if aum_prev > 0.0:
        return 100.0 * flow_t / aum_prev
    return np.nan


@njit(cache=True, error_model="numpy")
def flow_pct_aum_1d_nb(flow, aum, out):
    """Flow as % of the previous day's AUM: ``100 * flow[t] / aum[t-1]``.

    The flow of day ``t`` enters a fund worth ``aum[t-1]`` (AUM = shares[t-1] * nav[t-1]);
    ``out[0]`` and any ``aum[t-1] <= 0`` or NaN give NaN. Oracle:
    ``100 * flow / aum.shift(1).where(aum.shift(1) > 0)``.
    """
    out[0] = np.nan
    for t in range(1, flow.shape[0]):
        out[t] = _pct_of_prev(flow[t], aum[t - 1])


@njit(parallel=True, cache=True, error_model="numpy")
def flow_pct_aum_nb(flow, aum, out):
    """2-D :func:`flow_pct_aum_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = flow.shape
    for c in prange(C):
        flow_pct_aum_1d_nb(flow[:, c], aum[:, c], out[:, c])
    return out


@njit(cache=True, error_model="numpy")
def _ratio(num, den):
    if den > 0.0:
        return num / den
    return np.nan


@njit(cache=True, error_model="numpy")
def premium_discount_1d_nb(close, nav, out):
    """``close / nav - 1`` (fraction); NaN where ``nav <= 0`` or NaN."""
    for t in range(close.shape[0]):
        out[t] = _ratio(close[t], nav[t]) - 1.0


@njit(parallel=True, cache=True, error_model="numpy")
def premium_discount_nb(close, nav, out):
    """2-D :func:`premium_discount_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = close.shape
    for c in prange(C):
        premium_discount_1d_nb(close[:, c], nav[:, c], out[:, c])
    return out


@njit(cache=True, error_model="numpy")
def volume_spike_1d_nb(volume, window, minp, out):
    """Volume over its trailing mean, today excluded: ``v[t] / mean(v[t-w .. t-1])``.

    The mean is over the non-NaN values of the ``window`` previous rows and needs ``minp`` of
    them; a mean <= 0 gives NaN. 3.8 means +280%. Oracle:
    ``v / v.rolling(w, minp).mean().shift(1)``.
    """
    n = volume.shape[0]
    sums = np.empty(n, np.float64)
    counts = np.empty(n, np.int64)
    rolling_sum_count_1d_nb(volume, window, 0, sums, counts)
    out[0] = np.nan
    for t in range(1, n):
        if counts[t - 1] < max(minp, 1):
            out[t] = np.nan
        else:
            # v / (sum / count) as one division (the mean is > 0 exactly when the sum is)
            out[t] = _ratio(volume[t] * counts[t - 1], sums[t - 1])


@njit(parallel=True, cache=True, error_model="numpy")
def volume_spike_nb(volume, window, minp, out):
    """2-D :func:`volume_spike_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = volume.shape
    for c in prange(C):
        volume_spike_1d_nb(volume[:, c], window, minp, out[:, c])
    return out


@njit(cache=True, error_model="numpy")
def relative_strength_1d_nb(a, b, window, out):
    """Ratio of the cumulative returns (growth factors) of two price series.

    ``window > 0``: ``(a[t] / a[t-w]) / (b[t] / b[t-w])`` (NaN for ``t < w``).
    ``window == 0``: since the start, ``(a[t] / a[t0]) / (b[t] / b[t0])`` with ``t0`` the
    first row where both prices are > 0 (NaN before it). Prices <= 0 or NaN give NaN.
    Oracle: ``(a / a.shift(w)) / (b / b.shift(w))``, resp. division by the first valid row.
    """
    n = a.shape[0]
    a0 = np.nan
    b0 = np.nan
    for t in range(n):
        if window > 0:
            if t < window:
                out[t] = np.nan
                continue
            a0 = a[t - window]
            b0 = b[t - window]
        elif not (a0 > 0.0 and b0 > 0.0):
            if a[t] > 0.0 and b[t] > 0.0:
                a0 = a[t]
                b0 = b[t]
        if a0 > 0.0 and b0 > 0.0 and a[t] > 0.0 and b[t] > 0.0:
            out[t] = (a[t] / a0) / (b[t] / b0)
        else:
            out[t] = np.nan


@njit(parallel=True, cache=True, error_model="numpy")
def relative_strength_nb(a, b, window, out):
    """2-D :func:`relative_strength_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = a.shape
    for c in prange(C):
        relative_strength_1d_nb(a[:, c], b[:, c], window, out[:, c])
    return out
