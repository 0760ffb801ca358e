"""Batched Arrow reading of wide daily files and their direct write into new store partitions.

A wide daily file (:func:`datasets.generic.read_wide_daily`, kind ``generic-wide``) holds one
row per (date, stock) with a column per investor: the store's own shape. A history of them
needs no pivot, so ``flowbt data import`` reads a batch of clean Parquet files with Arrow
(threads: Arrow releases the GIL; the checks run in the same threads) and, for month
partitions that do not exist yet, builds each partition as an Arrow table and writes it with
the store's writer (:func:`datasets.store.write_table_atomic`), never through pandas.

* **Same result.** The partitions are those :func:`datasets.store.merge_rows` and
  :func:`datasets.store._write_atomic` give for the rows of the per-file path, byte for byte
  (same schema and pandas metadata, same writer options; the writer gives the same bytes
  for a column chunked by file as for its one-chunk copy): a store does not depend on the
  path that imported it (``tests/datasets/test_wide_import.py``; the benchmark compares the
  stores of its first days byte for byte).
* **Same errors.** Anything these readers do not decide exactly as the text loader does (a
  text or timezone-aware date column, a day outside the years 1678-2261, several dates in
  one file, null or negative market caps, infinite values, a share count without its KRW
  cell, rows without any net buying, unsorted or repeated stocks, different headers within
  the batch, CSV files, anything pyarrow raises on) returns None:
  the caller reads the batch file by file with the text loader, which raises the error naming
  file, row and column (or reads the file the slow way).
* **Only new partitions.** A partition that exists already, or whose files include two of
  one day, goes through the store's merge (conflicts named, equal rows kept once). The last
  month of a batch is carried to the next batch (:func:`datasets.store_import.import_files`)
  so that a month split by a batch boundary is written once, not written and then merged.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from engine.investors import INVESTORS

__all__ = ["PreRead", "WideBatch", "join_months", "partition_schema", "read_ahead",
           "wide_batch"]


class _Fallback(Exception):
    """Something this reader does not decide: the per-file path reads the batch."""


@dataclass
class _Month:
    """The checked files of one month, by day (file order for equal days): their store ids,
    days (ns since epoch), row counts and the store columns as Arrow arrays chunked by file
    (stock codes sorted and distinct within each file; nulls where absent)."""

    ids: np.ndarray
    days: np.ndarray
    n: np.ndarray
    stock: object
    values: dict


@dataclass
class WideBatch:
    """Clean wide Parquet files read together (from :func:`wide_batch`).

    Attributes
    ----------
    ids : np.ndarray
        Store file id of each file, int32 (n_files,).
    file_rows : np.ndarray
        Rows of each file, int64 (n_files,).
    file_days : np.ndarray
        Day of each file, datetime64[ns] (n_files,).
    empty_close : np.ndarray
        Empty close cells of each file, int64 (n_files,).
    months : dict
        Partition name (``YYYY-MM``) -> its files' columns.
    groups : dict
        Store groups the files give (``market``, ``net_buy_<k>``) -> their columns.
    close : bool
        Whether the files carry ``close``.
    """

    ids: np.ndarray
    file_rows: np.ndarray
    file_days: np.ndarray
    empty_close: np.ndarray
    months: dict
    groups: dict
    close: bool

    def frame(self, months=None) -> pd.DataFrame:
        """The rows (of ``months`` only, when given) as the per-file path's store rows
        (months in turn), for the store's merge (which sorts them)."""
        ms = [self.months[m] for m in sorted(self.months if months is None else months)]
        n = np.concatenate([m.n for m in ms])
        cols: dict[str, object] = {
            "date": np.repeat(np.concatenate([m.days for m in ms]).astype("datetime64[ns]"), n),
            "stock": pd.Series(np.concatenate([m.stock.to_numpy(zero_copy_only=False)
                                               for m in ms]).astype(object), dtype=object)}
        src = np.repeat(np.concatenate([m.ids for m in ms]), n).astype(np.int32)
        for g, gcols in self.groups.items():
            for c in gcols:
                cols[c] = np.concatenate([_floats(m.values[c]) for m in ms])
            cols[f"src_{g}"] = src
        return pd.DataFrame(cols, copy=False)

    def partition_table(self, month: str, known: dict, schema):
        """The partition ``month`` (its files of distinct days) as the Arrow table the store's
        writer gets for the merged frame of its rows.

        Parameters
        ----------
        month : str
        known : dict
            The table's groups after this import, in the store's column order (the
            partition has every group's columns; null / src -1 for groups these files do not
            give).
        schema : pa.Schema
            :func:`partition_schema` of the same groups.
        """
        import pyarrow as pa

        m = self.months[month]
        total = int(m.n.sum())
        arrays = {"date": pa.array(np.repeat(m.days.astype("datetime64[ns]"), m.n)),
                  "stock": m.stock}
        src = pa.array(np.repeat(m.ids, m.n).astype(np.int32))
        for g in known:
            mine = g in self.groups
            for c in known[g]:
                arrays[c] = m.values[c] if mine else pa.nulls(total, pa.float64())
            arrays[f"src_{g}"] = src if mine else pa.array(np.full(total, -1, np.int32))
        cols = [arrays[f.name] if arrays[f.name].type == f.type else
                arrays[f.name].cast(f.type) for f in schema]
        return pa.Table.from_arrays(cols, schema=schema)


