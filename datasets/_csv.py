"""Shared reading for every file loader: encodings, numbers, dates, columns, error locations.

Every loader in :mod:`datasets` reads its file through :func:`read_table`, which returns a
:class:`Table`: all cells as text (``dtype=str``) plus where each row came from, so that a bad
cell can be reported as ``file, line N, column 'X': what. Fix: how``. Parsing is then explicit
(:meth:`Table.numbers`, :meth:`Table.dates`) instead of letting pandas guess and silently turn a
bad cell into NaN.

Conventions
-----------
* Line numbers are 1-based file lines as a text editor shows them: the header is line 1, the
  first data row line 2. Parquet files have no lines; their rows are reported as 0-based
  ``row`` positions.
* Encodings: a UTF-8 byte-order mark selects ``utf-8-sig``; otherwise UTF-8 is tried, then
  CP949 (a superset of EUC-KR, what the KRX data portal writes). Undecodable bytes are a
  :class:`~engine.errors.DataError` naming the line of the first bad byte.
* Numbers: thousands separators (``1,234,567``) and surrounding spaces are removed; ``-`` alone
  (KRX's "no value") and empty cells are *missing*, which a required column rejects.
* Dates: ``YYYY/MM/DD`` (KRX), ``YYYY-MM-DD`` (ISO, pandas), ``YYYYMMDD`` (pykrx parameters),
  ``YYYY.MM.DD`` and ``MM/DD/YYYY`` (US issuer files), optionally followed by ``00:00:00``.
* Fully blank lines are dropped and counted in the :class:`~engine.errors.DataQuality`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality

__all__ = ["Table", "decode_bytes", "read_table", "resolve_columns"]

_UTF8_BOM = b"\xef\xbb\xbf"
_NUMBER_RE = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_THOUSANDS_RE = r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$"
_DATE_FORMATS = (
    (re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{4})(\d{2})(\d{2})$"), (1, 2, 3)),
    (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (3, 1, 2)),
)
DATE_FIX = "write dates as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD"
_MISSING = {"", "-", "nan", "NaN", "None", "<NA>", "NaT"}


def decode_bytes(raw: bytes, source: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode a file's bytes, detecting the encoding unless one is given.

    Parameters
    ----------
    raw : bytes
        File content.
    source : str
        Name used in error messages.
    encoding : str, optional
        Force an encoding (``"utf-8"``, ``"cp949"``, ``"euc-kr"``, ``"utf-8-sig"``).

    Returns
    -------
    text, encoding : str, str

    Raises
    ------
    DataError
        Naming the line of the first byte that the (detected or given) encoding cannot decode.

    Examples
    --------
    >>> decode_bytes("종목코드\\n".encode("cp949"), "a.csv")[1]
    'cp949'
    >>> decode_bytes(b"\\xef\\xbb\\xbfdate\\n", "a.csv")
    ('date\\n', 'utf-8-sig')
    """
    if encoding is not None:
        candidates = [encoding]
    elif raw.startswith(_UTF8_BOM):
        candidates = ["utf-8-sig"]
    else:
        candidates = ["utf-8", "cp949"]
    first_err: UnicodeDecodeError | None = None
    last_err: UnicodeDecodeError | None = None
    for enc in candidates:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as exc:
            first_err = first_err or exc
            last_err = exc
        except LookupError as exc:
            raise DataError(f"unknown encoding {encoding!r}", file=source,
                            fix="use utf-8, cp949 or euc-kr") from exc
    # Report the byte that the most permissive candidate choked on (CP949 when auto-detecting,
    # the user's encoding otherwise) -- that is where the file really is broken.
    err = last_err if encoding is None else first_err
    assert err is not None
    line = raw.count(b"\n", 0, err.start) + 1
    bad = raw[err.start:err.start + 4]
    if encoding is None:
        problem = f"bytes {bad!r} are neither UTF-8 nor CP949/EUC-KR text"
        fix = "save the file as UTF-8 or CP949 text (is it a binary or corrupted file?)"
    else:
        problem = f"bytes {bad!r} cannot be decoded as {encoding}"
        fix = ("KRX portal downloads are CP949: pass encoding='cp949' or leave the encoding "
               "out to detect it")
    raise DataError(problem, file=source, row=line, fix=fix) from err


