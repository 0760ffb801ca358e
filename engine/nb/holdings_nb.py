"""Checking and ordering holdings rows given as dictionary codes, one chunk at a time.

A store's holdings partitions come back from Parquet as Arrow chunks: ``etf`` and
``stock`` as dictionary indices (a dictionary per file, each ranked once by the caller
against the sorted names of all of them), ``effective_date`` and ``weight`` as plain
arrays, each snapshot one run of rows with its stocks increasing,
the runs of each year partition in (etf, date) order but the years one after another.
:class:`engine.market.Holdings` needs the codes in the sorted order of the names, each
snapshot's weights summing to 1, and the snapshots in (etf, date) order. Done with NumPy
on the rows that is a dozen passes over 6.6 M rows and copies of whole columns (the
concatenation of the chunks first); here it is two passes over the chunks as they are:

1. :func:`chunk_runs_nb` finds the snapshot runs of a chunk (its ``etf`` indices and
   dates only);
2. :func:`place_rows_nb` writes each row's stock code and weight to its place in the
   (etf, date) order of the snapshots (computed between the passes, on the runs only),
   checking on the way that the stocks increase inside each run.

A stock not increasing inside a snapshot makes pass 2 report failure (the caller checks
the sums, and so NaN weights, on the placed weights): the caller then takes the general
path, which orders what can be ordered and names the row of what cannot
(:class:`engine.market.Holdings`).

Why by hand: neither Arrow nor pandas has a grouped "runs of equal keys" scan that also
checks the order inside a run; composing one from their kernels is the dozen passes above.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["chunk_runs_nb", "place_rows_nb"]


@njit(cache=True, nogil=True)
def chunk_runs_nb(etf_idx, day):
    """The runs of equal (etf, day) of one chunk of rows.

    Parameters
    ----------
    etf_idx : (n,) int
        Dictionary indices of the rows' ETF (the chunk's dictionary).
    day : (n,) int64
        Effective dates (any one unit, as integers).

    Returns
    -------
    start : (k,) int64
        First row (in the chunk) of each run.
    etf : (k,) int64
        The run's ``etf_idx``.
    run_day : (k,) int64
        The run's day.
    """
    n = len(etf_idx)
    start = np.empty(n, np.int64)
    k = 0
    for i in range(n):
        if i == 0 or etf_idx[i] != etf_idx[i - 1] or day[i] != day[i - 1]:
            start[k] = i
            k += 1
    start = start[:k].copy()
    etf = np.empty(k, np.int64)
    run_day = np.empty(k, np.int64)
    for r in range(k):
        etf[r] = etf_idx[start[r]]
        run_day[r] = day[start[r]]
    return start, etf, run_day


@njit(cache=True, nogil=True)
def place_rows_nb(stock_idx, weight, stock_rank, row0, run_start, run_dest, run, out_code,
                  out_weight):
    """Write one chunk's rows to their places; False when a stock does not increase inside
    a run (the outputs are then incomplete).

    Parameters
    ----------
    stock_idx : (n,) int
        Dictionary indices of the chunk's stocks.
    weight : (n,) float64
        Their weights.
    stock_rank : (M,) int
        Position of each dictionary entry among the sorted names.
    row0 : int
        The chunk's first row among all rows.
    run_start : (S,) int64
        First row (among all rows, increasing) of each run.
    run_dest : (S,) int64
        Where each run's first row goes.
    run : int
        The run holding row ``row0``.
    out_code : (N,) int
        Stock ranks, written at the rows' places.
    out_weight : (N,) float64
        Weights, written at the rows' places.

    Notes
    -----
    The weights are only copied (the caller sums each snapshot of ``out_weight``, which
    also finds a NaN). A run that began in an earlier chunk is not compared with its rows
    there: chunks may be placed in any order, or at once; the caller compares the rows on
    either side of each cut.
    """
    n = len(stock_idx)
    S = len(run_start)
    i = 0
    while i < n:
        stop = n if run + 1 >= S else min(n, run_start[run + 1] - row0)
        j = run_dest[run] + (row0 + i - run_start[run])
        m = stop - i
        # loops over views (not a slice assignment: numba may copy its source first; not
        # offsets into the whole arrays: the loops then do not vectorize)
        ow, wi = out_weight[j:j + m], weight[i:stop]
        for k in range(m):
            ow[k] = wi[k]
        oc, si = out_code[j:j + m], stock_idx[i:stop]
        for k in range(m):
            oc[k] = stock_rank[si[k]]
        bad = False
        for k in range(1, m):  # no early exit: the loop vectorizes
            bad |= oc[k] <= oc[k - 1]
        if bad:
            return False
        i = stop
        run += 1
    return True
