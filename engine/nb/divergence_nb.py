"""Price-flow divergence labels as int8 codes (elementwise; time is axis 0).

Codes (:class:`engine.signals.Divergence` mirrors them): -1 unknown (a NaN input),
0 neutral, 1 trend (price up, flow in), 2 distribution (price up, flow out),
3 accumulation (price down, flow in), 4 rotation_out (price down, flow out).
"""

from __future__ import annotations

from numba import njit, prange

UNKNOWN = -1
NEUTRAL = 0
TREND = 1
DISTRIBUTION = 2
ACCUMULATION = 3
ROTATION_OUT = 4


@njit(cache=True, error_model="numpy")
def divergence_code(p, f, price_band, flow_band):
    """Code of one (price change, flow) point; inside a band (``|p| <= price_band`` or
    ``|f| <= flow_band``) is neutral, so with zero bands an exact 0 is neutral."""
    if p != p or f != f:
        return UNKNOWN
    if abs(p) <= price_band or abs(f) <= flow_band:
        return NEUTRAL
    if p > 0:
        return TREND if f > 0 else DISTRIBUTION
    return ACCUMULATION if f > 0 else ROTATION_OUT


@njit(cache=True, error_model="numpy")
def divergence_1d_nb(price_change, flow, price_band, flow_band, out):
    """Fill ``out`` (int8, shape (T,)) with :func:`divergence_code` of each point."""
    for t in range(price_change.shape[0]):
        out[t] = divergence_code(price_change[t], flow[t], price_band, flow_band)


@njit(parallel=True, cache=True, error_model="numpy")
def divergence_nb(price_change, flow, price_band, flow_band, out):
    """2-D :func:`divergence_1d_nb` (columns in parallel); fills and returns ``out`` (T, C) int8, column-major.

    Oracle: ``np.select`` over the four sign conditions.
    """
    T, C = price_change.shape
    for c in prange(C):
        divergence_1d_nb(price_change[:, c], flow[:, c], price_band, flow_band, out[:, c])
    return out
