"""KRX data-portal exports (data.krx.co.kr): raw JSON field names or Korean-header CSV downloads.

The portal's "CSV 다운로드" files are CP949 with Korean headers and thousands separators; the
JSON behind the same screens (what pykrx fetches and its test recordings hold) uses field names
such as ``ISU_SRT_CD``. Both spellings are accepted for every column:

=====================  ==========================  ======================================
field                  KRX JSON name               Korean header
=====================  ==========================  ======================================
stock code             ISU_SRT_CD                  종목코드
stock name             ISU_NM / ISU_ABBRV          종목명
net buying (KRW)       NETBID_TRDVAL               순매수거래대금
net buying (shares)    NETBID_TRDVOL               순매수거래량
buy / sell value       BID_TRDVAL / ASK_TRDVAL     매수거래대금 / 매도거래대금
close (KRW/share)      TDD_CLSPRC                  종가
market cap (KRW)       MKTCAP                      시가총액
listed shares          LIST_SHRS                   상장주식수
trading date           TRD_DD                      일자
PDF shares per CU      COMPST_ISU_CU1_SHRS         주식수(계약수) / 계약수
PDF value (KRW)        VALU_AMT                    평가금액 / 금액
PDF weight (%)         COMPST_RTO                  비중 / 구성비중
=====================  ==========================  ======================================

Units: values in KRW, volumes in shares, PDF weights in percent in the file and fractions
(0..1) in the returned :class:`~engine.market.Holdings`.

Rules
-----
* An empty file or a header-only file (what KRX returns for a holiday or a refused request)
  is a :class:`~engine.errors.DataError`, never zero flow.
* Net purchases: when buy and sell values are present, ``net = buy - sell`` is checked
  exactly (an edited or truncated file fails). A net-purchases file is an aggregate over its
  query period (``strtDd..endDd``); :func:`flows_from_krx` assigns it to the period's end date,
  so download one file per day (start = end) to get daily flows.
* Duplicate stock codes within one file are an error.
* PDF cash rows (code ``KRD...``, name 원화예금/현금, shares ``-``) are dropped and counted;
  the remaining weights are renormalized to 1 (see :mod:`datasets.holdings_files`).
* Investor-by-date files (``TRD_DD, TRDVAL1..4`` = institution, other corp, individual,
  foreign, or Korean headers) may be newest-first as KRX lists them; any other order is an
  error (a shuffled export is a broken one).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from datasets._csv import Table, read_table, resolve_columns
from datasets.generic import compose_flows
from datasets.holdings_files import finish_snapshots, is_cash
from engine.errors import DataError, DataQuality
from engine.investors import canonical_investor
from engine.market import ConstituentFlows, Holdings

__all__ = [
    "flows_from_krx",
    "investor_frame",
    "krx_codes",
    "load_krx_pdf",
    "parse_krx_filename",
    "read_krx_investor_by_date",
    "read_krx_marketcap",
    "read_krx_netbuy",
    "read_krx_pdf",
]

NETBUY_COLUMNS = {
    "stock": ("ISU_SRT_CD", "종목코드"),
    "name": ("ISU_NM", "ISU_ABBRV", "종목명"),
    "net_buy_krw": ("NETBID_TRDVAL", "순매수거래대금"),
    "net_buy_shares": ("NETBID_TRDVOL", "순매수거래량"),
    "buy_krw": ("BID_TRDVAL", "매수거래대금"),
    "sell_krw": ("ASK_TRDVAL", "매도거래대금"),
}
MARKETCAP_COLUMNS = {
    "stock": ("ISU_SRT_CD", "종목코드"),
    "name": ("ISU_ABBRV", "ISU_NM", "종목명"),
    "market": ("MKT_NM", "시장구분"),
    "close_krw": ("TDD_CLSPRC", "종가"),
    "market_cap_krw": ("MKTCAP", "시가총액"),
    "listed_shares": ("LIST_SHRS", "상장주식수"),
}
PDF_COLUMNS = {
    "stock": ("COMPST_ISU_CD", "종목코드", "구성종목코드", "티커"),
    "name": ("COMPST_ISU_NM", "구성종목명", "종목명"),
    "shares_per_cu": ("COMPST_ISU_CU1_SHRS", "주식수(계약수)", "계약수", "주식수"),
    "value_krw": ("VALU_AMT", "평가금액", "금액"),
    "weight": ("COMPST_RTO", "비중", "구성비중", "시가총액기준구성비중"),
}
#: KRX per-stock investor-by-date fields (MDCSTAT02302, ``inqTpCd=2``) -> canonical id.
TRDVAL_INVESTORS = {"TRDVAL1": "institution", "TRDVAL2": "other_corp",
                    "TRDVAL3": "individual", "TRDVAL4": "foreign"}
_TOTAL_NAMES = ("TRDVAL_TOT", "전체", "합계")
_DATE_NAMES = ("TRD_DD", "일자", "날짜", "date", "")

_FILENAME_RE = {
    "market": re.compile(r"_(KOSPI|KOSDAQ|KONEX|ALL)(?:_|$)"),
    "investor": re.compile(r"_inv(\d{4})(?:_|$)"),
    "period": re.compile(r"_(\d{8})_(\d{8})(?:_|$)"),
    "date": re.compile(r"_(\d{8})(?:_\d+)?$"),
    "etf": re.compile(r"etf_pdf_([0-9A-Z]{6})_"),
}


def parse_krx_filename(path) -> dict:
    """Read market, investor code, period and ETF from a pykrx-recording style file name.

    Examples
    --------
    >>> d = parse_krx_filename("net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv")
    >>> d["market"], d["investor"], d["start"].date(), d["date"].date()
    ('KOSPI', 'individual', datetime.date(2021, 1, 15), datetime.date(2021, 1, 22))
    >>> parse_krx_filename("etf_pdf_152100_20210402.csv")["etf"]
    '152100'
    """
    stem = Path(path).stem
    out: dict = {}
    if m := _FILENAME_RE["market"].search(stem):
        out["market"] = m.group(1)
    if m := _FILENAME_RE["investor"].search(stem):
        out["investor"] = canonical_investor(m.group(1))
    if m := _FILENAME_RE["period"].search(stem):
        out["start"], out["date"] = pd.Timestamp(m.group(1)), pd.Timestamp(m.group(2))
    elif m := _FILENAME_RE["date"].search(stem):
        out["date"] = pd.Timestamp(m.group(1))
    if m := _FILENAME_RE["etf"].search(stem):
        out["etf"] = m.group(1)
    return out


def krx_codes(t: Table, column: str, quality: DataQuality | None = None) -> pd.Series:
    """KRX short stock codes from ``column``: ISINs shortened, lost leading zeros restored.

    A 12-character ISIN (``KR7005930003``) becomes its short code (characters 3..9, as pykrx
    does); an all-digit code shorter than 6 (``5930``, what a round trip through a spreadsheet
    leaves) is zero-padded and counted in ``quality``.
    """
    codes = t.codes(column)
    isin = codes.str.fullmatch(r"KR[0-9A-Z]{10}") & ~codes.str.startswith("KRD")
    codes = codes.where(~isin, codes.str.slice(3, 9))
    short = codes.str.fullmatch(r"\d{1,5}")
    if short.any():
        codes = codes.where(~short, codes.str.zfill(6))
        if quality is not None:
            quality.add(t.source, "zero-padded", "stock codes to 6 digits", int(short.sum()),
                        rule="leading zeros lost in a spreadsheet")
    return codes


def read_krx_netbuy(path, *, quality: DataQuality | None = None,
                    encoding: str | None = None) -> pd.DataFrame:
    """Read a KRX per-stock net purchases file (투자자별 순매수 상위종목, one investor type).

    Parameters
    ----------
    path : str or Path
        KRX JSON-field CSV (``ISU_SRT_CD, ISU_NM, ..., NETBID_TRDVAL``) or the portal's
        Korean-header download (``종목코드, 종목명, ..., 순매수거래대금``), any encoding.
    quality : DataQuality, optional
        Receives the rows read.
    encoding : str, optional
        Force a text encoding (default: detect UTF-8 / CP949).

    Returns
    -------
    pd.DataFrame
        Index ``stock`` (6-character code, str); columns ``name``, ``net_buy_krw`` (KRW),
        ``net_buy_shares`` (shares, NaN if the file lacks it), ``line``. One row per stock,
        in file order (KRX sorts by net buying).

    Raises
    ------
    DataError
        Empty file, missing net-buying column, non-numeric/missing values, duplicate stock,
        or ``net != buy - sell``.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    cols = resolve_columns(t, NETBUY_COLUMNS,
                           optional=("name", "net_buy_shares", "buy_krw", "sell_krw"),
                           kind="KRX net purchases file")
    t.require_rows("net purchases file")
    stocks = krx_codes(t, cols["stock"], quality)
    net = t.numbers(cols["net_buy_krw"], what="net buying")
    shares = (t.numbers(cols["net_buy_shares"], what="net buying in shares")
              if "net_buy_shares" in cols else np.full(len(t), np.nan))
    if "buy_krw" in cols and "sell_krw" in cols:
        buy = t.numbers(cols["buy_krw"], what="buy value", min_value=0)
        sell = t.numbers(cols["sell_krw"], what="sell value", min_value=0)
        off = np.abs(buy - sell - net) > 0.5 + 1e-12 * np.abs(buy)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise t.error(
                f"net buying {net[i]:,.0f} is not buy {buy[i]:,.0f} - sell {sell[i]:,.0f} for "
                f"stock {stocks[i]} ({int(off.sum())} such rows)", pos=i,
                column=cols["net_buy_krw"], fix="re-download the file; it was edited or cut")
    t.check_unique([stocks.to_numpy()], ["stock"])
    names = t.text(cols["name"]).to_numpy() if "name" in cols else np.full(len(t), "")
    out = pd.DataFrame({"name": names, "net_buy_krw": net, "net_buy_shares": shares,
                        "line": t.frame.index.to_numpy()},
                       index=pd.Index(stocks.to_numpy(), name="stock"))
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_krx_marketcap(path, *, quality: DataQuality | None = None,
                       encoding: str | None = None) -> pd.DataFrame:
    """Read a KRX all-listing quote / market-cap snapshot (전종목 시세, MDCSTAT01501).

    Also reads index-constituent lists that carry ``MKTCAP`` and ``TDD_CLSPRC``.

    Returns
    -------
    pd.DataFrame
        Index ``stock``; columns ``name``, ``market`` (KOSPI/KOSDAQ/KONEX or ""),
        ``close_krw`` (KRW/share), ``market_cap_krw`` (KRW, > 0), ``listed_shares``
        (shares, NaN if absent), ``line``.

    Raises
    ------
    DataError
        Empty file, missing market-cap column, negative or missing market cap/close,
        negative listed shares, duplicate stock.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    cols = resolve_columns(t, MARKETCAP_COLUMNS, optional=("name", "market", "listed_shares"),
                           kind="KRX market-cap file")
    t.require_rows("market-cap file")
    stocks = krx_codes(t, cols["stock"], quality)
    # a listed stock's market cap is > 0: a 0 is a broken export, never a figure to print
    mcap = t.numbers(cols["market_cap_krw"], what="market cap", min_value=0, strict_min=True)
    close = t.numbers(cols["close_krw"], what="close", min_value=0)
    shares = (t.numbers(cols["listed_shares"], what="listed shares", min_value=0)
              if "listed_shares" in cols else np.full(len(t), np.nan))
    t.check_unique([stocks.to_numpy()], ["stock"])
    out = pd.DataFrame({
        "name": t.text(cols["name"]).to_numpy() if "name" in cols else "",
        "market": t.text(cols["market"]).to_numpy() if "market" in cols else "",
        "close_krw": close, "market_cap_krw": mcap, "listed_shares": shares,
        "line": t.frame.index.to_numpy()}, index=pd.Index(stocks.to_numpy(), name="stock"))
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_krx_pdf(path, *, etf: str | None = None, date=None,
                 quality: DataQuality | None = None, encoding: str | None = None) -> pd.DataFrame:
    """Read a KRX ETF portfolio deposit file (PDF, MDCSTAT05001) as holdings rows.

    Parameters
    ----------
    path : str or Path
        ``COMPST_ISU_CD, COMPST_ISU_NM, COMPST_ISU_CU1_SHRS, VALU_AMT, COMPST_RTO`` or the
        Korean-header download.
    etf, date : optional
        ETF code and effective date; default from a file name like
        ``etf_pdf_152100_20210402.csv``.

    Returns
    -------
    pd.DataFrame
        Columns ``etf``, ``effective_date``, ``stock``, ``name``, ``shares_per_cu`` (shares
        per creation unit, NaN for cash), ``value_krw``, ``weight`` (fraction as published,
        cash included), ``cash`` (bool), ``line``.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    meta = parse_krx_filename(path)
    etf = etf if etf is not None else meta.get("etf")
    date = date if date is not None else meta.get("date")
    if etf is None or date is None:
        raise DataError("cannot tell the ETF code and date of this PDF", file=t.source,
                        fix="pass etf= and date= (or name the file etf_pdf_<code>_<YYYYMMDD>.csv)")
    cols = resolve_columns(t, PDF_COLUMNS, optional=("name", "shares_per_cu", "value_krw"),
                           kind="KRX ETF PDF file")
    t.require_rows("PDF")
    raw_codes = t.codes(cols["stock"])
    names = t.text(cols["name"]).reset_index(drop=True) if "name" in cols else None
    cash = is_cash(raw_codes, names)
    stocks = krx_codes(t, cols["stock"], quality)
    weight = t.numbers(cols["weight"], what="weight", min_value=0) / 100.0
    # Cash rows carry '-' for shares and value; constituents must have both.
    shares = (t.numbers(cols["shares_per_cu"], what="shares per creation unit", required=False,
                        min_value=0) if "shares_per_cu" in cols else np.full(len(t), np.nan))
    value = (t.numbers(cols["value_krw"], what="value", required=False, min_value=0)
             if "value_krw" in cols else np.full(len(t), np.nan))
    if "shares_per_cu" in cols:
        gap = np.isnan(shares) & ~cash
        if gap.any():
            i = int(np.flatnonzero(gap)[0])
            raise t.error(f"shares per creation unit missing for non-cash holding {stocks[i]}",
                          pos=i, column=cols["shares_per_cu"],
                          fix="fill the share count, or mark the row as cash")
    t.check_unique([stocks.to_numpy()], ["stock"])
    out = pd.DataFrame({
        "etf": str(etf), "effective_date": pd.Timestamp(date), "stock": stocks.to_numpy(),
        "name": names.to_numpy() if names is not None else "", "shares_per_cu": shares,
        "value_krw": value, "weight": weight, "cash": cash, "line": t.frame.index.to_numpy()})
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def load_krx_pdf(path, *, etf: str | None = None, date=None,
                 quality: DataQuality | None = None, sum_tol: float = 0.02,
                 encoding: str | None = None) -> Holdings:
    """Load a KRX ETF PDF as one :class:`Holdings` snapshot, cash dropped and counted.

    Parameters
    ----------
    path : str or Path
    etf, date : optional
        Default from the file name (``etf_pdf_<code>_<YYYYMMDD>``).
    quality : DataQuality, optional
        Receives rows read, cash rows dropped, the snapshot renormalized.
    sum_tol : float
        Tolerance on the published weights (cash included) summing to 100%.

    Returns
    -------
    Holdings
        Weights as fractions of the non-cash portfolio (sum 1).
    """
    rows = read_krx_pdf(path, etf=etf, date=date, quality=quality, encoding=encoding)
    return finish_snapshots(rows, source=rows.attrs["source"], row_kind=rows.attrs["row_kind"],
                            quality=quality, sum_tol=sum_tol)