@dataclass
class Table:
    """A file read as text, with the location of every row for error messages.

    Attributes
    ----------
    frame : pd.DataFrame
        All cells as ``str`` (missing cells as ``""``), headers stripped of spaces. The index
        is the row's 1-based file line (CSV) or 0-based position (Parquet).
    source : str
        File name used in messages.
    row_kind : str
        ``"line"`` (CSV) or ``"row"`` (Parquet position).
    encoding : str or None
        Encoding the text was decoded with (None for Parquet).
    """

    frame: pd.DataFrame
    source: str
    row_kind: str = "line"
    encoding: str | None = None
    blank_lines: int = 0

    def __len__(self) -> int:
        return len(self.frame)

    @property
    def columns(self) -> pd.Index:
        """The header (cleaned names), without parsing any cell."""
        return self.frame.columns

    # -- errors --------------------------------------------------------------------------
    def error(self, problem: str, *, pos: int | None = None, column: str | None = None,
              fix: str | None = None) -> DataError:
        """A :class:`DataError` located at row position ``pos`` (0-based) of :attr:`frame`."""
        row = None if pos is None else int(self.frame.index[pos])
        return DataError(problem, file=self.source, row=row, column=column, fix=fix,
                         row_kind=self.row_kind)

    def require_rows(self, what: str) -> None:
        """Raise if the table has no data rows (pykrx returns an empty frame when KRX refuses)."""
        if len(self) == 0:
            raise DataError(
                f"no data rows: an empty {what} is a failed download, not zero flow",
                file=self.source,
                fix="re-download the file (KRX returns an empty table for holidays, unknown "
                    "tickers or refused requests)",
            )

    # -- parsing -------------------------------------------------------------------------
    def text(self, column: str) -> pd.Series:
        """Stripped text of ``column`` (missing = ``""``)."""
        return self.frame[column].str.strip()

    def numbers(self, column: str, *, required: bool = True, what: str = "number",
                min_value: float | None = None, strict_min: bool = False) -> np.ndarray:
        """Parse ``column`` as float64, with thousands separators removed.

        Parameters
        ----------
        column : str
            Column name as in the file.
        required : bool
            Missing cells (empty, ``-``, ``nan``) raise; otherwise they become NaN.
        what : str
            Name of the quantity for messages ("market cap", "net buying").
        min_value : float, optional
            Lowest accepted value (``>=``; ``>`` with ``strict_min``).

        Raises
        ------
        DataError
            At the first non-numeric, missing (if required) or out-of-range cell.
        """
        raw = self.frame[column].str.strip()
        # A comma must be a thousands separator (1,234,567.5); '1,5' or '1.234,5' (decimal
        # commas) would otherwise silently become 15 / 1.2345.
        comma = raw.str.contains(",", regex=False).to_numpy(dtype=bool)
        if comma.any():
            grouped = raw[comma].str.fullmatch(_THOUSANDS_RE).to_numpy(dtype=bool)
            if not grouped.all():
                i = int(np.flatnonzero(comma)[np.flatnonzero(~grouped)[0]])
                raise self.error(
                    f"{what} {self.frame[column].iloc[i]!r} has misplaced thousands separators",
                    pos=i, column=column,
                    fix="use ',' only between groups of three digits and '.' for decimals")
        s = raw.str.replace(",", "", regex=False)
        missing = s.isin(_MISSING).to_numpy()
        # fillna(False): a missing cell is not a well-formed number; emptiness is judged apart
        ok = s.str.fullmatch(_NUMBER_RE).fillna(False).to_numpy(dtype=bool)
        bad = ~ok & ~missing
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.error(
                f"{what} {self.frame[column].iloc[i]!r} is not a number ({int(bad.sum())} such "
                f"cells)", pos=i, column=column,
                fix="write plain numbers (thousands separators allowed); no units or text")
        if required and missing.any():
            i = int(np.flatnonzero(missing)[0])
            raise self.error(
                f"{what} is missing ({int(missing.sum())} empty/NaN cells in a required column)",
                pos=i, column=column, fix="fill the value or remove the row")
        out = np.full(len(s), np.nan)
        out[ok] = s[ok].astype(np.float64).to_numpy()
        if not np.isfinite(out[ok]).all():
            i = int(np.flatnonzero(ok & ~np.isfinite(out))[0])
            raise self.error(f"{what} {self.frame[column].iloc[i]!r} is not finite",
                             pos=i, column=column, fix="write a finite number")
        if min_value is not None:
            low = (out <= min_value) if strict_min else (out < min_value)
            low &= ~np.isnan(out)
            if low.any():
                i = int(np.flatnonzero(low)[0])
                rel = ">" if strict_min else ">="
                raise self.error(
                    f"{what} is {self.frame[column].iloc[i].strip()} ({int(low.sum())} such "
                    f"cells); it must be {rel} {min_value:g}", pos=i, column=column,
                    fix=f"correct the {what} or remove the row")
        return out

    def dates(self, column: str) -> pd.DatetimeIndex:
        """Parse ``column`` as dates (formats in the module docstring); raise at the first bad one."""
        # Long files repeat each date many times: parse the distinct strings only.
        codes, uniques = pd.factorize(self.frame[column].to_numpy(dtype=object))
        parsed = _parse_date_strings(pd.Series(uniques, dtype=object).astype(str))
        bad = np.asarray(parsed.isna())[codes]
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise self.error(f"date {self.frame[column].iloc[i]!r} cannot be parsed "
                             f"({int(bad.sum())} such cells)", pos=i, column=column, fix=DATE_FIX)
        return pd.DatetimeIndex(parsed.take(codes))

    def codes(self, column: str, what: str = "stock code") -> pd.Series:
        """Text codes (tickers, stock codes); empty cells raise."""
        s = self.text(column)
        empty = s.isin(_MISSING - {"-"}).to_numpy()
        if empty.any():
            i = int(np.flatnonzero(empty)[0])
            raise self.error(f"{what} is empty", pos=i, column=column,
                             fix=f"every row needs a {what}")
        return s.reset_index(drop=True)

    def check_unique(self, keys: Sequence[pd.Series | np.ndarray], names: Sequence[str],
                     fix: str = "keep one row per key (merge or delete the duplicate)") -> None:
        """Raise at the second occurrence of a duplicated key (e.g. (date, stock, investor))."""
        key = pd.MultiIndex.from_arrays([np.asarray(k) for k in keys], names=list(names))
        dup = key.duplicated()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            first = int(np.flatnonzero(key == key[i])[0])
            vals = ", ".join(f"{n}={_fmt(v)}" for n, v in zip(names, key[i], strict=True))
            raise self.error(
                f"duplicate row for ({vals}); first seen at {self.row_kind} "
                f"{self.frame.index[first]} ({int(dup.sum())} duplicates)",
                pos=i, column=names[-1], fix=fix)

    def check_time_order(self, dates: pd.DatetimeIndex, column: str) -> np.ndarray:
        """For one-row-per-date files: accept increasing or decreasing (KRX lists newest first)
        dates, reject repeats and mixed order (a broken export). Returns the sorting order."""
        d = dates.asi8
        if len(d) > 1:
            steps = np.diff(d)
            if (steps > 0).all():
                return np.arange(len(d))
            if (steps < 0).all():
                return np.arange(len(d))[::-1]
            if (steps == 0).any():
                i = int(np.flatnonzero(steps == 0)[0]) + 1
                raise self.error(f"date {dates[i].date()} appears twice", pos=i, column=column,
                                 fix="keep one row per date")
            direction = 1 if steps[0] > 0 else -1
            i = int(np.flatnonzero(np.sign(steps) != direction)[0]) + 1
            order = "increasing" if direction > 0 else "decreasing"
            raise self.error(
                f"dates are out of order: {dates[i].date()} follows {dates[i - 1].date()} in a "
                f"file whose dates are otherwise {order}", pos=i, column=column,
                fix="a shuffled export is likely truncated or merged by hand; re-export it "
                    "sorted by date")
        return np.arange(len(d))


