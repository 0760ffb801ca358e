"""Rolling sum, z-score and EWMA kernels (time is axis 0).

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

from engine.conventions import DDOF  # noqa: F401  (re-exported for existing importers)

#: Rolling sums are recomputed from scratch every ``max(window, RECOMPUTE_MIN_ROWS)`` rows:
#: rounding drift stays below ~(window + RECOMPUTE_MIN_ROWS) * eps * max|x| while short
#: windows do not pay a full recompute every few rows. (Moments recompute every window.)
RECOMPUTE_MIN_ROWS = 512


@njit(cache=True, error_model="numpy")
def rolling_sum_count_1d_nb(x, window, minp, sums, counts):
    """Rolling sum of non-NaN values and their count over the last ``window`` rows.

    Fills ``sums`` (NaN where the window holds both +inf and -inf, or fewer than ``minp``
    non-NaN values) and ``counts``. Equivalent to ``s.rolling(window, min_periods=minp).sum()``
    and ``s.rolling(window, min_periods=0).count()``.
    """
    n = x.shape[0]
    s = 0.0
    cnt = 0
    npos = 0
    nneg = 0
    period = max(window, RECOMPUTE_MIN_ROWS)
    phase = 0  # t % period, kept as a counter: a 64-bit division per row cost ~20% here
    for t in range(n):
        v = x[t]
        w = x[t - window] if t >= window else np.nan  # the value leaving the window
        # counts and finite parts by arithmetic on comparisons, not branches (NaN and inf
        # are rare but unpredictable); ``v - v == 0`` only for finite v
        cnt += np.int64(v == v) - np.int64(w == w)
        npos += np.int64(v == np.inf) - np.int64(w == np.inf)
        nneg += np.int64(v == -np.inf) - np.int64(w == -np.inf)
        v_fin = v if v - v == 0.0 else 0.0
        if phase == 0 and t > 0 and t >= window:
            # recompute from scratch over rows (t - window, t - 1] ... then add x[t]
            s = 0.0
            for u in range(t - window + 1, t):
                y = x[u]
                if y - y == 0.0:
                    s += y
            s += v_fin
        else:
            # one add on the loop-carried chain per row (the difference is off it)
            s += v_fin - (w if w - w == 0.0 else 0.0)
        phase += 1
        if phase == period:
            phase = 0
        counts[t] = cnt
        if npos > 0 or nneg > 0:
            if npos > 0 and nneg > 0:
                sums[t] = np.nan
            else:
                sums[t] = np.inf if npos > 0 else -np.inf
        else:
            sums[t] = s
        if cnt < minp:
            sums[t] = np.nan


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
    counts = np.empty(x.shape[0], np.int64)
    rolling_sum_count_1d_nb(x, window, minp, out, counts)


@njit(cache=True, error_model="numpy")
def _moments_1d_nb(x, window, minp, ddof, zscore, scale, out):
    """Rolling standard deviation (``ddof``) times ``scale``, or with ``zscore`` the z-score
    of the newest value, from shifted running sums, into ``out``.

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
    inv_for = -1  # the count that inv_cnt and inv_dof were computed for
    inv_cnt = 0.0
    inv_dof = 0.0
    # the shift must stay close to the window's values (squares cancel otherwise): refresh
    # it, and recompute, every window (pinned by test_long_series_crosses_recompute_points)
    period = window
    phase = 0  # t % period as a counter (no division per row)
    for t in range(n):
        v = x[t]
        finite_new = v == v and v != np.inf and v != -np.inf
        at_period = phase == 0 and t > 0
        phase += 1
        if phase == period:
            phase = 0
        if at_period or (not have_shift and finite_new):
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
        if cnt != inv_for:
            # the count only changes around NaNs: two reciprocals per change, not two
            # divisions per row
            inv_cnt = 1.0 / cnt
            inv_dof = 1.0 / (cnt - ddof)
            inv_for = cnt
        mean_rel = s1 * inv_cnt
        if last_change <= t - window + 1 or cnt == 1:
            sd = 0.0  # every value in the window is equal
        else:
            var = (s2 - s1 * mean_rel) * inv_dof
            sd = np.sqrt(var) if var > 0.0 else 0.0
        if not zscore:
            out[t] = sd * scale
        elif sd > 0.0:
            out[t] = ((v - shift) - mean_rel) / sd  # NaN when x[t] is NaN
        else:
            out[t] = np.nan


