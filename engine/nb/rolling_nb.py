"""Rolling sum, mean, standard deviation, z-score and EWMA kernels (time is axis 0).

Exactness: running sums drift when values are large relative to their spread (a 1e8
offset). The kernels (a) recompute their running sums from scratch periodically (sums every
``max(window, RECOMPUTE_MIN_ROWS)`` rows, moments every ``window`` rows), so rounding never
accumulates beyond that, and (b) for second moments sum ``(x - shift)`` with a shift taken from the data at
each recompute, so a large common level cancels before squaring (the z-score under a 1e8
offset matches the exact reference to 1e-9). Compensated (Kahan/Neumaier) sums were tried
and dropped: their data-dependent branches cost 2x here for no gain the tests could see. Pinned by
``tests/engine/test_kernels.py::test_kernel_matches_oracle[...-offset]``.

NaN policy (pandas ``rolling``): NaN values are skipped; the output is NaN while fewer than
``minp`` non-NaN values are in the window. ``+inf`` and ``-inf`` are counted apart: a window
holding ``+inf`` sums to ``+inf``, both signs to NaN; moments of a window holding an inf are
NaN. Zero variance gives a NaN z-score (never inf).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Rolling sums are recomputed from scratch every ``max(window, RECOMPUTE_MIN_ROWS)`` rows:
#: rounding drift stays below ~(window + RECOMPUTE_MIN_ROWS) * eps * max|x| while short
#: windows do not pay a full recompute every few rows. (Moments recompute every window.)
RECOMPUTE_MIN_ROWS = 512

#: Delta degrees of freedom of every rolling standard deviation in flowbt (as pandas): used
#: by the kernels' callers in :mod:`engine.signals`; defined once here.
DDOF = 1


@njit(cache=True, error_model="numpy")
def rolling_sum_count_1d_nb(x, window, sums, counts):
    """Rolling sum of non-NaN values and their count over the last ``window`` rows.

    Fills ``sums`` (NaN where the window holds both +inf and -inf) and ``counts``.
    Equivalent to ``s.rolling(window, min_periods=0).sum()`` and ``.count()``.
    """
    n = x.shape[0]
    s = 0.0
    cnt = 0
    npos = 0
    nneg = 0
    period = max(window, RECOMPUTE_MIN_ROWS)
    for t in range(n):
        if t % period == 0 and t > 0 and t >= window:
            # recompute from scratch over rows (t - window, t - 1] ... then add x[t] below
            s = 0.0
            for u in range(t - window + 1, t):
                v = x[u]
                if v == v and v != np.inf and v != -np.inf:
                    s += v
        else:
            if t >= window:
                v = x[t - window]
                if v == v and v != np.inf and v != -np.inf:
                    s += -v
        if t >= window:
            v = x[t - window]
            if v == v:
                cnt -= 1
                if v == np.inf:
                    npos -= 1
                elif v == -np.inf:
                    nneg -= 1
        v = x[t]
        if v == v:
            cnt += 1
            if v == np.inf:
                npos += 1
            elif v == -np.inf:
                nneg += 1
            else:
                s += v
        counts[t] = cnt
        if npos > 0 and nneg > 0:
            sums[t] = np.nan
        elif npos > 0:
            sums[t] = np.inf
        elif nneg > 0:
            sums[t] = -np.inf
        else:
            sums[t] = s


@njit(cache=True, error_model="numpy")
def rolling_sum_1d_nb(x, window, minp, out):
    """Rolling sum over ``window`` rows into ``out``.

    Equivalent to ``pd.Series(x).rolling(window, min_periods=minp).sum()``.

    Parameters
    ----------
    x : ndarray, shape (T,)
    window : int
        Rows in the window, >= 1.
    minp : int
        Minimum number of non-NaN values, else NaN.
    out : ndarray, shape (T,), filled
    """
    n = x.shape[0]
    counts = np.empty(n, np.int64)
    rolling_sum_count_1d_nb(x, window, out, counts)
    for t in range(n):
        if counts[t] < minp:
            out[t] = np.nan


@njit(cache=True, error_model="numpy")
def rolling_mean_1d_nb(x, window, minp, out):
    """Rolling mean of the non-NaN values; ``s.rolling(window, min_periods=minp).mean()``."""
    n = x.shape[0]
    counts = np.empty(n, np.int64)
    rolling_sum_count_1d_nb(x, window, out, counts)
    for t in range(n):
        if counts[t] < max(minp, 1):
            out[t] = np.nan
        else:
            out[t] = out[t] / counts[t]


@njit(cache=True, error_model="numpy")
def _moments_1d_nb(x, window, minp, ddof, zscore, out):
    """Rolling standard deviation (``ddof``), or with ``zscore`` the z-score of the newest
    value, from shifted running sums, into ``out``.

    The mean is kept relative to a shift (the data's own level) so that ``x - mean`` is
    formed as ``(x - shift) - mean_rel`` without rounding the mean to the resolution of a
    large common level. The standard deviation is exactly 0 for a window of equal values
    (z-score NaN), NaN with fewer than ``minp`` values, fewer than ``ddof + 1`` values, or
    an inf in the window.
    """
    n = x.shape[0]
    shift = 0.0
    have_shift = False
    s1 = 0.0
    s2 = 0.0
    cnt = 0
    ninf = 0
    last_change = -1  # index of the last non-NaN value that differs from the previous one
    prev = np.nan
    # the shift must stay close to the window's values (squares cancel otherwise): refresh
    # it, and recompute, every window (pinned by test_long_series_crosses_recompute_points)
    period = window
    for t in range(n):
        v = x[t]
        finite_new = v == v and v != np.inf and v != -np.inf
        if (t % period == 0 and t > 0) or (not have_shift and finite_new):
            # recompute from scratch with a fresh shift (the newest finite value)
            if finite_new:
                shift = v
                have_shift = True
            s1 = 0.0
            s2 = 0.0
            for u in range(max(0, t - window + 1), t):
                w = x[u]
                if w == w and w != np.inf and w != -np.inf:
                    d = w - shift
                    s1 += d
                    s2 += d * d
        elif t >= window:
            w = x[t - window]
            if w == w and w != np.inf and w != -np.inf:
                d = w - shift
                s1 += -d
                s2 += -(d * d)
        if t >= window:
            w = x[t - window]
            if w == w:
                cnt -= 1
                if w == np.inf or w == -np.inf:
                    ninf -= 1
        if v == v:
            cnt += 1
            if not finite_new:
                ninf += 1
            else:
                d = v - shift
                s1 += d
                s2 += d * d
            if not (prev == v):
                last_change = t
            prev = v
        if cnt < max(minp, 1) or ninf > 0 or cnt - ddof <= 0:
            out[t] = np.nan
            continue
        if last_change <= t - window + 1 or cnt == 1:
            sd = 0.0  # every value in the window is equal
        else:
            var = (s2 - s1 * s1 / cnt) / (cnt - ddof)
            sd = np.sqrt(var) if var > 0.0 else 0.0
        if not zscore:
            out[t] = sd
        elif sd > 0.0:
            out[t] = ((v - shift) - s1 / cnt) / sd  # NaN when x[t] is NaN
        else:
            out[t] = np.nan


@njit(cache=True, error_model="numpy")
def rolling_std_1d_nb(x, window, minp, ddof, out):
    """Rolling standard deviation; ``s.rolling(window, min_periods=minp).std(ddof=ddof)``
    (exactly 0 for equal values, NaN with an inf in the window)."""
    _moments_1d_nb(x, window, minp, ddof, False, out)


@njit(cache=True, error_model="numpy")
def rolling_zscore_1d_nb(x, window, minp, ddof, out):
    """Rolling z-score of the newest value against its window (the window includes it).

    .. math:: z_t = (x_t - \\bar x_{t-w+1..t}) / \\sigma_{t-w+1..t}

    Equivalent to ``(s - s.rolling(w, minp).mean()) / s.rolling(w, minp).std(ddof)`` except
    that a zero standard deviation gives NaN (never inf), and so does a NaN ``x_t``.
    """
    _moments_1d_nb(x, window, minp, ddof, True, out)


@njit(cache=True, error_model="numpy")
def ewma_1d_nb(x, alpha, minp, out):
    """Exponentially weighted moving average (adjusted weights, NaN keeps its age).

    .. math:: y_t = \\frac{\\sum_{j \\le t,\\, x_j \\ne NaN} (1-\\alpha)^{t-j} x_j}
                         {\\sum_{j \\le t,\\, x_j \\ne NaN} (1-\\alpha)^{t-j}}

    Equivalent to ``s.ewm(alpha=alpha, adjust=True, ignore_na=False,
    min_periods=minp).mean()`` to rounding; it differs from pandas only after both +inf and
    -inf were seen (NaN from then on here, as the formula says; pandas restarts). After a
    NaN run long enough for the weights to underflow, the last value is carried.
    """
    n = x.shape[0]
    decay = 1.0 - alpha
    # numerator and denominator of the formula as running sums: the division is then off
    # the loop-carried dependency chain (pandas divides inside it)
    num = 0.0
    den = 0.0
    last = np.nan
    nobs = 0
    for t in range(n):
        v = x[t]
        num *= decay
        den *= decay
        if v == v:
            nobs += 1
            num += v
            den += 1.0
        if den > 0.0:
            last = num / den
        out[t] = last if nobs >= max(minp, 1) else np.nan


@njit(parallel=True, cache=True, error_model="numpy")
def rolling_sum_nb(x, window, minp, out):
    """2-D :func:`rolling_sum_1d_nb` over the columns of ``x`` (T, C); fills and returns
    ``out`` (T, C), column-major (allocated by the caller: see :mod:`engine.nb`)."""
    T, C = x.shape
    for c in prange(C):
        rolling_sum_1d_nb(x[:, c], window, minp, out[:, c])
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def rolling_mean_nb(x, window, minp, out):
    """2-D :func:`rolling_mean_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = x.shape
    for c in prange(C):
        rolling_mean_1d_nb(x[:, c], window, minp, out[:, c])
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def rolling_std_nb(x, window, minp, ddof, out):
    """2-D :func:`rolling_std_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = x.shape
    for c in prange(C):
        rolling_std_1d_nb(x[:, c], window, minp, ddof, out[:, c])
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def rolling_zscore_nb(x, window, minp, ddof, out):
    """2-D :func:`rolling_zscore_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = x.shape
    for c in prange(C):
        rolling_zscore_1d_nb(x[:, c], window, minp, ddof, out[:, c])
    return out


@njit(parallel=True, cache=True, error_model="numpy")
def ewma_nb(x, alpha, minp, out):
    """2-D :func:`ewma_1d_nb`; fills and returns ``out`` (T, C)."""
    T, C = x.shape
    for c in prange(C):
        ewma_1d_nb(x[:, c], alpha, minp, out[:, c])
    return out
