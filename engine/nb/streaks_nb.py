"""Streak kernels: signed length of the current run of same-sign values (time is axis 0).

Weekly/monthly streaks are the same kernel applied to period sums; the resampling lives in
the wrapper (:func:`engine.signals.streaks`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


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
        v = x[t]
        up = v > 0
        down = v < 0  # both False for 0 and NaN
        step = 1.0 if up else (-1.0 if down else 0.0)
        # same sign as the run: extend it; otherwise start over at +-1 (or 0); selects, not
        # branches: the sign of a flow is a coin flip for the branch predictor
        keep = (up and run > 0) or (down and run < 0)
        run = run + step if keep else step
        out[t] = run if v == v else np.nan


@njit(parallel=True, cache=True, error_model="numpy")
def streaks_nb(x, out):
    """2-D :func:`streaks_1d_nb`; fills and returns ``out`` (T, C) float64."""
    T, C = x.shape
    for c in prange(C):
        streaks_1d_nb(x[:, c], out[:, c])
    return out
