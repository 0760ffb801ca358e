"""Index-tracking kernels: tracking difference and annualized tracking error over a window
(time is axis 0)."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from engine.nb.rolling_nb import rolling_scaled_std_1d_nb


@njit(cache=True, error_model="numpy")
def tracking_difference_1d_nb(etf_ret, index_ret, window, out):
    """ETF cumulative return minus index cumulative return over the last ``window`` rows.

    .. math:: TD_t = \\prod_{j=t-w+1}^{t}(1 + r^{etf}_j) - \\prod_{j=t-w+1}^{t}(1 + r^{idx}_j)

    Returns are fractions per row; NaN if any return in the window is NaN (a gap would make
    the two cumulative returns cover different days). Negative = the ETF lagged its index.
    """
    # Sliding-window products without division (van Herk / Gil-Werman), both growth factors
    # in the same passes: within blocks of ``window`` rows keep prefix and suffix products;
    # each window is one suffix times one prefix. Exact to ~``window`` ulps, handles r = -1
    # (a zero factor) and NaN (NaN anywhere in the window gives NaN).
    n = etf_ret.shape[0]
    pre_a = np.empty(n, np.float64)
    pre_b = np.empty(n, np.float64)
    # ``t % window`` is kept as a counter in both walks (no integer division per row)
    phase = 0
    for t in range(n):
        ga = 1.0 + etf_ret[t]
        gb = 1.0 + index_ret[t]
        block_start = phase == 0
        phase += 1
        if phase == window:
            phase = 0
        if block_start:
            pre_a[t] = ga
            pre_b[t] = gb
        else:
            pre_a[t] = pre_a[t - 1] * ga
            pre_b[t] = pre_b[t - 1] * gb
    suf_a = 1.0
    suf_b = 1.0
    # walk back: out[t] needs suf[lo] with lo = t - window + 1 <= t, so fill out from the
    # end while the suffix products of the row ``lo`` are at hand
    phase = (n - 1) % window if n > 0 else 0  # lo % window
    for lo in range(n - 1, -1, -1):
        ga = 1.0 + etf_ret[lo]
        gb = 1.0 + index_ret[lo]
        if phase == window - 1 or lo == n - 1:
            suf_a = ga
            suf_b = gb
        else:
            suf_a *= ga
            suf_b *= gb
        lo_block_start = phase == 0
        phase -= 1
        if phase < 0:
            phase = window - 1
        t = lo + window - 1
        if t < n:
            if lo_block_start:
                out[t] = pre_a[t] - pre_b[t]
            else:
                out[t] = suf_a * pre_a[t] - suf_b * pre_b[t]
    for t in range(min(window - 1, n)):
        out[t] = np.nan


@njit(cache=True, error_model="numpy")
def tracking_error_1d_nb(etf_ret, index_ret, window, minp, ddof, periods_per_year, out):
    """Annualized tracking error: ``std(etf_ret - index_ret over window, ddof) *
    sqrt(periods_per_year)`` (fraction per year).

    NaN values are skipped as in a pandas rolling std with ``min_periods=minp``.
    """
    diff = np.empty(etf_ret.shape[0], np.float64)
    for t in range(etf_ret.shape[0]):
        diff[t] = etf_ret[t] - index_ret[t]
    rolling_scaled_std_1d_nb(diff, window, minp, ddof, np.sqrt(periods_per_year), out)


@njit(parallel=True, cache=True, error_model="numpy")
def tracking_difference_nb(etf_ret, index_ret, window, out):
    """2-D :func:`tracking_difference_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = etf_ret.shape
    for c in prange(C):
        tracking_difference_1d_nb(etf_ret[:, c], index_ret[:, c], window, out[:, c])
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def tracking_error_nb(etf_ret, index_ret, window, minp, ddof, periods_per_year, out):
    """2-D :func:`tracking_error_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = etf_ret.shape
    for c in prange(C):
        tracking_error_1d_nb(etf_ret[:, c], index_ret[:, c], window, minp, ddof, periods_per_year, out[:, c])
    return out