def _parse_date_strings(s: pd.Series) -> pd.DatetimeIndex:
    """Dates of the accepted formats; NaT where a string matches none or is not a real day."""
    s = s.str.strip().str.replace(r"\s+00:00:00$", "", regex=True)
    out = np.full(len(s), np.datetime64("NaT"), dtype="datetime64[ns]")
    todo = np.ones(len(s), dtype=bool)
    for rx, (yi, mi, di) in _DATE_FORMATS:
        parts = s.str.extract(rx)
        hit = parts[0].notna().to_numpy() & todo
        if hit.any():
            p = parts[hit]
            year = p[yi - 1].astype(int).to_numpy()
            # only years datetime64[ns] holds whole: pandas parses 3021 (a typo of 2021) in
            # a coarser unit, and writing that into ``out`` would wrap it round to the 1800s
            # silently; such a date stays NaT, so the caller's error names the cell
            fits = (year >= 1678) & (year <= 2261)
            got = np.full(len(p), np.datetime64("NaT"), dtype="datetime64[ns]")
            if fits.any():
                got[fits] = pd.to_datetime(
                    pd.DataFrame({"year": year[fits],
                                  "month": p[mi - 1].astype(int).to_numpy()[fits],
                                  "day": p[di - 1].astype(int).to_numpy()[fits]}),
                    errors="coerce").to_numpy().astype("datetime64[ns]")
            out[hit] = got
            todo &= ~hit
    return pd.DatetimeIndex(out)


