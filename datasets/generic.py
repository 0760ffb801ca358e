"""Generic long CSV/Parquet files -> :class:`~engine.market.ConstituentFlows`.

Two files make a flow panel:

* net buying, one row per (date, stock, investor)::

      date,stock,investor,net_buy[,net_buy_shares]
      2021-01-15,005930,foreign,-246282164100,-2800000

  ``net_buy`` is buy minus sell in KRW (the market's currency), ``net_buy_shares`` in shares.
  ``investor`` is a canonical id (``foreign``), a Korean name (``외국인합계``) or a KRX code
  (``9000``), see :mod:`engine.investors`.
* market data, one row per (date, stock)::

      date,stock,market_cap,close
      2021-01-15,005930,531990000000000,89100

  ``market_cap`` in KRW (> 0), ``close`` in KRW per share.

or both in one *wide daily* file, one row per (date, stock) (the shape a quant saves after
pivoting the pykrx/KRX per-investor screens, and the shape of pykrx's per-stock
``get_market_trading_value_by_date(detail=True)``)::

      date,stock,net_buy_foreign,net_buy_individual,...[,net_buy_shares_foreign,...][,market_cap,close]
      2021-01-15,005930,-246282164100,198000000000,...,531990000000000,89100

  ``net_buy_<investor>`` in KRW and ``net_buy_shares_<investor>`` in shares, one column per
  investor (any name :func:`engine.investors.canonical_investor` knows: ``net_buy_foreign``,
  ``net_buy_외국인합계``, ``net_buy_9000``); ``market_cap`` and ``close`` optional (a file with
  them replaces the day's market file). An empty ``net_buy_<investor>`` cell is that investor's
  absent row of the long file (NaN); its ``net_buy_shares_<investor>`` cell must then be empty
  too, and given where the KRW cell is. A row with no value at all carries nothing: it is
  dropped and counted. Read by :func:`read_wide_daily` (kind ``generic-wide``); the store
  rows are those of the long files of the same data, byte for byte.

Rules
-----
* **Absent = NaN, never zero.** A (date, stock, investor) cell without a row stays NaN in
  ``net_buy`` ("no data", which the kernels skip) and is counted in the
  :class:`~engine.errors.DataQuality` when the stock has market data that day; a stock-day
  without a market row has NaN market cap and close.
* Net buying for a stock-day with no market row cannot be normalized: an error by default,
  or dropped and counted with ``on_missing_market="drop"``.
* A market cap of 0 where net buying exists is an error; a 0 market cap with no net buying
  (suspended, delisted) is set to NaN and counted. Negative market caps or closes are errors.
* Duplicate (date, stock, investor) or (date, stock) rows are errors.
* Row order does not matter in these keyed files (they are often grouped by stock), so
  unsorted dates are accepted; the panel is sorted on construction.
* Empty cells in ``net_buy``/``market_cap`` are errors; an empty ``close`` is NaN (counted).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from datasets._csv import Table, read_table, resolve_columns
from engine.errors import DataError, DataQuality
from engine.investors import INVESTORS, canonical_investor
from engine.market import ConstituentFlows

__all__ = [
    "NETBUY_COLUMNS",
    "MARKET_COLUMNS",
    "compose_flows",
    "load_generic_flows",
    "read_long_market",
    "read_long_netbuy",
    "read_prices",
    "read_wide_daily",
    "wide_columns",
]

NETBUY_COLUMNS = {
    "date": ("date", "일자", "날짜", "TRD_DD"),
    "stock": ("stock", "ticker", "종목코드", "티커", "ISU_SRT_CD"),
    "investor": ("investor", "투자자", "investor_type"),
    "net_buy": ("net_buy", "net_buy_krw", "순매수거래대금", "NETBID_TRDVAL"),
    "net_buy_shares": ("net_buy_shares", "순매수거래량", "NETBID_TRDVOL"),
}
MARKET_COLUMNS = {
    "date": ("date", "일자", "날짜", "TRD_DD"),
    "stock": ("stock", "ticker", "종목코드", "티커", "ISU_SRT_CD"),
    "market_cap": ("market_cap", "market_cap_krw", "시가총액", "MKTCAP"),
    "close": ("close", "close_krw", "종가", "TDD_CLSPRC"),
}


#: What a wide daily file's columns mean, for messages.
WIDE_KIND = "wide daily file (date, stock, net_buy_<investor>..., [market_cap, close])"
_WIDE_FIX = ("name the columns date, stock, net_buy_<investor> (KRW), optionally "
             "net_buy_shares_<investor> (shares), market_cap and close (KRW); investors as in "
             "engine.investors (foreign, institution, individual, ... or 외국인합계, 9000)")


def wide_columns(columns, *, source: str = "", row_kind: str = "line") -> dict | None:
    """Map a wide daily file's header to its fields.

    Parameters
    ----------
    columns : sequence of str
        The header.
    source, row_kind : str
        For messages (file name; ``"line"`` for CSV, ``"row"`` for Parquet).

    Returns
    -------
    dict or None
        ``date``, ``stock``, optionally ``market_cap`` / ``close`` -> column name, and
        ``net`` / ``shares``: investor id -> column name, in canonical investor order. None
        when the header has no ``net_buy_`` column (not a wide file).

    Raises
    ------
    DataError
        A ``net_buy_`` header naming no known investor, an investor given twice, shares
        without the KRW column, a missing date/stock column, ``close`` without
        ``market_cap``, or any other column (line 1, naming the column).
    """
    def norm(c) -> str:
        return re.sub(r"\s+", "", str(c)).lower()

    row = 1 if row_kind == "line" else None
    keyed = {f: next((c for c in columns if norm(c) in {norm(n) for n in names}), None)
             for f, names in (("date", NETBUY_COLUMNS["date"]), ("stock", NETBUY_COLUMNS["stock"]),
                              ("market_cap", MARKET_COLUMNS["market_cap"]),
                              ("close", MARKET_COLUMNS["close"]))}
    net: dict[str, str] = {}
    shares: dict[str, str] = {}
    for c in columns:
        n = norm(c)
        if c in keyed.values() or not n.startswith("net_buy_"):
            continue
        tail, into = (n[len("net_buy_shares_"):], shares) if n.startswith("net_buy_shares_") \
            else (n[len("net_buy_"):], net)
        try:
            k = canonical_investor(tail)
        except KeyError:
            raise DataError(f"column {c!r} names no known investor type", file=source, row=row,
                            column=str(c), fix=_WIDE_FIX) from None
        if k in into:
            raise DataError(f"columns {into[k]!r} and {c!r} both give {k}", file=source,
                            row=row, column=str(c), fix="keep one column per investor")
        into[k] = c
    if not net and not shares:
        return None
    for f in ("date", "stock"):
        if keyed[f] is None:
            raise DataError(f"missing column {f!r} in a {WIDE_KIND}; the header has "
                            f"{', '.join(repr(c) for c in columns)}", file=source, row=row,
                            column=f, fix=_WIDE_FIX)
    for k, c in shares.items():
        if k not in net:
            raise DataError(f"column {c!r} has no net_buy_{k} column beside it", file=source,
                            row=row, column=str(c), fix="add the KRW column or drop this one")
    if keyed["close"] is not None and keyed["market_cap"] is None:
        raise DataError("a close column without market_cap", file=source, row=row,
                        column=str(keyed["close"]), fix="add market_cap or drop close")
    used = {c for c in keyed.values() if c is not None} | set(net.values()) | set(shares.values())
    for c in columns:
        if c not in used:
            raise DataError(f"unknown column {c!r} in a {WIDE_KIND}", file=source, row=row,
                            column=str(c), fix=_WIDE_FIX)
    out = {f: c for f, c in keyed.items() if c is not None}
    out["net"] = {k: net[k] for k in INVESTORS if k in net}
    out["shares"] = {k: shares[k] for k in INVESTORS if k in shares}
    return out


def read_wide_daily(path, *, quality: DataQuality | None = None,
                    encoding: str | None = None) -> pd.DataFrame:
    """Read a wide daily file (see the module docstring for the layout).

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8 or CP949) or Parquet.
    quality : DataQuality, optional
        Receives the rows read, rows without any value (dropped) and empty close cells.
    encoding : str, optional

    Returns
    -------
    pd.DataFrame
        One row per (date, stock) in file order: ``date``, ``stock``, ``market_cap`` and
        ``close`` (KRW; only when the file has them), ``net_buy_<k>`` (KRW) and
        ``net_buy_shares_<k>`` (shares; NaN columns when the file has none) per investor in
        canonical order, ``has_net_buy`` (bool: the row gives some investor's net buying),
        ``line``. ``attrs``: ``source``, ``row_kind``, ``investors`` (tuple),
        ``market`` (bool), ``shares`` (investors with a shares column).

    Raises
    ------
    DataError
        Bad header (:func:`wide_columns`), empty file, bad dates, non-numeric cells, a share
        count without its KRW cell or the reverse, missing or negative market caps,
        negative closes, duplicate (date, stock); each naming file, line/row and column.
    """
    t = _table(path, quality, encoding)
    cols = wide_columns(list(t.columns), source=t.source, row_kind=t.row_kind)
    if cols is None:
        raise DataError(f"no net_buy_<investor> column: not a {WIDE_KIND}", file=t.source,
                        row=1 if t.row_kind == "line" else None, fix=_WIDE_FIX)
    t.require_rows("wide daily file")
    dates = t.dates(cols["date"])
    stocks = t.codes(cols["stock"])
    out = {"date": dates, "stock": stocks.to_numpy()}
    market = "market_cap" in cols
    if market:
        out["market_cap"] = t.numbers(cols["market_cap"], what="market cap", min_value=0.0)
        out["close"] = (t.numbers(cols["close"], what="close", required=False, min_value=0.0)
                        if "close" in cols else np.full(len(t), np.nan))
    has = np.zeros(len(t), dtype=bool)
    for k, c in cols["net"].items():
        v = t.numbers(c, what=f"net buying of {k}", required=False)
        out[f"net_buy_{k}"] = v
        if k in cols["shares"]:
            sc = cols["shares"][k]
            s = t.numbers(sc, what=f"net buying in shares of {k}", required=False)
            bad = np.isnan(s) != np.isnan(v)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                given, empty = (sc, c) if np.isnan(v[i]) else (c, sc)
                raise t.error(f"{given} is given but {empty} is empty ({int(bad.sum())} such "
                              "rows)", pos=i, column=empty,
                              fix="give both cells of an investor or leave both empty")
        else:
            s = np.full(len(t), np.nan)
        out[f"net_buy_shares_{k}"] = s
        has |= ~np.isnan(v)
    t.check_unique([dates, stocks.to_numpy()], ["date", "stock"])
    out["has_net_buy"] = has
    out["line"] = t.frame.index.to_numpy()
    frame = pd.DataFrame(out)
    empty = ~has if not market else np.zeros(len(t), dtype=bool)
    if quality is not None:
        if market and "close" in cols:
            quality.add(t.source, "left NaN", "empty close cells",
                        int(np.isnan(out["close"]).sum()), rule="no close given")
        quality.add(t.source, "dropped", "rows without any value", int(empty.sum()),
                    rule="an empty row of a wide file carries no data")
    if empty.any():
        frame = frame.loc[~empty].reset_index(drop=True)
    frame.attrs.update(source=t.source, row_kind=t.row_kind, investors=tuple(cols["net"]),
                       market=market, shares=tuple(cols["shares"]))
    return frame


def _table(path_or_table, quality, encoding) -> Table:
    if isinstance(path_or_table, Table):
        return path_or_table
    return read_table(path_or_table, encoding=encoding, quality=quality)


def read_long_netbuy(path, *, quality: DataQuality | None = None,
                     encoding: str | None = None) -> pd.DataFrame:
    """Read a long net-buying file (see the module docstring for the layout).

    Parameters
    ----------
    path : str or Path
        CSV (UTF-8 or CP949) or Parquet.
    quality : DataQuality, optional
        Receives the rows read.
    encoding : str, optional
        Force a text encoding.

    Returns
    -------
    pd.DataFrame
        Columns ``date`` (datetime64), ``stock`` (str), ``investor`` (canonical id),
        ``net_buy`` (float64, KRW), ``net_buy_shares`` (float64 shares, NaN if absent in the
        file), ``line`` (file line of the row, for later messages). ``attrs["source"]`` and
        ``attrs["row_kind"]`` name the file.

    Raises
    ------
    DataError
        Empty file, missing or unknown columns, unparseable dates, unknown investor names,
        non-numeric or empty ``net_buy``, duplicate (date, stock, investor).
    """
    t = _table(path, quality, encoding)
    cols = resolve_columns(t, NETBUY_COLUMNS, optional=("net_buy_shares",), allowed_extra=(),
                           kind="long net-buying file (date, stock, investor, net_buy)")
    t.require_rows("net-buying file")
    dates = t.dates(cols["date"])
    stocks = t.codes(cols["stock"])
    inv_text = t.text(cols["investor"])
    codes, uniques = pd.factorize(inv_text.to_numpy(dtype=object))
    canon = []
    for j, name in enumerate(uniques):
        try:
            canon.append(canonical_investor(name))
        except KeyError:
            i = int(np.flatnonzero(codes == j)[0])
            raise t.error(f"unknown investor type {name!r}", pos=i, column=cols["investor"],
                          fix=f"use one of {', '.join(INVESTORS)} or a Korean name "
                              "such as 외국인합계, 기관합계, 개인") from None
    investors = np.asarray(canon, dtype=object)[codes]
    net = t.numbers(cols["net_buy"], what="net buying")
    shares = (t.numbers(cols["net_buy_shares"], what="net buying in shares")
              if "net_buy_shares" in cols else np.full(len(t), np.nan))
    t.check_unique([dates, stocks.to_numpy(), investors], ["date", "stock", "investor"])
    out = pd.DataFrame({"date": dates, "stock": stocks.to_numpy(), "investor": investors,
                        "net_buy": net, "net_buy_shares": shares,
                        "line": t.frame.index.to_numpy()})
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_long_market(path, *, quality: DataQuality | None = None,
                     encoding: str | None = None) -> pd.DataFrame:
    """Read a long market-cap/close file (``date, stock, market_cap, close``).

    Returns
    -------
    pd.DataFrame
        Columns ``date``, ``stock``, ``market_cap`` (KRW, >= 0), ``close`` (KRW per share,
        NaN where the file leaves it empty), ``line``; ``attrs`` as :func:`read_long_netbuy`.

    Raises
    ------
    DataError
        Empty file, missing/unknown columns, bad dates, negative or missing market caps,
        negative closes, duplicate (date, stock).
    """
    t = _table(path, quality, encoding)
    cols = resolve_columns(t, MARKET_COLUMNS, optional=("close",), allowed_extra=(),
                           kind="long market file (date, stock, market_cap, close)")
    t.require_rows("market-cap file")
    dates = t.dates(cols["date"])
    stocks = t.codes(cols["stock"])
    mcap = t.numbers(cols["market_cap"], what="market cap", min_value=0.0)
    if "close" in cols:
        close = t.numbers(cols["close"], what="close", required=False, min_value=0.0)
        if quality is not None:
            quality.add(t.source, "left NaN", "empty close cells", int(np.isnan(close).sum()),
                        rule="no close given")
    else:
        close = np.full(len(t), np.nan)
    t.check_unique([dates, stocks.to_numpy()], ["date", "stock"])
    out = pd.DataFrame({"date": dates, "stock": stocks.to_numpy(), "market_cap": mcap,
                        "close": close, "line": t.frame.index.to_numpy()})
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def compose_flows(
    netbuy: pd.DataFrame,
    market: pd.DataFrame,
    *,
    quality: DataQuality | None = None,
    investors: Sequence[str] | None = None,
    on_missing_market: str = "error",
    dtype="float64",
    currency: str = "KRW",
) -> ConstituentFlows:
    """Build a :class:`ConstituentFlows` from long net-buying and market frames.

    Parameters
    ----------
    netbuy : pd.DataFrame
        As returned by :func:`read_long_netbuy` (``line`` and ``attrs`` optional).
    market : pd.DataFrame
        As returned by :func:`read_long_market`.
    quality : DataQuality, optional
        Receives every cell left NaN, dropped or set absent.
    investors : sequence of str, optional
        Investor axis (canonical ids); default: those present, in canonical order. An
        investor listed here without rows is all NaN (counted).
    on_missing_market : {"error", "drop"}
        Net buying for a stock-day without a market row: raise, or drop and count.
    dtype : str
        ``"float64"`` or ``"float32"``.
    currency : str
        Currency of the values (KRW for KRX data).

    Returns
    -------
    ConstituentFlows
        Dates = union of the dates in both frames (sorted); stocks = sorted union.

    Notes
    -----
    Fill rules are those of the module docstring: no value is ever filled with zero.

    Examples
    --------
    >>> nb = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"] * 2), "stock": ["A", "B"],
    ...                    "investor": ["foreign"] * 2, "net_buy": [5.0, -1.0]})
    >>> mk = pd.DataFrame({"date": pd.to_datetime(["2021-01-04"] * 2), "stock": ["A", "B"],
    ...                    "market_cap": [100.0, 50.0], "close": [10.0, 5.0]})
    >>> f = compose_flows(nb, mk)
    >>> f.shape, f.net_buy[0, :, 0].tolist()
    ((1, 2, 1), [5.0, -1.0])
    """
    if on_missing_market not in ("error", "drop"):
        raise ValueError(f"on_missing_market must be 'error' or 'drop', got {on_missing_market!r}")
    q = quality if quality is not None else DataQuality()
    nb_src = netbuy.attrs.get("source", "net buying")
    mk_src = market.attrs.get("source", "market data")
    nb = netbuy.copy()
    mk = market.copy()
    if nb.empty:
        raise DataError("no net-buying rows: an empty table is a failed download, not zero flow",
                        file=nb_src, fix="re-download the net-buying data")
    if mk.empty:
        raise DataError("no market-cap rows", file=mk_src, fix="re-download the market data")
    nb["date"] = pd.to_datetime(nb["date"])
    mk["date"] = pd.to_datetime(mk["date"])
    nb["stock"] = nb["stock"].astype(str)
    mk["stock"] = mk["stock"].astype(str)
    if "net_buy_shares" not in nb:
        nb["net_buy_shares"] = np.nan
    if "close" not in mk:
        mk["close"] = np.nan

    # Net buying without market data: error (default) or drop + count.
    mk_key = pd.MultiIndex.from_frame(mk[["date", "stock"]])
    nb_key = pd.MultiIndex.from_frame(nb[["date", "stock"]])
    has_market = nb_key.isin(mk_key)
    if not has_market.all():
        n_rows = int((~has_market).sum())
        if on_missing_market == "error":
            i = int(np.flatnonzero(~has_market)[0])
            r = nb.iloc[i]
            raise DataError(
                f"net buying for stock {r['stock']} on {r['date'].date()} but the market file "
                f"{mk_src} has no market cap for that stock-day ({n_rows} such rows)",
                file=nb_src, row=_line(nb, i), column="stock",
                row_kind=netbuy.attrs.get("row_kind", "line" if "line" in nb else "position"),
                fix="add the market cap, or pass on_missing_market='drop' to drop them (counted)")
        q.add(nb_src, "dropped", "net-buy rows without a market cap", n_rows,
              rule="flows cannot be normalized without market cap")
        nb = nb[has_market]
        if nb.empty:
            raise DataError(
                f"no net-buying row has a market cap for its stock-day (net buying on "
                f"{_dates_text(netbuy['date'])}; market caps on {_dates_text(mk['date'])})",
                file=nb_src, fix="give market caps for the same dates as the net buying")

    # Market cap 0 where flows exist: error. 0 with no flows: absent (NaN), counted.
    zero = mk["market_cap"].to_numpy() <= 0
    if zero.any():
        flow_key = pd.MultiIndex.from_frame(nb[["date", "stock"]])
        zero_with_flow = zero & pd.MultiIndex.from_frame(mk[["date", "stock"]]).isin(flow_key)
        if zero_with_flow.any():
            i = int(np.flatnonzero(zero_with_flow)[0])
            r = mk.iloc[i]
            raise DataError(
                f"market cap is {r['market_cap']:g} for stock {r['stock']} on {r['date'].date()} "
                f"where net buying exists ({int(zero_with_flow.sum())} such rows)",
                file=mk_src, row=_line(mk, i), column="market_cap",
                row_kind=market.attrs.get("row_kind", "line" if "line" in mk else "position"),
                fix="market caps must be > 0; remove the stock-day from both files if it was "
                    "not listed")
        q.add(mk_src, "set absent (NaN)", "zero market caps without net buying", int(zero.sum()),
              rule="a zero market cap means not listed/trading")
        mk.loc[zero, ["market_cap", "close"]] = np.nan

    seen = set(pd.unique(nb["investor"].to_numpy(dtype=object)))
    present = [i for i in INVESTORS if i in seen]
    inv = tuple(present) if investors is None else tuple(canonical_investor(i) for i in investors)
    extra = sorted(seen - set(inv))
    if extra:
        q.add(nb_src, "dropped", f"net-buy rows of investors not asked for ({', '.join(extra)})",
              int(nb["investor"].isin(extra).sum()))
        nb = nb[~nb["investor"].isin(extra)]
    dates = pd.DatetimeIndex(nb["date"].unique()).union(pd.DatetimeIndex(mk["date"].unique()))
    stocks = pd.Index(nb["stock"].unique()).union(pd.Index(mk["stock"].unique())).sort_values()
    T, N, K = len(dates), len(stocks), len(inv)
    ti = dates.get_indexer(nb["date"])
    si = stocks.get_indexer(nb["stock"])
    ki = pd.Index(inv).get_indexer(nb["investor"])
    net_buy = np.full((T, N, K), np.nan, dtype=dtype)
    net_buy[ti, si, ki] = nb["net_buy"].to_numpy()
    shares = None
    if nb["net_buy_shares"].notna().any():
        shares = np.full((T, N, K), np.nan, dtype=dtype)
        shares[ti, si, ki] = nb["net_buy_shares"].to_numpy()
    mcap = np.full((T, N), np.nan, dtype=dtype)
    close = np.full((T, N), np.nan, dtype=dtype)
    tm, sm = dates.get_indexer(mk["date"]), stocks.get_indexer(mk["stock"])
    mcap[tm, sm] = mk["market_cap"].to_numpy()
    close[tm, sm] = mk["close"].to_numpy()
    listed = np.isfinite(mcap)
    missing_cells = int((np.isnan(net_buy) & listed[:, :, None]).sum())
    q.add(nb_src, "left NaN", "net-buy cells of listed stock-days without a row", missing_cells,
          rule="NaN = absent, never zero")
    return ConstituentFlows(dates=dates, stocks=stocks, investors=inv, net_buy=net_buy,
                            market_cap=mcap, close=close, net_buy_shares=shares,
                            currency=currency)


def _dates_text(dates: pd.Series, n: int = 3) -> str:
    u = pd.DatetimeIndex(pd.to_datetime(dates).unique()).sort_values()
    head = ", ".join(str(d.date()) for d in u[:n])
    return head + (f" and {len(u) - n} more" if len(u) > n else "")


def _line(frame: pd.DataFrame, i: int) -> int:
    return int(frame["line"].iloc[i]) if "line" in frame else i


def load_generic_flows(
    netbuy_path,
    market_path,
    *,
    quality: DataQuality | None = None,
    investors: Sequence[str] | None = None,
    on_missing_market: str = "error",
    dtype="float64",
    encoding: str | None = None,
) -> ConstituentFlows:
    """Load a flow panel from a long net-buying file and a long market file.

    Parameters
    ----------
    netbuy_path, market_path : str or Path
        CSV or Parquet files in the layouts of the module docstring.
    quality : DataQuality, optional
        Receives rows read and every value left NaN, dropped or set absent.
    investors, on_missing_market, dtype
        As in :func:`compose_flows`.
    encoding : str, optional
        Force a text encoding for both files.

    Returns
    -------
    ConstituentFlows
        net_buy (T, N, K) KRW, market_cap (T, N) KRW, close (T, N) KRW/share.

    Raises
    ------
    DataError
        Any bad input (see the module docstring); the message names file, line and column.
    """
    q = quality if quality is not None else DataQuality()
    nb = read_long_netbuy(netbuy_path, quality=q, encoding=encoding)
    mk = read_long_market(market_path, quality=q, encoding=encoding)
    return compose_flows(nb, mk, quality=q, investors=investors,
                         on_missing_market=on_missing_market, dtype=dtype)


def read_prices(path, *, quality: DataQuality | None = None,
                encoding: str | None = None) -> pd.DataFrame:
    """Read close prices, wide (``date, SPY, QQQ, ...``) or long (``date, ticker, close``).

    Parameters
    ----------
    path : str or Path
        CSV or Parquet. Wide files have one row per date and must be sorted (increasing, or
        decreasing which is reversed); a shuffled wide file is an error. Long files may be in
        any order.
    quality : DataQuality, optional
        Receives rows read and empty cells (left NaN = not trading).
    encoding : str, optional

    Returns
    -------
    pd.DataFrame
        (dates x assets) closes in the file's currency, > 0, NaN where absent.

    Raises
    ------
    DataError
        Empty file, no date column, bad dates or numbers, zero or negative prices, duplicate
        dates (wide) or (date, ticker) rows (long), unsorted wide file.
    """
    q = quality if quality is not None else DataQuality()
    t = read_table(path, encoding=encoding, quality=q)
    norm = {c.lower(): c for c in t.columns}
    date_col = next((norm[n] for n in ("date", "일자", "날짜", "") if n in norm), None)
    if date_col is None:
        raise DataError(f"missing date column; the header has {list(t.columns)}",
                        file=t.source, row=1 if t.row_kind == "line" else None, column="date",
                        fix="name the first column 'date'")
    t.require_rows("price file")
    dates = t.dates(date_col)
    if {"ticker", "close"} <= set(norm) and len(t.columns) == 3:
        tickers = t.codes(norm["ticker"], what="ticker")
        close = t.numbers(norm["close"], what="close", min_value=0, strict_min=True)
        t.check_unique([dates, tickers.to_numpy()], ["date", "ticker"])
        long = pd.DataFrame({"date": dates, "ticker": tickers.to_numpy(), "close": close})
        out = long.pivot(index="date", columns="ticker", values="close").sort_index()
    else:
        order = t.check_time_order(dates, date_col)
        data = {c: t.numbers(c, what=f"close of {c}", required=False, min_value=0,
                             strict_min=True)[order]
                for c in t.columns if c != date_col}
        if not data:
            raise DataError("no price columns", file=t.source, row=1,
                            fix="add one column per asset after the date column")
        out = pd.DataFrame(data, index=pd.DatetimeIndex(dates[order], name="date"))
    q.add(t.source, "left NaN", "empty price cells", int(out.isna().to_numpy().sum()),
          rule="NaN = not trading / not listed yet")
    out.columns.name = None
    out.index.name = "date"
    return out
