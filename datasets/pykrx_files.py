"""Files exported from pykrx DataFrames (``df.to_csv(path)`` or ``df.to_parquet(path)``).

pykrx pins ``pandas<3`` so it cannot share flowbt's environment; users run it elsewhere and
save the frames. These loaders read the files with pykrx's own Korean column names:

* ``stock.get_market_trading_value_by_date(from, to, ticker_or_market)`` (net buying, the
  default ``on='순매수'``): index ``날짜``, columns ``기관합계, 기타법인, 개인, 외국인합계, 전체``;
  with ``detail=True``: ``금융투자, 보험, 투신, 사모, 은행, 기타금융, 연기금, 기관합계, 기타법인,
  개인, 외국인, 기타외국인, 전체``. Values in KRW. ``전체`` must be 0 (net buying sums to zero;
  a non-zero total means the file holds buy or sell value) and is dropped. With ``detail=True``
  ``외국인`` excludes ``기타외국인``; ``foreign`` is returned as their sum (외국인합계, the same
  meaning as in the non-detail file) and ``other_foreign`` as the part; ``기관합계`` is checked
  against the sum of its seven parts.
* ``stock.get_market_cap(date, market=...)``: index ``티커``, columns ``종가`` (newer pykrx),
  ``시가총액`` (KRW), ``거래량`` (shares), ``거래대금`` (KRW), ``상장주식수`` (shares); and
  ``get_market_cap(from, to, ticker)``: the same by ``날짜``.
* ``stock.get_etf_portfolio_deposit_file(ticker, date)``: index ``티커``, columns ``계약수``
  (shares per creation unit), ``금액`` (KRW), ``비중`` (%). pykrx turns KRX's ``-`` into 0, so a
  row with 0 shares and 0 amount but a positive weight is the cash line (KRX code
  ``KRD010010001`` truncated by pykrx to ``010010``); it is dropped and counted and the rest is
  renormalized to 1.

Every file with no data rows (pykrx returns an empty frame when KRX refuses) is a
:class:`~engine.errors.DataError`, never zero flow. One-row-per-date files must be sorted
(increasing, or decreasing as KRX lists them); any other order is an error.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from datasets._csv import read_table, resolve_columns
from datasets.generic import compose_flows
from datasets.holdings_files import finish_snapshots, is_cash
from datasets.krx import investor_frame, krx_codes, parse_krx_filename
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings

__all__ = [
    "flows_from_pykrx",
    "load_pykrx_pdf",
    "read_pykrx_investor_value",
    "read_pykrx_marketcap",
    "read_pykrx_marketcap_by_date",
    "read_pykrx_pdf",
]

_DATE_NAMES = ("날짜", "일자", "date", "", "TRD_DD")
MARKETCAP_COLUMNS = {
    "stock": ("티커", "종목코드", "ticker", ""),
    "close_krw": ("종가",),
    "market_cap_krw": ("시가총액",),
    "volume_shares": ("거래량",),
    "value_krw": ("거래대금",),
    "listed_shares": ("상장주식수",),
}
PDF_COLUMNS = {
    "stock": ("티커", "종목코드", ""),
    "shares_per_cu": ("계약수",),
    "value_krw": ("금액",),
    "weight": ("비중",),
}


def read_pykrx_investor_value(path, *, quality: DataQuality | None = None,
                              encoding: str | None = None) -> pd.DataFrame:
    """Read a saved ``get_market_trading_value_by_date`` frame (net buying by investor).

    Parameters
    ----------
    path : str or Path
        CSV (``to_csv``, UTF-8 or CP949) or Parquet; simple or ``detail=True`` columns.
    quality : DataQuality, optional
    encoding : str, optional

    Returns
    -------
    pd.DataFrame
        Index ``date`` (increasing), columns canonical investor ids (``institution``,
        ``other_corp``, ``individual``, ``foreign`` and, with detail, the institution
        sub-types and ``other_foreign``), net buying in KRW.

    Raises
    ------
    DataError
        Empty file, no date column, unknown investor column, bad numbers or dates, dates out
        of order, a non-zero ``전체`` (not net buying), institution total off its parts.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "v.csv"
    >>> _ = p.write_text("날짜,기관합계,기타법인,개인,외국인합계,전체\\n"
    ...                  "2021-01-15,-10,2,13,-5,0\\n2021-01-18,4,1,-3,-2,0\\n", encoding="utf-8")
    >>> read_pykrx_investor_value(p).loc["2021-01-18"].to_dict()
    {'foreign': -2.0, 'institution': 4.0, 'other_corp': 1.0, 'individual': -3.0}
    """
    t = read_table(path, encoding=encoding, quality=quality)
    return investor_frame(t, date_names=_DATE_NAMES, what="pykrx trading-value file")


def read_pykrx_marketcap(path, *, quality: DataQuality | None = None,
                         encoding: str | None = None) -> pd.DataFrame:
    """Read a saved ``get_market_cap(date)`` frame (one day, all tickers).

    Returns
    -------
    pd.DataFrame
        Index ``stock``; columns ``close_krw`` (NaN if the pykrx version had no 종가),
        ``market_cap_krw`` (KRW), ``volume_shares``, ``value_krw``, ``listed_shares``, ``line``.

    Raises
    ------
    DataError
        Empty file, missing ``시가총액``, negative or non-numeric values, duplicate tickers.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    cols = resolve_columns(t, MARKETCAP_COLUMNS,
                           optional=("close_krw", "volume_shares", "value_krw", "listed_shares"),
                           kind="pykrx get_market_cap file")
    t.require_rows("market-cap file")
    stocks = krx_codes(t, cols["stock"], quality)
    data = {}
    for f, what in (("close_krw", "close"), ("market_cap_krw", "market cap"),
                    ("volume_shares", "volume"), ("value_krw", "traded value"),
                    ("listed_shares", "listed shares")):
        # a listed stock's market cap is > 0: a 0 is a broken export (issue 10 item 10)
        data[f] = (t.numbers(cols[f], what=what, min_value=0,
                             strict_min=f == "market_cap_krw") if f in cols
                   else np.full(len(t), np.nan))
    t.check_unique([stocks.to_numpy()], ["stock"])
    out = pd.DataFrame(data, index=pd.Index(stocks.to_numpy(), name="stock"))
    out["line"] = t.frame.index.to_numpy()
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_pykrx_marketcap_by_date(path, *, quality: DataQuality | None = None,
                                 encoding: str | None = None) -> pd.DataFrame:
    """Read a saved ``get_market_cap(from, to, ticker)`` frame (one ticker, by date).

    Returns
    -------
    pd.DataFrame
        Index ``date`` (increasing); columns as :func:`read_pykrx_marketcap`.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    spec = dict(MARKETCAP_COLUMNS)
    spec["stock"] = ("날짜", "date", "일자", "")
    cols = resolve_columns(t, spec, optional=("close_krw", "volume_shares", "value_krw",
                                              "listed_shares"),
                           kind="pykrx get_market_cap by-date file")
    t.require_rows("market-cap file")
    dates = t.dates(cols["stock"])
    order = t.check_time_order(dates, cols["stock"])
    data = {}
    for f in ("close_krw", "market_cap_krw", "volume_shares", "value_krw", "listed_shares"):
        data[f] = (t.numbers(cols[f], what=f.replace("_", " "), min_value=0,
                             strict_min=f == "market_cap_krw")[order]
                   if f in cols else np.full(len(t), np.nan))
    out = pd.DataFrame(data, index=pd.DatetimeIndex(dates[order], name="date"))
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_pykrx_pdf(path, *, etf: str | None = None, date=None,
                   quality: DataQuality | None = None, encoding: str | None = None
                   ) -> pd.DataFrame:
    """Read a saved ``get_etf_portfolio_deposit_file`` frame as holdings rows.

    Parameters
    ----------
    path : str or Path
        Columns ``티커, 계약수, 금액, 비중``.
    etf, date : optional
        ETF code and effective date; default from the file name (``..._<code>_<YYYYMMDD>``).

    Returns
    -------
    pd.DataFrame
        Columns ``etf``, ``effective_date``, ``stock``, ``shares_per_cu``, ``value_krw``,
        ``weight`` (fraction, cash included), ``cash`` (bool), ``line``.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    meta = parse_krx_filename(path)
    etf = etf if etf is not None else meta.get("etf")
    date = date if date is not None else meta.get("date")
    if etf is None or date is None:
        raise DataError("cannot tell the ETF code and date of this PDF", file=t.source,
                        fix="pass etf= and date= (or name the file etf_pdf_<code>_<YYYYMMDD>.csv)")
    cols = resolve_columns(t, PDF_COLUMNS, kind="pykrx get_etf_portfolio_deposit_file file")
    t.require_rows("PDF")
    stocks = krx_codes(t, cols["stock"], quality)
    shares = t.numbers(cols["shares_per_cu"], what="shares per creation unit", min_value=0)
    value = t.numbers(cols["value_krw"], what="amount", min_value=0)
    weight = t.numbers(cols["weight"], what="weight", min_value=0) / 100.0
    # pykrx maps KRX's '-' to 0: shares and amount both 0 with a weight is the cash line.
    cash = ((shares == 0) & (value == 0) & (weight > 0)) | is_cash(stocks)
    t.check_unique([stocks.to_numpy()], ["stock"])
    out = pd.DataFrame({"etf": str(etf), "effective_date": pd.Timestamp(date),
                        "stock": stocks.to_numpy(), "shares_per_cu": shares,
                        "value_krw": value, "weight": weight, "cash": cash,
                        "line": t.frame.index.to_numpy()})
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def load_pykrx_pdf(path, *, etf: str | None = None, date=None,
                   quality: DataQuality | None = None, sum_tol: float = 0.02,
                   encoding: str | None = None) -> Holdings:
    """Load a saved pykrx PDF frame as one :class:`Holdings` snapshot (cash dropped, counted).

    pykrx stores ``비중`` as float32, so weights carry ~1e-6 rounding; ``sum_tol`` covers it.

    Returns
    -------
    Holdings
        Weights as fractions of the non-cash portfolio, summing to 1.
    """
    rows = read_pykrx_pdf(path, etf=etf, date=date, quality=quality, encoding=encoding)
    return finish_snapshots(rows, source=rows.attrs["source"], row_kind=rows.attrs["row_kind"],
                            quality=quality, sum_tol=sum_tol)


