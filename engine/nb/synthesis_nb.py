"""Constituent flow synthesis kernels: fold (T, N, K) stock net buying into (T, E, K) ETF flows.

The maths (README "Concepts"), for day ``t``, ETF ``e`` and investor ``k``:

.. math::

    S_{t,e,k} = \\sum_i c_{e,i} \\, s_{t,i} \\, x_{t,i,k}

with the holding coefficient ``c`` and the per stock-day scale ``s`` set by the method:
``bp`` uses ``c = w`` and ``s = 1e4 / market_cap``; ``weighted_amount`` uses ``c = w``,
``s = 1``; ``amount`` and ``shares`` use ``c = 1`` (membership), ``s = 1``. The
coefficients are prepared by :mod:`engine.synthesis`; both kernels take the scale as
``(numerator, per_market_cap)``: ``s = numerator / market_cap`` when ``per_market_cap``.

Two layouts of the same sum, both with ``prange`` over runs of dates (days are
independent, so both cores share the work), both accumulating in float64 whatever the
input dtype:

* :func:`engine.nb.gather_nb.synthesize_gather_nb` (the default, ``layout="by_etf"``): per
  day, each ETF gathers its constituents' scaled rows into accumulators held in registers;
  its inner loops are explicit vector code. See that module for what bounds it.
* :func:`synthesize_by_stock_nb` (here; the lead's first design, kept as the measured
  alternative): holdings regrouped per global period into "for each held stock, the ETFs
  that hold it"; each ``x[t, i, :]`` row is read once and scattered into an (E, K)
  accumulator in L1. Its K-long inner loop (K = 12) is too short for LLVM's loop
  vectorizer (16 lanes per iteration), so it runs scalar and measured ~3x slower.

NaN policy: a term whose market cap is NaN or <= 0 (``bp`` only) or whose net buying is NaN
contributes nothing; an ETF without a usable snapshot on day ``t`` gets NaN. Oracle:
``benchmarks/oracles.py::synthesize_oracle`` (a pandas merge/groupby).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Dates per parallel work item of :func:`synthesize_by_stock_nb`.
DATE_BLOCK = 16


@njit(parallel=True, cache=True, error_model="numpy")
def synthesize_by_stock_nb(
    x, market_cap, numerator, per_market_cap, period_of_t, period_stock_ptr, held_stock,
    holder_ptr, holder_etf, holder_coef, holder_weight, etf_active, out, coverage,
):
    """Synthesize ETF flows with holdings regrouped by stock (fills ``out`` and ``coverage``).

    Parameters
    ----------
    x : ndarray, shape (T, N, K), float32 or float64
        Net buying (value or shares); NaN = absent.
    market_cap : ndarray, shape (T, N)
        Market caps (read only when ``per_market_cap``).
    numerator : float
        ``s = numerator / market_cap`` when ``per_market_cap`` (1e4 for bp), else ``s = 1``.
    per_market_cap : bool
    period_of_t : ndarray, shape (T,), int64
        Global period of each date.
    period_stock_ptr : ndarray, shape (P + 1,), int64
        Held stocks of period ``p`` are ``held_stock[period_stock_ptr[p]:period_stock_ptr[p+1]]``.
    held_stock : ndarray, shape (H,), int64
        Stock positions (columns of ``x``), ascending within a period.
    holder_ptr : ndarray, shape (H + 1,), int64
        Holders of held entry ``j`` are ``holder_*[holder_ptr[j]:holder_ptr[j+1]]``.
    holder_etf : ndarray, shape (M,), int64
        ETF positions.
    holder_coef : ndarray, shape (M,), float64
        Coefficient ``c`` (method dependent).
    holder_weight : ndarray, shape (M,), float64
        Holding weight (fraction), summed into ``coverage``.
    etf_active : ndarray, shape (P, E), bool
        Whether the ETF has a usable snapshot in the period.
    out : ndarray, shape (T, E, K)
        Output, float32 or float64.
    coverage : ndarray, shape (T, E), float64
        Output: weight of the constituents present (not NaN) that day; NaN when inactive.
    """
    T, N, K = x.shape
    E = out.shape[1]
    n_blocks = (T + DATE_BLOCK - 1) // DATE_BLOCK
    for b in prange(n_blocks):
        acc = np.empty((E, K), np.float64)
        cov = np.empty(E, np.float64)
        row = np.empty(K, np.float64)
        for t in range(b * DATE_BLOCK, min(T, (b + 1) * DATE_BLOCK)):
            p = period_of_t[t]
            acc[:, :] = 0.0
            cov[:] = 0.0
            for j in range(period_stock_ptr[p], period_stock_ptr[p + 1]):
                i = held_stock[j]
                s = 1.0
                if per_market_cap:
                    m = market_cap[t, i]
                    if not m > 0.0:  # NaN or non-positive: the stock is absent today
                        continue
                    s = numerator / m
                present = False
                for k in range(K):
                    v = x[t, i, k]
                    if v == v:
                        row[k] = v * s
                        present = True
                    else:
                        row[k] = 0.0
                if not present:
                    continue
                for h in range(holder_ptr[j], holder_ptr[j + 1]):
                    e = holder_etf[h]
                    c = holder_coef[h]
                    for k in range(K):
                        acc[e, k] += c * row[k]
                    cov[e] += holder_weight[h]
            for e in range(E):
                if etf_active[p, e]:
                    for k in range(K):
                        out[t, e, k] = acc[e, k]
                    coverage[t, e] = cov[e]
                else:
                    for k in range(K):
                        out[t, e, k] = np.nan
                    coverage[t, e] = np.nan


@njit(parallel=True, cache=True, error_model="numpy")
def cumulate_nb(daily, out):
    """Running sum over time of a (T, C) panel; NaN days add nothing but stay NaN.

    Equivalent to ``df.cumsum()`` with NaN treated as 0 in the running total and the output
    NaN wherever the input is NaN (pandas ``cumsum(skipna=True)``).

    Parameters
    ----------
    daily : ndarray, shape (T, C)
    out : ndarray, shape (T, C), filled
    """
    T, C = daily.shape
    n_blocks = (C + 255) // 256
    for b in prange(n_blocks):
        lo = b * 256
        hi = min(C, lo + 256)
        run = np.zeros(hi - lo, np.float64)
        for t in range(T):
            for c in range(lo, hi):
                v = daily[t, c]
                if v == v:
                    run[c - lo] += v
                    out[t, c] = run[c - lo]
                else:
                    out[t, c] = np.nan


@njit(cache=True, error_model="numpy")
def by_stock_layout_nb(n_stocks, n_etfs, bounds, snap_etf, snap_start, snap_stop, indptr,
                       stock, coef, weight):
    """Regroup (ETF, snapshot) holdings into per-period "stock -> holders" lists.

    Counting sort, linear in the output size. Entries with ``stock < 0`` (constituents not
    in the flow panel) are skipped; the caller reports them.

    Parameters
    ----------
    n_stocks, n_etfs : int
        N and E.
    bounds : ndarray, shape (P + 1,), int64
        Period boundaries on the date axis: period ``p`` is ``bounds[p] <= t < bounds[p+1]``;
        every snapshot's start and stop is one of them.
    snap_etf, snap_start, snap_stop, indptr, stock : ndarray, int64
        The :class:`engine.market.HoldingsCSR` arrays.
    coef, weight : ndarray, shape (nnz,), float64
        Coefficient per CSR entry and its weight.

    Returns
    -------
    period_of_t : (T,) int64
    period_stock_ptr : (P + 1,) int64
    held_stock : (H,) int64
    holder_ptr : (H + 1,) int64
    holder_etf : (M,) int32
    holder_coef, holder_weight : (M,) float64
    etf_active : (P, E) bool
    """
    P = bounds.shape[0] - 1
    T = bounds[P]
    S = snap_etf.shape[0]
    period_of_t = np.empty(T, np.int64)
    for p in range(P):
        for t in range(bounds[p], bounds[p + 1]):
            period_of_t[t] = p
    p_lo = np.searchsorted(bounds, snap_start)
    p_hi = np.searchsorted(bounds, snap_stop)
    etf_active = np.zeros((P, n_etfs), np.bool_)
    counts = np.zeros((P, n_stocks), np.int64)
    for s in range(S):
        for p in range(p_lo[s], p_hi[s]):
            etf_active[p, snap_etf[s]] = True
            for h in range(indptr[s], indptr[s + 1]):
                if stock[h] >= 0:
                    counts[p, stock[h]] += 1
    n_held = 0
    n_entries = 0
    for p in range(P):
        for i in range(n_stocks):
            if counts[p, i] > 0:
                n_held += 1
                n_entries += counts[p, i]
    period_stock_ptr = np.zeros(P + 1, np.int64)
    held_stock = np.empty(n_held, np.int64)
    holder_ptr = np.zeros(n_held + 1, np.int64)
    slot = np.full((P, n_stocks), -1, np.int64)  # write cursor per (period, stock)
    j = 0
    for p in range(P):
        for i in range(n_stocks):
            if counts[p, i] > 0:
                held_stock[j] = i
                holder_ptr[j + 1] = holder_ptr[j] + counts[p, i]
                slot[p, i] = holder_ptr[j]
                j += 1
        period_stock_ptr[p + 1] = j
    holder_etf = np.empty(n_entries, np.int32)
    holder_coef = np.empty(n_entries, np.float64)
    holder_weight = np.empty(n_entries, np.float64)
    for s in range(S):  # snapshots are ordered by ETF, so holders end up in ETF order
        for p in range(p_lo[s], p_hi[s]):
            for h in range(indptr[s], indptr[s + 1]):
                i = stock[h]
                if i >= 0:
                    q = slot[p, i]
                    holder_etf[q] = snap_etf[s]
                    holder_coef[q] = coef[h]
                    holder_weight[q] = weight[h]
                    slot[p, i] = q + 1
    return (period_of_t, period_stock_ptr, held_stock, holder_ptr, holder_etf, holder_coef,
            holder_weight, etf_active)


@njit(cache=True, error_model="numpy")
def active_snapshot_nb(n_dates, n_etfs, snap_etf, snap_start, snap_stop):
    """The snapshot usable by each ETF on each day, shape (T, E), -1 when none."""
    out = np.full((n_dates, n_etfs), -1, np.int64)
    for s in range(snap_etf.shape[0]):
        for t in range(snap_start[s], snap_stop[s]):
            out[t, snap_etf[s]] = s
    return out


@njit(cache=True, error_model="numpy")
def snapshot_weight_nb(indptr, stock, weight, stock32):
    """Weight of each snapshot's constituents that are in the panel (``stock >= 0``), in one
    pass that also narrows the stock positions to int32 and counts the ones not in it.

    Parameters
    ----------
    indptr : ndarray, shape (S + 1,), int64
    stock : ndarray, shape (nnz,), int64
        Panel positions, -1 for a constituent not in the panel.
    weight : ndarray, shape (nnz,), float64
    stock32 : ndarray, shape (nnz,) or (0,), int32, output
        ``stock.astype(np.int32)`` (positions < 2**31: the panel has fewer stocks); not
        written when empty (``stock`` is int32 already).

    Returns
    -------
    snap_weight : ndarray, shape (S,), float64
        Summed in row order from 0.0, the order ``np.bincount`` adds in, so bit-identical
        to it. Oracle: ``np.bincount(snap_of_row[stock >= 0], weight[stock >= 0])``.
    n_missing : int
        Rows with ``stock < 0``.
    """
    n = indptr.shape[0] - 1
    out = np.zeros(n, np.float64)
    n_missing = 0
    narrow = stock32.shape[0] != 0
    for s in range(n):
        acc = 0.0
        for h in range(indptr[s], indptr[s + 1]):
            i = stock[h]
            if narrow:
                stock32[h] = i
            if i >= 0:
                acc += weight[h]
            else:
                n_missing += 1
        out[s] = acc
    return out, n_missing


@njit(cache=True, error_model="numpy")
def coverage_gaps_nb(coverage, active, snap_weight, tol, uncovered, shortfall):
    """One pass over the (T, E) coverage: where a usable snapshot has no constituent present
    or only part of its weight.

    Parameters
    ----------
    coverage : ndarray, shape (T, E), float64
        Weight present per ETF-day.
    active : ndarray, shape (T, E), int64
        Usable snapshot per ETF-day, -1 when none.
    snap_weight : ndarray, shape (S,), float64
        Each snapshot's weight in the panel (:func:`snapshot_weight_nb`).
    tol : float
        A day is short when ``0 < coverage < snap_weight - tol``.
    uncovered : ndarray, shape (T, E), bool, output
        Usable snapshot and coverage 0.
    shortfall : ndarray, shape (T * E,), float64, output
        ``snap_weight - coverage`` of the short days in C (day-major) order, first
        ``n_short`` entries (the order ``(full - coverage)[short]`` lists them in).

    Returns
    -------
    n_uncovered, n_short : int

    Oracle: the NumPy masks of ``engine.synthesis._coverage_gaps`` before this kernel
    (``tests/engine/test_synthesis.py`` compares them).
    """
    n_dates, n_etfs = coverage.shape
    n_unc = 0
    n_short = 0
    for t in range(n_dates):
        for e in range(n_etfs):
            s = active[t, e]
            c = coverage[t, e]
            unc = False
            if s >= 0:
                full = snap_weight[s]
                if c == 0.0:
                    unc = True
                    n_unc += 1
                elif c > 0.0 and c < full - tol:
                    shortfall[n_short] = full - c
                    n_short += 1
            uncovered[t, e] = unc
    return n_unc, n_short
