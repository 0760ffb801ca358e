"""Batched Arrow reading of wide daily files and their direct write into new store partitions.

A wide daily file (:func:`datasets.generic.read_wide_daily`, kind ``generic-wide``) holds one
row per (date, stock) with a column per investor: the store's own shape. A history of them
needs no pivot, so ``flowbt data import`` reads a batch of clean Parquet files with Arrow
(threads: Arrow releases the GIL; the checks run in the same threads) and, for month
partitions that do not exist yet, builds each partition as an Arrow table and writes it with
the store's writer (:func:`datasets.store.write_table_atomic`), never through pandas.

* **Same result.** The partitions are those :func:`datasets.store.merge_rows` and
  :func:`datasets.store._write_atomic` give for the rows of the per-file path, byte for byte
  (same schema and pandas metadata, one chunk per column, same writer options): a store does
  not depend on the path that imported it (``tests/datasets/test_wide_import.py``).
* **Same errors.** Anything these readers do not decide exactly as the text loader does (a
  text or timezone-aware date column, several dates in one file, null or negative market
  caps, infinite values, a share count without its KRW cell, rows without any net buying,
  unsorted or repeated stocks, different headers within the batch, CSV files) returns None:
  the caller reads the batch file by file with the text loader, which raises the error naming
  file, row and column (or reads the file the slow way).
* **Only new partitions.** A partition that exists already, or that other files of the same
  batch also write, goes through the store's merge (conflicts named, equal rows kept once).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.investors import INVESTORS

__all__ = ["WideBatch", "wide_batch"]


class _Fallback(Exception):
    """Something this reader does not decide: the per-file path reads the batch."""


@dataclass
class _File:
    """One clean wide file: its day (ns since epoch), rows and the store columns (Arrow)."""

    day: int
    n: int
    stock: object  # pa.StringArray, sorted, distinct
    values: dict  # store column -> pa.DoubleArray (nulls where absent)
    empty_close: int


@dataclass
class WideBatch:
    """Clean wide Parquet files read together (from :func:`wide_batch`).

    Attributes
    ----------
    ids : np.ndarray
        Store file id of each file, int32 (n_files,).
    files : list
        Per file: day, row count, sorted stock codes and value columns (Arrow arrays).
    groups : dict
        Store groups the files give (``market``, ``net_buy_<k>``) -> their columns.
    market : bool
        Whether the files carry ``market_cap`` / ``close``.
    close : bool
        Whether they carry ``close``.
    """

    ids: np.ndarray
    files: list
    groups: dict
    market: bool
    close: bool

    @property
    def file_rows(self) -> np.ndarray:
        return np.asarray([f.n for f in self.files], dtype=np.int64)

    def months(self) -> np.ndarray:
        """Partition name (``YYYY-MM``) of each file."""
        d = np.asarray([f.day for f in self.files], dtype="datetime64[ns]")
        return np.asarray([str(m) for m in d.astype("datetime64[M]")], dtype=object)

    def frame(self) -> pd.DataFrame:
        """All rows as the per-file path's store rows (files one after the other), for the
        store's merge."""
        n = self.file_rows
        cols: dict[str, object] = {
            "date": np.repeat(np.asarray([f.day for f in self.files], dtype="datetime64[ns]"),
                              n),
            "stock": pd.Series(np.concatenate([f.stock.to_numpy(zero_copy_only=False)
                                               for f in self.files]).astype(object),
                               dtype=object)}
        src = np.repeat(self.ids, n).astype(np.int32)
        for g, gcols in self.groups.items():
            for c in gcols:
                cols[c] = np.concatenate([_floats(f.values[c]) for f in self.files])
            cols[f"src_{g}"] = src
        return pd.DataFrame(cols, copy=False)

    def partition_table(self, which: np.ndarray, known: dict, schema):
        """The partition of files ``which`` (indices, one month, distinct days) as the Arrow
        table the store's writer gets for the merged frame of their rows.

        Parameters
        ----------
        which : np.ndarray of int
        known : dict
            The table's groups after this import (the partition has every group's columns;
            NaN / src -1 for groups these files do not give).
        schema : pa.Schema
            :func:`partition_schema` of the same groups.
        """
        import pyarrow as pa

        order = sorted(which, key=lambda i: self.files[i].day)
        files = [self.files[i] for i in order]
        n = np.asarray([f.n for f in files], dtype=np.int64)
        total = int(n.sum())
        arrays = {
            "date": pa.array(np.repeat(np.asarray([f.day for f in files],
                                                  dtype="datetime64[ns]"), n)),
            "stock": _concat([f.stock for f in files])}
        src = pa.array(np.repeat(self.ids[order], n).astype(np.int32))
        for g in known:
            mine = g in self.groups
            for c in known[g]:
                arrays[c] = _concat([f.values[c] for f in files]) if mine else pa.nulls(
                    total, pa.float64())
            arrays[f"src_{g}"] = src if mine else pa.array(np.full(total, -1, np.int32))
        cols = [arrays[f.name] if arrays[f.name].type == f.type else
                arrays[f.name].cast(f.type) for f in schema]
        return pa.Table.from_arrays(cols, schema=schema)


