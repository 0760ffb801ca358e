"""Vectorized reading of issuer-style holdings files (``date, etf, ticker, weight[, name]``).

:func:`datasets.holdings_files.load_holdings` reads a holdings file through the text
:class:`datasets._csv.Table` (every cell a Python string, parsed with pandas string methods)
and checks its snapshots with grouped passes over (ETF, date) pairs of strings. That is right
for the odd file and slow for a history of them (the quarterly files of a bulk import). Here
the same reading and the same checks run as whole-column operations on Arrow arrays and
integer codes, under the contract of :mod:`datasets.arrow_long`:

* **Same result.** When every check passes, :func:`holdings_table` returns the table the text
  path's :class:`~engine.market.Holdings` holds (rows sorted by ETF, date, stock; the same
  weights bit for bit) and makes the same data-quality calls in the same order (rows read,
  blank lines, cash rows dropped, snapshots renormalized, partial snapshots kept).
  :func:`holdings_batch` does it for several files at once (one pass of each check over all
  their rows, each file's rows and records as :func:`holdings_table` gives them).
* **Same errors.** When any check fails, or the file holds anything this reader does not
  handle exactly as the text path does (a non-UTF-8 encoding such as CP949, blank lines, a
  lone carriage return, spaces or thousands separators around a weight, a date or ETF cell
  the text path would reject, an empty ticker, a negative weight, a duplicate row, a snapshot
  off 100% or all cash, Parquet columns of other types, an unknown column), it returns
  ``None`` without touching the data-quality summary and the caller runs the text loader,
  which raises the error naming file, line/row, column and the fix (or reads the file the
  slow way). The KRX and pykrx PDF layouts are kinds of their own (``krx-pdf``,
  ``pykrx-pdf``) and keep their loaders; ``--effective-date`` imports go file by file.

Sums that decide a check or divide a weight are pandas' grouped sums over the same rows in
the same order (grouped by one integer snapshot code instead of two string columns), so they
are the text path's bits, not a re-derivation of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from datasets.arrow_long import _codes, _dates, _Fallback, _numbers, _read_arrow, _record, _resolve
from engine.errors import DataQuality

__all__ = ["holdings_batch", "holdings_table"]


def holdings_table(path, *, weight_unit: str = "pct", quality: DataQuality | None = None,
                   sum_tol: float = 0.02, allow_partial: bool = False,
                   encoding: str | None = None) -> tuple[pd.DataFrame, bool] | None:
    """The holdings table of a clean issuer-style file, or None to use the text loader.

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8) or Parquet, one row per (date, etf, ticker).
    weight_unit, quality, sum_tol, allow_partial, encoding
        As :func:`datasets.holdings_files.load_holdings`.

    Returns
    -------
    (table, partial) or None
        ``table``: DataFrame ``etf`` (str objects), ``effective_date`` (datetime64[ns]),
        ``stock`` (str objects), ``weight`` (float64 fraction; each complete snapshot sums to
        1, a partial one to its coverage), cash removed, sorted by (etf, effective_date,
        stock) with a RangeIndex: ``load_holdings(path).table`` bit for bit. ``partial``: a
        snapshot was kept as given (``allow_partial``). None: the file goes to the text
        loader (nothing recorded in ``quality``).
    """
    got = holdings_batch([path], [quality], weight_unit=weight_unit, sum_tol=sum_tol,
                         allow_partial=allow_partial, encoding=encoding)
    return None if got is None else (got[0], bool(got[3][0]))


def holdings_batch(paths, qualities, *, weight_unit: str = "pct", sum_tol: float = 0.02,
                   allow_partial: bool = False, encoding: str | None = None,
                   by_year: bool = False):
    """:func:`holdings_table` of several files in one pass, or None (then read them one by one).

    Parameters
    ----------
    paths : sequence of path
        Files of one header (the same columns resolved the same way), CSV or Parquet.
    qualities : sequence of DataQuality or None
        One per file: receives that file's records, as :func:`holdings_table` makes them.
    weight_unit, sum_tol, allow_partial, encoding
        As :func:`datasets.holdings_files.load_holdings`.
    by_year : bool
        Order the rows by (year of effective_date, etf, effective_date, file, stock), the
        order of the store's yearly partitions (so that their merge finds its rows sorted);
        default: each file's table in turn, in file order.

    Returns
    -------
    (table, file, file_rows, partial) or None
        ``table``: the rows of the files' tables (RangeIndex), in the order above;
        ``file`` (n_rows,) int64: the file (position in ``paths``) of each row;
        ``file_rows`` (n_files,) int64: rows of each file's table; ``partial`` (n_files,)
        bool. None: a file is not one this reader decides (nothing recorded anywhere).
    """
    import pyarrow as pa

    from datasets._csv import _MISSING
    from datasets.holdings_files import HOLDINGS_COLUMNS, cash_codes, cash_names

    if weight_unit not in ("pct", "fraction") or not len(paths):
        return None  # the text loader raises the ValueError
    try:
        tabs, per_file, layout = [], [], None
        first, rest = _csv_bodies(paths, encoding)
        for p in paths[:first]:
            tab, row_kind = _read_arrow(p, encoding)
            cols = _resolve(tab, HOLDINGS_COLUMNS, ("name",),
                            "holdings file (date, etf, ticker, weight)", row_kind)
            if tab.num_rows == 0:
                raise _Fallback  # the text loader words an empty file
            if layout is None:
                layout = (cols, row_kind)
            elif layout != (cols, row_kind):
                raise _Fallback  # files of other headers: one at a time
            header = list(tab.column_names)
            tabs.append(tab.select(list(cols.values())).rename_columns(list(cols)))
            per_file.append(tab.num_rows)
        if rest is not None:  # the other CSV files, of the first one's header line
            tab, counts = _parse_bodies(rest, header, layout[0])
            tabs.append(tab)
            per_file += counts
        try:
            tab = pa.concat_tables(tabs) if len(tabs) > 1 else tabs[0]
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:  # other column types (Parquet)
            raise _Fallback from exc
        cols = layout[0]
        n_file = np.asarray(per_file, dtype=np.int64)
        fi = np.repeat(np.arange(len(paths)), n_file)
        n = int(n_file.sum())
        udates, di = _dates(tab.column("date"))
        # ETF tickers: stripped, a missing marker is an error (Table.codes); holding
        # tickers: stripped text, any value (Table.text), judged below
        uetf, ei = _codes(tab.column("etf"), _MISSING - {"-"})
        ustock, si = _codes(tab.column("stock"), frozenset())
        cash = cash_codes(ustock)[si]
        if "name" in cols:
            unames, ni = _codes(tab.column("name"), frozenset())
            cash |= cash_names(unames)[ni]
        if ((ustock == "")[si] & ~cash).any():
            raise _Fallback  # an empty non-cash ticker
        w = _numbers(tab.column("weight"), required=True)
        if weight_unit == "pct":
            w = w / 100.0
        ne, ns, nd = max(len(uetf), 1), max(len(ustock), 1), max(len(udates), 1)
        if len(paths) * ne * nd * ns >= 2**62:
            raise _Fallback
        # one code per (file, etf, date): its order is the text path's (etf, date) group
        # order within each file
        snap = (fi * ne + ei) * nd + di
        key = snap * ns + si
        order = np.argsort(key, kind="stable")  # Holdings' order: (etf, date, stock)
        sorted_key = key[order]
        if (sorted_key[1:] == sorted_key[:-1]).any():
            raise _Fallback  # duplicate (date, etf, ticker): the text path names it
        if ((w < 0) & ~cash).any():
            raise _Fallback
        # per snapshot: totals with and without cash, as finish_snapshots sums them (pandas'
        # grouped sum over the same rows in the same order: the same bits)
        sums = pd.DataFrame({"all": w, "noncash": np.where(cash, 0.0, w)}).groupby(
            snap, sort=True).sum()
        totals, noncash = sums["all"].to_numpy(), sums["noncash"].to_numpy()
        low = totals < 1 - sum_tol
        if (totals > 1 + sum_tol).any() or (low.any() and not allow_partial) or \
                (noncash <= 0).any():
            raise _Fallback
    except _Fallback:
        return None
    keep = ~cash
    # the non-cash total of each snapshot, summed over the non-cash rows in file order
    # (finish_snapshots' transform), so the divisor has the text path's bits; every
    # snapshot has a non-cash row (its non-cash total is > 0)
    per = pd.Series(w[keep]).groupby(snap[keep], sort=True).sum()
    snaps = per.index.to_numpy()
    div = per.to_numpy().copy()
    div[low] = 1.0  # partial snapshots keep their weights (fractions of the whole fund)
    snap_file = snaps // (ne * nd)
    F = len(paths)
    n_cash = np.bincount(fi[cash], minlength=F)
    n_renorm = np.bincount(snap_file[np.abs(div - 1.0) > 1e-12], minlength=F)
    n_partial = np.bincount(snap_file[low], minlength=F)
    for j, (p, q) in enumerate(zip(paths, qualities, strict=True)):
        src = Path(p).name
        _record(q, src, int(n_file[j]))
        q = q if q is not None else DataQuality()
        q.add(src, "dropped", "cash rows", int(n_cash[j]), rule="cash is not a constituent")
        q.add(src, "renormalized", "holdings snapshots to sum to 1", int(n_renorm[j]),
              rule="weights / non-cash total")
        if n_partial[j]:
            cov = noncash[low & (snap_file == j)]
            q.add(src, "kept as given", "partial snapshots (weights sum below 100%, not "
                  "renormalized)", int(n_partial[j]),
                  rule=f"allow_partial: coverage {cov.min() * 100:.2f}%..{cov.max() * 100:.2f}%"
                       " of the fund")
    weight = np.empty(n)
    weight[keep] = w[keep] / div[np.searchsorted(snaps, snap[keep])]
    if by_year:
        rows = np.flatnonzero(keep)
        _, yr = np.unique(udates.astype("datetime64[Y]"), return_inverse=True)
        ny = int(yr.max()) + 1
        if ny * ne * nd * F * ns < 2**62:
            k = (((yr.reshape(-1)[di] * ne + ei) * nd + di) * F + fi) * ns + si
            rows = rows[np.argsort(k[rows], kind="stable")]
        else:  # pragma: no cover - more combinations than int64 holds
            rows = rows[np.lexsort((si[rows], fi[rows], di[rows], ei[rows],
                                    yr.reshape(-1)[di][rows]))]
    else:  # the non-cash rows of each file in (etf, date, stock) order, files in file order
        rows = order[keep[order]]
    table = pd.DataFrame({
        "etf": pd.Series(uetf[ei[rows]], dtype=object),
        "effective_date": udates[di[rows]],
        "stock": pd.Series(ustock[si[rows]], dtype=object),
        "weight": weight[rows]}, copy=False)
    return table, fi[rows], np.bincount(fi[keep], minlength=F).astype(np.int64), n_partial > 0


def _csv_bodies(paths, encoding):
    """``(k, bodies)``: the first ``k`` files are read one by one (:func:`_read_arrow`); the
    rest, CSV files whose first line is byte for byte the first file's, as ``(pieces, rows)``
    per file (its data lines as byte views ending in a newline, and their number), parsed
    together by :func:`_parse_bodies` (``bodies`` None: every file is read one by one)."""
    from datasets.arrow_long import _BOM, _utf8

    p0 = Path(paths[0])
    if len(paths) < 2 or p0.suffix.lower() not in (".csv", ".txt") or not _utf8(encoding):
        return len(paths), None
    head = None
    bodies = []
    for p in paths[1:]:
        p = Path(p)
        if p.suffix.lower() not in (".csv", ".txt"):
            raise _Fallback
        raw = p.read_bytes()
        if raw.startswith(_BOM):
            raw = raw[len(_BOM):]
        cut = raw.find(b"\n")
        # blank lines are counted and shift line numbers in the text path: the CSV reader
        # skips them, which _parse_bodies sees in its row count, given that every line ends
        # in "\n" (a lone "\r" ends a line too)
        if cut < 0 or (b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")):
            raise _Fallback
        if head is None:
            h0 = p0.read_bytes()
            h0 = h0[len(_BOM):] if h0.startswith(_BOM) else h0
            head = h0[:h0.find(b"\n") + 1] if b"\n" in h0 else None
            if head is None:
                raise _Fallback
        if raw[:cut + 1] != head:
            raise _Fallback  # another header: the batch is not one layout
        # the data lines as views of the file's bytes (joined once, not copied per file)
        lines = [memoryview(raw)[cut + 1:]] + ([] if raw.endswith(b"\n") else [b"\n"])
        bodies.append((lines, raw.count(b"\n", cut + 1) + (not raw.endswith(b"\n"))))
    return 1, bodies


def _parse_bodies(bodies, header: list[str], cols: dict):
    """The data lines of several CSV files of one header in one Arrow read: the table (the
    resolved columns, canonical names) and the rows of each file."""
    import io

    import pyarrow as pa
    import pyarrow.csv as pcsv

    counts = [c for _, c in bodies]
    if not all(counts):
        raise _Fallback  # a file with a header only: the text loader words it
    names = [f"f{j}" for j in range(len(header))]
    raw = b"".join(v for lines, _ in bodies for v in lines)
    try:
        tab = pcsv.read_csv(
            io.BytesIO(raw), read_options=pcsv.ReadOptions(column_names=names,
                                                           block_size=1 << 22),
            parse_options=pcsv.ParseOptions(newlines_in_values=False),
            convert_options=pcsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                quoted_strings_can_be_null=False))
    except Exception as exc:  # ragged rows, bad quoting, bad UTF-8: the text path says
        raise _Fallback from exc
    if tab.num_rows != sum(counts):
        raise _Fallback  # a line the CSV reader joined or skipped: line numbers would shift
    # a blank row (all cells empty, dropped and counted by the text path) has an empty
    # weight, which the required weight column sends to the text loader
    tab = tab.rename_columns(header)
    return tab.select(list(cols.values())).rename_columns(list(cols)), counts
