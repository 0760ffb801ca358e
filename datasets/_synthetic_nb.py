"""Numba kernels of the synthetic market generator (NumPy arrays in, arrays out; no pandas).

``cache=True``: compiled once per machine into ``__pycache__`` (first-call compile is reported
separately by ``benchmarks/bench_generate.py``). ``parallel=True`` over days is deterministic:
every (day, stock) cell is computed independently, with no reduction across threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["flow_block_nb"]


@njit(cache=True, parallel=True)
def flow_block_nb(
    noise, act_noise, signal_z, ret_std, moods, flow_scale, cap, close,
    sigma, kappa, beta, trade_share, informed, signal_share, act_log_sd,
    out_parts, out_net, out_shares,
):
    """Net buying (KRW and shares) of a block of days, cleared to zero per stock-day.

    Equivalent to :func:`datasets.synthetic_flows.flow_chunk` followed by
    :func:`datasets.synthetic_flows.investor_map`, times ``cap`` (KRW) and over ``close``
    (shares), fused in one pass.

    Parameters
    ----------
    noise : float64 (L, N, A)
        Standard normal demand noise ``e``.
    act_noise : float64 (L, N)
        Standard normal draws of the log activity ``v``.
    signal_z, ret_std : float64 (L, N)
        Informed signal ``z`` and same-day standardized return ``x``.
    moods : float64 (L, A)
    flow_scale : float64 (N,)
    cap, close : float64 (L, N)
        Market cap and close (KRW); NaN where the stock is not listed (outputs NaN there).
    sigma, kappa, beta, trade_share, informed : float64 (A,)
    signal_share, act_log_sd : float
    out_parts : int64 (K, P)
        Atomic positions summed into each output column, padded with -1 (in summation order).
    out_net, out_shares : float32 or float64 (L, N, K)
        Written in place.
    """
    L, N, A = noise.shape
    K, P = out_parts.shape
    sq = np.sqrt(signal_share)
    sq1 = np.sqrt(1.0 - signal_share)
    act_shift = 0.5 * act_log_sd * act_log_sd
    for t in prange(L):
        d = np.empty(A)
        for i in range(N):
            c = cap[t, i]
            if not np.isfinite(c):
                for k in range(K):
                    out_net[t, i, k] = np.nan
                    out_shares[t, i, k] = np.nan
                continue
            scale = flow_scale[i] * np.exp(act_log_sd * act_noise[t, i] - act_shift)
            x = ret_std[t, i]
            total = 0.0
            for a in range(A):
                u = noise[t, i, a]
                if informed[a] > 0.0:
                    u = u * sq1 + sq * signal_z[t, i]
                v = (u * sigma[a] + moods[t, a] * kappa[a] + x * beta[a]) * scale
                d[a] = v
                total += v
            for a in range(A):
                d[a] = (d[a] - total * trade_share[a]) * c
            px = close[t, i]
            for k in range(K):
                acc = d[out_parts[k, 0]]
                for p in range(1, P):
                    j = out_parts[k, p]
                    if j < 0:
                        break
                    acc += d[j]
                out_net[t, i, k] = acc
                out_shares[t, i, k] = acc / px