@njit(cache=True, error_model="numpy")
def rolling_scaled_std_1d_nb(x, window, minp, ddof, scale, out):
    """Rolling standard deviation times ``scale`` in one pass (e.g. an annualization):
    ``s.rolling(window, min_periods=minp).std(ddof=ddof) * scale`` (exactly 0 for equal
    values, NaN with an inf in the window)."""
    _moments_1d_nb(x, window, minp, ddof, False, scale, out)


@njit(cache=True, error_model="numpy")
def rolling_zscore_1d_nb(x, window, minp, ddof, out):
    """Rolling z-score of the newest value against its window (the window includes it).

    .. math:: z_t = (x_t - \\bar x_{t-w+1..t}) / \\sigma_{t-w+1..t}

    Equivalent to ``(s - s.rolling(w, minp).mean()) / s.rolling(w, minp).std(ddof)`` except
    that a zero standard deviation gives NaN (never inf), and so does a NaN ``x_t``.
    """
    _moments_1d_nb(x, window, minp, ddof, True, 1.0, out)


@njit(cache=True, error_model="numpy")
def _ewma_step(v, decay, minp, num, den, last, nobs):
    """One row of :func:`ewma_1d_nb`: ``(num, den, last, nobs, output value)``."""
    num *= decay
    den *= decay
    if v == v:
        nobs += 1
        num += v
        den += 1.0
    if den > 0.0:
        last = num / den
    return num, den, last, nobs, (last if nobs >= max(minp, 1) else np.nan)


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
    # numerator and denominator of the formula as running sums: the division is then off
    # the loop-carried dependency chain (pandas divides inside it)
    decay = 1.0 - alpha
    num = 0.0
    den = 0.0
    last = np.nan
    nobs = 0
    for t in range(x.shape[0]):
        num, den, last, nobs, out[t] = _ewma_step(x[t], decay, minp, num, den, last, nobs)


@njit(cache=True, error_model="numpy")
def _ewma_4col_nb(x, alpha, minp, out, c):
    """:func:`ewma_1d_nb` on columns ``c .. c+3`` at once (four independent multiply-add
    chains per row: one column alone waits on the latency of its running sums)."""
    decay = 1.0 - alpha
    n0 = d0 = n1 = d1 = n2 = d2 = n3 = d3 = 0.0
    l0 = l1 = l2 = l3 = np.nan
    k0 = k1 = k2 = k3 = 0
    for t in range(x.shape[0]):
        n0, d0, l0, k0, out[t, c] = _ewma_step(x[t, c], decay, minp, n0, d0, l0, k0)
        n1, d1, l1, k1, out[t, c + 1] = _ewma_step(x[t, c + 1], decay, minp, n1, d1, l1, k1)
        n2, d2, l2, k2, out[t, c + 2] = _ewma_step(x[t, c + 2], decay, minp, n2, d2, l2, k2)
        n3, d3, l3, k3, out[t, c + 3] = _ewma_step(x[t, c + 3], decay, minp, n3, d3, l3, k3)


@njit(parallel=True, cache=True, error_model="numpy")
def rolling_sum_nb(x, window, minp, out):
    """2-D :func:`rolling_sum_1d_nb` over the columns of ``x`` (T, C); fills and returns
    ``out`` (T, C), column-major (allocated by the caller: see :mod:`engine.nb`)."""
    T, C = x.shape
    for c in prange(C):
        rolling_sum_1d_nb(x[:, c], window, minp, out[:, c])
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
    n4 = C // 4  # four columns at a time (_ewma_4col_nb), the last C % 4 one by one
    for g in prange(n4 + C % 4):
        if g < n4:
            _ewma_4col_nb(x, alpha, minp, out, 4 * g)
        else:
            c = 4 * n4 + (g - n4)
            ewma_1d_nb(x[:, c], alpha, minp, out[:, c])
    return out