def join_months(a: _Month, b: _Month) -> _Month | None:
    """Month ``a`` then month ``b`` (the same month from two batches) as one, when every day
    of ``b`` is after those of ``a`` (else None: the merge sorts them)."""
    import pyarrow as pa

    if len(a.days) and len(b.days) and a.days.max() >= b.days.min():
        return None
    return _Month(ids=np.concatenate([a.ids, b.ids]), days=np.concatenate([a.days, b.days]),
                  n=np.concatenate([a.n, b.n]),
                  stock=pa.chunked_array(a.stock.chunks + b.stock.chunks, type=a.stock.type),
                  values={c: pa.chunked_array(v.chunks + b.values[c].chunks, type=v.type)
                          for c, v in a.values.items()})


def partition_schema(known: dict, group_order) -> tuple[dict, object]:
    """The groups in the store's column order and the Arrow schema (pandas metadata included)
    of a flows partition the store's merge would write with them."""
    import pyarrow as pa

    from datasets.store import merge_rows

    ordered = {g: list(known[g]) for g in sorted(known, key=group_order)}
    probe = {"date": np.array(["2000-01-03"], dtype="datetime64[ns]"),
             "stock": pd.Series(np.array(["A"], dtype=object), dtype=object)}
    for g, cs in ordered.items():
        for c in cs:
            probe[c] = np.array([1.0])
        probe[f"src_{g}"] = np.array([1], np.int32)
    merged = merge_rows([pd.DataFrame(probe)], ("date", "stock"), ordered, {1: "probe"})
    return ordered, pa.Schema.from_pandas(merged, preserve_index=False)


def _floats(a) -> np.ndarray:
    return a.to_numpy(zero_copy_only=False).astype(np.float64, copy=False)


def _number_column(a, *, required: bool, min_value: float | None = None):
    """A float64 column with NaN as null (as pandas writes NaN), or _Fallback."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(a.type):
        # unsafe: an integer above 2**53 is rounded to the nearest float64 (ties to even), the
        # value the text loader parses from its decimal digits; a safe cast raises instead
        a = a.cast(pa.float64(), safe=False)
    elif not pa.types.is_float64(a.type):
        raise _Fallback
    if required and a.null_count:
        raise _Fallback
    if a.null_count < len(a):
        total = pc.sum(a).as_py()
        if min_value is None and total is not None and np.isfinite(total):
            return a  # a finite sum: no NaN, no infinity (one pass, not three)
        mm = pc.min_max(a)  # NaN is skipped by min_max: looked for apart
        lo, hi = mm["min"].as_py(), mm["max"].as_py()
        if lo is None or not (np.isfinite(lo) and np.isfinite(hi)):
            raise _Fallback
        if min_value is not None and lo < min_value:
            raise _Fallback
        if pc.any(pc.is_nan(a)).as_py():
            if required:
                raise _Fallback
            a = pc.if_else(pc.is_nan(a), pa.scalar(None, pa.float64()), a)
    return a


def _read_one(path, names: list[str], date_col: str, opened=None):
    """Read one file (``opened``: its ``pq.ParquetFile``, when already open) and check what
    is per file (header, one day): ``(table, day)``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    try:
        tab = (opened if opened is not None else pq.ParquetFile(path)).read(use_threads=False)
    except Exception as exc:  # the text path reports a corrupt file
        raise _Fallback from exc
    if [str(c).strip() for c in tab.column_names] != names or tab.num_rows == 0:
        raise _Fallback
    meta = tab.schema.pandas_metadata or {}
    if any(not isinstance(ix, dict) for ix in meta.get("index_columns", [])):
        raise _Fallback  # a stored index becomes columns in the text path
    d = tab.column(names.index(date_col))
    if not pa.types.is_timestamp(d.type) or d.type.tz is not None or d.null_count:
        raise _Fallback
    mm = pc.min_max(d)
    if mm["min"] != mm["max"]:
        raise _Fallback  # several days in one file: the per-file path
    # the day in the column's own unit (a timestamp[us] after 2262 does not fit in ns); the
    # years the text loader reads (1678-2261, datasets._csv._parse_date_strings), else it
    # refuses the file naming the cell
    day = np.datetime64(mm["min"].value, d.type.unit).astype("datetime64[D]")
    if not np.datetime64("1678-01-01") <= day <= np.datetime64("2261-12-31"):
        raise _Fallback
    return tab, int(day.astype("datetime64[ns]").astype(np.int64))