def _fmt(v) -> str:
    if isinstance(v, pd.Timestamp):
        return str(v.date())
    return str(v)


def read_table(path, *, encoding: str | None = None, quality: DataQuality | None = None,
               source: str | None = None) -> Table:
    """Read a CSV (any supported encoding) or Parquet file as a text :class:`Table`.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt`` (comma separated) or ``.parquet``/``.pq``.
    encoding : str, optional
        Force a text encoding; default detects UTF-8 (with or without BOM) or CP949/EUC-KR.
    quality : DataQuality, optional
        Receives the number of rows read and of blank lines dropped.
    source : str, optional
        Name for messages (default: the file name).

    Raises
    ------
    DataError
        Empty file, undecodable bytes, unreadable CSV structure, or a header with empty or
        repeated names.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    source = source or path.name
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    key = None
    if _SHARED is not None:
        st = path.stat()
        key = (str(path.resolve()), st.st_mtime_ns, st.st_size, encoding, source)
        table = _SHARED.get(key)
        if table is not None:
            _record(table, quality)
            return table
    table = _read_table(path, encoding, source)
    if key is not None:
        _SHARED[key] = table
    _record(table, quality)
    return table


#: Tables read while :func:`shared_tables` is active (key: path, mtime, size, encoding, name).
_SHARED: dict | None = None


@contextmanager
def shared_tables():
    """Within the block, :func:`read_table` parses each file once (loaders do not modify a
    :class:`Table`): detecting a file's kind tries a dozen loaders on the same text."""
    global _SHARED
    outer = _SHARED
    if outer is None:
        _SHARED = {}
    try:
        yield
    finally:
        _SHARED = outer


def _record(table: Table, quality: DataQuality | None) -> None:
    if quality is not None:
        quality.read(table.source, len(table))
        quality.add(table.source, "dropped", "blank lines", table.blank_lines,
                    rule="blank lines carry no data")


def _parquet_text(path: Path, source: str) -> pd.DataFrame:
    try:
        raw_frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises many types for a corrupt file
        raise DataError(f"cannot read Parquet: {exc}", file=source,
                        fix="re-export the file") from exc
    if not isinstance(raw_frame.index, pd.RangeIndex):
        raw_frame = raw_frame.reset_index()
    frame = pd.DataFrame(
        {str(c).strip(): _to_text(raw_frame[c]) for c in raw_frame.columns})
    frame.index = pd.RangeIndex(len(frame))
    return frame


class _LazyParquetTable(Table):
    """A Parquet file's :class:`Table` whose cells become text on first use: kind detection
    tries a dozen loaders on a file and most of them need only its header."""

    def __init__(self, path: Path, source: str, columns: list[str], n_rows: int):
        self._path, self._frame, self._n = path, None, int(n_rows)
        self._columns = pd.Index(columns, dtype=object)
        self.source, self.row_kind, self.encoding, self.blank_lines = source, "row", None, 0

    @property
    def frame(self) -> pd.DataFrame:  # type: ignore[override]
        if self._frame is None:
            self._frame = _parquet_text(self._path, self.source)
        return self._frame

    @property
    def columns(self) -> pd.Index:
        return self._columns

    def __len__(self) -> int:
        return self._n


def _lazy_parquet(path: Path, source: str) -> Table | None:
    """The lazy table, when its header is known without reading the data (no stored index,
    distinct names); None otherwise."""
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema()
    except Exception:  # a corrupt file: the eager read gives the error
        return None
    pmeta = schema.pandas_metadata or {}
    if any(not isinstance(ix, dict) for ix in pmeta.get("index_columns", [])):
        return None
    names = [str(c).strip() for c in schema.names]
    if len(set(names)) != len(names):
        return None
    return _LazyParquetTable(path, source, names, meta.num_rows)


def _read_table(path: Path, encoding, source: str) -> Table:
    if path.suffix.lower() in (".parquet", ".pq"):
        lazy = _lazy_parquet(path, source)
        if lazy is not None:
            return lazy
        table = Table(_parquet_text(path, source), source, row_kind="row", encoding=None)
    else:
        raw = path.read_bytes()
        if not raw.strip(b" \t\r\n" + _UTF8_BOM):
            raise DataError("the file is empty", file=source,
                            fix="re-download it; an empty export means the source refused "
                                "the request or had no data for the day")
        text, enc = decode_bytes(raw, source, encoding)
        table = _parse_csv_text(text, source, enc)
    return table