def investor_frame(t: Table, *, date_names=_DATE_NAMES, what: str = "investor file"
                   ) -> pd.DataFrame:
    """Parse a one-row-per-date table of net buying by investor (KRX or pykrx layout).

    Columns are a date column plus investor columns named by KRX field (``TRDVAL1..4``),
    Korean name or canonical id; a total column (``전체``/``TRDVAL_TOT``) must be 0 on every
    row (net buying sums to zero across investors) and is then dropped. When the institution
    total and all seven institution sub-types are present, the total is checked against the
    sum of its parts. A detailed file's ``외국인`` (which excludes ``기타외국인``) is returned as
    ``foreign`` = 외국인 + 기타외국인, the total README "Contracts" names; ``other_foreign`` is kept as a
    part, so like ``institution`` it is counted twice if all columns are summed.

    Returns
    -------
    pd.DataFrame
        Index ``date`` (increasing), columns canonical investor ids in canonical order, KRW.
    """
    from engine.investors import INVESTORS

    t.require_rows(what)
    wanted = {n.lower() for n in date_names}
    date_col = next((c for c in t.columns if c.replace(" ", "").lower() in wanted), None)
    if date_col is None:
        raise DataError(f"missing date column (accepted names: {', '.join(n for n in date_names if n)})",
                        file=t.source, row=1 if t.row_kind == "line" else None,
                        column=date_names[0], fix="name the first column 날짜 or TRD_DD")
    inv_cols: dict[str, str] = {}
    total_col = None
    for c in t.columns:
        if c == date_col:
            continue
        if c.replace(" ", "") in _TOTAL_NAMES:
            total_col = c
            continue
        try:
            k = TRDVAL_INVESTORS[c] if c in TRDVAL_INVESTORS else canonical_investor(c)
        except KeyError:
            raise DataError(
                f"unknown investor column {c!r}", file=t.source,
                row=1 if t.row_kind == "line" else None, column=c,
                fix="use Korean investor names (기관합계, 기타법인, 개인, 외국인합계, ...) or "
                    "canonical ids") from None
        if k in inv_cols:
            raise DataError(f"columns {inv_cols[k]!r} and {c!r} are the same investor ({k})",
                            file=t.source, row=1 if t.row_kind == "line" else None, column=c,
                            fix="keep one of them")
        inv_cols[k] = c
    if not inv_cols:
        raise DataError("no investor columns", file=t.source, row=1,
                        fix="expected columns such as 기관합계, 기타법인, 개인, 외국인합계")
    dates = t.dates(date_col)
    order = t.check_time_order(dates, date_col)
    values = {k: t.numbers(c, what=f"net buying of {k}") for k, c in inv_cols.items()}
    if total_col is not None:
        tot = t.numbers(total_col, what="total")
        scale = np.maximum(1.0, np.max(np.abs(np.column_stack(list(values.values()))), axis=1))
        off = np.abs(tot) > 1e-9 * scale
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise t.error(
                f"total {tot[i]:,.0f} is not 0: this is buy or sell value, not net buying",
                pos=i, column=total_col,
                fix="export net buying (pykrx on='순매수', the default; KRX askBid=3)")
    parts = ("financial_investment", "insurance", "investment_trust", "private_fund", "bank",
             "other_finance", "pension")
    if "institution" in values and all(p in values for p in parts):
        s = sum(values[p] for p in parts)
        off = np.abs(s - values["institution"]) > 0.5 + 1e-9 * np.abs(s)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise t.error(
                f"institution total {values['institution'][i]:,.0f} differs from the sum of "
                f"its parts {s[i]:,.0f}", pos=i, column=inv_cols["institution"],
                fix="re-export the file; a column is shifted or edited")
    # README "Concepts": ``foreign`` is 외국인(합계), the total. Detailed exports split it into 외국인
    # (excluding 기타외국인) and 기타외국인; fold them so ``foreign`` means the same in every
    # file (``other_foreign`` stays available as a part, like the institution sub-types).
    if ("foreign" in values and "other_foreign" in values
            and inv_cols["foreign"].replace(" ", "") == "외국인"):
        values["foreign"] = values["foreign"] + values["other_foreign"]
    ids = [k for k in INVESTORS if k in values]
    out = pd.DataFrame({k: values[k][order] for k in ids},
                       index=pd.DatetimeIndex(dates[order], name="date"))
    out.attrs.update(source=t.source, row_kind=t.row_kind)
    return out


