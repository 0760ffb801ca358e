"""Rows of a store's daily ``flows`` table as arrays, and its stock-grouped copy.

The store keeps ``flows`` as monthly partitions sorted by (date, stock) (:mod:`datasets.store`):
an appended day rewrites one month. Reading a few hundred of thousands of stocks from them
still decodes every partition's rows of every stock. ``flowbt data compact --store DIR`` writes
a derived, rebuildable copy grouped by stock::

    flows_by_stock/index.json    format, generation, the month compacted through, each
                                 compacted partition's identity (size, mtime_ns, inode) and
                                 columns, and which stocks each file holds, in row-group order
    flows_by_stock/g<ns>-bNNN.parquet
                                 a contiguous range of stocks (sorted), one row group per
                                 stock, its rows in date order; the value columns
                                 ``Store.flows`` reads (no ``src_*`` ids), uncompressed

Each compaction writes its files under new names (its generation ``g<ns>``), then replaces
``index.json`` (one atomic rename), then removes the previous generation's files: a reader
holding the old index finds its own files or none, never another generation's row groups
(and each row group read is checked to hold the stock the index names). A copy that cannot be
used (index unreadable, a file missing, damaged or not matching the index) is never trusted:
the read takes those months from the partitions instead and says so
(:attr:`FlowRows.copy_unusable`; ``Store.flows`` records it in its data-quality summary).

It is an LSM-like read cache, never the data of record: a read (:func:`read_flow_rows`) takes
from it only the months whose partitions are still the ones it was built from (same size,
mtime and inode: any rewrite by an import goes through a new file and an atomic rename), i.e.
up to the month before the first partition that changed, was added or was removed since, and
reads every later month from the partitions. So an import needs no hook to keep it right,
appended days are read from their partitions until the next compaction, and the panel read is
the same with or without it. Deleting ``flows_by_stock/`` removes it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["COMPACT_DIR", "FlowRows", "compact_flows", "compaction_status", "read_flow_rows"]

#: Directory of the stock-grouped copy inside a store.
COMPACT_DIR = "flows_by_stock"
INDEX = "index.json"
_FORMAT = 1
#: Stocks per file of the copy: one row group each, so a file's footer stays small (a few
#: hundred row groups x the value columns) and a read opens only files holding wanted stocks.
STOCKS_PER_FILE = 128
_THREADS = 4


@dataclass
class FlowRows:
    """Rows of ``flows`` as arrays, in pieces (one per file read; one row per (date, stock)
    over all pieces, in no particular order).

    Attributes
    ----------
    pieces : list of (date_ns, stock_code, values)
        ``date_ns`` int64 (n,): dates as nanoseconds since the epoch; ``stock_code`` intp
        (n,): positions in ``stocks``; ``values`` dict of value column -> float (n,). A
        column a piece lacks (a partition written before its group existed) is absent from
        its dict: NaN there.
    stocks : list of str
        Sorted stock codes the codes refer to (not all of them need to have rows).
    columns : list of str
        The value columns any piece has.
    compacted_months : list of str
        Months ('YYYY-MM') served by the stock-grouped copy (the others: the partitions).
    partition_months : list of str
        Months read from the monthly partitions.
    copy_unusable : str or None
        Why the copy present could not be used (its months were read from the partitions).
    """

    pieces: list
    stocks: list
    columns: list
    compacted_months: list = field(default_factory=list)
    partition_months: list = field(default_factory=list)
    copy_unusable: str | None = None

    @property
    def n_rows(self) -> int:
        return sum(len(d) for d, _, _ in self.pieces)

    def column(self, name: str) -> np.ndarray:
        """One value column over all rows (NaN where a piece lacks it), shape (n_rows,)."""
        return np.concatenate([v[name] if name in v else np.full(len(d), np.nan)
                               for d, _, v in self.pieces]) if self.pieces else np.zeros(0)


def file_identity(path: Path) -> list[int]:
    """(size, mtime_ns, inode) of ``path``: every store writer renames a new file into place,
    so a rewritten partition has another identity."""
    s = path.stat()
    return [int(s.st_size), int(s.st_mtime_ns), int(s.st_ino)]


def _month_range(month: str):
    """(first day, first day of the next month) of 'YYYY-MM', as datetime64[ns] int64."""
    lo = np.datetime64(month, "M")
    return (int(lo.astype("datetime64[ns]").astype(np.int64)),
            int((lo + 1).astype("datetime64[ns]").astype(np.int64)))


class CopyUnusable(Exception):
    """The stock-grouped copy cannot be used (message: the path and what is wrong)."""


def _load_index(store_path: Path) -> dict | None:
    """The copy's index, None when there is no copy (or one of another format).

    Raises
    ------
    CopyUnusable
        The index is unreadable or malformed (truncated, hand-edited).
    """
    p = store_path / COMPACT_DIR / INDEX
    if not p.is_file():
        return None
    try:
        doc = json.loads(p.read_text())
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            return None if isinstance(doc, dict) else _bad(p, "not a JSON object")
        ok = (isinstance(doc["through"], str) and isinstance(doc["columns"], list)
              and all(isinstance(r["ident"], list) and isinstance(r["columns"], list)
                      for r in doc["partitions"].values())
              and all(isinstance(f["name"], str) and isinstance(f["stocks"], list)
                      for f in doc["files"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise CopyUnusable(f"{p}: unreadable ({type(e).__name__}: {e})") from e
    return doc if ok else _bad(p, "malformed")


def _bad(path, why):
    raise CopyUnusable(f"{path}: {why}")


def _valid_months(index: dict, parts: dict[str, Path]) -> list[str]:
    """The compacted months still served by the copy: those before the first compacted
    partition that changed or was removed, and before any partition added among them."""
    done = index["partitions"]
    through = index["through"]
    bad = [m for m, rec in done.items() if m not in parts or file_identity(parts[m]) != rec["ident"]]
    bad += [m for m in parts if m <= through and m not in done]
    first_bad = min(bad) if bad else None
    return sorted(m for m in done if first_bad is None or m < first_bad)


def _month_filter(start, end):
    """Whether a month 'YYYY-MM' overlaps the inclusive date range ``[start, end]``."""
    import pandas as pd

    lo_ns = np.iinfo(np.int64).min if start is None else pd.Timestamp(start).as_unit("ns").value
    hi_ns = np.iinfo(np.int64).max if end is None else pd.Timestamp(end).as_unit("ns").value

    def in_range(m):
        a, b = _month_range(m)
        return b > lo_ns and a <= hi_ns

    return lo_ns, hi_ns, in_range


def compaction_status(store, *, start=None, end=None) -> dict:
    """What the stock-grouped copy of ``store`` serves now.

    Parameters
    ----------
    store : datasets.store.Store
    start, end : date-like, optional
        Count in ``months_after`` only the partitions overlapping these inclusive bounds.

    Returns
    -------
    dict
        ``compacted`` (bool), ``through`` (last compacted month or None), ``valid_through``
        (last month it still serves: earlier than ``through`` when an import rewrote a
        compacted month since), ``months_after`` (partitions read from ``flows/`` instead),
        ``damaged`` (None, or why the copy present cannot be used: every month is then read
        from the partitions).
    """
    _, _, in_range = _month_filter(start, end)
    parts = {p.stem: p for p in store.partitions("flows")}
    n_in = sum(1 for m in parts if in_range(m))
    try:
        index = _load_index(store.path)
        missing = [] if index is None else [
            f["name"] for f in index["files"]
            if not (store.path / COMPACT_DIR / f["name"]).is_file()]
        if missing:
            raise CopyUnusable(f"{store.path / COMPACT_DIR / missing[0]}: missing"
                               + (f" (and {len(missing) - 1} more files)"
                                  if len(missing) > 1 else ""))
    except CopyUnusable as e:
        return {"compacted": False, "through": None, "valid_through": None,
                "months_after": n_in, "damaged": str(e)}
    if index is None:
        return {"compacted": False, "through": None, "valid_through": None,
                "months_after": n_in, "damaged": None}
    ok = _valid_months(index, parts)
    vt = ok[-1] if ok else None
    return {"compacted": True, "through": index["through"], "valid_through": vt,
            "months_after": sum(1 for m in parts if (vt is None or m > vt) and in_range(m)),
            "damaged": None}


# -- reading -------------------------------------------------------------------------------
def _stock_codes(arr, wanted):
    """Codes of a dictionary-encoded stock column in ``wanted`` (sorted str), -1 if absent."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if not pa.types.is_dictionary(arr.type):
        arr = pc.dictionary_encode(arr)
    d = arr.dictionary
    pos = pc.fill_null(pc.index_in(d, value_set=pa.array(wanted, type=d.type)), -1)
    pos = pos.to_numpy(zero_copy_only=False).astype(np.intp)
    idx = arr.indices.to_numpy(zero_copy_only=False)
    return pos[idx]


