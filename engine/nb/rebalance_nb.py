"""Rebalance schedules of many price paths at once: calendar dates, trigger events, drift band.

One path at a time this is the decision loop of ``strategies.core_satellite.CoreSatellite``:
the first date, each scheduled date (calendar rebalance or trigger event) and, between two
scheduled dates, the first date the strategy's own model of its holdings (the last target
drifted by close-to-close price moves, no fees) leaves the drift band. The loop is
sequential in time (a drift rebalance resets the model), so it is written as a kernel that
runs every path of a Monte Carlo or every variant of a sweep in one call.

Oracle: ``CoreSatellite.decide`` (tests/strategies/test_core_satellite_paths.py compares the
schedules, targets and drift log on random paths).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["pairwise_sum_1d_nb", "rebalance_schedule_nb"]

#: Kinds of decision rows written by :func:`rebalance_schedule_nb`.
KIND_SCHEDULED = 0
KIND_DRIFT = 1


@njit(cache=True)
def pairwise_sum_1d_nb(a: np.ndarray, n: int) -> float:
    """Sum of ``a[:n]`` in NumPy's own order for ``n <= 128`` (8 partial sums, then the rest).

    The drift model renormalizes holdings by their sum; summing in NumPy's order keeps the
    kernel's band test bit-for-bit with ``h.sum(axis=1)`` in ``CoreSatellite._first_drift``.
    """
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[0], a[1], a[2], a[3]
    r4, r5, r6, r7 = a[4], a[5], a[6], a[7]
    i = 8
    stop = n - (n % 8)
    while i < stop:
        r0 += a[i]
        r1 += a[i + 1]
        r2 += a[i + 2]
        r3 += a[i + 3]
        r4 += a[i + 4]
        r5 += a[i + 5]
        r6 += a[i + 6]
        r7 += a[i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[i]
        i += 1
    return res


@njit(cache=True)
def rebalance_schedule_nb(px: np.ndarray, calendar: np.ndarray, ev_ptr: np.ndarray,
                          ev_pos: np.ndarray, ev_state: np.ndarray, targets: np.ndarray,
                          band: float, out_pos: np.ndarray, out_state: np.ndarray,
                          out_kind: np.ndarray, out_dev: np.ndarray,
                          out_asset: np.ndarray, out_count: np.ndarray) -> None:
    """Decision rows of every path.

    Parameters
    ----------
    px : ndarray, shape (P, T, A)
        Closes of the strategy's assets on each path (CASH included; used only if band > 0).
    calendar : ndarray of bool, shape (T,)
        Calendar rebalance dates (the first date included).
    ev_ptr : ndarray of int64, shape (P + 1,)
        Path p's trigger events are ``ev_pos[ev_ptr[p]:ev_ptr[p + 1]]`` (increasing positions).
    ev_pos, ev_state : ndarray of int64, shape (E,)
        Position of each event day and the target state in force from it.
    targets : ndarray, shape (S, A)
        Target weights of each state; state 0 is the initial allocation.
    band : float
        Absolute drift band (fraction); 0 disables drift rebalancing.
    out_pos, out_state, out_kind : ndarray of int64, shape (P, T)
        Written: decision positions, their target state, KIND_SCHEDULED / KIND_DRIFT.
    out_dev : ndarray of float64, shape (P, T)
        Signed deviation of the asset that left the band (drift rows; NaN otherwise).
    out_asset : ndarray of int64, shape (P, T)
        That asset's column (drift rows; -1 otherwise).
    out_count : ndarray of int64, shape (P,)
        Written: the number of decision rows of each path.
    """
    n_p, n_t, n_a = px.shape
    h = np.empty(n_a)
    idx = np.empty(n_a, dtype=np.int64)
    for p in range(n_p):
        e = ev_ptr[p]
        e_end = ev_ptr[p + 1]
        state = 0
        k = 0
        pos = 0
        kind = KIND_SCHEDULED
        dev_k = np.nan
        asset_k = -1
        while pos >= 0:
            if e < e_end and ev_pos[e] == pos:
                state = ev_state[e]
                e += 1
            out_pos[p, k] = pos
            out_state[p, k] = state
            out_kind[p, k] = kind
            out_dev[p, k] = dev_k
            out_asset[p, k] = asset_k
            k += 1
            kind = KIND_SCHEDULED
            dev_k = np.nan
            asset_k = -1
            # The next scheduled position after pos (calendar date or trigger event).
            nxt = -1
            for t in range(pos + 1, n_t):
                if calendar[t] or (e < e_end and ev_pos[e] == t):
                    nxt = t
                    break
            if band > 0.0:
                stop = n_t if nxt < 0 else nxt
                tv = targets[state]
                n_h = 0
                for j in range(n_a):
                    if tv[j] > 0.0:  # zero-target assets are ignored (their price may be NaN)
                        idx[n_h] = j
                        n_h += 1
                found = -1
                for t in range(pos + 1, stop):
                    for q in range(n_h):
                        j = idx[q]
                        h[q] = px[p, t, j] / px[p, pos, j] * tv[j]
                    s = pairwise_sum_1d_nb(h, n_h)
                    over = False
                    best = -1.0
                    best_q = 0
                    for q in range(n_h):
                        dev = h[q] / s - tv[idx[q]]
                        if abs(dev) > band:
                            over = True
                        a = abs(dev) if dev == dev else 0.0  # np.nan_to_num before argmax
                        if a > best:
                            best = a
                            best_q = q
                    if over:
                        found = t
                        dev_k = h[best_q] / s - tv[idx[best_q]]
                        asset_k = idx[best_q]
                        break
                if found >= 0:
                    kind = KIND_DRIFT
                    pos = found
                    continue
            pos = nxt
        out_count[p] = k
