"""Stock-major column blocks written into the date-major (T, N, K) flow panel.

The stock-grouped copy of a store (:mod:`datasets.flows_by_stock`) gives ``m`` consecutive
stocks' rows over every date, one array per investor column, stock-major; the panel
:class:`engine.market.ConstituentFlows` holds is ``(T, N, K)``, date-major. NumPy's
``out[:, c0:c0 + m, j] = v.reshape(m, T).T`` does it one investor at a time, so each pass
writes one value of every K-value cell and every cache line of ``out`` is written K times.

Why by hand: NumPy has no assignment that interleaves several sources into one destination
in one pass (``np.stack`` then a transposed copy moves the block twice, which is slower).
Here each cell's K values are written together, over tiles of dates: the sources are read
once, in order, and a tile's destination lines (one per date) stay cached from one stock to
the next. The oracle is that NumPy assignment (``tests/engine/test_panel_nb.py``).
"""

from __future__ import annotations

from numba import njit

__all__ = ["blocks_into_panel_nb"]

#: Dates per tile: the tile's destination cache lines, one per date, stay in L1/L2 while
#: consecutive stocks fill them.
DATE_TILE = 256


@njit(cache=True, nogil=True)
def blocks_into_panel_nb(out, cols, c0):
    """``out[t, c0 + s, j] = cols[j][s * T + t]`` for every date, stock and investor.

    Parameters
    ----------
    out : ndarray, shape (T, N, K), C-contiguous, float
        The panel, written in place (columns ``c0 .. c0 + m - 1``).
    cols : tuple of K >= 1 ndarrays, shape (m * T,), one dtype (not checked here: numba
        does not check bounds; the caller does)
        Column ``j`` of the block: stock ``s``'s values over the T dates at ``s * T``.
    c0 : int
        First panel column (stock position) of the block.
    """
    T = out.shape[0]
    m = cols[0].shape[0] // T
    for t0 in range(0, T, DATE_TILE):
        t1 = min(t0 + DATE_TILE, T)
        for s in range(m):
            base = s * T
            for t in range(t0, t1):
                for j in range(len(cols)):
                    out[t, c0 + s, j] = cols[j][base + t]
