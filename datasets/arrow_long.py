"""Vectorized reading of the generic long files (Parquet and CSV) for ``flowbt data import``.

The text loaders (:func:`datasets.generic.read_long_netbuy` / :func:`~datasets.generic.read_long_market`
over :class:`datasets._csv.Table`) turn every cell into a string and parse it, so that a bad
cell is reported by file, line and column. That costs ~90% of an import of a large history of
daily files, which are almost always clean. Here the same checks run as whole-column masks on
Arrow arrays:

* **Same result.** When every check passes, :func:`netbuy_rows` and :func:`market_rows` return
  the store rows :func:`datasets.store_import.rows_of_file` builds from the text loaders, bit
  for bit, and make the same data-quality calls (rows read, blank lines, empty closes).
* **Same errors.** When any check fails, or the file holds anything these readers do not
  handle exactly as the text path does (thousands separators or spaces around numbers, blank
  lines, a non-UTF-8 encoding, Parquet columns of other types, an index), they return ``None``
  without touching the data-quality summary, and the caller runs the text loader, which raises
  the error naming file, line/row and column (or reads the file the slow way).

Numbers are accepted here only where the text path's reading is exact and identical: float64
and integer Parquet columns (the text path prints and re-parses them, which round-trips), and
text cells that already match the number pattern with nothing to strip (Arrow's string to
float64 cast rounds correctly, as Python's ``float`` does).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.investors import INVESTORS, canonical_investor

__all__ = ["market_batch", "market_rows", "netbuy_batch", "netbuy_rows"]

_BOM = b"\xef\xbb\xbf"
#: CSV files below this size (bytes) are parsed in one block by the calling thread.
_SMALL_CSV = 8 << 20


class _Fallback(Exception):
    """Something the vectorized path does not decide: the text path reads the file."""


def _utf8(encoding: str | None) -> bool:
    """Whether Arrow decodes the text itself (UTF-8, with or without BOM); any other
    ``--encoding`` goes through the text loaders."""
    return encoding is None or encoding.lower().replace("_", "-") in ("utf-8", "utf8",
                                                                        "utf-8-sig")


def _read_arrow(path, encoding, *, dictionary: bool = False):
    """The file as an Arrow table (all CSV cells as strings) and its row kind; with
    ``dictionary``, a Parquet file's text columns as dictionary arrays (read from the file's
    dictionary pages, not materialized as one string per row)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    p = Path(path)
    if p.suffix.lower() in (".parquet", ".pq"):
        try:
            f = pq.ParquetFile(p)
            text = [fl.name for fl in f.schema_arrow if pa.types.is_string(fl.type)
                    or pa.types.is_large_string(fl.type)] if dictionary else []
            if text:
                f = pq.ParquetFile(p, read_dictionary=text)
            tab = f.read()  # lighter than pq.read_table (no dataset layer)
        except Exception as exc:  # the text path reports a corrupt file
            raise _Fallback from exc
        meta = tab.schema.pandas_metadata or {}
        if any(not isinstance(ix, dict) for ix in meta.get("index_columns", [])):
            raise _Fallback  # a stored index becomes columns in the text path
        names = [str(c).strip() for c in tab.column_names]
        if len(set(names)) != len(names):
            raise _Fallback
        return tab.rename_columns(names), "row"
    if p.suffix.lower() not in (".csv", ".txt"):
        raise _Fallback
    if not _utf8(encoding):
        raise _Fallback
    raw = p.read_bytes()
    if raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    # blank lines are counted and shift line numbers in the text path
    if not raw.strip() or raw.startswith((b"\n", b"\r")) or b"\n\n" in raw or \
            b"\n\r\n" in raw or b"\r\r" in raw:
        raise _Fallback
    try:
        head = raw[:raw.index(b"\n")] if b"\n" in raw else raw
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Fallback from exc
    import csv
    import io

    import pyarrow.csv as pcsv

    try:
        header = next(csv.reader([head.decode("utf-8").rstrip("\r")]))
    except csv.Error as exc:  # lone carriage returns (old Mac line ends): the text path reads it
        raise _Fallback from exc
    names = [f"f{j}" for j in range(len(header))]
    try:
        tab = pcsv.read_csv(
            io.BytesIO(raw),
            # a small file in one block read by this thread: a 64 MB block buffer and the
            # reader threads cost more than parsing a few hundred kB
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 26)
            if len(raw) >= _SMALL_CSV else pcsv.ReadOptions(
                column_names=names, block_size=len(raw) + 1, use_threads=False),
            parse_options=pcsv.ParseOptions(newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except Exception as exc:  # ragged rows, bad quoting: the text path names the line
        raise _Fallback from exc
    first = [tab.column(j)[0].as_py() for j in range(tab.num_columns)] if tab.num_rows else []
    cols = [c.strip() for c in first]
    if not cols or any(c == "" for c in cols) or len(set(cols)) != len(cols):
        raise _Fallback
    tab = tab.slice(1).rename_columns(cols)
    if tab.num_rows:
        import pyarrow.compute as pc

        blank = None
        for j in range(tab.num_columns):
            e = pc.equal(tab.column(j), "")
            blank = e if blank is None else pc.and_(blank, e)
        if pc.any(blank).as_py():
            raise _Fallback
    return tab, "line"


def _resolve(tab, spec, optional, kind, row_kind):
    """:func:`datasets._csv.resolve_columns` on the header (once per distinct header)."""
    from datasets._csv import Table, resolve_columns

    key = (tuple(tab.column_names), id(spec), tuple(optional), kind, row_kind)
    if key not in _RESOLVED:
        shell = Table(pd.DataFrame(columns=list(tab.column_names)), "", row_kind=row_kind)
        try:
            _RESOLVED[key] = resolve_columns(shell, spec, optional=optional, allowed_extra=(),
                                             kind=kind)
        except DataError:
            _RESOLVED[key] = None
    if _RESOLVED[key] is None:
        raise _Fallback
    return _RESOLVED[key]


_RESOLVED: dict = {}


def _chunked(col):
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        return col.chunk(0) if col.num_chunks == 1 else col.combine_chunks()
    return col


def _text_dictionary(a):
    """``a`` (one Arrow array) as a dictionary array of str values; plain str columns are
    encoded here, string views cast to str first. Nulls and any other type fall back to the
    text loader (which words the error).

    The one check for the whole-column readers (:func:`_dict_text`, :func:`_codes`) and the
    per-chunk ones (:func:`_chunk_dicts`), so they accept the same columns.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    def text(t) -> bool:
        return pa.types.is_string(t) or pa.types.is_large_string(t)

    if a.null_count:
        raise _Fallback
    if pa.types.is_dictionary(a.type):
        if not text(a.type.value_type):
            raise _Fallback
        return a
    if pa.types.is_string_view(a.type):
        a = a.cast(pa.string())
    if not text(a.type):
        raise _Fallback
    return pc.dictionary_encode(a)


def _dict_text(col) -> tuple[np.ndarray, list[str]]:
    """Indices and dictionary (Python strings) of a string column; nulls fall back."""
    a = _text_dictionary(_chunked(col))
    return a.indices.to_numpy(zero_copy_only=False).astype(np.int64), a.dictionary.to_pylist()


def _codes(col, missing) -> tuple[np.ndarray, np.ndarray]:
    """Stripped text codes: (sorted unique values, position of each row's value)."""
    a = _text_dictionary(_chunked(col))
    d = a.dictionary
    idx = a.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = (str(d.type), len(d), frozenset(missing))
    hit = _LAST_CODES.get(key)
    if hit is not None and hit[0].equals(d):  # the day before listed the same stocks
        return hit[1], hit[2][idx]
    uniq, rank = _sorted_codes(d, missing)
    _LAST_CODES[key] = (d, uniq, rank)
    if len(_LAST_CODES) > 8:
        del _LAST_CODES[next(iter(_LAST_CODES))]
    return uniq, rank[idx]


_LAST_CODES: dict = {}


def _sorted_codes(d, missing) -> tuple[np.ndarray, np.ndarray]:
    """(sorted stripped values, position of each dictionary entry among them)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # plain codes (nothing to strip, not a missing marker): sort in Arrow (UTF-8 byte order
    # is code-point order, as Python sorts str); anything else: strip and sort in Python
    if len(d) and pc.all(pc.match_substring_regex(d, r"^[0-9A-Za-z._-]+$")).as_py() and \
            not pc.any(pc.is_in(d, value_set=pa.array(sorted(missing), type=d.type))).as_py():
        order = pc.sort_indices(d).to_numpy(zero_copy_only=False)
        uniq = d.take(pa.array(order)).to_numpy(zero_copy_only=False).astype(object)
        rank = np.empty(len(order), np.int64)
        rank[order] = np.arange(len(order))
        return uniq, rank
    stripped = np.asarray([w.strip() for w in d.to_pylist()], dtype=object)
    if any(w in missing for w in stripped):
        raise _Fallback
    uniq, inv = np.unique(stripped, return_inverse=True) if len(stripped) else (
        stripped, np.zeros(0, np.int64))
    return uniq, inv.astype(np.int64).reshape(-1)


def _dates(col) -> tuple[np.ndarray, np.ndarray]:
    """Days as the text path reads them (a Parquet timestamp is its day): sorted unique
    datetime64[ns] values and the position of each row's value."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from datasets._csv import _parse_date_strings

    a = _chunked(col)
    if pa.types.is_timestamp(a.type):
        if a.type.tz is not None or a.null_count:
            raise _Fallback
        d = pc.dictionary_encode(a)
        idx = d.indices.to_numpy(zero_copy_only=False).astype(np.int64)
        days = d.dictionary.to_numpy(zero_copy_only=False).astype("datetime64[D]")
        # the years the text path reads (1678-2261: datasets._csv._parse_date_strings)
        if len(days) and (days.min() < np.datetime64("1678-01-01")
                          or days.max() > np.datetime64("2261-12-31")):
            raise _Fallback
        days = days.astype("datetime64[ns]")
    else:
        idx, words = _dict_text(a)
        days = _iso_days(words)
        if days is None:
            parsed = _parse_date_strings(pd.Series(words, dtype=object).astype(str))
            if parsed.isna().any():
                raise _Fallback
            days = parsed.to_numpy().astype("datetime64[ns]")
    uniq, inv = np.unique(days, return_inverse=True)
    return uniq, inv.astype(np.int64)[idx]


_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_days(words: list[str]) -> np.ndarray | None:
    """``YYYY-MM-DD`` strings (nothing to strip, years 1678-2261) as datetime64[ns], as
    :func:`datasets._csv._parse_date_strings` reads them; None for anything else (a day that
    does not exist included: that function decides it). Its three pandas regex passes cost
    more than the rest of reading a small file."""
    if not all(_ISO_DAY.fullmatch(w) and 1678 <= int(w[:4]) <= 2261 for w in words):
        return None
    try:
        return np.array(words, dtype="datetime64[D]").astype("datetime64[ns]")
    except ValueError:  # 2021-02-30
        return None


def _numbers(col, *, required: bool, min_value: float | None = None) -> np.ndarray:
    """float64 values as :meth:`datasets._csv.Table.numbers` gives them (missing = NaN)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from datasets._csv import _MISSING, _NUMBER_RE

    t = col.type
    if pa.types.is_float64(t) or pa.types.is_integer(t):
        # chunk by chunk (a batch of files is one chunk per file): one copy, not two
        chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
        parts = [c.to_numpy(zero_copy_only=False) for c in chunks]  # nulls -> NaN
        out = (np.concatenate(parts) if len(parts) != 1 else parts[0]).astype(
            np.float64, copy=False)
        if not out.flags.writeable:
            out = out.copy()
        missing = np.isnan(out)
        if np.isinf(out).any():
            raise _Fallback
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        a = _chunked(col)
        if a.null_count:
            raise _Fallback
        missing = pc.is_in(a, value_set=pa.array(sorted(_MISSING))).to_numpy(
            zero_copy_only=False)
        ok = pc.match_substring_regex(a, _NUMBER_RE).to_numpy(zero_copy_only=False)
        if (~ok & ~missing).any():
            raise _Fallback  # commas, spaces, text: the text path decides
        out = np.full(len(a), np.nan)
        try:
            out[ok] = pc.cast(a.filter(pa.array(ok)), pa.float64()).to_numpy(
                zero_copy_only=False)
        except pa.ArrowInvalid as exc:
            raise _Fallback from exc
        if not np.isfinite(out[ok]).all():
            raise _Fallback
    else:
        raise _Fallback
    if required and missing.any():
        raise _Fallback
    if min_value is not None and (out < min_value).any():
        raise _Fallback
    return out


def _key(*parts: tuple[np.ndarray, int]) -> tuple[np.ndarray, int]:
    """One int64 per row from (codes, cardinality) pairs, ordered as the pairs; and the size
    of the key space."""
    code = np.zeros(len(parts[0][0]), dtype=np.int64)
    space = 1
    for c, n in parts:
        code = code * max(n, 1) + c
        space *= max(n, 1)
    return code, space


def _dense_unique(code: np.ndarray, space: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Sorted distinct codes, the position of each row's code among them, and whether a code
    repeats (by counting over the key space when it is small, else by sorting)."""
    if space <= 4 * len(code) + (1 << 20):
        counts = np.bincount(code, minlength=space)
        present = counts > 0
        rank = np.cumsum(present) - 1
        return np.flatnonzero(present), rank[code], bool((counts > 1).any())
    uniq, inv = np.unique(code, return_inverse=True)
    return uniq, inv, len(uniq) != len(code)


def _record(quality: DataQuality | None, source: str, n: int) -> None:
    if quality is not None:  # what datasets._csv.read_table records
        quality.read(source, n)
        quality.add(source, "dropped", "blank lines", 0, rule="blank lines carry no data")


def _open_file(path, encoding, spec, optional, kind):
    """Read one file and resolve its columns, its dates and stock codes: ``(tab, cols, dates,
    stocks, si)`` (raises _Fallback, also for an empty file: the text path words that)."""
    from datasets._csv import _MISSING

    tab, row_kind = _read_arrow(path, encoding)
    cols = _resolve(tab, spec, optional, kind, row_kind)
    if tab.num_rows == 0:
        raise _Fallback
    dates = _dates(tab.column(cols["date"]))
    stocks, si = _codes(tab.column(cols["stock"]), _MISSING - {"-"})
    return tab, cols, dates, stocks, si


def netbuy_rows(path, *, quality: DataQuality | None = None, encoding: str | None = None):
    """Store rows of a generic long net-buying file, or None to use the text path.

    Returns
    -------
    (base, net, shares) or None
        ``base``: DataFrame ``date, stock`` (one row per stock-day, sorted by date then
        stock); ``net`` / ``shares``: investor id -> float64 array over ``base``'s rows (NaN
        where the file has no row), for the investors present, in canonical order.
    """
    from datasets.generic import NETBUY_COLUMNS

    try:
        tab, cols, dates, stocks, si = _open_file(path, encoding, NETBUY_COLUMNS, ("net_buy_shares",),
                                                  "long net-buying file (date, stock, investor, net_buy)")
        n = tab.num_rows
        idx, words = _dict_text(tab.column(cols["investor"]))
        try:
            canon = [INVESTORS.index(canonical_investor(w.strip())) for w in words]
        except KeyError as exc:
            raise _Fallback from exc
        ki = np.asarray(canon, dtype=np.int64)[idx]
        net = _numbers(tab.column(cols["net_buy"]), required=True)
        shares = (_numbers(tab.column(cols["net_buy_shares"]), required=True)
                  if "net_buy_shares" in cols else np.full(n, np.nan))
        udates, di = dates
        code, space = _key((di, len(udates)), (si, len(stocks)), (ki, len(INVESTORS)))
        if _dense_unique(code, space)[2]:
            raise _Fallback  # duplicate rows: the text path names the second one
    except _Fallback:
        return None
    ns = max(len(stocks), 1)
    sd, space = _key((di, len(udates)), (si, len(stocks)))
    usd, row, _ = _dense_unique(sd, space)
    # stock codes stay Python str objects (the store's key dtype; pandas would infer "str")
    base = pd.DataFrame({"date": udates[usd // ns],
                         "stock": pd.Series(stocks[usd % ns], dtype=object)})
    # one scatter per quantity into (investor, stock-day): each investor's row contiguous
    a = np.full((len(INVESTORS), len(usd)), np.nan)
    a[ki, row] = net
    b = np.full((len(INVESTORS), len(usd)), np.nan)
    b[ki, row] = shares
    present = np.flatnonzero(np.bincount(ki, minlength=len(INVESTORS)))
    nets = {INVESTORS[k]: a[k] for k in present}
    shrs = {INVESTORS[k]: b[k] for k in present}
    _record(quality, Path(path).name, n)
    return base, nets, shrs


def market_rows(path, *, quality: DataQuality | None = None, encoding: str | None = None):
    """Store rows of a generic long market file (``date, stock, market_cap, close``) or None.

    Returns
    -------
    DataFrame or None
        ``date, stock, market_cap, close`` in the file's row order, as
        :func:`datasets.generic.read_long_market` gives them.
    """
    from datasets.generic import MARKET_COLUMNS

    try:
        tab, cols, dates, stocks, si = _open_file(path, encoding, MARKET_COLUMNS, ("close",),
                                                  "long market file (date, stock, market_cap, close)")
        n = tab.num_rows
        mcap = _numbers(tab.column(cols["market_cap"]), required=True, min_value=0.0)
        close = (_numbers(tab.column(cols["close"]), required=False, min_value=0.0)
                 if "close" in cols else np.full(n, np.nan))
        udates, di = dates
        if _dense_unique(*_key((di, len(udates)), (si, len(stocks))))[2]:
            raise _Fallback
    except _Fallback:
        return None
    src = Path(path).name
    _record(quality, src, n)
    if quality is not None and "close" in cols:
        quality.add(src, "left NaN", "empty close cells", int(np.isnan(close).sum()),
                    rule="no close given")
    return pd.DataFrame({"date": udates[di], "stock": pd.Series(stocks[si], dtype=object),
                         "market_cap": mcap,
                         "close": close})



# -- batches of files ------------------------------------------------------------------------
# At the scale (15,000 daily files) the per-file costs dominate an import: opening
# each file, one pass of pyarrow.compute per column per file, one pandas frame per file and
# one frame per file handed to the merge. The batch readers below read many same-schema
# Parquet files at once (a thread pool: pyarrow releases the GIL), run the checks of the
# per-file readers once on the concatenated table, pivot once and return one frame for the
# whole batch whose rows are the per-file frames' rows one file after the other (so the
# store's merge sees the same rows in the same order). Anything the per-file reader would not
# decide, in any file, returns None: the caller then runs the per-file path on every file of
# the batch, which gives the exact error or reads the file the slow way.


def _read_batch(paths):
    """The files' Arrow tables concatenated (one schema) and each file's row count."""
    import os
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    if not paths or any(Path(p).suffix.lower() not in (".parquet", ".pq") for p in paths):
        raise _Fallback  # text files: the per-file path (blank lines, encodings ...)
    workers = min(len(paths), os.cpu_count() or 1, 8)
    if workers > 1:
        with ThreadPoolExecutor(workers) as ex:
            tabs = list(ex.map(lambda p: _read_arrow(p, None, dictionary=True)[0], paths))
    else:
        tabs = [_read_arrow(p, None, dictionary=True)[0] for p in paths]
    schema = tabs[0].schema.remove_metadata()
    if any(not t.schema.remove_metadata().equals(schema) for t in tabs[1:]):
        raise _Fallback
    counts = np.asarray([t.num_rows for t in tabs], dtype=np.int64)
    if (counts == 0).any():
        raise _Fallback
    tab = pa.concat_tables([t.replace_schema_metadata(None) for t in tabs])
    return tab, counts


def _chunk_dicts(col) -> list[tuple]:
    """Per chunk of a string column: (dictionary, indices) (plain chunks are encoded)."""
    out = []
    for c in col.chunks:
        c = _text_dictionary(c)
        out.append((c.dictionary, c.indices.to_numpy(zero_copy_only=False)))
    return out


def _chunk_maps(dicts, mapping) -> list[np.ndarray]:
    """Per chunk, ``mapping(dictionary)`` (one call per distinct dictionary: the files of
    consecutive days usually list the same stocks and investors)."""
    out, last, lmap = [], None, None
    for d, _ in dicts:
        if last is None or not (d is last or d.equals(last)):
            last, lmap = d, mapping(d)
        out.append(lmap)
    return out


def _rows_of(dicts, maps) -> np.ndarray:
    """Each row's code: ``maps[chunk][index]`` over the chunks."""
    parts = [m[ix] for (_, ix), m in zip(dicts, maps, strict=True)]
    return np.concatenate(parts) if len(parts) != 1 else parts[0]


def _batch_codes(col, missing) -> tuple[np.ndarray, list, list]:
    """:func:`_codes` of a batch column chunk by chunk: (sorted unique values, the chunks'
    (dictionary, indices), each chunk's map from its dictionary to the sorted values)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    dicts = _chunk_dicts(col)
    distinct = []
    for d, _ in dicts:
        if not distinct or not distinct[-1].equals(d):
            distinct.append(d)
    if len({d.type for d in distinct}) > 1:
        distinct = [d.cast(pa.large_string()) for d in distinct]
    allv = pc.unique(pa.concat_arrays(distinct)) if len(distinct) > 1 else distinct[0]
    uniq, rank = _sorted_codes(allv, missing)
    return uniq, dicts, _chunk_maps(dicts, lambda d: rank[
        pc.index_in(d.cast(allv.type), value_set=allv).to_numpy(
            zero_copy_only=False).astype(np.int64)])


def _batch_dates(col) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_dates` of a batch column: (sorted unique days, and either each chunk's position
    (rows None) when each chunk holds one timestamp, or each row's position (chunks None))."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_timestamp(col.type) and col.type.tz is None and not col.null_count:
        mm = [pc.min_max(c) for c in col.chunks]
        lo = [m["min"].value for m in mm]
        if lo == [m["max"].value for m in mm]:  # one timestamp per chunk (a daily file)
            first = pa.array(lo, type=pa.int64()).cast(col.type)
            udays, inv = _dates(first)
            return udays, None, inv
    udays, inv = _dates(col)
    return udays, inv, None


def _file_dates(fi, n_files, dates) -> tuple[np.ndarray, int, np.ndarray]:
    """Rank of each row's (file, day) pair among the batch's distinct pairs (file-major),
    their number and each pair's file."""
    udates, di = dates
    uniq, rank, _ = _dense_unique(*_key((fi, n_files), (di, len(udates))))
    return rank, len(uniq), uniq // max(len(udates), 1)


def _chunk_files(tab, counts) -> np.ndarray:
    """The file of each chunk of ``tab``'s columns (they share one chunk layout per file)."""
    lens = np.asarray([len(c) for c in tab.column(0).chunks], dtype=np.int64)
    if any([len(c) for c in tab.column(j).chunks] != list(lens)
           for j in range(1, tab.num_columns)):
        raise _Fallback
    ends = np.cumsum(counts)
    return np.searchsorted(ends, np.cumsum(lens), side="left")


def _batch_pairs(tab, counts, date_col):
    """The batch's (file, day) pairs (file-major): (pair of each chunk or None, chunk
    lengths, pair of each row or None (exactly one of the two is given), number of pairs,
    pair -> file, sorted unique days, pair -> day position)."""
    F = len(counts)
    udates, di, chunk_day = _batch_dates(tab.column(date_col))
    lens = np.asarray([len(c) for c in tab.column(0).chunks], dtype=np.int64)
    if chunk_day is not None:  # pairs from the chunks, not from every row
        cf = _chunk_files(tab, counts)
        crank, nfd, pair_file = _file_dates(cf, F, (udates, chunk_day))
        pair_day = np.empty(nfd, np.int64)
        pair_day[crank] = chunk_day
        return crank, lens, None, nfd, pair_file, udates, pair_day
    fi = np.repeat(np.arange(F, dtype=np.int64), counts)
    fd, nfd, pair_file = _file_dates(fi, F, (udates, di))
    pair_day = np.empty(nfd, np.int64)
    pair_day[fd] = di
    return None, lens, fd, nfd, pair_file, udates, pair_day


def _open_batch(paths, spec, optional, kind):
    """Read a batch of same-schema files and resolve its columns: ``(tab, counts, cols,
    pairs)`` with ``pairs`` = :func:`_batch_pairs` on the date column (raises _Fallback)."""
    tab, counts = _read_batch(paths)
    cols = _resolve(tab, spec, optional, kind, "row")
    return tab, counts, cols, _batch_pairs(tab, counts, cols["date"])


def netbuy_batch(paths, ids, *, encoding: str | None = None):
    """Store rows of many clean generic long net-buying Parquet files, or None.

    Parameters
    ----------
    paths : list of path
    ids : sequence of int
        Store file id of each file (its ``src_net_buy_<k>`` value).
    encoding : str, optional
        Only None / UTF-8 (Parquet ignores it).

    Returns
    -------
    (rows, file_rows, file_groups, file_reads) or None
        ``rows``: one DataFrame ``date, stock`` and, per investor present in any file,
        ``net_buy_<k>, net_buy_shares_<k>, src_net_buy_<k>`` (src -1 for the files without
        that investor): the per-file frames of :func:`netbuy_rows` one under the other, in
        the order of ``paths``. ``file_rows``: stock-day rows per file (int array).
        ``file_groups``: per file, the groups it gives (canonical investor order).
        ``file_reads``: data rows read per file.
        None when any file needs the per-file path (nothing is recorded anywhere).
    """
    from datasets._csv import _MISSING
    from datasets.generic import NETBUY_COLUMNS

    if not _utf8(encoding):
        return None
    try:
        tab, counts, cols, pairs = _open_batch(
            paths, NETBUY_COLUMNS, ("net_buy_shares",),
            "long net-buying file (date, stock, investor, net_buy)")
        F = len(paths)
        crank, lens, fd, nfd, pair_file, udates, pair_day = pairs
        stocks, sdicts, smaps = _batch_codes(tab.column(cols["stock"]), _MISSING - {"-"})

        def canon(d):
            try:
                return np.asarray([INVESTORS.index(canonical_investor(w.strip()))
                                   for w in d.to_pylist()], dtype=np.int64)
            except KeyError as exc:
                raise _Fallback from exc

        kdicts = _chunk_dicts(tab.column(cols["investor"]))
        kmaps = _chunk_maps(kdicts, canon)
        net = _numbers(tab.column(cols["net_buy"]), required=True)
        shares = (_numbers(tab.column(cols["net_buy_shares"]), required=True)
                  if "net_buy_shares" in cols else None)
        K, S = len(INVESTORS), max(len(stocks), 1)
        M = nfd * S  # the (file, day, stock) grid
        n = len(net)
        if K * M > 8 * n + (1 << 22):
            raise _Fallback  # sparse: the per-file path
        del tab
        # one cell per (investor, file-day, stock), computed chunk by chunk (in cache)
        flat = np.empty(n, np.int64)
        pos = 0
        kM = {}
        for j, ((_, six), (_, kix)) in enumerate(zip(sdicts, kdicts, strict=True)):
            L = len(six)
            km = kM.get(id(kmaps[j]))
            if km is None:
                km = kM[id(kmaps[j])] = kmaps[j] * M
            base = crank[j] * S if crank is not None else fd[pos:pos + L] * S
            flat[pos:pos + L] = km[kix] + smaps[j][six] + base
            pos += L
        # counting finds duplicate rows; the values are scattered straight into the
        # investor x stock-day grid
        counts_k = np.bincount(flat, minlength=K * M)
        if counts_k.max(initial=0) > 1:
            raise _Fallback  # a duplicate row inside a file: the text path names it
    except _Fallback:
        return None
    cnt = counts_k.reshape(K, nfd, S)
    usd = np.flatnonzero(cnt.any(axis=0).reshape(-1))  # stock-day rows, file-major
    has_pair = cnt.any(axis=2)  # investor x (file, day)
    has = np.zeros((F, K), dtype=bool)  # file x investor
    for k in range(K):
        has[pair_file[has_pair[k]], k] = True
    del cnt, counts_k
    out_pair = usd // S
    out_file = pair_file[out_pair]
    file_rows = np.bincount(out_file, minlength=F)
    ids = np.asarray(ids, dtype=np.int32)
    row_ids = ids[out_file]
    cols_out: dict[str, np.ndarray] = {
        "date": udates[pair_day[out_pair]],
        "stock": pd.Series(stocks[usd % S], dtype=object)}  # str objects, as per file
    dense = len(usd) == M  # every stock on every file-day: the grid is the rows

    def pivot(v, cell):
        g = np.full(K * M, np.nan)
        g[cell] = v
        return g.reshape(K, M) if dense else g.reshape(K, M)[:, usd]

    a = pivot(net, flat)
    b = pivot(shares, flat) if shares is not None else np.full((K, len(usd)), np.nan)
    del flat
    for k in np.flatnonzero(has.any(axis=0)):
        name = INVESTORS[k]
        cols_out[f"net_buy_{name}"] = a[k]
        cols_out[f"net_buy_shares_{name}"] = b[k]
        cols_out[f"src_net_buy_{name}"] = (row_ids if has[:, k].all() else np.where(
            has[out_file, k], row_ids, np.int32(-1)).astype(np.int32))
    rows = pd.DataFrame(cols_out, copy=False)
    file_groups = [{f"net_buy_{INVESTORS[k]}": [f"net_buy_{INVESTORS[k]}",
                                                 f"net_buy_shares_{INVESTORS[k]}"]
                    for k in np.flatnonzero(has[f])} for f in range(F)]
    return rows, file_rows, file_groups, counts


def market_batch(paths, ids, *, encoding: str | None = None):
    """Store rows of many clean generic long market Parquet files, or None.

    Returns
    -------
    (rows, file_rows, empty_close, file_reads) or None
        ``rows``: DataFrame ``date, stock, market_cap, close, src_market``: the per-file
        frames of :func:`market_rows` (file row order) one under the other, in the order of
        ``paths``. ``empty_close``: per file, its count of empty close cells, or None when
        the files have no ``close`` column. ``file_reads``: data rows read per file (= rows).
    """
    from datasets._csv import _MISSING
    from datasets.generic import MARKET_COLUMNS

    if not _utf8(encoding):
        return None
    try:
        tab, counts, cols, pairs = _open_batch(
            paths, MARKET_COLUMNS, ("close",), "long market file (date, stock, market_cap, close)")
        F = len(paths)
        crank, lens, fd, nfd, pair_file, udates, pair_day = pairs
        if fd is None:
            fd = np.repeat(crank, lens)
        stocks, sdicts, smaps = _batch_codes(tab.column(cols["stock"]), _MISSING - {"-"})
        si = _rows_of(sdicts, smaps)
        n = tab.num_rows
        mcap = _numbers(tab.column(cols["market_cap"]), required=True, min_value=0.0)
        close = (_numbers(tab.column(cols["close"]), required=False, min_value=0.0)
                 if "close" in cols else np.full(n, np.nan))
        del tab
        S = max(len(stocks), 1)
        if _dense_unique(fd * S + si, nfd * S)[2]:
            raise _Fallback
    except _Fallback:
        return None
    di = pair_day[fd]
    fi = np.repeat(np.arange(F), counts)
    empty = (np.bincount(fi, weights=np.isnan(close), minlength=F).astype(np.int64)
             if "close" in cols else None)
    rows = pd.DataFrame({"date": udates[di], "stock": pd.Series(stocks[si], dtype=object),
                         "market_cap": mcap, "close": close,
                         "src_market": np.asarray(ids, dtype=np.int32)[fi]}, copy=False)
    return rows, counts, empty, counts
