"""Drawdown from the running peak and rise from the running trough, one definition for all.

Used by trigger conditions (``measure = "drawdown"``), the small-cap cycle's bear / recovery
phases, and stress analytics. NumPy in and out: a sweep or a Monte Carlo path evaluates these
many times, and pandas' ``cummax`` would add an index per call.
"""

from __future__ import annotations

import numpy as np

__all__ = ["drawdown_from_peak", "rise_from_trough"]


def drawdown_from_peak(x: np.ndarray) -> np.ndarray:
    """``x[t] / max(x[:t+1]) - 1``: the fall from the running peak (<= 0; fraction).

    Parameters
    ----------
    x : np.ndarray, shape (T,) or (T, N)
        Prices or values; time is axis 0.

    Returns
    -------
    np.ndarray, same shape, float64
        NaN where ``x`` is NaN or before its first finite value; the peak skips NaN
        (``np.fmax``, as pandas' ``cummax``).

    Examples
    --------
    >>> drawdown_from_peak(np.array([100.0, 110.0, np.nan, 99.0])).round(3).tolist()
    [0.0, 0.0, nan, -0.1]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.fmax.accumulate(x, axis=0) - 1.0


def rise_from_trough(x: np.ndarray) -> np.ndarray:
    """``x[t] / min(x[:t+1]) - 1``: the rise from the running trough (>= 0; fraction).

    Same shapes and NaN policy as :func:`drawdown_from_peak`.

    Examples
    --------
    >>> rise_from_trough(np.array([100.0, 80.0, 96.0])).round(3).tolist()
    [0.0, 0.0, 0.2]
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return x / np.fmin.accumulate(x, axis=0) - 1.0