@dataclass(frozen=True)
class PreRead:
    """A wide file read and checked ahead of its batch (:func:`read_ahead`): what
    :func:`_read_one` gives for it, and the stripped header it was checked against."""

    names: tuple
    table: object
    day: int


@lru_cache(maxsize=64)
def _date_column(names: tuple) -> str | None:
    """The date column of a wide header (distinct names), or None: not a wide header, or
    one :func:`datasets.generic.wide_columns` refuses (its batch words it)."""
    from datasets.generic import wide_columns

    if len(set(names)) != len(names):
        return None
    try:
        cols = wide_columns(list(names), row_kind="row")
    except Exception:
        return None
    return None if cols is None else cols["date"]


def read_ahead(opened, names: tuple | None = None) -> PreRead | None:
    """Read and check an opened Parquet file (``pq.ParquetFile``) as :func:`wide_batch`
    would, ahead of its batch (in the thread that hashed it: the decoding then runs beside
    the rest of the import instead of at the batch's flush). None when its header is not a
    wide file's or the read declines (:func:`wide_batch` reads it again and decides as
    before): the result is the same either way, only the time it is computed moves.

    ``names``: ``opened.schema_arrow.names`` when the caller has them (each
    ``schema_arrow`` rebuilds the Arrow schema from the file's metadata)."""
    try:
        names = tuple(str(c).strip() for c in (
            names if names is not None else opened.schema_arrow.names))
        date = _date_column(names)
        if date is None:
            return None
        tab, day = _read_one(None, list(names), date, opened)
    except Exception:  # _Fallback or anything Arrow raises: the batch's read decides
        return None
    return PreRead(names=names, table=tab, day=day)


def _column(tab, j):
    """Column ``j`` of a month's table, one chunk per file (a dictionary column decoded): not
    concatenated, as the Parquet writer gives the same bytes for a chunked column and for
    its one-chunk copy (pinned by the byte comparisons of the tests and the benchmark)."""
    import pyarrow as pa

    c = tab.column(j)
    if pa.types.is_dictionary(c.type):
        c = pa.chunked_array([x.cast(c.type.value_type) for x in c.chunks],
                             type=c.type.value_type)
    return c


