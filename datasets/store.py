"""The flowbt store: one versioned, partitioned Parquet directory for imported and synthetic data.

``flowbt data import`` (real files) and ``flowbt data synth`` (the synthetic market) write the
same layout, and every command reads it with :func:`open_store` (``[data] source = "store"``,
``flowbt signals --store DIR``).

Layout (format version 3)::

    manifest.json            format_version, fingerprint (the hash of the file records),
                             dtype, currency, calendar, the investors and per-table column
                             groups present, every imported file (id, name, fingerprint of
                             bytes + import options, kind, rows) and, for a synthetic store,
                             the generator's parameters
    flows/YYYY-MM.parquet    daily panel, one row per (date, stock): market_cap, close (KRW),
                             net_buy_<investor> (KRW), net_buy_shares_<investor> (shares)
    periods/all.parquet      period totals (a KRX query over several sessions): start, end,
                             stock, net_buy_<investor>, net_buy_shares_<investor>
    holdings/YYYY.parquet    etf, effective_date, stock, weight (fraction, cash removed)
    etfs/YYYY.parquet        date, etf, close, nav, shares_outstanding, volume, flow
    prices/YYYY.parquet      date, asset, close
    stocks.parquet, etf_info.parquet, signal.parquet   synthetic side tables (optional)
    flows_by_stock/          optional derived copy of flows grouped by stock (``flowbt data
                             compact``, :mod:`datasets.flows_by_stock`): reads of a few
                             stocks use it for the months it still holds unchanged

Every value column belongs to a *group* (``market`` = market_cap + close; ``net_buy_foreign`` =
the KRW and share columns of one investor; one group per ETF field) and each group has a
``src_<group>`` int32 column: the id of the file that gave the value, -1 where no file did
(the value is then NaN). Rules:

* **Idempotent.** A file whose fingerprint (bytes + kind + import options) is already in the
  manifest is skipped; rows equal to the stored ones change nothing.
* **Conflicts.** Two files giving different values for the same key and group raise a
  :class:`~engine.errors.DataError` naming both files, the date, stock and column.
* **Incremental.** An import rewrites only the partitions its rows fall in (a new day rewrites
  one month of ``flows``), each through a temporary file and an atomic rename; the manifest is
  written last.
* **Order-free.** Partitions are sorted by their keys, so the stored values do not depend on the
  order files were imported in (only the ``src_*`` ids do).
* **Period totals are never daily flows.** A net-purchases total over several sessions goes to
  ``periods``; one that overlaps daily rows of the same investor (or the reverse) is refused,
  naming the file and period.
* **Holdings are snapshots.** An (etf, effective_date) snapshot already in the store must be
  re-imported identically (same stocks, same weights) or it is a conflict.

Reading (:class:`Store`) is point in time: the market cap of a stock-day that has net buying
but no market cap may come from an earlier snapshot at most ``max_stale_sessions`` sessions old
(XKRX sessions for KRW data), each such use counted in the data-quality summary; nothing else
is filled.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.investors import INVESTORS
from engine.market import ConstituentFlows, EtfData, Holdings, Market

__all__ = ["FORMAT_VERSION", "MANIFEST", "TABLES", "PeriodTotal", "Store", "create_store",
           "file_fingerprint", "open_store", "merge_rows"]

#: Store format version written to manifest.json (:func:`create_store`).
FORMAT_VERSION = 3
#: The versions :func:`open_store` reads, with the hash that fingerprints their files and
#: the key of that fingerprint in a file's record. Format 2 is format 3 with SHA-256
#: fingerprints: a format-2 store stays format 2 (an import into it hashes as it always did,
#: so a file imported before is still skipped, and an older flowbt still reads it). Format 3
#: hashes with XXH3-128 (``xxhash``), an order of magnitude faster than SHA-256, whose hashing
#: of every file was a tenth of a bulk import's CPU time. The fingerprint only recognises a
#: file imported before (an accidental collision is ~2**-64 likely even for 2**32 files):
#: nothing here needs a cryptographic hash.
FINGERPRINTS: dict[int, tuple[str, str]] = {2: ("sha256", "sha256"),
                                             3: ("xxh3_128", "fingerprint")}
MANIFEST = "manifest.json"
#: src id of the synthetic generator (imported files get 1, 2, ...); -1 = no value.
SYNTHETIC_SRC = 0


@dataclass(frozen=True)
class TableSpec:
    keys: tuple[str, ...]
    partition: str  # "month" | "year" | "all"
    date_key: str | None  # key the partition is taken from


TABLES: dict[str, TableSpec] = {
    "flows": TableSpec(("date", "stock"), "month", "date"),
    "periods": TableSpec(("start", "end", "stock"), "all", None),
    "holdings": TableSpec(("etf", "effective_date", "stock"), "year", "effective_date"),
    "etfs": TableSpec(("date", "etf"), "year", "date"),
    "prices": TableSpec(("date", "asset"), "year", "date"),
}


def new_hash(algorithm: str = "xxh3_128"):
    """A new hash object of ``algorithm`` (``"xxh3_128"`` or ``"sha256"``, see
    :data:`FINGERPRINTS`): ``update``, ``copy`` and ``hexdigest`` as hashlib's, and both
    release the GIL on large buffers (threads hash files side by side)."""
    if algorithm == "xxh3_128":
        import xxhash

        return xxhash.xxh3_128()
    if algorithm == "sha256":
        return hashlib.sha256()
    raise ValueError(f"unknown fingerprint hash {algorithm!r}")


def file_fingerprint(path, kind: str, options: Mapping | None = None, *,
                     content=None, algorithm: str = "xxh3_128") -> str:
    """Hash of a file's bytes, its kind and the import options (``--effective-date`` ...),
    hex.

    ``content``: a hash object (:func:`new_hash` of ``algorithm``) already fed the file's
    bytes (:func:`content_hash`, computed ahead in a thread), used instead of reading the
    file again.
    """
    h = content.copy() if content is not None else content_hash(path, algorithm)
    h.update(json.dumps({"kind": kind, **dict(options or {})}, sort_keys=True,
                        default=str).encode())
    return h.hexdigest()


def content_hash(path, algorithm: str = "xxh3_128"):
    """A :func:`new_hash` of ``algorithm`` fed the bytes of ``path``."""
    h = new_hash(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h


_FILES_MARK = "\x00files\x00"


def manifest_text(doc: dict, cache: list | None = None) -> str:
    """``json.dumps(doc, indent=2, ensure_ascii=False, default=str) + "\\n"``, the manifest's
    text, with each ``files`` record serialized once per store: an import writes the manifest
    after every batch and the list grows to one record per file (7,500+ at the issue's
    scale), which the indenting encoder (pure Python) would re-serialize each time.

    ``cache`` holds ``(record, text)`` pairs; a record is reused while it is the same object
    at the same position (records are final once in the manifest).
    """
    files = doc.get("files")
    dumps = lambda v: json.dumps(v, indent=2, ensure_ascii=False, default=str)  # noqa: E731
    if not isinstance(files, list) or not files or cache is None:
        return dumps(doc) + "\n"
    texts = []
    for i, rec in enumerate(files):
        if i < len(cache) and cache[i][0] is rec:
            texts.append(cache[i][1])
            continue
        # a record two levels deep: its lines after the first indented by 4 more spaces
        texts.append(dumps(rec).replace("\n", "\n    "))
        del cache[i:]
        cache.append((rec, texts[-1]))
    del cache[len(files):]
    body = "[\n    " + ",\n    ".join(texts) + "\n  ]"
    head = dumps({**doc, "files": _FILES_MARK})
    return head.replace(json.dumps(_FILES_MARK), body, 1) + "\n"


def _partition_names(spec: TableSpec, frame: pd.DataFrame) -> np.ndarray:
    if spec.partition == "all":
        return np.full(len(frame), "all", dtype=object)
    # format each distinct month/year once (strftime per row was a tenth of an import)
    unit = "Y" if spec.partition == "year" else "M"
    per = pd.DatetimeIndex(frame[spec.date_key]).to_numpy().astype(f"datetime64[{unit}]")
    uniq, inv = np.unique(per, return_inverse=True)
    names = np.asarray([str(u) for u in uniq], dtype=object)  # '2021' / '2021-01'
    return names[inv.reshape(-1)]


def _key_codes(frame: pd.DataFrame, keys) -> np.ndarray:
    """One int64 per row whose order is the lexicographic order of ``keys``."""
    code = np.zeros(len(frame), dtype=np.int64)
    for k in keys:
        c, uniq = pd.factorize(frame[k], sort=True)
        code = code * max(len(uniq), 1) + c
    return code


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Element-wise equality with NaN == NaN (exact: re-reading a file gives the same bits)."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def merge_rows(frames: list[pd.DataFrame], keys, groups: Mapping[str, list[str]],
               file_names: Mapping[int, str]) -> pd.DataFrame:
    """Merge partition rows from several sources into one frame sorted by ``keys``.

    Parameters
    ----------
    frames : list of DataFrame
        Each has the ``keys`` columns, and for some groups their value columns and
        ``src_<group>`` (int32; -1 where the row has no value for the group).
    keys : sequence of str
    groups : mapping group -> value columns
    file_names : mapping src id -> file name, for conflict messages

    Returns
    -------
    DataFrame
        One row per distinct key (sorted), every group's columns (NaN / -1 where no source
        gave a value).

    Raises
    ------
    DataError
        Two sources give different values for one key and group: names both files, the key
        and the column.
    """
    allr = _stack(frames, keys, groups)
    code = _key_codes(allr, keys)
    if len(code) and bool((code[1:] > code[:-1]).all()):
        return _merge_sorted(allr, keys, groups)
    order = np.argsort(code, kind="stable")
    code = code[order]
    first = np.ones(len(code), dtype=bool)
    first[1:] = code[1:] != code[:-1]
    ukey = np.flatnonzero(first)
    out = allr.iloc[order[ukey]][list(keys)].reset_index(drop=True)
    slot = np.cumsum(first) - 1  # output row of each sorted row
    vals: dict[str, np.ndarray] = {}
    # groups in a fixed order (investors canonical): the files do not depend on import order
    for g in sorted(groups, key=_group_order):
        cols = groups[g]
        src = allr[f"src_{g}"].to_numpy()[order]
        has = src >= 0
        o = order[has]
        s = slot[has]
        src_h = src[has]
        dup = np.flatnonzero(s[1:] == s[:-1])
        if len(dup) and (src_h[dup] > src_h[dup + 1]).any():
            # sources of one key in file order (files get increasing ids): the first file
            # wins and conflicts name the earlier file first, whatever the frames' order
            # (a batch of files arrives as one frame)
            o2 = np.lexsort((src_h, s))
            o, s, src_h = o[o2], s[o2], src_h[o2]
            dup = np.flatnonzero(s[1:] == s[:-1])
        if len(dup):
            for c in cols:
                v = allr[c].to_numpy(np.float64)[o]
                bad = dup[~_same(v[dup], v[dup + 1])]
                if len(bad):
                    j = int(bad[0])
                    r = allr.iloc[o[j]]
                    where = ", ".join(f"{k} {_fmt(r[k])}" for k in keys)
                    raise DataError(
                        f"{file_names.get(int(src_h[j]), src_h[j])} and "
                        f"{file_names.get(int(src_h[j + 1]), src_h[j + 1])} disagree on {where}: "
                        f"{float(v[j])!r} vs {float(v[j + 1])!r} ({len(bad)} such rows)",
                        file=file_names.get(int(src_h[j + 1])), column=c,
                        fix="keep one of the two files (remove the store and re-import "
                            "without the wrong one)")
        keep = np.ones(len(s), dtype=bool)
        keep[1:] = s[1:] != s[:-1]
        # every output row given by exactly one source (rows in key order): a gather
        full = len(s) == len(out) and bool(keep.all())
        out_src = np.full(len(out), -1, dtype=np.int32)
        out_src[s[keep]] = src_h[keep]
        for c in cols:
            dt = allr[c].dtype if allr[c].dtype.kind == "f" else np.float64
            if full:
                vals[c] = allr[c].to_numpy().astype(dt, copy=False)[o]
            else:
                col = np.full(len(out), np.nan, dtype=dt)
                col[s[keep]] = allr[c].to_numpy()[o[keep]]
                vals[c] = col
        vals[f"src_{g}"] = out_src
    # one frame of the value columns, not one insert per column (~40 per partition)
    return pd.concat([out, pd.DataFrame(vals, index=out.index, copy=False)], axis=1)


def _merge_sorted(allr: pd.DataFrame, keys, groups: Mapping[str, list[str]]) -> pd.DataFrame:
    """:func:`merge_rows` of rows whose keys are already distinct and sorted (a new partition
    of one batch of files): each row is its key's only source, so the merge keeps every row
    and, per group, its value where the row has a source (NaN, src -1 elsewhere)."""
    out = allr[list(keys)].reset_index(drop=True)
    vals: dict[str, np.ndarray] = {}
    for g in sorted(groups, key=_group_order):
        src = allr[f"src_{g}"].to_numpy()
        has = src >= 0
        for c in groups[g]:
            dt = allr[c].dtype if allr[c].dtype.kind == "f" else np.float64
            v = np.array(allr[c].to_numpy(), dtype=dt)  # a copy, as the general path's
            v[~has] = np.nan
            vals[c] = v
        vals[f"src_{g}"] = np.where(has, src, -1).astype(np.int32)
    return pd.concat([out, pd.DataFrame(vals, index=out.index, copy=False)], axis=1)


def _stack(frames: list[pd.DataFrame], keys, groups: Mapping[str, list[str]]) -> pd.DataFrame:
    """The frames one under the other, with every group's columns (NaN values and src -1
    where a frame lacks the group): column by column in NumPy, as ``pd.concat`` of the
    completed frames gives it but without copying each frame first and aligning columns."""
    runs: list[list[pd.DataFrame]] = []
    for f in frames:  # consecutive frames with the same columns (one kind of daily file)
        if runs and list(runs[-1][0].columns) == list(f.columns):
            runs[-1].append(f)
        else:
            runs.append([f])
    # pandas stacks same-column frames block by block; order is kept (first source wins)
    frames = [r[0] if len(r) == 1 else pd.concat(r, ignore_index=True) for r in runs]
    n = [len(f) for f in frames]
    cols: dict[str, np.ndarray] = {}
    # only the keys and the groups' columns: nothing else reaches the merged partition
    for c in list(keys) + [c for g, cs in groups.items() for c in [*cs, f"src_{g}"]]:
        have = [f[c].to_numpy() if c in f.columns else None for f in frames]
        parts = []
        for a, m, f in zip(have, n, frames, strict=True):
            if a is None and c in keys:
                raise KeyError(f"key column {c!r} missing from rows to merge ({list(f.columns)})")
            parts.append(a if a is not None else np.full(m, -1, np.int32)
                         if c.startswith("src_") else np.full(m, np.nan))
        cols[c] = parts[0] if len(parts) == 1 else np.concatenate(parts)
    return pd.DataFrame(cols, copy=False)


def _read_filtered(path: Path, columns, isin: Mapping[str, list]):
    """One partition's ``columns`` (Arrow table), only rows whose ``isin`` columns hold one of
    the values."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.ParquetFile(path).read(columns=columns)
    mask = None
    for c, v in isin.items():
        m = pc.is_in(t[c], value_set=pa.array(list(v), type=t.schema.field(c).type))
        mask = m if mask is None else pc.and_(mask, m)
    return t.filter(mask)


