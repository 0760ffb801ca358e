"""Streak kernels: signed length of the current run of same-sign values (time is axis 0).

Weekly/monthly streaks are the same kernel applied to period sums; the resampling lives in
the wrapper (:func:`engine.signals.streaks`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, error_model="numpy")
def _streak_step(v, run):
    """One row of :func:`streaks_1d_nb`: ``(new run, output value)``."""
    up = v > 0.0
    down = v < 0.0  # both False for 0 and NaN
    step = np.float64(up) - np.float64(down)
    # same sign as the run: extend it; otherwise start over at +-1 (or 0). Bitwise & and |,
    # not ``and``/``or``: short-circuit operators are branches in numba's IR, and the sign
    # of a flow is a coin flip for the branch predictor
    keep = (up & (run > 0.0)) | (down & (run < 0.0))
    run = run + step if keep else step
    return run, (run if v == v else np.nan)


@njit(cache=True, error_model="numpy")
def streaks_1d_nb(x, out):
    """Signed run length: +n after n consecutive positive values, -n after n negative ones.

    A zero gives 0 and a NaN gives NaN; both end the run (the next non-zero value starts at
    +-1). Oracle: walk back from each row counting values of the same sign.

    Parameters
    ----------
    x : ndarray, shape (T,)
    out : ndarray, shape (T,), filled (float: NaN where ``x`` is NaN)
    """
    run = 0.0
    for t in range(x.shape[0]):
        run, out[t] = _streak_step(x[t], run)


@njit(cache=True, error_model="numpy")
def _streaks_4col_nb(x0, x1, x2, x3, o0, o1, o2, o3):
    """:func:`streaks_1d_nb` on four columns at once: four independent dependency chains per
    row (one column alone is bound by the latency of its run update)."""
    r0 = 0.0
    r1 = 0.0
    r2 = 0.0
    r3 = 0.0
    for t in range(x0.shape[0]):
        r0, o0[t] = _streak_step(x0[t], r0)
        r1, o1[t] = _streak_step(x1[t], r1)
        r2, o2[t] = _streak_step(x2[t], r2)
        r3, o3[t] = _streak_step(x3[t], r3)


@njit(parallel=True, cache=True, error_model="numpy")
def streaks_nb(x, out):
    """2-D :func:`streaks_1d_nb`; fills and returns ``out`` (T, C) float64.

    Columns go four at a time (:func:`_streaks_4col_nb`), the last ``C % 4`` one by one.
    """
    T, C = x.shape
    n4 = C // 4
    for g in prange(n4 + C % 4):
        if g < n4:
            c = 4 * g
            _streaks_4col_nb(x[:, c], x[:, c + 1], x[:, c + 2], x[:, c + 3], out[:, c],
                             out[:, c + 1], out[:, c + 2], out[:, c + 3])
        else:
            c = 4 * n4 + (g - n4)
            streaks_1d_nb(x[:, c], out[:, c])
    return out