def partition_schema(known: dict, group_order) -> tuple[dict, object]:
    """The groups in the store's column order and the Arrow schema (pandas metadata included)
    of a flows partition the store's merge would write with them."""
    from datasets.store import merge_rows

    import pyarrow as pa

    ordered = {g: list(known[g]) for g in sorted(known, key=group_order)}
    probe = {"date": np.array(["2000-01-03"], dtype="datetime64[ns]"),
             "stock": pd.Series(np.array(["A"], dtype=object), dtype=object)}
    for g, cs in ordered.items():
        for c in cs:
            probe[c] = np.array([1.0])
        probe[f"src_{g}"] = np.array([1], np.int32)
    merged = merge_rows([pd.DataFrame(probe)], ("date", "stock"), ordered, {1: "probe"})
    return ordered, pa.Schema.from_pandas(merged, preserve_index=False)


def _concat(arrays):
    import pyarrow as pa

    return arrays[0] if len(arrays) == 1 else pa.concat_arrays(arrays)


def _floats(a) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _number_column(a, *, required: bool, min_value: float | None = None):
    """A float64 column with NaN as null (as pandas writes NaN), or _Fallback."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(a.type):
        a = a.cast(pa.float64())
    elif not pa.types.is_float64(a.type):
        raise _Fallback
    if len(a) and pc.any(pc.is_nan(a)).as_py():
        a = pc.if_else(pc.is_nan(a), pa.scalar(None, pa.float64()), a)
    if required and a.null_count:
        raise _Fallback
    if a.null_count < len(a):
        mm = pc.min_max(a)
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise _Fallback
        if min_value is not None and lo < min_value:
            raise _Fallback
    return a


def _read_one(path, cols: dict, names: list[str]) -> _File:
    """Read and check one file (runs in a worker thread)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        tab = pq.ParquetFile(path).read(use_threads=False)
    except Exception as exc:  # the text path reports a corrupt file
        raise _Fallback from exc
    if [str(c).strip() for c in tab.column_names] != names:
        raise _Fallback
    meta = tab.schema.pandas_metadata or {}
    if any(not isinstance(ix, dict) for ix in meta.get("index_columns", [])):
        raise _Fallback  # a stored index becomes columns in the text path
    n = tab.num_rows
    if n == 0:
        raise _Fallback
    tab = tab.combine_chunks()

    def col(name):
        c = tab.column(names.index(name))
        return c.chunk(0) if c.num_chunks == 1 else pa.concat_arrays(c.chunks)

    d = col(cols["date"])
    if not pa.types.is_timestamp(d.type) or d.type.tz is not None or d.null_count:
        raise _Fallback
    mm = pc.min_max(d)
    if mm["min"] != mm["max"]:
        raise _Fallback  # several days in one file: the merge sorts them
    day = np.datetime64(mm["min"].cast(pa.timestamp("ns")).value, "ns").astype(
        "datetime64[D]")
    if not np.datetime64("1678-01-01") <= day <= np.datetime64("2262-04-10"):
        raise _Fallback
    s = col(cols["stock"])
    if pa.types.is_dictionary(s.type):
        s = s.cast(s.type.value_type)
    if not (pa.types.is_string(s.type) or pa.types.is_large_string(s.type)) or s.null_count:
        raise _Fallback
    # plain codes only (nothing to strip, no missing marker), sorted and distinct: the
    # partition's row order without a sort
    if not pc.all(pc.match_substring_regex(s, r"^[0-9A-Za-z._-]+$")).as_py() or \
            s.to_pylist()[0] in ("nan", "NaN", "None", "NaT"):
        raise _Fallback
    if n > 1 and not pc.all(pc.less(s.slice(0, n - 1), s.slice(1))).as_py():
        raise _Fallback
    if pc.any(pc.is_in(s, value_set=pa.array(["nan", "NaN", "None", "NaT"]))).as_py():
        raise _Fallback
    values: dict = {}
    empty_close = 0
    if "market_cap" in cols:
        values["market_cap"] = _number_column(col(cols["market_cap"]), required=True,
                                              min_value=0.0)
        if "close" in cols:
            c = _number_column(col(cols["close"]), required=False, min_value=0.0)
            empty_close = c.null_count
        else:
            c = pa.nulls(n, pa.float64())
        values["close"] = c
    every_row = False
    has = None
    for k, c in cols["net"].items():
        v = _number_column(col(c), required=False)
        values[f"net_buy_{k}"] = v
        if k in cols["shares"]:
            sh = _number_column(col(cols["shares"][k]), required=False)
            if (sh.null_count or v.null_count) and pc.any(
                    pc.not_equal(pc.is_null(sh), pc.is_null(v))).as_py():
                raise _Fallback
        else:
            sh = pa.nulls(n, pa.float64())
        values[f"net_buy_shares_{k}"] = sh
        if not v.null_count:
            every_row = True
        elif not every_row:
            has = pc.is_valid(v) if has is None else pc.or_(has, pc.is_valid(v))
    if not every_row and (has is None or not pc.all(has).as_py()):
        raise _Fallback  # a row without net buying: the per-file path splits or drops it
    return _File(day=int(day.astype("datetime64[ns]").astype(np.int64)), n=n,
                 stock=s.cast(pa.string()), values=values, empty_close=int(empty_close))