def _date_positions(pieces: list[np.ndarray]):
    """The sorted distinct dates of ``pieces`` (int64 ns arrays) and a function giving the
    position among them of each date of a piece.

    Midnight dates (always, in a store) go through a table of days between the first and the
    last one; anything else through the sorted distinct values. Neither sorts the rows.
    """
    day = np.int64(86_400_000_000_000)
    lo = min(int(d.min()) for d in pieces)
    hi = max(int(d.max()) for d in pieces)
    if lo % day == 0 and (hi - lo) // day < 1_000_000 and not any(
            (d % day).any() for d in pieces):
        seen = np.zeros(int((hi - lo) // day) + 1, dtype=bool)
        for d in pieces:
            seen[(d - lo) // day] = True
        table = np.cumsum(seen) - 1
        u = lo + np.flatnonzero(seen).astype(np.int64) * day
        return (lambda d: table[(d - lo) // day]), pd.DatetimeIndex(u.astype("datetime64[ns]"))
    u = np.unique(np.concatenate([np.unique(d) for d in pieces]))
    return (lambda d: np.searchsorted(u, d)), pd.DatetimeIndex(u.astype("datetime64[ns]"))


def _group_order(g: str):
    k = g[len("net_buy_"):]
    return (1, INVESTORS.index(k), "") if g.startswith("net_buy_") and k in INVESTORS else (
        0, 0, g)


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return str(v)


def _write_atomic(frame: pd.DataFrame, path: Path) -> None:
    """Write a partition frame (as ``frame.to_parquet(index=False)`` converts it)."""
    import pyarrow as pa

    write_table_atomic(pa.Table.from_pandas(frame, preserve_index=False), path)


def write_table_atomic(table, path: Path) -> None:
    """Write a partition's Arrow table through a temporary file and an atomic rename.

    The one writer of every partition: a table converted from a merged frame and one built
    directly in Arrow (:mod:`datasets.arrow_wide`) with the same schema and one chunk per
    column give the same bytes.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.tmp")
    # dictionary-encode the keys only: trying it on every float column (pyarrow's default,
    # abandoned once a dictionary grows too big) made writing 2.6x slower and the files
    # larger. The src ids (one file's id over its run of rows) are PLAIN: snappy folds the
    # runs to the same size, and dictionary-encoding the 13 of a wide flows partition only
    # cost writing time. Min/max statistics for the keys (the columns neither float nor src)
    # only: nothing reads a value column's or a src id's (partitions are read whole and
    # filtered in Arrow), and computing them was ~10% of writing a flows partition
    src = [f.name for f in table.schema if f.name.startswith("src_")]
    stat_cols = [f.name for f in table.schema
                 if not pa.types.is_floating(f.type) and f.name not in src]
    pq.write_table(table, tmp, compression="snappy", use_dictionary=stat_cols,
                   write_statistics=stat_cols, column_encoding=dict.fromkeys(src, "PLAIN"))
    os.replace(tmp, path)


@dataclass(frozen=True)
class PeriodTotal:
    """Net buying summed over a query period of several sessions (a KRX period total).

    ``flows`` is a one-row :class:`ConstituentFlows` dated at the period's first session,
    holding the totals and the market caps known at that session.
    """

    start: pd.Timestamp
    end: pd.Timestamp
    flows: ConstituentFlows


def _read_holdings_parts(paths, cols) -> list | None:
    """The holdings partitions ``paths`` read at once, as one Arrow table in a list, with
    ``etf`` and ``stock`` dictionary-encoded; ``None`` when their schemas differ (the caller
    reads them one by one and pandas aligns them).

    One ``pyarrow.dataset`` scan reads the files on Arrow's thread pool side by side (a
    year partition is too small for one file's read to use the threads); its fragments come
    back in the order of ``paths``.
    """
    import pyarrow.dataset as ds
    import pyarrow.parquet as pq

    if not paths:
        return None
    schemas = [pq.read_schema(p) for p in paths]
    if any(not s.equals(schemas[0], check_metadata=False) for s in schemas[1:]):
        return None
    fmt = ds.ParquetFileFormat(read_options=ds.ParquetReadOptions(
        dictionary_columns=["etf", "stock"]))
    return [ds.dataset([str(p) for p in paths], format=fmt).to_table(columns=cols)]


class Store:
    """A store directory: import into it (:meth:`add_rows`) and read from it."""

    def __init__(self, path, manifest: dict):
        self.path = Path(path)
        self.manifest = manifest
        self._file_texts: list[tuple[dict, str]] = []  # see manifest_text

    # -- manifest ------------------------------------------------------------------------
    @property
    def files(self) -> list[dict]:
        return self.manifest.setdefault("files", [])

    def file_names(self) -> dict[int, str]:
        names = {SYNTHETIC_SRC: "the synthetic generator"}
        names.update({f["id"]: f["name"] for f in self.files})
        return names

    @property
    def fingerprint(self) -> tuple[str, str]:
        """``(hash, record key)`` of this store's file fingerprints (:data:`FINGERPRINTS`)."""
        return FINGERPRINTS[self.manifest["format_version"]]

    def fingerprints(self) -> set[str]:
        """The fingerprints of the files in the store."""
        key = self.fingerprint[1]
        return {f[key] for f in self.files}

    def groups(self, table: str) -> dict[str, list[str]]:
        return self.manifest.setdefault("groups", {}).setdefault(table, {})

    def write_manifest(self, text: str | None = None) -> None:
        """Write the manifest (atomically); ``text``: a :meth:`manifest_text` taken earlier
        (an import writes the manifest of a batch once that batch's partitions are on disk)."""
        tmp = self.path / (MANIFEST + ".tmp")
        tmp.write_text(self.manifest_text() if text is None else text)
        os.replace(tmp, self.path / MANIFEST)

    def manifest_text(self) -> str:
        """The manifest's text as it is now (what :meth:`write_manifest` would write)."""
        return manifest_text(self.manifest, self._file_texts)

    def partitions(self, table: str) -> list[Path]:
        d = self.path / table
        return sorted(d.glob("*.parquet")) if d.is_dir() else []

    # -- writing -------------------------------------------------------------------------
    def plan_rows(self, table: str, rows: pd.DataFrame | list[pd.DataFrame],
                  groups: Mapping[str, list[str]]) -> list[tuple[Path, pd.DataFrame]]:
        """The partitions that merging ``rows`` (one frame or several, e.g. one per file)
        into ``table`` would write (nothing written).

        Raises :class:`DataError` on a conflict; see :func:`merge_rows`.
        """
        spec = TABLES[table]
        known = self.groups(table)
        for g, cols in groups.items():
            known.setdefault(g, list(cols))
        names = self.file_names()
        pieces: dict[str, list[pd.DataFrame]] = {}
        for frame in [rows] if isinstance(rows, pd.DataFrame) else rows:
            part = _partition_names(spec, frame)
            uniq = pd.unique(part)
            if len(uniq) == 1:  # a daily file: one partition, no split
                pieces.setdefault(uniq[0], []).append(frame)
                continue
            starts = np.flatnonzero(np.r_[True, part[1:] != part[:-1]])
            if len(starts) == len(uniq):  # each partition's rows together (a batch of
                # days in date order): slices, not a boolean selection per partition
                for a, b in zip(starts, [*starts[1:], len(part)], strict=True):
                    pieces.setdefault(part[a], []).append(frame.iloc[a:b])
                continue
            for p in uniq:
                pieces.setdefault(p, []).append(frame.loc[part == p])
        plan = []
        for p in sorted(pieces):
            path = self.path / table / f"{p}.parquet"
            frames = [pd.read_parquet(path)] if path.is_file() else []
            merged = merge_rows(frames + pieces[p], spec.keys, known, names)
            if frames and merged.shape == frames[0].shape and merged.equals(frames[0]):
                continue  # nothing new: leave the file untouched
            plan.append((path, merged))
        return plan

    def add_rows(self, table: str, rows: pd.DataFrame, groups: Mapping[str, list[str]]) -> int:
        """Merge ``rows`` (keys, group values, ``src_<group>``) into ``table``.

        Only the partitions the rows fall in are read and rewritten (atomically, one by one).
        Returns the number of partitions written.
        """
        plan = self.plan_rows(table, rows, groups)
        for path, frame in plan:
            _write_atomic(frame, path)
        return len(plan)

    def read_table(self, table: str, *, start=None, end=None, columns=None,
                   isin: Mapping[str, list] | None = None) -> pd.DataFrame:
        """Rows of ``table``: partitions outside ``[start, end]`` are not read, only
        ``columns`` (those a partition has; all by default), only rows whose ``isin`` columns
        hold one of the given values (e.g. ``{"stock": [...]}``)."""
        import pyarrow.parquet as pq

        spec = TABLES[table]
        frames = []
        todo = []  # with isin: (path, columns) read and filtered in Arrow, in threads
        for path in self.partitions(table):
            if spec.partition != "all" and (start is not None or end is not None):
                lo = pd.Timestamp(path.stem + ("-01" if spec.partition == "month" else "-01-01"))
                hi = (lo + pd.offsets.MonthEnd(0) if spec.partition == "month"
                      else lo + pd.offsets.YearEnd(0))
                if (start is not None and hi < pd.Timestamp(start)) or (
                        end is not None and lo > pd.Timestamp(end)):
                    continue
            cols = columns
            if columns is not None:  # an older partition may lack a newer group's columns
                have = set(pq.read_schema(path).names)
                cols = [c for c in columns if c in have]
            if isin:
                todo.append((path, cols))
            else:
                frames.append(pd.read_parquet(path, columns=cols))
        if todo:
            from concurrent.futures import ThreadPoolExecutor

            import pyarrow as pa

            # filtered in Arrow (half the time of pd.read_parquet(filters=...)), partitions
            # read by a few threads (Arrow releases the GIL; 2.4x faster at 7,500 days),
            # results in partition order
            with ThreadPoolExecutor(max_workers=min(4, len(todo))) as ex:
                tables = list(ex.map(lambda job: _read_filtered(*job, isin), todo))
            if all(t.schema.equals(tables[0].schema) for t in tables):
                frames = [pa.concat_tables(tables).to_pandas()]
            else:  # partitions written before a group was added: pandas aligns them
                frames = [t.to_pandas() for t in tables]
        if not frames:
            return pd.DataFrame(columns=list(spec.keys))
        out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        if spec.date_key is not None and (start is not None or end is not None):
            d = out[spec.date_key]
            m = np.ones(len(out), dtype=bool)
            if start is not None:
                m &= (d >= pd.Timestamp(start)).to_numpy()
            if end is not None:
                m &= (d <= pd.Timestamp(end)).to_numpy()
            out = out.loc[m].reset_index(drop=True)
        return out

    # -- reading -------------------------------------------------------------------------
    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest.get("dtype", "float64"))

    @property
    def investors(self) -> tuple[str, ...]:
        got = {g[len("net_buy_"):] for t in ("flows", "periods")
               for g in self.groups(t) if g.startswith("net_buy_")}
        return tuple(k for k in INVESTORS if k in got)

    def sessions(self, dates: pd.DatetimeIndex) -> pd.DatetimeIndex:
        """The session calendar staleness is counted on (XKRX for KRW data, else ``dates``)."""
        if self.manifest.get("calendar", "XKRX").startswith("XKRX") and len(dates):
            from datasets.calendar import xkrx_sessions

            s = xkrx_sessions()
            return s.union(pd.DatetimeIndex(dates.unique()).as_unit("ns"))
        return dates

    def flows(self, *, start=None, end=None, max_stale_sessions: int = 0,
              quality: DataQuality | None = None, stocks=None, investors=None,
              shares: bool = True, close: bool = True,
              compacted: bool = True) -> ConstituentFlows | None:
        """The daily flow panel (None when the store has no daily net buying nor market caps).

        ``stocks`` / ``investors`` (sequences) read only those stocks' rows and those
        investors' columns (investor axis in the order given), ``shares=False`` leaves the
        share counts out (one ETF's signal from a large store needs a few hundred of its
        stocks); the values read are the same as in the whole panel, and the
        stale-market-cap counts cover the stocks read; ``close=False`` leaves the closes
        out (NaN: a signal needs net buying and market caps only). With ``stocks``, the
        stock-grouped copy (``flowbt data compact``, :mod:`datasets.flows_by_stock`) serves
        the months it holds unchanged (``compacted=False``: the monthly partitions only);
        same panel.
        """
        from datasets.flows_by_stock import read_flow_rows

        want = [k for k in INVESTORS if investors is None or k in set(investors)]
        cols = ["market_cap"] + (["close"] if close else []) + [f"net_buy_{k}" for k in want] + (
            [f"net_buy_shares_{k}" for k in want] if shares else [])
        rows = read_flow_rows(self, cols, stocks=stocks, start=start, end=end,
                              use_compacted=compacted)
        if rows.copy_unusable and quality is not None:
            from datasets.flows_by_stock import COMPACT_DIR

            quality.add(f"{self.path.name}/{COMPACT_DIR}", "unusable, read from flows/ instead:",
                        "monthly partitions", len(rows.partition_months),
                        rule=f"{rows.copy_unusable}; run `flowbt data compact --store "
                             f"{self.path}` again or delete {self.path / COMPACT_DIR}")
        if not rows.n_rows:
            return None
        order = INVESTORS if investors is None else list(dict.fromkeys(investors))
        inv = tuple(k for k in order if f"net_buy_{k}" in rows.columns)
        pieces = [p for p in rows.pieces if len(p[0])]
        used = np.zeros(len(rows.stocks), dtype=bool)
        for _, code, _ in pieces:
            used[code] = True
        stocks = pd.Index(np.asarray(rows.stocks, dtype=object)[used].astype(str), dtype="str")
        new_code = np.cumsum(used) - 1
        day_pos, dates = _date_positions([d for d, _, _ in pieces])
        T, N, K = len(dates), len(stocks), len(inv)
        dt = self.dtype
        # piece by piece (small temporaries), where each piece's rows go in the date-major
        # (T, N) grid: a slice when they are a run of it in order (partition rows), a block
        # of columns when they are whole consecutive stocks, each over every date (a file of
        # the stock-grouped copy: transposed, not scattered), else each row's cell
        cells = []
        for d, code, _ in pieces:
            ti = day_pos(d)
            si = new_code[code]
            flat = ti * N + si
            a, b = int(flat[0]), int(flat[-1])
            if b - a == len(flat) - 1 and (len(flat) < 2 or bool((np.diff(flat) == 1).all())):
                cells.append(slice(a, b + 1))
                continue
            c0, m = int(si[0]), int(si[-1] - si[0] + 1)
            if len(flat) == m * T and bool((si.reshape(m, T) == np.arange(c0, c0 + m)[:, None])
                                           .all()) and bool((ti.reshape(m, T) == np.arange(T))
                                                            .all()):
                cells.append((c0, m))
                continue
            cells.append(flat)

        def write_block(out3, have, c0, m):
            """Columns ``have`` (``(j, values)``, each stock-major over the T dates) of the
            stocks ``c0 .. c0 + m - 1`` into ``out3`` (T, N, K): every cell's values in one
            pass (engine.nb.panel_nb: why) when they are all K columns as one numba tuple
            type (dtype, layout and flags are part of it), else one transposed assignment
            per column."""
            cols = tuple(v for _, v in have)
            if 0 < len(cols) == out3.shape[2] and all(
                    v.dtype == dt and v.shape == (m * T,) and v.flags.c_contiguous
                    and v.flags.writeable == cols[0].flags.writeable
                    and v.flags.aligned == cols[0].flags.aligned for v in cols):
                from engine.nb.panel_nb import blocks_into_panel_nb

                blocks_into_panel_nb(out3, cols, c0)
                return
            for j, v in have:
                out3[:, c0:c0 + m, j] = v.reshape(m, T).T

        def fill(col, out):
            """``col`` of every piece into ``out`` (T*N,)."""
            for (_, _, vals), dst in zip(pieces, cells, strict=True):
                if col not in vals:
                    continue  # NaN already
                if isinstance(dst, tuple):
                    write_block(out.reshape(T, N, 1), [(0, vals[col])], *dst)
                else:
                    out[dst] = vals[col]
            return out

        # every cell has a row (keys are unique): a column every piece has fills its whole
        # grid, so it needs no NaN first
        covered = sum(len(d) for d, _, _ in pieces) == T * N

        def blank(shape, names):
            whole = covered and all(c in v for _, _, v in pieces for c in names)
            return np.empty(shape, dtype=dt) if whole else np.full(shape, np.nan, dtype=dt)

        def grid(col):
            if col not in rows.columns:
                return np.full((T, N), np.nan, dtype=dt)
            return fill(col, blank(T * N, [col])).reshape(T, N)

        net = blank((T, N, K), [f"net_buy_{k}" for k in inv])
        shares_cols = [f"net_buy_shares_{k}" for k in inv]
        has_shares = K > 0 and any(not np.isnan(v[c]).all() for _, _, v in pieces
                                   for c in shares_cols if c in v)
        nbs = blank((T, N, K), shares_cols) if has_shares else None

        def fill_k(out, names):
            """The K investor columns into ``out`` (T, N, K): blocks transposed, runs in order
            as slices, else a piece's rows scattered whole (one write per cell, not one per
            investor)."""
            flat_out = out.reshape(T * N, K)
            for (_, _, vals), dst in zip(pieces, cells, strict=True):
                have = [(j, vals[c]) for j, c in enumerate(names) if c in vals]
                if isinstance(dst, tuple):
                    write_block(out, have, *dst)
                elif isinstance(dst, slice) or len(have) < K:
                    for j, v in have:
                        flat_out[dst, j] = v
                else:
                    rows_k = np.empty((len(dst), K), dtype=dt)
                    for j, v in have:
                        rows_k[:, j] = v
                    flat_out[dst] = rows_k

        fill_k(net, [f"net_buy_{k}" for k in inv])
        if has_shares:
            fill_k(nbs, shares_cols)
        mcap = grid("market_cap")
        close = grid("close")
        if K:
            # net buying matters only where the market cap is missing (a stale one may
            # serve there): look at those cells, not the whole (T, N, K) panel
            miss = ~np.isfinite(mcap)
            needed = np.zeros((T, N), dtype=bool)
            if miss.any():
                needed[miss] = np.isfinite(net[miss]).any(axis=1)
            mcap = self._stale_market_caps(dates, mcap, needed, max_stale_sessions, quality,
                                           "daily flows")
        return ConstituentFlows(dates=dates, stocks=stocks, investors=inv, net_buy=net,
                                market_cap=mcap, close=close, net_buy_shares=nbs,
                                currency=self.manifest.get("currency", "KRW"))

    def _stale_market_caps(self, dates, mcap, needed, max_stale, quality, what):
        """Fill a needed NaN market cap from the last snapshot <= ``max_stale`` sessions old."""
        gap = needed & ~np.isfinite(mcap)
        if not gap.any():
            return mcap
        sess = self.sessions(dates)
        pos = sess.get_indexer(dates)
        T, N = mcap.shape
        last_val = np.full(N, np.nan)
        last_pos = np.full(N, -(10**9))
        out = mcap.copy()
        used = 0
        too_old = 0
        for t in range(T):  # T is small where this runs (snapshots a few days apart); O(T*N)
            row = mcap[t]
            ok = np.isfinite(row)
            last_val[ok] = row[ok]
            last_pos[ok] = pos[t]
            g = gap[t]
            if g.any():
                age = pos[t] - last_pos
                fill = g & np.isfinite(last_val) & (age <= max_stale)
                out[t, fill] = last_val[fill]
                used += int(fill.sum())
                too_old += int((g & np.isfinite(last_val) & (age > max_stale)).sum())
        if quality is not None:
            quality.add(str(self.path.name), "filled", f"stock-days of {what} with a stale "
                        "market cap", used, rule=f"last snapshot at most {max_stale} sessions "
                        "old (--max-stale-sessions / [data] max_stale_sessions)")
            quality.add(str(self.path.name), "left NaN", f"stock-days of {what} whose last "
                        "market cap is older than the stale limit", too_old,
                        rule="raise --max-stale-sessions to use it")
        return out

    def period_totals(self, *, max_stale_sessions: int = 0,
                      quality: DataQuality | None = None) -> list[PeriodTotal]:
        """Every stored period total, with the market caps known at its first session."""
        t = self.read_table("periods")
        if t.empty:
            return []
        inv = tuple(k for k in INVESTORS if f"net_buy_{k}" in t.columns)
        mk = self.read_table("flows", columns=None)
        out = []
        for (s, e), g in t.groupby(["start", "end"], sort=True):
            s, e = pd.Timestamp(s), pd.Timestamp(e)
            sess = self.sessions(pd.DatetimeIndex([s, e]))
            first = sess[sess.searchsorted(s)]
            stocks = pd.Index(np.sort(g["stock"].astype(str).to_numpy()), dtype="str")
            g = g.set_index(g["stock"].astype(str)).loc[stocks]
            net = np.column_stack([g[f"net_buy_{k}"].to_numpy(np.float64) for k in inv])[None]
            shr = np.column_stack([g[f"net_buy_shares_{k}"].to_numpy(np.float64)
                                   if f"net_buy_shares_{k}" in g else np.full(len(g), np.nan)
                                   for k in inv])[None]
            # market caps on or before the first session: the newest snapshot per stock
            m = mk.loc[(mk["date"] <= first) & mk["market_cap"].notna()] if len(mk) and \
                "market_cap" in mk else mk.iloc[:0]
            m = m.sort_values("date").drop_duplicates("stock", keep="last").set_index("stock")
            m = m.reindex(stocks)  # stocks without any snapshot: NaN (absent, counted below)
            cap = m["market_cap"].to_numpy(np.float64) if len(m.columns) else np.full(
                len(stocks), np.nan)
            snap_dates = pd.DatetimeIndex(m["date"]) if "date" in m else pd.DatetimeIndex(
                [pd.NaT] * len(stocks))
            known = pd.DatetimeIndex(list(snap_dates.dropna().unique()) + [first]).as_unit("ns")
            sess_all = self.sessions(known)
            # NaT (no snapshot at all) -> position -1; its cap is NaN anyway
            age = sess_all.get_indexer([first])[0] - sess_all.get_indexer(
                pd.DatetimeIndex(snap_dates).as_unit("ns"))
            has = np.isfinite(cap)
            stale = has & (age > 0) & (age <= max_stale_sessions)
            too_old = has & (age > max_stale_sessions)
            cap = np.where(too_old, np.nan, cap)
            needed = np.isfinite(net[0]).any(axis=1)
            if quality is not None:
                lbl = f"period {s.date()}..{e.date()}"
                quality.add(self.path.name, "filled", f"stocks of {lbl} with a stale market cap",
                            int((stale & needed).sum()),
                            rule=f"snapshot at most {max_stale_sessions} sessions before "
                            f"{first.date()} (--max-stale-sessions)")
                quality.add(self.path.name, "left NaN", f"stocks of {lbl} whose market cap "
                            "is older than the stale limit", int((too_old & needed).sum()),
                            rule="raise --max-stale-sessions to use it")
                quality.add(self.path.name, "left NaN", f"stocks of {lbl} with no market cap",
                            int((~has & needed).sum()), rule="absent: contributes 0")
            flows = ConstituentFlows(
                dates=pd.DatetimeIndex([first]), stocks=stocks, investors=inv, net_buy=net,
                market_cap=cap[None], close=np.full((1, len(stocks)), np.nan),
                net_buy_shares=shr, currency=self.manifest.get("currency", "KRW"))
            out.append(PeriodTotal(s, e, flows))
        return out

    def holdings(self, *, etfs=None, layout_cache: bool = True,
                 quality: DataQuality | None = None) -> Holdings | None:
        """Every snapshot (of ``etfs`` only, when given).

        With ``layout_cache`` (default) the answer comes from ``holdings_layout.npz`` when
        it was built from the partitions present (:mod:`datasets.holdings_layout`), and a
        read of the partitions writes it; ``layout_cache=False`` reads the partitions only.
        ``quality`` counts a cache that could not serve, stale (after an import) or damaged,
        and whether it was rewritten (a store not written yet has none: not counted).

        ``etf`` and ``stock`` are read as the partitions store them, dictionary-encoded,
        and the snapshots checked and put in order from the Arrow chunks
        (:func:`engine.holdings_arrow.holdings_from_arrow`); what that path declines
        (partitions of other column types, anything out of order or wrong) is handed to
        :class:`~engine.market.Holdings` as categoricals, which names the bad row. Either
        way no string is built per row (the Holdings keeps their codes; its ``table``
        gives them as str).
        """
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        from datasets.holdings_layout import partition_identities, read_layout

        why: list[str] = []
        if layout_cache:
            hit, h = read_layout(self, etfs=etfs, why=why)
            if hit:
                return h
            built_from = partition_identities(self)  # before the read: a change during it is seen
        # imported past the cache: its kernels import numba, which a cache hit does not need
        from engine.holdings_arrow import holdings_from_arrow
        cols = ["etf", "effective_date", "stock", "weight"]
        want = None if etfs is None or layout_cache else sorted({str(e) for e in etfs})
        paths = list(self.partitions("holdings"))
        tables = _read_holdings_parts(paths, cols) if want is None else None
        if tables is None:
            tables = []
            for path in paths:
                t = pq.read_table(path, columns=cols, read_dictionary=["etf", "stock"])
                if want is not None:
                    kind = t.schema.field("etf").type.value_type
                    t = t.filter(pc.is_in(t["etf"], value_set=pa.array(want, type=kind)))
                tables.append(t)
        if tables and all(t.schema.equals(tables[0].schema) for t in tables[1:]):
            table = pa.concat_tables(tables)
            # the store's own layout checked and ordered in Arrow (no pandas, no copy of the
            # chunks); anything else, or anything wrong, by the general path below
            h = holdings_from_arrow(table)
            if h is not None:
                return self._cache_layout(h, etfs, built_from, why, quality) \
                    if layout_cache else h
            frame = table.to_pandas()
        else:  # partitions written with other column types: pandas aligns them (as str)
            frame = pd.concat([t.to_pandas() for t in tables], ignore_index=True) if tables \
                else pd.DataFrame(columns=cols)
        if frame.empty:
            return None
        try:
            h = Holdings(frame[cols])
        except DataError:
            if want is not None or etfs is None:
                raise
            # another ETF's snapshots do not check (a top-N list imported with
            # --allow-partial sums below 1): the ETFs asked for are read as they are, alone,
            # and no cache is written (it holds every snapshot or none)
            return self.holdings(etfs=etfs, layout_cache=False, quality=quality)
        return self._cache_layout(h, etfs, built_from, why, quality) if layout_cache else h

    def _cache_layout(self, h: Holdings, etfs, built_from, why, quality) -> Holdings:
        """All snapshots were read (``h``): the layout cache written from them, then the
        answer to :meth:`holdings` (``etfs`` only, when given)."""
        from datasets.holdings_layout import LAYOUT_FILE, write_layout

        try:
            arrays = h.layout_arrays()  # once, for the cache and the etf filter
        except ValueError:  # a name the layout cannot hold: no cache
            arrays = None
        written = arrays is not None and write_layout(self, h, built_from, arrays=arrays)
        if quality is not None and why and why[0] != "absent":
            quality.add(f"{self.path.name}/{LAYOUT_FILE}", "unusable, read from "
                        "holdings/ instead:", "holdings partitions", len(built_from),
                        rule=f"{why[0]}; " + ("rewritten" if written else
                                              "not rewritten (the store is not writable)"))
        if etfs is not None:
            if arrays is None:  # the filtered read of the partitions
                return self.holdings(etfs=etfs, layout_cache=False, quality=quality)
            h = Holdings.from_layout_arrays(arrays, etfs=etfs)
        return h

    def etfs(self, *, start=None, end=None) -> EtfData | None:
        t = self.read_table("etfs", start=start, end=end)
        if t.empty:
            return None
        dates = pd.DatetimeIndex(pd.unique(t["date"])).sort_values().as_unit("ns")
        if "etf_order" in self.manifest:
            names = pd.Index(self.manifest["etf_order"], dtype="str")
        else:
            names = pd.Index(np.sort(pd.unique(t["etf"]).astype(str)), dtype="str")
        ti = dates.get_indexer(pd.DatetimeIndex(t["date"]).as_unit("ns"))
        ei = names.get_indexer(t["etf"].astype(str))
        fields = {}
        for f in EtfData.FIELDS:
            if f in t.columns and (t[f"src_{f}"] >= 0).any():
                a = np.full((len(dates), len(names)), np.nan, dtype=self.dtype)
                a[ti, ei] = t[f].to_numpy()
                fields[f] = a
        er = None
        info = self.path / "etf_info.parquet"
        if info.is_file():
            inf = pd.read_parquet(info).set_index("etf")
            er = inf["expense_ratio"].reindex(names).to_numpy(np.float64)
        return EtfData(dates=dates, etfs=names, expense_ratio=er,
                       currency=self.manifest.get("etf_currency", "KRW"), **fields)

    def prices(self, *, start=None, end=None) -> pd.DataFrame | None:
        t = self.read_table("prices", start=start, end=end)
        if t.empty:
            return None
        wide = t.pivot(index="date", columns="asset", values="close")
        order = self.manifest.get("price_columns")
        if order:
            wide = wide[[c for c in order if c in wide.columns]]
        wide.index = pd.DatetimeIndex(wide.index).as_unit("ns").rename("date")
        wide.columns = pd.Index(list(wide.columns), dtype="str", name=None)
        return wide

    def market(self, *, start=None, end=None, max_stale_sessions: int = 0,
               quality: DataQuality | None = None) -> Market:
        """Everything in the store as a :class:`Market` (period totals via
        :meth:`period_totals`)."""
        q = quality if quality is not None else DataQuality()
        meta = {"store": str(self.path), "source": "store",
                **self.manifest.get("synthetic", {})}
        return Market(flows=self.flows(start=start, end=end,
                                       max_stale_sessions=max_stale_sessions, quality=q),
                      holdings=self.holdings(quality=q), etfs=self.etfs(start=start, end=end),
                      prices=self.prices(start=start, end=end), quality=q, meta=meta)


def create_store(path, *, dtype="float64", currency: str = "KRW", calendar: str = "XKRX",
                 exist_ok: bool = True) -> Store:
    """Open ``path`` as a store, creating an empty one (manifest only) if it does not exist."""
    d = Path(path)
    if (d / MANIFEST).is_file():
        if not exist_ok:
            raise DataError("a store already exists here", file=str(d), fix="pick another --out")
        return open_store(d)
    if d.exists() and any(d.iterdir()):
        raise DataError("the directory is not empty and holds no flowbt store (manifest.json)",
                        file=str(d), fix="pass an empty or new directory as --store")
    d.mkdir(parents=True, exist_ok=True)
    s = Store(d, {"format_version": FORMAT_VERSION,
                  "fingerprint": FINGERPRINTS[FORMAT_VERSION][0], "dtype": str(np.dtype(dtype)),
                  "currency": currency, "calendar": calendar, "files": [], "groups": {}})
    s.write_manifest()
    return s


def open_store(path) -> Store:
    """Open an existing store.

    Raises
    ------
    DataError
        No ``manifest.json`` in ``path``, or a format version not in
        :data:`FINGERPRINTS`.
    """
    d = Path(path)
    mpath = d / MANIFEST
    if not mpath.is_file():
        hint = (" (this is a format-1 synthetic store: regenerate it with `flowbt data synth`)"
                if (d / "meta.json").is_file() else "")
        raise DataError(f"not a flowbt store (manifest.json missing){hint}", file=str(d),
                        fix="create one with `flowbt data import FILE... --store DIR` or "
                            "`flowbt data synth --out DIR`")
    doc = json.loads(mpath.read_text())
    if doc.get("format_version") not in FINGERPRINTS:
        raise DataError(f"store format {doc.get('format_version')} is not one of "
                        f"{', '.join(map(str, FINGERPRINTS))}",
                        file=str(mpath), fix="re-import the files (or regenerate the synthetic "
                        "store) with this flowbt")
    want = FINGERPRINTS[doc["format_version"]][0]
    if doc.get("fingerprint", want) != want:  # format 2 names none: SHA-256
        raise DataError(f"the manifest says its files are fingerprinted with "
                        f"{doc['fingerprint']!r}; format {doc['format_version']} uses {want!r}",
                        file=str(mpath), fix="re-import the files into a new store with this "
                        "flowbt (a store's fingerprints cannot be changed in place)")
    return Store(d, doc)


def load_monitor_inputs(path):
    """What ``flowbt monitor --store DIR`` needs from a store: ETF flows, closes and volume.

    Returns
    -------
    flows : pd.DataFrame
        Long ``date, ticker, flow_usd`` (NaN kept: a day without a published flow).
    prices : pd.DataFrame
        Closes, dates x tickers: the store's price table, else the ETFs' closes.
    volume : pd.DataFrame or None
    source : str
    quality : None

    Raises
    ------
    DataError
        The store has no ETF flows, or its ETF flows are not in USD (the monitor's thresholds
        are USD), or no closes.
    """
    st = open_store(path)
    e = st.etfs()
    if e is None or e.flow is None:
        raise DataError("the store has no ETF flows", file=str(path),
                        fix="import an etf-flows or etf-shares-nav file with `flowbt data "
                            "import FILE --store DIR`, or drop --store to use the bundled flows")
    if e.currency != "USD":
        raise DataError(f"the store's ETF flows are in {e.currency}; the monitor's thresholds "
                        "are USD", file=str(path), fix="drop --store, or use a store of US ETF "
                        "flows")
    wide = pd.DataFrame(e.flow, index=e.dates, columns=e.etfs)
    # stack keeps NaN (future_stack): a day without a published flow stays "not published"
    flows = (wide.rename_axis(index="date", columns="ticker").stack(future_stack=True)
             .rename("flow_usd").reset_index())
    prices = st.prices()
    if prices is None and e.close is not None:
        prices = pd.DataFrame(e.close, index=e.dates, columns=e.etfs)
    if prices is None:
        raise DataError("the store has no closes for the ETFs", file=str(path),
                        fix="import a prices file (flowbt data import FILE --kind prices)")
    volume = None if e.volume is None else pd.DataFrame(e.volume, index=e.dates, columns=e.etfs)
    return flows, prices, volume, f"store {path}", None
