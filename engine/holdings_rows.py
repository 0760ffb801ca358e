"""Row-level helpers of :class:`engine.market.Holdings`: integer codes of the ``etf`` and
``stock`` labels (in the sorted order of the names), snapshot runs and their order, and
gathers of row ranges. NumPy (and Arrow for Arrow-backed string columns) over the rows; no
Python loop over them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engine.errors import DataError


def _label_codes(col: pd.Series, name: str, own: bool = True) -> tuple[np.ndarray, pd.Index]:
    """Codes of the ``etf`` or ``stock`` column whose order is the sorted order of its values
    as str, and those values (sorted, unique; ``codes`` index into them).

    Strings are factorized (sorted; pandas' Arrow-backed ``str`` columns of codes of at
    most 8 bytes as integer keys, :func:`_short_factorize`, other Arrow-backed ones in Arrow,
    :func:`_arrow_factorize`); a categorical column gives its own codes, without a
    string per row: only its categories are converted to str and, when they are not sorted,
    ranked (one integer take over the rows). Its unused categories stay in the names (no
    row points at them; :attr:`Holdings.etfs` lists the ETFs of the snapshots). Either way
    the code order is that of ``pd.factorize(col.astype(str), sort=True)``, so a table
    given as categoricals lays out as the same table given as strings
    (``tests/engine/test_market.py::test_holdings_from_categoricals_equal_those_from_strings``).

    ``own``: the codes must be new, out of reach of the caller's frame (kept past
    construction); otherwise a categorical's codes may be a view of its own.

    Raises
    ------
    DataError
        A row has no value (NaN / None), named by its position in the input.
    """
    if isinstance(col.dtype, pd.CategoricalDtype):
        cats = col.cat.categories
        names = pd.Index(cats if cats.dtype == "str" else cats.astype(str))
        if names.is_unique:  # converting may merge categories (1 and "1"): then as strings
            codes = col.array.codes  # a view (Series.cat.codes copies)
            _raise_missing(codes, name)
            if own and names.is_monotonic_increasing:
                # our own codes (2 bytes a row; ranking makes new ones): a write through the
                # caller's ``.array`` is not covered by copy-on-write
                codes = codes.copy()
            return _ranked(codes, names, codes.dtype)
    got = _short_factorize(col)
    if got is not None:  # codes into the sorted names already, int16
        return got
    got = _arrow_factorize(col, runs=name == "etf")
    # unsorted factorize, then ranked here: pandas' sort=True re-maps the codes with a
    # generic int64 take, slower than the factorize itself at 6.6 M rows
    codes, names = got if got is not None else pd.factorize(col.astype(str))
    _raise_missing(codes, name)
    # narrow codes: the order checks make several passes over them
    small = np.int16 if len(names) < 2**15 else np.int32 if len(names) < 2**31 else np.int64
    return _ranked(codes, pd.Index(names), small)


def _arrow_string_array(col: pd.Series):
    """The column's values as one ``pyarrow`` string or large_string array, or ``None``
    when it is not a column of Arrow-backed strings (pandas' default ``str``)."""
    dt = col.dtype
    if not (isinstance(dt, pd.StringDtype) and dt.storage == "pyarrow") or not len(col):
        return None
    import pyarrow as pa

    arr = col.array.__arrow_array__()
    if isinstance(arr, pa.ChunkedArray):  # combine_chunks copies even a single chunk
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return None  # pragma: no cover - string views: as strings
    return arr


#: Rows below which a column is factorized on one thread (a chunk's hash table and its
#: remap cost more than its rows).
_MIN_CHUNK_ROWS = 1 << 16


def _short_factorize(col: pd.Series) -> tuple[np.ndarray, pd.Index] | None:
    """``pd.factorize(col, sort=True)`` as int16 codes, for a column of Arrow-backed strings
    of at most 8 bytes each without nulls (ETF and stock codes): one ``uint64`` key per row
    from Arrow's buffers (:mod:`engine.nb.labels_nb`), chunks hashed in parallel, their
    keys merged and sorted once. ``None`` for any other column (the caller falls back)."""
    arr = _arrow_string_array(col)
    if arr is None or arr.null_count:
        return None
    import numba
    import pyarrow as pa

    from engine.nb.labels_nb import MAX_NAMES, factorize_short_nb, remap_codes_nb

    n = len(arr)
    _, off_buf, data_buf = arr.buffers()
    off_type = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    offsets = np.frombuffer(off_buf, off_type, count=arr.offset + n + 1)[arr.offset:]
    data = (np.frombuffer(data_buf, np.uint8) if data_buf is not None and data_buf.size
            else np.zeros(0, np.uint8))
    if len(data) and not data[offsets[0]:offsets[n]].all():
        return None  # a NUL byte: keys could not tell it from their padding
    n_chunks = max(1, min(numba.get_num_threads(), n // _MIN_CHUNK_ROWS))
    # Arrow's own offsets, int32 for ``string`` (a widened copy was 53 MB at 6.6 M rows)
    codes, uniq, counts, bounds = factorize_short_nb(offsets, data, n_chunks)
    if (counts < 0).any():
        return None
    keys = np.unique(np.concatenate([uniq[c, :counts[c]] for c in range(n_chunks)]))
    if len(keys) > MAX_NAMES:
        return None
    remap = np.zeros((n_chunks, int(counts.max())), np.int16)
    identity = True
    for c in range(n_chunks):
        remap[c, :counts[c]] = np.searchsorted(keys, uniq[c, :counts[c]])
        identity &= bool((remap[c, :counts[c]] == np.arange(counts[c])).all())
    if not identity:  # a column grouped by its values (etf) has its codes in order already
        remap_codes_nb(codes, bounds, remap)
    names = pd.Index([int(k).to_bytes(8, "big").rstrip(b"\0").decode() for k in keys.tolist()],
                     dtype="str")
    return codes, names


def _arrow_factorize(col: pd.Series, runs: bool) -> tuple[np.ndarray, pd.Index] | None:
    """``pd.factorize(col)`` (codes -1 where missing, names in order of appearance) of a
    column of Arrow-backed strings (pandas' default ``str``), done in Arrow; ``None`` for
    any other column.

    ``runs``: hash the values of the column's runs only when they are few (an ``etf``
    column grouped by ETF is a few hundred runs of 6.6 M rows), then repeat their codes.
    """
    arr = _arrow_string_array(col)
    if arr is None:
        return None
    import pyarrow.compute as pc

    lengths = None
    if runs and not arr.null_count and len(arr) > 1:
        # where a run starts: one comparison of neighbours, cheaper than hashing each row
        starts = np.flatnonzero(pc.not_equal(arr[1:], arr[:-1]).to_numpy(
            zero_copy_only=False)) + 1
        if len(starts) < len(arr) // 8:
            lengths = np.diff(starts, prepend=0, append=len(arr))
            arr = arr.take(np.concatenate([[0], starts]))
    enc = pc.dictionary_encode(arr)
    idx = enc.indices
    codes = (idx.fill_null(-1) if idx.null_count else idx).to_numpy()
    if lengths is not None:
        codes = np.repeat(codes, lengths)
    return codes, pd.Index(enc.dictionary.to_pylist(), dtype="str")


def _ranked(codes: np.ndarray, names: pd.Index, dtype) -> tuple[np.ndarray, pd.Index]:
    """``codes`` into unique ``names`` as ``dtype`` codes into the sorted names (no pass over
    the rows when the names are sorted and ``codes`` is of ``dtype`` already)."""
    if names.is_monotonic_increasing:
        return codes.astype(dtype, copy=False), names
    order = names.argsort()
    rank = np.empty(len(names), dtype=dtype)
    rank[order] = np.arange(len(names))
    return rank[codes], names.take(order)


def _raise_missing(codes: np.ndarray, name: str) -> None:
    """DataError naming the first row whose code is -1 (no value), if any."""
    if len(codes) and codes.min() < 0:
        pos = int(np.flatnonzero(codes < 0)[0])
        raise DataError(f"holdings {name} is missing", row=pos, row_kind="position",
                        column=name, fix=f"give every holdings row its {name}")


def _snapshot_runs(etf_code: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``same`` (n - 1,): row ``i + 1`` has row ``i``'s (etf, day); ``start``: the first row
    of each run of equal (etf, day), int64."""
    same = etf_code[1:] == etf_code[:-1]
    same &= day[1:] == day[:-1]
    start = np.flatnonzero(~same) + 1 if len(etf_code) else np.empty(0, np.int64)
    return same, np.concatenate([np.zeros(min(len(etf_code), 1), np.int64), start])


def _run_order(etf_code: np.ndarray, day: np.ndarray, start: np.ndarray):
    """How the runs of :func:`_snapshot_runs` sort by (etf, day): ``None`` when they are in
    order already, the permutation when each run has its own (etf, day) (a table grouped by
    snapshot, e.g. store partitions of one year each), ``False`` when two runs share one
    (a snapshot split over places in the table: the rows need a sort)."""
    e, d = etf_code[start], day[start]
    if bool(((e[1:] > e[:-1]) | ((e[1:] == e[:-1]) & (d[1:] > d[:-1]))).all()):
        return None
    order = np.lexsort((d, e))
    e, d = e[order], d[order]
    if bool(((e[1:] == e[:-1]) & (d[1:] == d[:-1])).any()):
        return False
    return order


def _take_runs(arr: np.ndarray, lo: np.ndarray, hi: np.ndarray,
               copy: bool = True) -> np.ndarray:
    """``arr[lo[0]:hi[0]]``, ``arr[lo[1]:hi[1]]``, ... one after another, a new array
    (``copy=False``: a view of ``arr`` when they are one range).

    Adjacent ranges are merged first: snapshots in (etf, date) order are a few long row
    ranges even when the table comes by year partition (an ETF's snapshots of one year
    are contiguous), so this copies a few thousand slices instead of gathering row by row.
    """
    if len(lo) == 0:
        return arr[:0].copy()
    brk = np.flatnonzero(lo[1:] != hi[:-1]) + 1
    starts = lo[np.concatenate([[0], brk])].tolist()
    stops = hi[np.concatenate([brk - 1, [len(lo) - 1]])].tolist()
    if len(starts) == 1:
        view = arr[starts[0]:stops[0]]
        return view.copy() if copy else view
    return np.concatenate([arr[i:j] for i, j in zip(starts, stops, strict=True)])