def flows_from_pykrx(
    investor_files: Mapping,
    *,
    marketcap_by_date: Mapping | None = None,
    marketcap_by_ticker: Mapping | None = None,
    quality: DataQuality | None = None,
    on_missing_market: str = "error",
    dtype="float64",
    encoding: str | None = None,
) -> ConstituentFlows:
    """Compose a flow panel from per-stock pykrx exports.

    Parameters
    ----------
    investor_files : mapping stock -> path
        One saved ``get_market_trading_value_by_date(from, to, ticker)`` frame per stock.
    marketcap_by_date : mapping stock -> path, optional
        One saved ``get_market_cap(from, to, ticker)`` frame per stock, or
    marketcap_by_ticker : mapping date -> path, optional
        one saved ``get_market_cap(date)`` frame per date (exactly one of the two).
    quality, on_missing_market, dtype, encoding
        As in :func:`datasets.generic.compose_flows`.

    Returns
    -------
    ConstituentFlows
        net_buy in KRW for the investors in the files; market_cap/close in KRW.
    """
    if (marketcap_by_date is None) == (marketcap_by_ticker is None):
        raise ValueError("give exactly one of marketcap_by_date and marketcap_by_ticker")
    q = quality if quality is not None else DataQuality()
    nb_parts = []
    for stock, p in investor_files.items():
        f = read_pykrx_investor_value(p, quality=q, encoding=encoding)
        long = f.stack().rename("net_buy").reset_index()
        long.columns = ["date", "investor", "net_buy"]
        long["stock"] = str(stock)
        nb_parts.append(long)
    mk_parts = []
    if marketcap_by_date is not None:
        for stock, p in marketcap_by_date.items():
            f = read_pykrx_marketcap_by_date(p, quality=q, encoding=encoding)
            mk_parts.append(pd.DataFrame({"date": f.index, "stock": str(stock),
                                          "market_cap": f["market_cap_krw"].to_numpy(),
                                          "close": f["close_krw"].to_numpy()}))
    else:
        for d, p in marketcap_by_ticker.items():  # type: ignore[union-attr]
            f = read_pykrx_marketcap(p, quality=q, encoding=encoding)
            mk_parts.append(pd.DataFrame({"date": pd.Timestamp(d), "stock": f.index,
                                          "market_cap": f["market_cap_krw"].to_numpy(),
                                          "close": f["close_krw"].to_numpy()}))
    nb = pd.concat(nb_parts, ignore_index=True)
    mk = pd.concat(mk_parts, ignore_index=True)
    nb.attrs["source"] = "pykrx trading-value files"
    mk.attrs["source"] = "pykrx market-cap files"
    return compose_flows(nb, mk, quality=q, on_missing_market=on_missing_market, dtype=dtype)