def read_krx_investor_by_date(path, *, quality: DataQuality | None = None,
                              encoding: str | None = None) -> pd.DataFrame:
    """Read one stock's (or market's) daily net buying by investor from a KRX export.

    Parameters
    ----------
    path : str or Path
        ``TRD_DD, TRDVAL1, TRDVAL2, TRDVAL3, TRDVAL4, TRDVAL_TOT`` (MDCSTAT02302 net value:
        institution, other corp, individual, foreign) or the Korean-header download
        (``일자, 기관합계, 기타법인, 개인, 외국인합계, 전체``), newest first allowed.

    Returns
    -------
    pd.DataFrame
        Index ``date`` (increasing), columns canonical investor ids, net buying in KRW.
    """
    t = read_table(path, encoding=encoding, quality=quality)
    return investor_frame(t, what="investor-by-date file")


def flows_from_krx(
    netbuy_files: Iterable | Mapping,
    marketcap_files: Iterable | Mapping,
    *,
    quality: DataQuality | None = None,
    on_missing_market: str = "error",
    dtype="float64",
    encoding: str | None = None,
) -> ConstituentFlows:
    """Compose a flow panel from KRX net purchases files and market-cap snapshots.

    Parameters
    ----------
    netbuy_files : iterable of paths, or mapping path -> (date, investor)
        One file per (date, investor type). Without a mapping the date (period end) and the
        investor (``_inv<code>``) come from the file name
        (``net_purchases_by_ticker_KOSPI_inv8000_20210115_20210122.csv``).
    marketcap_files : iterable of paths, or mapping date -> path
        One all-listing snapshot per date; without a mapping the date comes from the file name
        (``market_cap_by_ticker_ALL_20210104.csv``).
    quality : DataQuality, optional
        Receives rows read and every cell left NaN or dropped.
    on_missing_market : {"error", "drop"}
        Net buying for a stock without a market cap that day (see
        :func:`datasets.generic.compose_flows`).
    dtype : str
    encoding : str, optional

    Returns
    -------
    ConstituentFlows
        net_buy (KRW) and net_buy_shares (shares) for the investors present, market_cap and
        close (KRW) from the snapshots; stocks absent from a day's file are NaN (counted).
    """
    q = quality if quality is not None else DataQuality()
    if isinstance(netbuy_files, Mapping):
        nb_items = [(p, pd.Timestamp(d), canonical_investor(k))
                    for p, (d, k) in netbuy_files.items()]
    else:
        nb_items = []
        for p in netbuy_files:
            meta = parse_krx_filename(p)
            if "date" not in meta or "investor" not in meta:
                raise DataError("cannot tell the date and investor type of this file",
                                file=Path(p).name,
                                fix="pass a mapping {path: (date, investor)} or name it "
                                    "..._inv<code>_<start>_<end>.csv")
            nb_items.append((p, meta["date"], meta["investor"]))
    if isinstance(marketcap_files, Mapping):
        mk_items = [(p, pd.Timestamp(d)) for d, p in marketcap_files.items()]
    else:
        mk_items = []
        for p in marketcap_files:
            meta = parse_krx_filename(p)
            if "date" not in meta:
                raise DataError("cannot tell the date of this market-cap file", file=Path(p).name,
                                fix="pass a mapping {date: path} or name it ..._<YYYYMMDD>.csv")
            mk_items.append((p, meta["date"]))
    nb_parts, mk_parts = [], []
    for p, d, k in nb_items:
        f = read_krx_netbuy(p, quality=q, encoding=encoding)
        nb_parts.append(pd.DataFrame({"date": d, "stock": f.index, "investor": k,
                                      "net_buy": f["net_buy_krw"].to_numpy(),
                                      "net_buy_shares": f["net_buy_shares"].to_numpy()}))
    for p, d in mk_items:
        f = read_krx_marketcap(p, quality=q, encoding=encoding)
        mk_parts.append(pd.DataFrame({"date": d, "stock": f.index,
                                      "market_cap": f["market_cap_krw"].to_numpy(),
                                      "close": f["close_krw"].to_numpy()}))
    nb = pd.concat(nb_parts, ignore_index=True)
    dup = nb.duplicated(["date", "stock", "investor"])
    if dup.any():
        r = nb[dup].iloc[0]
        raise DataError(f"two files give {r['investor']} net buying on {r['date'].date()}",
                        fix="pass one file per (date, investor type)")
    mk = pd.concat(mk_parts, ignore_index=True)
    if mk.duplicated(["date", "stock"]).any():
        raise DataError("two market-cap files share a date", fix="pass one file per date")
    nb.attrs["source"] = "KRX net purchases files"
    mk.attrs["source"] = "KRX market-cap files"
    return compose_flows(nb, mk, quality=q, on_missing_market=on_missing_market, dtype=dtype)