def _month(tabs, n: np.ndarray, cols: dict, names: list[str]):
    """One month's files (in day order) as store columns, with the checks of the text loader
    on whole columns: ``(stock, values, empty close cells per file)``, or _Fallback."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:  # the files' tables one under the other (no copy); other column types: per file
        tab = pa.concat_tables([t.replace_schema_metadata(None) for t in tabs])
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise _Fallback from exc

    def col(name):
        return _column(tab, names.index(name))

    s = col(cols["stock"])
    if not (pa.types.is_string(s.type) or pa.types.is_large_string(s.type)) or s.null_count:
        raise _Fallback
    s = s.cast(pa.string())
    total = len(s)
    # plain codes only (nothing to strip, no missing marker) sorted and distinct within each
    # file: the partition's row order without a sort (UTF-8 byte order is Python's str order).
    # A file listing the same stocks as the file before passes as it did: checked once (the
    # listed stocks change a few times a month, the files of a month repeat them)
    chunks = s.chunks
    if len(chunks) == len(n) and all(len(c) == k for c, k in zip(chunks, n, strict=True)):
        fresh = [c for i, c in enumerate(chunks) if i == 0 or not c.equals(chunks[i - 1])]
    else:  # not one chunk per file: every row
        fresh = None
    codes = s if fresh is None else pa.chunked_array(fresh, type=s.type)
    if not pc.all(pc.match_substring_regex(codes, r"^[0-9A-Za-z._-]+$")).as_py() or \
            pc.any(pc.is_in(codes, value_set=pa.array(["nan", "NaN", "None", "NaT"]))).as_py():
        raise _Fallback
    if fresh is not None:
        if any(len(c) > 1 and not pc.all(pc.less(c.slice(0, len(c) - 1), c.slice(1))).as_py()
               for c in fresh):
            raise _Fallback
    elif total > 1:
        up = pc.less(s.slice(0, total - 1), s.slice(1)).to_numpy(zero_copy_only=False)
        down = np.flatnonzero(~up) + 1  # a row not above the one before: a file's first
        if not np.isin(down, np.cumsum(n)[:-1]).all():
            raise _Fallback
    values: dict = {}
    empty = np.zeros(len(n), np.int64)
    if "market_cap" in cols:
        values["market_cap"] = _number_column(col(cols["market_cap"]), required=True,
                                              min_value=0.0)
        if "close" in cols:
            c = _number_column(col(cols["close"]), required=False, min_value=0.0)
            if c.null_count:
                f = np.repeat(np.arange(len(n)), n)
                empty = np.bincount(f, weights=c.is_null().to_numpy(zero_copy_only=False),
                                    minlength=len(n)).astype(np.int64)
        else:
            c = pa.nulls(total, pa.float64())
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
            sh = pa.nulls(total, pa.float64())
        values[f"net_buy_shares_{k}"] = sh
        if not v.null_count:
            every_row = True
        elif not every_row:
            has = pc.is_valid(v) if has is None else pc.or_(has, pc.is_valid(v))
    if not every_row and (has is None or not pc.all(has).as_py()):
        raise _Fallback  # a row without net buying: the per-file path splits or drops it
    return s, values, empty


def wide_batch(paths, ids, *, encoding: str | None = None, blobs=None) -> WideBatch | None:
    """Read clean wide daily Parquet files of one header, one day each, or None.

    Parameters
    ----------
    paths : list of path
    ids : sequence of int
        Store file id of each file (its ``src_*`` value).
    encoding : str, optional
        Only None / UTF-8 (Parquet ignores it).
    blobs : list, optional
        Per file its :class:`PreRead` (read ahead), or its ``pq.ParquetFile`` where already
        open, or None (open the file).

    Returns
    -------
    WideBatch or None
        None when any file needs the per-file path (nothing is recorded anywhere).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from datasets.arrow_long import _utf8
    from datasets.generic import wide_columns

    if not paths or not _utf8(encoding) or any(
            Path(p).suffix.lower() not in (".parquet", ".pq") for p in paths):
        return None
    try:
        names = [str(c).strip() for c in pq.read_schema(paths[0]).names]
        cols = wide_columns(names, row_kind="row") if len(set(names)) == len(names) else None
    except Exception:  # a bad header or file: the text loader words it
        return None
    if cols is None:
        return None
    workers = min(len(paths), os.cpu_count() or 1, 8)

    def read(p, b):
        if isinstance(b, PreRead):
            if list(b.names) != names:  # what _read_one decides for another header
                raise _Fallback
            return b.table, b.day
        return _read_one(p, names, cols["date"], b)

    try:
        with ThreadPoolExecutor(workers) as ex:
            got = list(ex.map(read, paths, blobs if blobs is not None else [None] * len(paths)))
            tabs = [t for t, _ in got]
            days = np.asarray([d for _, d in got], dtype=np.int64)
            n = np.asarray([t.num_rows for t in tabs], dtype=np.int64)
            del got
            month_of = np.asarray(days.astype("datetime64[ns]").astype("datetime64[M]")
                                  .astype(str), dtype=object)
            parts = {}
            for m in pd.unique(month_of):
                w = np.flatnonzero(month_of == m)
                parts[m] = w[np.argsort(days[w], kind="stable")]
            # each month's columns built and checked in a worker (Arrow outside the GIL)
            built = list(ex.map(lambda w: _month([tabs[i] for i in w], n[w], cols, names),
                                parts.values()))
    except (_Fallback, pa.ArrowException):  # anything Arrow refuses: the text loader words it
        return None
    empty = np.zeros(len(paths), np.int64)
    months = {}
    for (m, w), (stock, values, e) in zip(parts.items(), built, strict=True):
        empty[w] = e
        months[m] = _Month(ids=np.asarray(ids, dtype=np.int32)[w], days=days[w], n=n[w],
                           stock=stock, values=values)
    groups: dict[str, list[str]] = {}
    if "market_cap" in cols:
        groups["market"] = ["market_cap", "close"]
    for k in INVESTORS:
        if k in cols["net"]:
            groups[f"net_buy_{k}"] = [f"net_buy_{k}", f"net_buy_shares_{k}"]
    return WideBatch(ids=np.asarray(ids, dtype=np.int32), file_rows=n,
                     file_days=days.astype("datetime64[ns]"), empty_close=empty,
                     months=months, groups=groups, close="close" in cols)
