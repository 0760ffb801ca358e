"""A :class:`~engine.market.Holdings` straight from an Arrow table of dictionary-encoded
holdings rows, as a store's partitions read back (``datasets.store.Store.holdings``).

The general way there is ``table.to_pandas()`` (categoricals) and ``Holdings(frame)``: a
copy of every column into pandas, then a dozen NumPy passes to code, check and order the
rows. The table as Arrow reads it is already most of the way: each snapshot one run of
rows, stocks increasing inside it, names in a dictionary per file. This path checks
exactly what :class:`Holdings` checks (no NaN weight, no stock twice in a snapshot, each
snapshot summing to 1 within ``WEIGHT_SUM_TOL``, no snapshot split over two places) in
two passes over the chunks (:mod:`engine.nb.holdings_nb`) and hands the checked arrays to
:meth:`Holdings.from_layout_arrays`, in the layout the general path gives.

Whatever it does not take (other column types, nulls, rows out of order, a check that
fails) it declines, returning ``None``; the caller takes the general path then, which sorts
what can be sorted and names the row of what is wrong. So the error a user sees is always
the general path's, and ``tests/engine/test_holdings_arrow.py`` checks both give the same
Holdings.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from engine.holdings_rows import _run_order
from engine.market import WEIGHT_SUM_TOL, Holdings
from engine.nb.holdings_nb import chunk_runs_nb, place_rows_nb

__all__ = ["holdings_from_arrow"]

_COLUMNS = ("etf", "effective_date", "stock", "weight")


def _ranks(dictionaries, value_type):
    """``(ranks, names)``: for each of ``dictionaries`` (one per chunk of a column of
    dictionary-encoded strings), each entry's position among the sorted names of them all
    (int16 while they fit, as the general path's codes), and those names as a str Index;
    ``None`` when the entries are not strings or one is null.

    Each distinct dictionary is ranked once (a file's batches share one); the chunks'
    indices are left as they are (``unify_dictionaries`` would rewrite every row's).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
        return None
    distinct, which = [], []  # the distinct dictionaries, and each chunk's
    for d in dictionaries:
        if not (distinct and d.equals(distinct[-1])):
            distinct.append(d)
        which.append(len(distinct) - 1)
    names = pc.unique(pa.chunked_array(distinct, type=value_type))
    if names.null_count:
        return None
    # Arrow orders strings by their UTF-8 bytes, which is the code-point order of str
    names = names.take(pc.array_sort_indices(names))
    dtype = np.int16 if len(names) < 2**15 else np.int32
    ranked = [pc.index_in(d, value_set=names).to_numpy().astype(dtype) for d in distinct]
    return [ranked[i] for i in which], pd.Index(names.to_pylist(), dtype="str")


def _map(f, items: list) -> list:
    """``[f(x) for x in items]``, on up to 4 threads (one per CPU) when there are several
    items (``f`` a numba kernel that releases the GIL: the chunks of 6.6 M rows are a few
    dozen)."""
    if len(items) < 4 or (os.cpu_count() or 1) < 2:
        return [f(x) for x in items]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(os.cpu_count() or 1, 4)) as pool:
        return list(pool.map(f, items))


def holdings_from_arrow(table) -> Holdings | None:
    """The Holdings of ``table`` (a ``pyarrow.Table`` with columns ``etf`` and ``stock``
    dictionary-encoded strings, ``effective_date`` a tz-naive timestamp, ``weight``
    float64), or ``None`` when this path does not take it (see the module docstring: the
    caller builds ``Holdings(table.to_pandas())`` instead).

    Equal to that Holdings (its layout arrays, table, ETFs and CSR), not partial.
    """
    import pyarrow as pa

    if table.num_rows == 0 or not set(_COLUMNS) <= set(table.column_names):
        return None
    t = table.select(list(_COLUMNS))
    schema = t.schema
    if not all(pa.types.is_dictionary(schema.field(c).type) for c in ("etf", "stock")):
        return None
    date_type = schema.field("effective_date").type
    if not (pa.types.is_timestamp(date_type) and date_type.tz is None
            and pa.types.is_float64(schema.field("weight").type)):
        return None
    if any(t.column(c).null_count for c in _COLUMNS):
        return None
    batches = [b for b in t.to_batches() if b.num_rows]  # the columns' chunks aligned
    coded = [_ranks([b.column(j).dictionary for b in batches], schema.field(c).type.value_type)
             for j, c in ((0, "etf"), (2, "stock"))]
    if coded[0] is None or coded[1] is None:
        return None
    (etf_ranks, etf_names), (stock_ranks, stock_names) = coded
    rows = [  # per chunk: etf indices, days, stock indices, weights (no copies), ranks
        (b.column(0).indices.to_numpy(), b.column(1).cast(pa.int64()).to_numpy(),
         b.column(2).indices.to_numpy(), b.column(3).to_numpy(), er, sr)
        for b, er, sr in zip(batches, etf_ranks, stock_ranks, strict=True)]

    # pass 1: the runs of equal (etf, day), joined across the cuts between chunks (a
    # scan's batches cut through snapshots)
    starts, etfs, days = [], [], []
    n, last = 0, None
    found = _map(lambda r: chunk_runs_nb(r[0], r[1]), rows)
    for (e_idx, _, _, _, er, _), (st, e, d) in zip(rows, found, strict=True):
        e = er[e].astype(np.int64)  # the ETF codes' order, the same in every chunk
        if last is not None and e[0] == last[0] and d[0] == last[1]:
            st, e0, d0 = st[1:], e[1:], d[1:]  # the run goes on from the previous chunk
        else:
            e0, d0 = e, d
        starts.append(st + n)
        etfs.append(e0)
        days.append(d0)
        last = (e[-1], d[-1])
        n += len(e_idx)
    run_start = np.concatenate(starts)
    e = np.concatenate(etfs)
    d = np.concatenate(days)

    # the runs in (etf, day) order; two runs of one snapshot need the general path's sort
    order = _run_order(e, d, np.arange(len(e)))
    if order is False:
        return None
    if order is None:
        order = np.arange(len(e))
    length = np.diff(run_start, append=n)
    indptr = np.zeros(len(order) + 1, np.int64)
    np.cumsum(length[order], out=indptr[1:])
    run_dest = np.empty(len(order), np.int64)
    run_dest[order] = indptr[:-1]

    # pass 2: every row to its place, checked
    code = np.empty(n, stock_ranks[0].dtype)
    weight = np.empty(n, np.float64)
    row0 = np.cumsum([0] + [len(r[0]) for r in rows[:-1]])  # each chunk's first row
    run0 = np.searchsorted(run_start, row0, "right") - 1  # the run it begins in
    jobs = list(zip(rows, row0.tolist(), run0.tolist(), strict=True))
    # the chunks write disjoint rows: placed side by side (the kernels release the GIL)
    if not all(_map(lambda job: place_rows_nb(job[0][2], job[0][3], job[0][5], job[1],
                                              run_start, run_dest, job[2], code, weight),
                    jobs)):
        return None
    cut = row0 > run_start[run0]  # a run cut by the chunks: compare its rows either side
    cuts = run_dest[run0[cut]] + row0[cut] - run_start[run0[cut]]
    if (code[cuts] <= code[cuts - 1]).any():
        return None
    # not |sum - 1| > tol: a NaN weight makes its snapshot's sum NaN
    if not (np.abs(np.add.reduceat(weight, indptr[:-1]) - 1.0) <= WEIGHT_SUM_TOL).all():
        return None
    return Holdings.from_layout_arrays({
        # the Indexes (object arrays to from_layout_arrays): a numpy str array would drop
        # a name's trailing NUL characters
        "etf_names": etf_names, "stock_names": stock_names,
        "stock_code": code, "weight": weight, "snap_indptr": indptr,
        "snap_etf": e[order].astype(etf_ranks[0].dtype),
        "snap_day": d[order].view(f"datetime64[{date_type.unit}]"),
        "partial": np.asarray(False)})