def wide_batch(paths, ids, *, encoding: str | None = None) -> WideBatch | None:
    """Read clean wide daily Parquet files of one header, one day each, or None.

    Parameters
    ----------
    paths : list of path
    ids : sequence of int
        Store file id of each file (its ``src_*`` value).
    encoding : str, optional
        Only None / UTF-8 (Parquet ignores it).

    Returns
    -------
    WideBatch or None
        None when any file needs the per-file path (nothing is recorded anywhere).
    """
    import pyarrow.parquet as pq

    from datasets.arrow_long import _utf8
    from datasets.generic import wide_columns
    from engine.errors import DataError

    if not paths or not _utf8(encoding) or any(
            Path(p).suffix.lower() not in (".parquet", ".pq") for p in paths):
        return None
    try:
        names = [str(c).strip() for c in pq.read_schema(paths[0]).names]
        if len(set(names)) != len(names):
            return None
        cols = wide_columns(names, row_kind="row")
    except (DataError, OSError, Exception):
        return None
    if cols is None:
        return None
    workers = min(len(paths), os.cpu_count() or 1, 8)
    try:
        if workers > 1:
            with ThreadPoolExecutor(workers) as ex:
                files = list(ex.map(lambda p: _read_one(p, cols, names), paths))
        else:
            files = [_read_one(p, cols, names) for p in paths]
    except _Fallback:
        return None
    groups: dict[str, list[str]] = {}
    if "market_cap" in cols:
        groups["market"] = ["market_cap", "close"]
    for k in INVESTORS:
        if k in cols["net"]:
            groups[f"net_buy_{k}"] = [f"net_buy_{k}", f"net_buy_shares_{k}"]
    return WideBatch(ids=np.asarray(ids, dtype=np.int32), files=files, groups=groups,
                     market="market_cap" in cols, close="close" in cols)