def _date_ns(col) -> np.ndarray:
    import pyarrow as pa

    col = col.cast(pa.timestamp("ns")) if col.type != pa.timestamp("ns") else col
    return col.to_numpy().astype("datetime64[ns]").view(np.int64) if len(col) else np.zeros(
        0, np.int64)


def _values(col, rows=None) -> np.ndarray:
    """A float column as NumPy (nulls as NaN), only ``rows`` (positions) when given."""
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray) and col.num_chunks == 1:
        col = col.chunk(0)  # no concatenation copy
    a = col.to_numpy(zero_copy_only=False)
    a = a if a.dtype.kind == "f" else a.astype(np.float64)
    return a if rows is None else a[rows]


def _read_partition(path: Path, columns, wanted, lo_ns, hi_ns):
    """One monthly partition's rows of ``wanted`` stocks in ``[lo_ns, hi_ns]``."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path, read_dictionary=["stock"])
    have = set(pf.schema_arrow.names)
    t = pf.read(columns=["date", "stock"] + [c for c in columns if c in have])
    code = _stock_codes(t["stock"], wanted)
    d = _date_ns(t["date"])
    keep = (code >= 0) & (d >= lo_ns) & (d <= hi_ns)
    rows = np.flatnonzero(keep)
    return (d[rows], code[rows], {c: _values(t[c], rows) for c in columns if c in have},
            pf.schema_arrow.names)


def _read_compacted(store_path: Path, index: dict, columns, wanted, lo_ns, hi_ns):
    """The copy's rows of ``wanted`` stocks in ``[lo_ns, hi_ns]``: only their row groups.

    Raises
    ------
    CopyUnusable
        A file is missing or unreadable, or a row group read does not hold the stock the
        index names (a file of another generation, or damaged).
    """
    import pyarrow.parquet as pq

    want = set(wanted)
    pos = {s: i for i, s in enumerate(wanted)}
    jobs = []
    for f in index["files"]:
        rgs = [i for i, s in enumerate(f["stocks"]) if s in want]
        if rgs:
            jobs.append((store_path / COMPACT_DIR / f["name"], rgs,
                         [pos[f["stocks"][i]] for i in rgs]))
    have = index["columns"]
    cols = [c for c in columns if c in have]

    def one(job):
        path, rgs, expect = job
        try:
            # mapped, uncompressed pages: decoding is one copy of each value
            pf = pq.ParquetFile(path, read_dictionary=["stock"], memory_map=True)
            n = [pf.metadata.row_group(i).num_rows for i in rgs]
            t = pf.read_row_groups(rgs, columns=["date", "stock"] + cols)
            code = _stock_codes(t["stock"], wanted)
        except Exception as e:  # any failure to read a derived copy: not trusted
            raise CopyUnusable(f"{path}: unreadable ({type(e).__name__}: {e})") from e
        # each row group holds the stock the index names, all its rows (never a shifted one)
        if len(code) != sum(n) or not np.array_equal(code, np.repeat(expect, n)):
            raise CopyUnusable(f"{path}: its row groups do not hold the stocks {INDEX} lists")
        d = _date_ns(t["date"])
        rows = np.flatnonzero((d >= lo_ns) & (d <= hi_ns) & (code >= 0))
        if len(rows) == len(d):
            return d, code, {c: _values(t[c]) for c in cols}, ()
        return d[rows], code[rows], {c: _values(t[c], rows) for c in cols}, ()

    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(_THREADS, len(jobs))) as ex:
        return list(ex.map(one, jobs))


def _all_stocks(paths) -> list:
    """Sorted distinct stock codes of the partitions (their dictionaries only)."""
    import pyarrow.parquet as pq

    seen: set = set()
    for p in paths:
        col = pq.ParquetFile(p, read_dictionary=["stock"]).read(columns=["stock"])["stock"]
        for ch in col.chunks:
            seen.update(ch.dictionary.to_pylist())
    seen.discard(None)
    return sorted(str(s) for s in seen)


def read_flow_rows(store, columns, *, stocks=None, start=None, end=None,
                   use_compacted: bool = True) -> FlowRows:
    """The rows of ``store``'s ``flows`` table: ``columns`` (value columns; absent ones are
    left out), only ``stocks`` (all by default) and dates in ``[start, end]``.

    The stock-grouped copy (when present, and ``stocks`` given) serves the months it still
    holds unchanged; the monthly partitions serve the rest. The rows are the same either way.

    Parameters
    ----------
    store : datasets.store.Store
    columns : sequence of str
        Value columns (``market_cap``, ``net_buy_<investor>``, ...), float.
    stocks : sequence of str, optional
    start, end : date-like, optional
        Inclusive bounds.
    use_compacted : bool
        False reads the monthly partitions only (the reference the copy is tested against).

    Returns
    -------
    FlowRows
    """
    lo_ns, hi_ns, in_range = _month_filter(start, end)
    parts = {p.stem: p for p in store.partitions("flows")}
    unusable = None
    try:
        index = _load_index(store.path) if (use_compacted and stocks is not None) else None
        # validity against every partition (a month outside the range may have been removed)
        served: list[str] = _valid_months(index, parts) if index is not None else []
    except (CopyUnusable, KeyError, TypeError, ValueError) as e:
        index, served, unusable = None, [], str(e)
    served = [m for m in served if in_range(m)]
    parts = {m: p for m, p in parts.items() if in_range(m)}
    pieces = []
    present: list[str] = []

    def note(cols):
        present.extend(c for c in cols if c not in present)

    wanted = sorted({str(s) for s in stocks}) if stocks is not None else _all_stocks(
        parts.values())
    if served:
        # only months still served; a compacted month an import rewrote (and all later ones)
        # comes from its partition
        a = max(lo_ns, _month_range(served[0])[0])
        b = min(hi_ns, _month_range(served[-1])[1] - 1)
        try:
            pieces += _read_compacted(store.path, index, columns, wanted, a, b)
        except CopyUnusable as e:  # never trusted: these months come from the partitions
            served, unusable = [], str(e)
        for m in served:  # the columns the partitions had (a group added later is absent)
            note(index["partitions"][m]["columns"])
    rest_months = [m for m in sorted(parts) if m not in set(served)]
    rest = [parts[m] for m in rest_months]
    if rest:
        with ThreadPoolExecutor(max_workers=min(_THREADS, len(rest))) as ex:
            got = list(ex.map(lambda p: _read_partition(p, columns, wanted, lo_ns, hi_ns), rest))
        pieces += got
        for g in got:
            note(g[3])
    # the pieces as read: the caller scatters each into its grid (no concatenated copy of
    # millions of rows, whose fresh pages cost more than the copy)
    return FlowRows(pieces=[p[:3] for p in pieces], stocks=wanted,
                    columns=[c for c in columns if c in present], compacted_months=served,
                    partition_months=rest_months,
                    copy_unusable=unusable)


# -- writing -------------------------------------------------------------------------------
def compact_flows(store, *, stocks_per_file: int = STOCKS_PER_FILE) -> dict:
    """(Re)build ``store``'s stock-grouped copy of every ``flows`` partition now present.

    Memory stays bounded: each partition is read once and split into per-file spill files,
    then each file's rows are sorted by (stock, date) and written one row group per stock.
    The new generation's files are moved in under new names, then ``index.json`` is
    replaced (one atomic rename), then the previous generation's files are removed: a reader
    sees the old index with its files (or, once they are removed, none: it then reads the
    partitions) or the new one.

    Returns
    -------
    dict
        ``through`` (last month compacted), ``months``, ``stocks``, ``files``, ``rows``,
        ``bytes`` (size of the copy on disk).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = {p.stem: p for p in store.partitions("flows")}
    root = store.path / COMPACT_DIR
    tmp = store.path / (COMPACT_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    if not parts:
        shutil.rmtree(root, ignore_errors=True)
        return {"through": None, "months": 0, "stocks": 0, "files": 0, "rows": 0, "bytes": 0}
    months = sorted(parts)
    idents = {m: file_identity(parts[m]) for m in months}
    schemas = {m: pq.read_schema(parts[m]) for m in months}
    value_cols: list[str] = []
    ftype = {}
    for m in months:
        for f in schemas[m]:
            if f.name not in ("date", "stock") and not f.name.startswith("src_") \
                    and f.name not in value_cols:
                value_cols.append(f.name)
                # values are float (the merge writes float64 or the store's dtype)
                ftype[f.name] = f.type if pa.types.is_floating(f.type) else pa.float64()
    universe = _all_stocks(parts.values())
    B = max(1, int(stocks_per_file))
    n_files = (len(universe) + B - 1) // B
    # a new name for every compaction: a reader holding the previous index never opens
    # these files as its own
    gen = f"g{time.time_ns()}"
    names = [f"{gen}-b{i:03d}.parquet" for i in range(n_files)]
    schema = pa.schema([("date", pa.timestamp("ns")), ("stock", pa.string())]
                       + [(c, ftype[c]) for c in value_cols])
    (tmp / "spill").mkdir(parents=True)
    spills = [pq.ParquetWriter(tmp / "spill" / n, schema, compression="none",
                               use_dictionary=False, write_statistics=False) for n in names]
    rows = 0
    try:
        for m in months:
            # every partition once: its rows split by file of stocks, in (date, stock) order
            t = pq.read_table(parts[m], columns=["date", "stock"] + [
                c for c in value_cols if c in schemas[m].names])
            code = _stock_codes(t["stock"].cast(pa.string()), universe)
            cols = {"date": t["date"].cast(pa.timestamp("ns")),
                    "stock": t["stock"].cast(pa.string())}
            for c in value_cols:
                cols[c] = (t[c].cast(ftype[c]) if c in t.column_names
                           else pa.nulls(len(t), ftype[c]).fill_null(float("nan")))
            t = pa.table(cols, schema=schema)
            fi = code // B
            order = np.argsort(fi, kind="stable")
            bounds = np.searchsorted(fi[order], np.arange(n_files + 1))
            for i in range(n_files):
                a, b = bounds[i], bounds[i + 1]
                if b > a:
                    spills[i].write_table(t.take(order[a:b]))
            rows += len(t)
    finally:
        for w in spills:
            w.close()
    files = []
    for n in names:
        t = pq.read_table(tmp / "spill" / n)
        code = _stock_codes(t["stock"], universe)
        # stable by stock: the spill is in date order (months ascending, dates within)
        order = np.argsort(code, kind="stable")
        t = t.take(order)
        code = code[order]
        own = sorted(set(np.unique(code).tolist()))
        bounds = np.searchsorted(code, own + [own[-1] + 1])
        # uncompressed: a read cache, decoded faster than snappy pages (float values barely
        # compress); no statistics, so a footer is row groups x columns of offsets only
        with pq.ParquetWriter(tmp / n, schema, compression="none",
                              use_dictionary=["stock"], write_statistics=False) as w:
            for j in range(len(own)):
                w.write_table(t.slice(bounds[j], bounds[j + 1] - bounds[j]),
                              row_group_size=max(1, bounds[j + 1] - bounds[j]))
        files.append({"name": n, "stocks": [universe[c] for c in own]})
        os.remove(tmp / "spill" / n)
        del t
    (tmp / "spill").rmdir()
    doc = {"format": _FORMAT, "generation": gen, "through": months[-1], "columns": value_cols,
           "partitions": {m: {"ident": idents[m], "columns": [
               c for c in schemas[m].names if c in value_cols]} for m in months},
           "files": files}
    # fresh identities: a partition rewritten while this ran must not be taken as compacted
    if any(file_identity(parts[m]) != idents[m] for m in months if parts[m].is_file()):
        shutil.rmtree(tmp)
        from engine.errors import DataError

        raise DataError("flows partitions were rewritten while compacting (an import ran)",
                        file=str(store.path), fix="run `flowbt data compact` again")
    root.mkdir(exist_ok=True)
    for n in names:  # new names: nothing a reader of the current index opens
        os.replace(tmp / n, root / n)
    (root / (INDEX + ".tmp")).write_text(json.dumps(doc) + "\n")
    os.replace(root / (INDEX + ".tmp"), root / INDEX)  # the swap: one atomic rename
    shutil.rmtree(tmp, ignore_errors=True)
    # the previous generations' files (a reader still holding their index reads the
    # partitions instead); the directory left by the rename-based swap of older versions
    keep = set(names)
    for p in root.glob("*.parquet"):
        if p.name not in keep:
            p.unlink(missing_ok=True)
    shutil.rmtree(store.path / (COMPACT_DIR + ".old"), ignore_errors=True)
    size = sum((root / n).stat().st_size for n in names) + (root / INDEX).stat().st_size
    return {"through": months[-1], "months": len(months), "stocks": len(universe),
            "files": n_files, "rows": rows, "bytes": size}
