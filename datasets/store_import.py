"""Import real data files into a flowbt store (the logic behind ``flowbt data import``).

Every kind :func:`datasets.check.check_file` reads is turned into store rows
(:mod:`datasets.store` layout) by one adapter here; the store merges them (idempotent,
conflicts named). Dates, ETF codes, investor types and stocks that a file does not hold come
from its file name as the pykrx recordings and KRX downloads name them
(``net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv``,
``market_cap_by_ticker_ALL_20210104.csv``, ``etf_pdf_152100_20210402.csv``,
``investor_value_by_date_005930_20210115_20210122.csv``) or from the ``date`` / ``stock`` /
``effective_date`` options.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from datasets.arrow_wide import WideBatch, join_months
from datasets.store import (
    Store,
    _group_order,
    _write_atomic,
    create_store,
    file_fingerprint,
    write_table_atomic,
)
from engine.errors import DataError, DataQuality
from engine.investors import INVESTORS

__all__ = ["BATCH_KINDS", "ETF_FLOW_KINDS", "ImportResult", "etf_file_currency", "import_files", "rows_of_file"]

_STOCK_IN_NAME = re.compile(r"_([0-9A-Z]{6})(?:_|$)")


@dataclass
class ImportResult:
    """What an import did: files added / skipped, rows per table, partitions written."""

    added: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    partitions_written: int = 0
    kinds: dict[str, str] = field(default_factory=dict)


def _name_meta(path) -> dict:
    from datasets.krx import parse_krx_filename

    return parse_krx_filename(path)


def _one_date(path, date, what: str) -> pd.Timestamp:
    if date is not None:
        return pd.Timestamp(date)
    meta = _name_meta(path)
    if "start" in meta and meta["start"] != meta["date"]:
        raise DataError(f"the file name gives a period {meta['start'].date()}..{meta['date'].date()}"
                        f" but a {what} is one day's snapshot", file=Path(path).name,
                        fix="pass --date DATE")
    if "date" not in meta:
        raise DataError(f"cannot tell the date of this {what}", file=Path(path).name,
                        fix="pass --date YYYY-MM-DD or name the file ..._<YYYYMMDD>.csv")
    return meta["date"]


def _stock(path, stock) -> str:
    if stock is not None:
        return str(stock)
    stem = Path(path).stem
    if re.search(r"_(KOSPI|KOSDAQ|KONEX|ALL)(?:_|$)", stem):
        raise DataError("this is a market-wide file, not one stock's", file=Path(path).name,
                        fix="import per-stock files (pykrx get_market_trading_value_by_date"
                            "(from, to, ticker)); market-wide flows are not constituent flows")
    m = _STOCK_IN_NAME.search(stem)
    if m is None:
        raise DataError("cannot tell which stock this by-date file is", file=Path(path).name,
                        fix="pass --stock CODE or name the file ..._<code>_<start>_<end>.csv")
    return m.group(1)


def _investor_rows(base: pd.DataFrame, net: dict, shares: dict) -> tuple[pd.DataFrame, dict]:
    """Add ``net_buy_<k>``, ``net_buy_shares_<k>``, ``src_net_buy_<k>`` columns."""
    groups = {}
    cols = {}
    for k in INVESTORS:
        if k not in net:
            continue
        cols[f"net_buy_{k}"] = np.asarray(net[k], np.float64)
        cols[f"net_buy_shares_{k}"] = np.asarray(shares.get(k, np.full(len(base), np.nan)),
                                                 np.float64)
        cols[f"src_net_buy_{k}"] = np.full(len(base), -1, np.int32)
        groups[f"net_buy_{k}"] = [f"net_buy_{k}", f"net_buy_shares_{k}"]
    # one concat, not a column insert per investor (36 inserts per file)
    base = pd.concat([base, pd.DataFrame(cols, index=base.index)], axis=1)
    return base, groups


def rows_of_file(path, kind: str, *, quality: DataQuality, encoding=None, date=None,
                 stock=None, effective_date=None, etf=None, weight_unit: str = "pct",
                 allow_partial: bool = False, nav_from=None, currency: str | None = None,
                 meta: dict | None = None, vectorized: bool = True
                 ) -> list[tuple[str, pd.DataFrame, dict]]:
    """Read one file as ``kind`` into store rows: a list of ``(table, rows, groups)``.

    ``src_*`` columns are -1 here; :func:`import_files` sets the file's id. For the ETF-flow
    kinds ``meta`` (when given) receives ``etf_currency`` (:func:`etf_file_currency`) and
    ``currency_stated`` (whether the file itself says it). With ``vectorized`` (the default)
    generic long files go through :mod:`datasets.arrow_long` first, which gives the same rows
    and data-quality counts as the text loaders or hands the file to them (bad input: their
    exact error); ``vectorized=False`` forces the text loaders.
    """
    name = Path(path).name
    out: list[tuple[str, pd.DataFrame, dict]] = []
    fast = False  # rows from datasets.arrow_long (keys already datetime64[ns] / str objects)
    if kind == "krx-netbuy":
        from datasets.krx import read_krx_netbuy

        f = read_krx_netbuy(path, quality=quality, encoding=encoding)
        meta = _name_meta(path)
        if "investor" not in meta:
            raise DataError("cannot tell the investor type of this net-purchases file", file=name,
                            fix="name it ..._inv<KRX code>_<start>_<end>.csv (inv9000 foreign, "
                                "inv7050 institution, inv8000 individual, ...)")
        k = meta["investor"]
        if date is not None:
            start = end = pd.Timestamp(date)
        elif "date" in meta:
            start, end = meta.get("start", meta["date"]), meta["date"]
        else:
            raise DataError("cannot tell the date of this net-purchases file", file=name,
                            fix="pass --date YYYY-MM-DD or name it ..._<start>_<end>.csv")
        stocks = f.index.to_numpy(dtype=object)
        if start != end:
            base = pd.DataFrame({"start": start, "end": end, "stock": stocks})
            base, groups = _investor_rows(base, {k: f["net_buy_krw"]}, {k: f["net_buy_shares"]})
            out.append(("periods", base, groups))
        else:
            base = pd.DataFrame({"date": end, "stock": stocks})
            base, groups = _investor_rows(base, {k: f["net_buy_krw"]}, {k: f["net_buy_shares"]})
            out.append(("flows", base, groups))
    elif kind in ("krx-marketcap", "pykrx-marketcap", "generic-market"):
        if kind == "krx-marketcap":
            from datasets.krx import read_krx_marketcap

            f = read_krx_marketcap(path, quality=quality, encoding=encoding)
            base = pd.DataFrame({"date": _one_date(path, date, "market-cap file"),
                                 "stock": f.index.to_numpy(dtype=object)})
        elif kind == "pykrx-marketcap":
            from datasets._csv import read_table
            from datasets.pykrx_files import read_pykrx_marketcap, read_pykrx_marketcap_by_date

            first = read_table(path, encoding=encoding).columns[0]
            if first in ("날짜", "일자", "date"):
                f = read_pykrx_marketcap_by_date(path, quality=quality, encoding=encoding)
                base = pd.DataFrame({"date": f.index, "stock": _stock(path, stock)})
            else:
                f = read_pykrx_marketcap(path, quality=quality, encoding=encoding)
                base = pd.DataFrame({"date": _one_date(path, date, "market-cap file"),
                                     "stock": f.index.to_numpy(dtype=object)})
        else:
            from datasets.arrow_long import market_rows
            from datasets.generic import read_long_market

            # vectorized when the file is clean; else the text loader (exact error messages)
            f = market_rows(path, quality=quality, encoding=encoding) if vectorized else None
            fast = f is not None
            if f is None:
                f = read_long_market(path, quality=quality, encoding=encoding)
            base = pd.DataFrame({"date": f["date"].to_numpy(), "stock": pd.Series(
                f["stock"].to_numpy(), dtype=object)})
            f = f.rename(columns={"market_cap": "market_cap_krw", "close": "close_krw"})
        base["market_cap"] = f["market_cap_krw"].to_numpy(np.float64)
        base["close"] = f["close_krw"].to_numpy(np.float64)
        base["src_market"] = np.int32(-1)
        out.append(("flows", base, {"market": ["market_cap", "close"]}))
    elif kind in ("pykrx-investor", "generic-netbuy"):
        from datasets.arrow_long import netbuy_rows

        if kind == "pykrx-investor":
            from datasets.pykrx_files import read_pykrx_investor_value

            f = read_pykrx_investor_value(path, quality=quality, encoding=encoding)
            base = pd.DataFrame({"date": f.index, "stock": _stock(path, stock)})
            base, groups = _investor_rows(base, {k: f[k].to_numpy() for k in f.columns}, {})
        elif vectorized and (got := netbuy_rows(path, quality=quality,
                                                 encoding=encoding)) is not None:
            base, net, shares = got  # vectorized read and pivot of a clean file
            base, groups = _investor_rows(base, net, shares)
            fast = True
        else:
            from datasets.generic import read_long_netbuy

            f = read_long_netbuy(path, quality=quality, encoding=encoding)
            wide = f.pivot(index=["date", "stock"], columns="investor",
                           values=["net_buy", "net_buy_shares"])
            base = wide.index.to_frame(index=False)
            inv = list(wide["net_buy"].columns)
            base, groups = _investor_rows(
                base, {k: wide[("net_buy", k)].to_numpy() for k in inv},
                {k: wide[("net_buy_shares", k)].to_numpy() for k in inv})
        out.append(("flows", base, groups))
    elif kind == "generic-wide":
        from datasets.generic import read_wide_daily

        f = read_wide_daily(path, quality=quality, encoding=encoding)
        base = pd.DataFrame({"date": f["date"].to_numpy(), "stock": pd.Series(
            f["stock"].to_numpy(), dtype=object)})
        inv = f.attrs["investors"]
        net = {k: f[f"net_buy_{k}"].to_numpy() for k in inv}
        shares = {k: f[f"net_buy_shares_{k}"].to_numpy() for k in inv}
        has = f["has_net_buy"].to_numpy()
        if f.attrs["market"]:
            mk = base.copy()
            mk["market_cap"] = f["market_cap"].to_numpy(np.float64)
            mk["close"] = f["close"].to_numpy(np.float64)
            mk["src_market"] = np.int32(-1)
            if has.all():  # one frame of both, as the long files' batches are fused
                base = mk
            else:  # the rows without net buying give their market data only
                out.append(("flows", mk, {"market": ["market_cap", "close"]}))
                base = base.loc[has].reset_index(drop=True)
                net = {k: v[has] for k, v in net.items()}
                shares = {k: v[has] for k, v in shares.items()}
        base, groups = _investor_rows(base, net, shares)
        if f.attrs["market"] and has.all():
            groups = {"market": ["market_cap", "close"], **groups}
        out.append(("flows", base, groups))
    elif kind in ("krx-pdf", "pykrx-pdf", "holdings", "holdings-wide"):
        if kind in ("krx-pdf", "pykrx-pdf"):
            if kind == "krx-pdf":
                from datasets.krx import load_krx_pdf as load
            else:
                from datasets.pykrx_files import load_pykrx_pdf as load
            h = load(path, etf=etf, date=effective_date if effective_date is not None else date,
                     quality=quality, encoding=encoding)
            tab = h.table.copy()
        else:
            from datasets.holdings_files import load_holdings, load_top_holdings_wide

            got = None
            if kind == "holdings" and vectorized:
                from datasets.arrow_holdings import holdings_table

                # the text loader's table (sorted, cash dropped, renormalized) built from
                # Arrow columns, or None: the text loader reads the file (and words its error)
                got = holdings_table(path, weight_unit=weight_unit, quality=quality,
                                     encoding=encoding, allow_partial=allow_partial)
                fast = got is not None
            if got is not None:
                tab = got[0]
            elif kind == "holdings":
                h = load_holdings(path, weight_unit=weight_unit, quality=quality,
                                  encoding=encoding, allow_partial=allow_partial,
                                  vectorized=False)
                tab = h.table.copy()
            else:
                h = load_top_holdings_wide(path, etf=etf, quality=quality, encoding=encoding)
                tab = h.table.copy()
            if effective_date is not None:
                if tab["effective_date"].nunique() != 1:
                    raise DataError("--effective-date applies to a file with one snapshot; this "
                                    f"one has {tab['effective_date'].nunique()}", file=name,
                                    fix="leave --effective-date out")
                tab["effective_date"] = pd.Timestamp(effective_date)
        if effective_date is not None:
            quality.add(name, "re-dated", "holdings snapshots to --effective-date "
                        f"{pd.Timestamp(effective_date).date()}", tab[["etf", "effective_date"]]
                        .drop_duplicates().shape[0], rule="the user says the PDF held earlier")
        tab["src_weight"] = np.int32(-1)
        out.append(("holdings", tab, {"weight": ["weight"]}))
    elif kind in ("etf-flows", "etf-shares-nav"):
        from datasets.etf_flows import load_etf_shares_nav, read_etf_flows
        from engine.market import EtfData

        if kind == "etf-flows":
            wide = read_etf_flows(path, quality=quality, encoding=encoding)
            stated = wide.attrs["currency"]
            cur = etf_file_currency(name, stated, currency, column=wide.attrs["flow_column"])
            e = EtfData(dates=wide.index, etfs=wide.columns, flow=wide.to_numpy(), currency=cur)
        else:  # a shares x NAV panel never says its currency
            stated = None
            cur = etf_file_currency(name, None, currency, column=None)
            e = load_etf_shares_nav(path, quality=quality, encoding=encoding, nav_from=nav_from,
                                    currency=cur)
        if meta is not None:
            meta.update(etf_currency=cur, currency_stated=stated is not None)
        E = len(e.etfs)
        base = pd.DataFrame({"date": np.repeat(e.dates.to_numpy(), E),
                             "etf": np.tile(np.asarray(e.etfs, dtype=object), len(e.dates))})
        groups = {}
        for fname in e.FIELDS:
            v = getattr(e, fname)
            if v is not None:
                base[fname] = v.ravel().astype(np.float64)
                base[f"src_{fname}"] = np.int32(-1)
                groups[fname] = [fname]
        out.append(("etfs", base, groups))
    elif kind == "prices":
        from datasets.generic import read_prices

        p = read_prices(path, quality=quality, encoding=encoding)
        long = p.rename_axis(index="date", columns="asset").stack(future_stack=True) \
            .rename("close").reset_index()
        long = long[long["close"].notna()].reset_index(drop=True)  # absent: no row
        long["src_close"] = np.int32(-1)
        out.append(("prices", long, {"close": ["close"]}))
    else:
        raise ValueError(f"unknown kind {kind!r}")
    for _table, rows, _ in out:
        for c in ("date", "start", "end", "effective_date"):
            if c in rows and rows[c].dtype != "datetime64[ns]":
                rows[c] = pd.DatetimeIndex(rows[c]).as_unit("ns")
        for c in ("stock", "etf", "asset"):
            if c in rows and not (fast and rows[c].dtype == object):  # fast: str objects
                rows[c] = rows[c].astype(str).astype(object)
    return out


#: Kinds whose rows are ETF flows (the store records their one currency, ``etf_currency``).
ETF_FLOW_KINDS = ("etf-flows", "etf-shares-nav")


def etf_file_currency(name: str, stated: str | None, given: str | None, *,
                      column: str | None) -> str:
    """The currency of one ETF-flow file: what the file states, else ``--currency``.

    Parameters
    ----------
    name : str
        File name (for messages).
    stated : str or None
        What the file says (its ``flow_usd`` / ``flow_krw`` header), None when it says nothing.
    given : str or None
        ``--currency``.
    column : str or None
        The flow column's header, when the file has one.

    Raises
    ------
    DataError
        The file says nothing and no ``--currency`` is given, or the two disagree.
    """
    if stated is not None:
        if given is not None and given != stated:
            raise DataError(f"the flow column {column!r} says {stated}, not --currency {given}",
                            file=name, column=column,
                            fix=f"pass --currency {stated} or leave --currency out")
        return stated
    if given is None:
        what = (f"its flow column {column!r} names no currency" if column is not None
                else "a shares x NAV panel does not say its currency")
        raise DataError(f"cannot tell the currency of the ETF flows: {what}", file=name,
                        column=column, fix="pass --currency USD (or KRW), or name the column "
                                           "flow_usd / flow_krw")
    return given


def _check_etf_currency(store: Store, name: str, meta: dict, first: str | None) -> str:
    """Refuse an ETF-flow file whose currency differs from the store's; return the currency.

    ``first`` names the file that set the currency in this import (None: the store did).
    """
    cur = meta["etf_currency"]
    have = store.manifest.get("etf_currency")
    if have is None and "etfs" in store.manifest.get("groups", {}):
        raise DataError("the store holds ETF flows imported without a recorded currency (an "
                        "older flowbt)", file=name,
                        fix=f"import every ETF-flow file again into a new --store (with "
                            f"--currency {cur} where a file does not say it)")
    if have is not None and have != cur:
        src = first or next((f["name"] for f in store.files if f.get("kind") in ETF_FLOW_KINDS),
                            "the synthetic market" if "synthetic" in store.manifest else "the store")
        hint = "" if meta.get("currency_stated") else f", or pass --currency {have} if they are {have}"
        raise DataError(f"its ETF flows are in {cur} but the store's are in {have} (from {src}): "
                        "a store holds ETF flows of one currency", file=name,
                        fix=f"import it into another --store{hint}")
    store.manifest["etf_currency"] = cur
    return cur


def _check_periods_vs_daily(store: Store, batch: dict[str, list], names: dict[int, str]) -> None:
    """Refuse a period total overlapping daily net buying of the same investor (either way)."""
    periods = [r for r in batch.get("periods", [])]
    daily = [r for r in batch.get("flows", [])]
    old_p = store.read_table("periods")
    all_p = pd.concat([old_p] + periods, ignore_index=True) if periods or len(old_p) else old_p
    if all_p.empty:
        return
    for (s, e), g in all_p.groupby(["start", "end"]):
        invs = [c[len("src_net_buy_"):] for c in g.columns
                if c.startswith("src_net_buy_") and (g[c] >= 0).any()]
        new_src = [r for r in periods if ((r["start"] == s) & (r["end"] == e)).any()]
        day_frames = [store.read_table("flows", start=s, end=e)] + \
            [r[(r["date"] >= s) & (r["date"] <= e)] for r in daily]
        for k in invs:
            c = f"src_net_buy_{k}"
            for d in day_frames:
                if c in d.columns and (d[c] >= 0).any():
                    day = d.loc[d[c] >= 0].iloc[0]
                    pfile = names.get(int(g.loc[g[c] >= 0, c].iloc[0]))
                    if new_src:
                        pfile = names.get(int(new_src[0][c].iloc[0]), pfile)
                    raise DataError(
                        f"{pfile} is a period total of {k} net buying over "
                        f"{pd.Timestamp(s).date()}..{pd.Timestamp(e).date()}, and "
                        f"{names.get(int(day[c]))} gives daily {k} net buying on "
                        f"{pd.Timestamp(day['date']).date()} inside that period: a period total "
                        "is never mixed into a daily panel", file=pfile,
                        fix="download one file per session (start = end), or import the "
                            "period totals into a separate --store")


def _check_snapshots(store: Store, frames: list[pd.DataFrame], names: dict[int, str]) -> None:
    """A snapshot (etf, effective_date) given by two files must list the same stocks."""
    parts = [f for f in [store.read_table(
        "holdings", columns=["etf", "effective_date", "stock", "src_weight"])] + frames if len(f)]
    # only snapshots given by two files or more are compared (none in a fresh import): found
    # from the first row of each run of equal (etf, date, source) in each part (every triple
    # present has one, whatever the row order), not from a grouping of every row
    heads = []
    for f in parts:
        e, d = f["etf"].to_numpy(dtype=object), f["effective_date"].to_numpy()
        src = f["src_weight"].to_numpy()
        new = np.ones(len(f), dtype=bool)
        new[1:] = (e[1:] != e[:-1]) | (d[1:] != d[:-1]) | (src[1:] != src[:-1])
        heads.append(pd.DataFrame({"etf": e[new], "effective_date": d[new], "src": src[new]}))
    if not heads:
        return
    trip = pd.concat(heads, ignore_index=True).drop_duplicates()
    multi = trip.loc[trip.duplicated(["etf", "effective_date"], keep=False),
                     ["etf", "effective_date"]].drop_duplicates()
    if multi.empty:
        return
    # the rows of those snapshots, in the order of the parts (first source first)
    want = pd.MultiIndex.from_frame(multi)
    allh = pd.concat([f.loc[pd.MultiIndex.from_arrays(
        [f["etf"].to_numpy(dtype=object), f["effective_date"].to_numpy()]).isin(want)]
        for f in parts], ignore_index=True)
    for (e, d), g in allh.groupby(["etf", "effective_date"]):
        srcs = pd.unique(g["src_weight"])
        if len(srcs) < 2:
            continue
        sets = {int(s): set(g.loc[g["src_weight"] == s, "stock"]) for s in srcs}
        ref_s, ref = next(iter(sets.items()))
        for s, st in sets.items():
            if st != ref:
                diff = sorted(st ^ ref)[:3]
                raise DataError(
                    f"{names.get(ref_s)} and {names.get(s)} give different constituents for "
                    f"the {e} snapshot of {pd.Timestamp(d).date()} (e.g. {', '.join(diff)})",
                    file=names.get(s), column="stock",
                    fix="keep one of the two files, or give one another --effective-date")


def _fingerprint(p: Path, kind: str, opts: dict, content, algorithm: str) -> str:
    """The fingerprint of file ``p`` read as ``kind`` with the import options ``opts``
    (``content``: its bytes' hash object, :func:`datasets.store.file_fingerprint`)."""
    # what the file name says (date, period, investor, ETF, stock) is part of the data
    named = {f"name_{a}": str(b) for a, b in _name_meta(p).items()}
    if m := _STOCK_IN_NAME.search(p.stem):
        named["name_stock"] = m.group(1)
    # --currency is part of an ETF-flow file's data (a re-import with another one is a mix,
    # not a skip); other kinds ignore it
    return file_fingerprint(p, kind, {**named, **{o: opts[o] for o in (
        "date", "stock", "effective_date", "etf",
        *(("currency",) if kind in ETF_FLOW_KINDS else ())) if o in opts}},
        content=content, algorithm=algorithm)


def _stamp(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_size, st.st_mtime_ns


def _check_unchanged(stamped: list[tuple[Path, tuple]]) -> None:
    """Refuse a batch with a file that changed between its hash and its read (a download
    still being written): its rows need not be the bytes the manifest's hash names, and a
    later import of the finished file would be skipped as already imported."""
    for p, st in stamped:
        try:
            now = _stamp(p)
        except OSError:
            now = None
        if now != st:
            raise DataError(
                "the file changed while it was being imported (its size or modification "
                "time is not what it was when it was hashed); nothing of it was stored",
                file=str(p),
                fix="wait until the file is complete (a download still running?) and run "
                    "flowbt data import on it again")


#: Parquet files up to this size are mapped once, hashed and read from that map (their
#: header, and for a wide file new to the store its table, read ahead: :class:`_Ahead`).
_BLOB_BYTES = 16 << 20


class _Ahead:
    """Each file's header key and content hash, computed a window ahead in two threads (the
    hashing of 7,500 daily files runs beside the batch reads instead of before each file's
    detection); results in file order, None for a file that is gone (the loop words it),
    with the file's fingerprint as a wide file when computed.
    A small Parquet file comes with its ``pq.ParquetFile`` opened from its bytes, or, when
    it is a wide file new to the store (its ``generic-wide`` fingerprint not among
    ``known``), read and checked (:func:`datasets.arrow_wide.read_ahead`): the decoding runs
    in these threads beside the main loop and the writes of the batch before, not all at
    once when its batch is flushed, and not for a file the import skips."""

    def __init__(self, paths, encoding, *, window: int, algorithm: str, opts: dict,
                 known: frozenset, decode: bool):
        from concurrent.futures import ThreadPoolExecutor

        self._paths, self._enc, self._window = paths, encoding, max(window, 1)
        self._algorithm = algorithm  # the store's fingerprint hash
        # the import's options and the fingerprints in the store when it began; decode:
        # whether wide files are read in batches at all (else the text loader reads them)
        self._opts, self._known, self._decode = opts, known, decode
        self._ex = ThreadPoolExecutor(2)
        self._futures: list = []
        self._next = 0
        self._fill()

    def _one(self, p):
        from datasets.arrow_wide import read_ahead
        from datasets.check import header_key
        from datasets.store import content_hash, new_hash

        try:
            st = _stamp(p)  # before the hash: a change during it shows in the later stamp
            if p.suffix.lower() in (".parquet", ".pq") and st[0] <= _BLOB_BYTES:
                # a daily Parquet file is read once: hashed, its header and its table read
                # from these bytes (from memory, not the file again)
                import mmap

                import pyarrow as pa
                import pyarrow.parquet as pq

                with open(p, "rb") as fh:  # mapped, not copied (the map outlives the file)
                    blob = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
                # no pre-buffering: it coalesces reads of a file into a copy of its bytes,
                # which for bytes already in memory is only a copy
                opened = pq.ParquetFile(pa.BufferReader(pa.py_buffer(blob)), pre_buffer=False)
                names = tuple(opened.schema_arrow.names)
                h = new_hash(self._algorithm)
                h.update(blob)
                wide_fp = None
                if self._decode:
                    if self._known:  # (into an empty store every file is new)
                        wide_fp = _fingerprint(p, "generic-wide", self._opts, h,
                                               self._algorithm)
                    if wide_fp not in self._known:
                        # None: not a wide file
                        opened = read_ahead(opened, names) or opened
                return (p.suffix.lower(), names), h, opened, st, wide_fp
            return header_key(p, self._enc), content_hash(p, self._algorithm), None, st, None
        except Exception:  # gone, unreadable: detection and hashing redo it and word it
            return None, None, None, None, None

    def _fill(self):
        while self._next < len(self._paths) and len(self._futures) < self._window:
            self._futures.append(self._ex.submit(self._one, self._paths[self._next]))
            self._next += 1

    def next(self):
        got = self._futures.pop(0).result()
        self._fill()
        return got

    def close(self):
        self._ex.shutdown(wait=True, cancel_futures=True)


def _fast_wide(store: Store, batch: dict) -> tuple[WideBatch, list[str]] | None:
    """``(batch, new months)`` when a flush's daily rows are all from one batch of wide files:
    the months not in the store yet whose files are of distinct days are built in Arrow (no
    rows to merge, no conflict possible); the other months' rows go to the store's merge
    (``batch["flows"]`` is replaced by their frame, or dropped). None: every row merges."""
    flows = batch.get("flows", [])
    if len(flows) != 1 or not isinstance(flows[0], WideBatch) or "periods" in batch or \
            store.partitions("periods"):
        return None
    wb = flows[0]
    new = [m for m, mo in sorted(wb.months.items())
           if len(np.unique(mo.days)) == len(mo.days)  # two files of one day: the merge
           and not (store.path / "flows" / f"{m}.parquet").exists()]
    rest = [m for m in sorted(wb.months) if m not in set(new)]
    if rest:
        batch["flows"] = [wb.frame(rest)]
    else:
        del batch["flows"]
    return wb, new


def _write_wide(store: Store, wb: WideBatch, months: list[str], ex) -> list:
    """Start writing the new month partitions of a wide batch on ``ex`` (a few at a time:
    Arrow builds and encodes them outside the GIL); returns the writes' futures."""
    from datasets.arrow_wide import partition_schema

    # the groups as they are now (the next batch may add some before these writes finish)
    known, schema = partition_schema(store.groups("flows"), _group_order)

    def one(m):
        write_table_atomic(wb.partition_table(m, known, schema),
                           store.path / "flows" / f"{m}.parquet")

    return [ex.submit(one, m) for m in months]


#: Kinds whose clean Parquet files :func:`import_files` reads a batch at a time.
BATCH_KINDS = ("generic-netbuy", "generic-market", "generic-wide")


def _replay(q: DataQuality, logs: list[DataQuality], upto: DataQuality | None = None) -> None:
    """Record the per-file summaries in ``q`` in file order (what the loaders would have
    recorded in ``q`` directly), up to and including ``upto``."""
    for fq in logs:
        for i in fq.items:
            q.add(i.source, i.action, i.what, i.count, i.rule)
        for src, n in fq.rows_read.items():
            q.read(src, n)
        if fq is upto:
            break
    logs.clear()


def import_files(paths: Sequence, store_dir, *, kind: str | None = None,
                 quality: DataQuality | None = None, progress: bool | None = None,
                 batch_files: int = 250, vectorized: bool = True, batched: bool = True,
                 **options) -> ImportResult:
    """Import ``paths`` into the store at ``store_dir`` (created if missing).

    Parameters
    ----------
    paths : sequence of path
        Files in any order; each is read as ``kind`` or, without it, as the kind
        :func:`datasets.check.detect_kind` finds.
    store_dir : path
    kind : str, optional
    quality : DataQuality, optional
        Receives the loaders' counts.
    progress : bool, optional
        Show a progress bar over files (default: when stderr is a terminal).
    batch_files : int
        Files read before their rows are merged into the store (bounds memory).
    vectorized : bool
        Read clean generic long files through :mod:`datasets.arrow_long` (same store, same
        errors; False forces the text loaders, for comparison).
    batched : bool
        With ``vectorized``, read the generic long Parquet files of each batch together
        (:func:`datasets.arrow_long.netbuy_batch` / :func:`~datasets.arrow_long.market_batch`:
        one read, one check and one pivot per batch; same store, same errors: any file they do
        not decide sends the batch through the per-file path), and the issuer holdings files
        (kind ``holdings``, CSV or Parquet, without ``effective_date``) likewise
        (:func:`datasets.arrow_holdings.holdings_batch`). False: one file at a time.
    **options
        ``date``, ``stock``, ``effective_date``, ``etf``, ``encoding``, ``weight_unit``,
        ``allow_partial``, ``nav_from`` for the loaders; ``currency`` for ETF-flow files
        that do not say theirs (recorded as the manifest's ``etf_currency``).

    Returns
    -------
    ImportResult

    Raises
    ------
    DataError
        Bad file, conflicting overlap (naming both files, the key and column), period totals
        mixed with daily flows, ETF flows of an unknown currency or of another currency than
        the store's.
    """
    from tqdm import tqdm

    from datasets.check import detect_kind, explain_kind_failure

    q = quality if quality is not None else DataQuality()
    store = create_store(store_dir)
    res = ImportResult()
    if progress is None:
        progress = sys.stderr.isatty()
    opts = {k: v for k, v in options.items() if v is not None}
    pending: list[tuple[dict, list | None]] = []
    # files of BATCH_KINDS whose reading waits for the flush: file id -> (path, summary)
    deferred: dict[int, tuple[Path, DataQuality]] = {}
    blobs: dict[int, object] = {}  # deferred files opened from their bytes (see _Ahead)
    stamps: dict[int, tuple[Path, tuple]] = {}  # (size, mtime) of each file when hashed
    # each file's data-quality records, put into q in file order when its batch is read
    logs: list[DataQuality] = []
    next_id = max([f["id"] for f in store.files], default=0) + 1
    # fingerprints already in the store and read in this run: a set, not a scan of the
    # manifest's file list per file (15,000 files at the scale)
    algorithm, fp_key = store.fingerprint
    seen: set[str] = store.fingerprints()
    first_etf: str | None = None  # the file of this import that set the ETF-flow currency
    # rows of frames fused into another one (a batch's market rows into its net-buying
    # frame): still counted in res.rows, as the per-file path counts them
    fused_rows: dict[str, int] = {}
    ahead = None
    writer = None  # threads writing a batch's new wide months (created on first use)
    # (futures of those writes, the batch's manifest text) while they run
    writing: tuple[list, str] | None = None
    # (month, its files' columns, their manifest records, groups): a batch's last new month
    # of wide files, written with the next batch
    carry = None

    def read_one(p: Path, k: str, fq: DataQuality, meta: dict):
        try:
            return rows_of_file(p, k, quality=fq, meta=meta, vectorized=vectorized, **opts)
        except DataError as exc:
            if kind is None:
                raise
            raise explain_kind_failure(exc, p, kind, opts) from exc

    def set_src(items, fid):
        for _, rows, _ in items:
            for c in [c for c in rows.columns if c.startswith("src_")]:
                rows[c] = np.int32(fid)

    def read_deferred(together: bool):
        """Turn the deferred files of ``pending`` into rows: each kind's files in one batch
        read, or (when that declines, or not ``together``) one by one in file order."""
        from datasets.arrow_long import market_batch, netbuy_batch
        from datasets.arrow_wide import wide_batch

        by_kind: dict[str, list[int]] = {}
        for i, (rec, items) in enumerate(pending):
            if items is None:
                by_kind.setdefault(rec["kind"], []).append(i)
        one_by_one: list[int] = []
        first_rows: dict[str, int] = {}  # kind -> pending index holding the batch's rows
        for k, idx in by_kind.items():
            recs = [pending[i][0] for i in idx]
            paths = [deferred[r["id"]][0] for r in recs]
            ids = [r["id"] for r in recs]
            if k == "generic-wide":
                wb = wide_batch(paths, ids, encoding=opts.get("encoding"),
                                blobs=[blobs.get(i) for i in ids]) if together else None
                if wb is None:
                    one_by_one += idx
                    continue
                for j, (i, rec) in enumerate(zip(idx, recs, strict=True)):
                    fq, nj = deferred[rec["id"]][1], int(wb.file_rows[j])
                    # what read_table and read_wide_daily record, in their order
                    fq.read(rec["name"], nj)
                    fq.add(rec["name"], "dropped", "blank lines", 0,
                           rule="blank lines carry no data")
                    if wb.close:
                        fq.add(rec["name"], "left NaN", "empty close cells", int(wb.empty_close[j]),
                               rule="no close given")
                    fq.add(rec["name"], "dropped", "rows without any value", 0,
                           rule="an empty row of a wide file carries no data")
                    rec["rows"] = nj
                    pending[i] = (rec, [("flows", wb if j == 0 else None, wb.groups)])
                continue
            if k == "holdings":
                from datasets.arrow_holdings import holdings_batch

                # one pass of the checks over the batch's files; any file it does not decide
                # sends them all to the per-file path (fast or text loader, in file order)
                got = holdings_batch(paths, [deferred[r["id"]][1] for r in recs],
                                     weight_unit=opts.get("weight_unit", "pct"),
                                     allow_partial=opts.get("allow_partial", False),
                                     encoding=opts.get("encoding"),
                                     by_year=True) if together else None
                if got is None:
                    one_by_one += idx
                    continue
                tab, file_of_row, file_rows, _ = got
                tab["src_weight"] = np.asarray(ids, dtype=np.int32)[file_of_row]
                for j, (i, rec) in enumerate(zip(idx, recs, strict=True)):
                    rec["rows"] = int(file_rows[j])
                    pending[i] = (rec, [("holdings", tab if j == 0 else None,
                                         {"weight": ["weight"]})])
                continue
            reader = netbuy_batch if k == "generic-netbuy" else market_batch
            got = reader(paths, ids, encoding=opts.get("encoding")) if together else None
            if got is None:
                one_by_one += idx
                continue
            rows, file_rows, extra, reads = got
            for j, (i, rec) in enumerate(zip(idx, recs, strict=True)):
                fq = deferred[rec["id"]][1]
                fq.read(rec["name"], int(reads[j]))  # what arrow_long's _record records
                if k == "generic-netbuy":
                    g = extra[j]
                else:
                    g = {"market": ["market_cap", "close"]}
                    if extra is not None:
                        fq.add(rec["name"], "left NaN", "empty close cells", int(extra[j]),
                               rule="no close given")
                rec["rows"] = int(file_rows[j])
                # the batch's rows go with its first file; the others bring their groups
                pending[i] = (rec, [("flows", rows if j == 0 else None, g)])
            first_rows[k] = idx[0]
        if len(first_rows) == 2:
            # daily net-buying and market files of the same days list the same stock-days in
            # the same order: one frame of both (the groups are disjoint, so the merge sees
            # the same sources per group), half the rows to stack and sort per partition
            i_nb, i_mk = first_rows["generic-netbuy"], first_rows["generic-market"]
            nb, mk = pending[i_nb][1][0][1], pending[i_mk][1][0][1]
            if len(nb) == len(mk) and np.array_equal(nb["date"].to_numpy(),
                                                     mk["date"].to_numpy()) and \
                    np.array_equal(nb["stock"].to_numpy(), mk["stock"].to_numpy()):
                both = pd.concat([nb, mk.drop(columns=["date", "stock"])], axis=1)
                fused_rows["flows"] = fused_rows.get("flows", 0) + len(mk)
                for i, rows in ((i_nb, both), (i_mk, None)):
                    (rec, [(t, _, g)]) = pending[i]
                    pending[i] = (rec, [(t, rows, g)])
        for i in sorted(one_by_one):
            rec = pending[i][0]
            p, fq = deferred[rec["id"]]
            try:
                items = read_one(p, rec["kind"], fq, {})
            except DataError:
                _replay(q, logs, upto=fq)
                deferred.clear()
                raise
            set_src(items, rec["id"])
            rec["rows"] = int(sum(len(r) for _, r, _ in items))
            pending[i] = (rec, items)
        deferred.clear()
        blobs.clear()

    def flush(final: bool = True):
        nonlocal pending, carry, writer, writing
        if pending:
            read_deferred(batched)
            _check_unchanged([stamps.pop(rec["id"]) for rec, _ in pending])
        # the batch before on disk (its partitions and manifest) before this one looks at
        # the store: which months exist, the partitions a merge reads
        settle()
        _replay(q, logs)  # skipped files too (a re-import may add nothing)
        if not pending and carry is None:
            return
        names = store.file_names()
        names.update({rec["id"]: rec["name"] for rec, _ in pending})
        batch: dict[str, list] = {}
        groups: dict[str, dict] = {}
        for _, items in pending:
            for table, rows, g in items:
                if rows is not None:
                    batch.setdefault(table, []).append(rows)
                groups.setdefault(table, {}).update(g)
        carried: list[dict] = []
        if carry is not None:  # the last month of the batch before, written with this one
            m, month, carried, cgroups = carry
            carry = None
            names.update({r["id"]: r["name"] for r in carried})
            flows = batch.setdefault("flows", [])
            wb = flows[0] if len(flows) == 1 and isinstance(flows[0], WideBatch) else None
            joined = None
            if wb is not None and wb.groups == cgroups:
                joined = join_months(month, wb.months[m]) if m in wb.months else month
            if joined is not None:
                wb.months[m] = joined
            else:  # other files or groups: the month's rows go to the merge
                alone = WideBatch(ids=month.ids, file_rows=month.n, file_days=month.days,
                                  empty_close=np.zeros(len(month.n), np.int64),
                                  months={m: month}, groups=cgroups, close=True)
                flows.append(alone)
            groups.setdefault("flows", {}).update(cgroups)
        fast = _fast_wide(store, batch)  # wide files: new months built in Arrow
        held: set[int] = set()
        if fast is not None and not final and fast[1] and \
                fast[1][-1] == max(fast[0].months):
            # the batch's last month is likely continued by the next batch: kept in memory
            # and written with it (one write, not a write and a merge)
            m = fast[1].pop()
            month = fast[0].months[m]
            held = {int(i) for i in month.ids}
            carry = (m, month, [r for r in carried + [rec for rec, _ in pending]
                                if r["id"] in held], dict(fast[0].groups))
        if fast is None and "flows" in batch:  # else the merge takes their rows as a frame
            batch["flows"] = [r.frame() if isinstance(r, WideBatch) else r
                              for r in batch["flows"]]
        if "periods" in batch or "flows" in batch:
            _check_periods_vs_daily(store, batch, names)
        if "holdings" in batch:
            _check_snapshots(store, batch["holdings"], names)
        # names for conflict messages; in id order (= file order), as one file at a time
        new_recs = [r for r in carried + [rec for rec, _ in pending] if r["id"] not in held]
        store.files.extend(new_recs)
        if carried:
            store.files.sort(key=lambda r: r["id"])
        try:  # plan every partition first: a conflict leaves the store untouched
            plans = []
            if fast is not None:
                for g, cols in groups["flows"].items():
                    store.groups("flows").setdefault(g, list(cols))
                res.rows["flows"] = res.rows.get("flows", 0) + int(sum(
                    fast[0].months[m].n.sum() for m in fast[1]))
            for table, frames in batch.items():
                # the files' frames go to their partitions as they are (no concat of frames
                # with different columns first)
                plans += store.plan_rows(table, frames, groups[table])
                res.rows[table] = res.rows.get(table, 0) + sum(len(f) for f in frames)
        except DataError:
            gone = {r["id"] for r in new_recs}
            store.files[:] = [r for r in store.files if r["id"] not in gone]
            raise
        for table, n in fused_rows.items():
            res.rows[table] = res.rows.get(table, 0) + n
        fused_rows.clear()
        for path, frame in plans:
            _write_atomic(frame, path)
        res.partitions_written += len(plans)
        if fast is not None and fast[1]:
            # the new months are written while the next batch is read (Arrow encodes outside
            # the GIL: the two cores stay busy); this batch's manifest, taken now, is written
            # once they are on disk (settle), before the next batch touches the store
            if writer is None:
                from concurrent.futures import ThreadPoolExecutor

                writer = ThreadPoolExecutor(2)
            writing = (_write_wide(store, *fast, writer), store.manifest_text())
            res.partitions_written += len(fast[1])
        else:
            store.write_manifest()
        pending = []

    def settle():
        """Wait for the background writes of the last batch, then write its manifest (an
        error of a write is raised here; the manifest then stays the one before)."""
        nonlocal writing
        if writing is None:
            return
        futures, text = writing
        writing = None
        for f in futures:
            f.result()
        store.write_manifest(text)

    try:
        paths = [Path(p) for p in paths]
        ahead = _Ahead(paths, opts.get("encoding"), window=batch_files, algorithm=algorithm,
                       opts=opts, known=frozenset(seen),
                       decode=vectorized and batched and kind in (None, "generic-wide"))
        for p in tqdm(paths, desc="import", unit="file", disable=not progress):
            fq = DataQuality()  # this file's records (q gets them in file order)
            logs.append(fq)
            if not p.is_file():
                raise DataError("no such file", file=str(p), fix="check the path")
            header, content, blob, st, wide_fp = ahead.next()
            if st is None:  # hashed again below, from the file as it is now
                st = _stamp(p)
            k = kind or detect_kind(p, encoding=opts.get("encoding"), options=opts,
                                    header=header)
            fp = (wide_fp if k == "generic-wide" and wide_fp is not None
                  else _fingerprint(p, k, opts, content, algorithm))
            if fp in seen:
                res.skipped.append(p.name)
                fq.add(p.name, "skipped", "files already in the store", 1,
                       rule="same bytes and options: importing twice changes nothing")
                continue
            seen.add(fp)
            stamps[next_id] = (p, st)
            rec = {"id": next_id, "name": p.name, fp_key: fp, "kind": k, "rows": 0,
                   "options": {o: str(v) for o, v in opts.items()}}
            if vectorized and batched and (
                    (k in BATCH_KINDS and p.suffix.lower() in (".parquet", ".pq"))
                    or (k == "holdings" and "effective_date" not in opts
                        and p.suffix.lower() in (".csv", ".txt", ".parquet", ".pq"))):
                deferred[next_id] = (p, fq)  # read with its batch at the flush
                if blob is not None:
                    blobs[next_id] = blob
                items = None
            else:
                meta: dict = {}
                items = read_one(p, k, fq, meta)
                if "etf_currency" in meta:
                    _check_etf_currency(store, p.name, meta, first_etf)
                    first_etf = first_etf or p.name
                rec["rows"] = int(sum(len(r) for _, r, _ in items))
                set_src(items, next_id)
            next_id += 1
            pending.append((rec, items))
            res.added.append(p.name)
            res.kinds[p.name] = k
            if len(pending) >= batch_files:
                flush(final=False)
        flush()
        settle()
        ahead.close()
        if writer is not None:
            writer.shutdown(wait=True)
    except Exception as exc:
        if ahead is not None:
            ahead.close()
        # the batches before this error are in the store, as when each was written at once
        try:
            settle()
        finally:
            if writer is not None:
                writer.shutdown(wait=True)

        def changed(err):
            # a file whose read failed because it changed since its hash (a download cut
            # off mid-line) is named as changing, not by its half-written line
            if isinstance(err, DataError) and err.file is not None:
                _check_unchanged([(p, st) for p, st in stamps.values()
                                  if str(err.file) in (p.name, str(p))])
        # what the one-file-at-a-time import would have done before this error: read (and
        # report the first bad one of) the files before it, record their data quality
        if deferred:
            try:
                read_deferred(False)
            except DataError as again:
                changed(again)
                raise
        _replay(q, logs)
        changed(exc)
        raise
    return res