def _to_text(col: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(col):
        # text view for messages and parsing; an empty string is then reported as missing
        return col.dt.strftime("%Y-%m-%d").fillna("")
    return col.astype(object).where(col.notna(), "").astype(str)


def _parse_csv_text(text: str, source: str, enc: str) -> Table:
    import csv
    import io

    try:
        # header=None: the header row is data row 0, so the C parser rejects any later row
        # with more fields than the header (with header=0 pandas would silently turn a first
        # column into the index). Blank lines are kept so row i is file line i + 1.
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                            skip_blank_lines=False, header=None)
    except (pd.errors.ParserError, csv.Error) as exc:
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        what = (f"malformed CSV: {m.group(3)} fields where the header has {m.group(1)}" if m
                else "malformed CSV: " + " ".join(str(exc).split()))
        raise DataError(what, file=source, row=int(m.group(2)) if m else None,
                        fix="every row must have as many comma-separated fields as the header; "
                            "quote fields that contain commas") from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError("the file has no header", file=source, row=1,
                        fix="the first line must name the columns") from exc
    cols = [str(c).strip() for c in frame.iloc[0]]
    frame = frame.iloc[1:]
    if all(c == "" for c in cols) and (frame == "").all(axis=None):
        # What pandas writes for an empty DataFrame (pykrx returns one when KRX refuses).
        raise DataError("the file holds an empty table (no columns, no rows)", file=source,
                        fix="re-download it; an empty export means the source refused the "
                            "request or had no data for the day")
    for j, c in enumerate(cols):
        if c == "":
            # pandas' to_csv writes an empty name for an unnamed index; keep it addressable.
            if j == 0:
                cols[j] = ""
                continue
            raise DataError(f"column {j + 1} of the header has no name", file=source, row=1,
                            fix="name every column in the first line")
    dup = pd.Index(cols)[pd.Index(cols).duplicated()]
    if len(dup):
        raise DataError(f"column {dup[0]!r} appears twice in the header", file=source, row=1,
                        column=dup[0], fix="give each column a distinct name")
    frame.columns = cols
    # Row i of the frame is file line i + 2 (header = line 1) because blank lines are kept.
    frame.index = pd.RangeIndex(2, 2 + len(frame))
    blank = (frame == "").all(axis=1).to_numpy() if len(frame) else np.zeros(0, bool)
    frame = frame[~blank]
    return Table(frame, source, row_kind="line", encoding=enc, blank_lines=int(blank.sum()))


def resolve_columns(table: Table, spec: Mapping[str, Sequence[str]], *,
                    optional: Sequence[str] = (), allowed_extra: Sequence[str] | None = None,
                    kind: str = "file") -> dict[str, str]:
    """Map canonical field names to the column names used in the file.

    Parameters
    ----------
    table : Table
    spec : mapping
        Canonical field -> accepted column names (English, KRX field names, Korean headers),
        compared after removing spaces, case-insensitively.
    optional : sequence of str
        Fields that may be absent.
    allowed_extra : sequence of str, optional
        Other column names that may appear and are ignored. ``None`` ignores any other
        column (KRX/pykrx exports carry many); a list makes unknown columns an error.
    kind : str
        What the file should be, for messages ("KRX net purchases file").

    Returns
    -------
    dict
        Field -> column name in the file, for the fields found.

    Raises
    ------
    DataError
        A required field is missing (line 1, the header; the message lists what was found), or
        with ``allowed_extra`` given, an unknown column.
    """
    def norm(c: str) -> str:
        return re.sub(r"\s+", "", str(c)).lower()

    by_norm = {norm(c): c for c in table.columns}
    found: dict[str, str] = {}
    for field_name, names in spec.items():
        for n in names:
            if norm(n) in by_norm:
                found[field_name] = by_norm[norm(n)]
                break
    missing = [f for f in spec if f not in found and f not in optional]
    if missing:
        f = missing[0]
        raise DataError(
            f"missing column {f!r} (accepted names: {', '.join(n for n in spec[f] if n)}); the header has "
            f"{', '.join(repr(c) for c in table.columns)}",
            file=table.source, row=1 if table.row_kind == "line" else None, column=spec[f][0],
            fix=f"is this a {kind}? rename the column or choose the matching --kind")
    if allowed_extra is not None:
        known = {norm(c) for c in found.values()} | {norm(c) for c in allowed_extra}
        unknown = [c for c in table.columns if norm(c) not in known]
        if unknown:
            expected = sorted({n for names in spec.values() for n in names[:1]})
            raise DataError(
                f"unknown column {unknown[0]!r}; a {kind} has columns {', '.join(expected)}",
                file=table.source, row=1 if table.row_kind == "line" else None,
                column=unknown[0], fix="rename the column (check for typos) or delete it")
    return found
