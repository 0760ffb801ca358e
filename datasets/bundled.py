"""Loaders for the small real-data slice that ships with flowbt (``datasets/data/*.parquet``).

Every ``load_<name>()`` reads one bundled Parquet file through :mod:`importlib.resources`, checks
its index (unique, increasing dates) and returns it. The slice was cut from the raw files by
``benchmarks/make_bundle.py``; ``datasets/README.md`` documents each cut, unit conversion and
source. Two loaders assemble a :class:`engine.Market`: :func:`load_us_market` (ETF adjusted
closes + CASH accruing the T-bill, and the ETF shares/NAV panel with derived flows) and
:func:`load_krx_market` (KOSPI/KOSDAQ closes + CASH and market-wide net buying by investor).
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Sequence

import numpy as np
import pandas as pd

from datasets.etf_flows import MAX_GAP_DAYS, STALE_AFTER_BARS, derive_flow_usd
from engine.errors import DataError, DataQuality
from engine.market import EtfData, Market
from engine.prices import with_cash

__all__ = [
    "FILES",
    "derive_flow_usd",
    "krx_netbuy_bp",
    "load_krx_investor_netbuy",
    "load_krx_market",
    "load_krx_market_index",
    "load_us_etf_adjclose",
    "load_us_etf_flows_2026q1",
    "load_us_etf_shares_nav",
    "load_us_index_close",
    "load_us_market",
    "load_us_rates",
]

#: Bundled file names by loader.
FILES = {
    "us_etf_adjclose": "us_etf_adjclose.parquet",
    "us_index_close": "us_index_close.parquet",
    "us_rates": "us_rates_daily.parquet",
    "krx_investor_netbuy": "krx_investor_netbuy_krw.parquet",
    "krx_market_index": "krx_market_index_krw.parquet",
    "us_etf_flows_2026q1": "us_etf_daily_flows_2026q1.parquet",
    "us_etf_shares_nav": "us_etf_shares_nav_example_etfs.parquet",
}


KRX_MARKETS = ("KOSPI", "KOSDAQ")
KRX_INVESTORS = ("foreign", "institution", "individual")

_SHARES_NAV_COLUMNS = ("date", "ticker", "Assets_MUSD", "NAV", "Volume", "PrevClose", "Open",
                       "Expense", "N_Hold", "SharesOut_M")


def _read(key: str) -> pd.DataFrame:
    """Read one bundled Parquet file (a copy the caller may modify)."""
    res = importlib.resources.files("datasets") / "data" / FILES[key]
    with importlib.resources.as_file(res) as path:
        if not path.exists():
            raise DataError(
                "bundled data file is missing", file=str(path),
                fix="reinstall flowbt or run `python benchmarks/make_bundle.py`",
            )
        return pd.read_parquet(path)


def _checked_dates(df: pd.DataFrame, key: str) -> pd.DataFrame:
    idx = df.index
    if not isinstance(idx, pd.DatetimeIndex):
        raise DataError("index is not a date index", file=FILES[key])
    if not idx.is_unique:
        raise DataError(f"date {idx[idx.duplicated()][0].date()} appears twice", file=FILES[key])
    if not idx.is_monotonic_increasing:
        raise DataError("dates are not sorted", file=FILES[key])
    return df


def load_us_etf_adjclose() -> pd.DataFrame:
    """Daily dividend- and split-adjusted closes of 27 US ETFs.

    ==========  ===========================================================================
    size        8,433 days x 27 ETFs (811 KiB), float64
    range       1993-01-29 .. 2026-07-31; each ETF from its listing (MDY ends 2025-09-26)
    units       USD per share, adjusted for dividends and splits (a total-return series)
    columns     SPY VOO IVV RSP QQQ TQQQ IWM IJR IJH IWO IWN VUG VTI VXUS IEMG XLK XLF XLE
                XLB XLI XLP XLU XLRE XLV XLY XLC MDY
    source      public GitHub repos dsturdy/Factor_Attribution (Yahoo-derived) and
                jmlestevez-source/taa-dashboard (MDY)
    license     none stated by the source repositories
    ==========  ===========================================================================

    Returns
    -------
    pd.DataFrame, shape (8433, 27)
        Index ``date`` (DatetimeIndex); NaN before an ETF's listing and after its last price.
    """
    return _checked_dates(_read("us_etf_adjclose"), "us_etf_adjclose")


def load_us_index_close() -> pd.DataFrame:
    """Daily closes of the S&P 500, Nasdaq-100 and Russell 2000 indexes (price, not total return).

    ==========  ===========================================================================
    size        9,106 days x 3 (180 KiB), float64
    range       1990-01-02 .. 2026-02-27 (cut from 1990; RUT ends 2024-08-02)
    units       index points
    columns     SPX, NDX, RUT
    source      GitHub repo hjyssg/tqqq_simulation
    license     none stated
    ==========  ===========================================================================

    Returns
    -------
    pd.DataFrame, shape (9106, 3)
    """
    return _checked_dates(_read("us_index_close"), "us_index_close")


def load_us_rates() -> pd.DataFrame:
    """Daily 13-week T-bill yield and 10-year Treasury yield.

    ==========  ===========================================================================
    size        12,524 days x 2 (137 KiB), float64
    range       1976-08-03 .. 2026-07-31 (bond-market holidays absent)
    units       percent per year (``IRX_pct`` briefly slightly negative in 2015/2020)
    columns     IRX_pct (13-week T-bill), TNX_pct (10-year)
    source      GitHub repo dsturdy/Factor_Attribution (Yahoo ^IRX, ^TNX)
    license     none stated
    ==========  ===========================================================================

    Returns
    -------
    pd.DataFrame, shape (12524, 2)
    """
    return _checked_dates(_read("us_rates"), "us_rates")


def load_krx_investor_netbuy() -> pd.DataFrame:
    """KOSPI and KOSDAQ market-wide daily net buying (buy - sell) by investor type, in KRW.

    ==========  ===========================================================================
    size        5,338 days x 6 (284 KiB), float64
    range       2005-01-03 .. 2026-08-21
    units       KRW (the source's KRW 100 million (억원) x 1e8)
    columns     ``{KOSPI,KOSDAQ}_{foreign,institution,individual}_krw``; foreign = 외국인
                total (incl. 기타외국인), institution = 기관합계, individual = 개인
    source      GitHub repo maeraego/Kospi-dashboard (collected with pykrx from KRX)
    license     none stated; the data is KRX's
    ==========  ===========================================================================

    Notes
    -----
    The conversion is pinned against KRX's own figures: KOSPI individual net buying over
    2021-01-15..22 sums to 4,585,384,731,204 KRW, as KRX's investor breakdown for that week
    says (see ``datasets/README.md``).

    Returns
    -------
    pd.DataFrame, shape (5338, 6)
    """
    return _checked_dates(_read("krx_investor_netbuy"), "krx_investor_netbuy")


def load_krx_market_index() -> pd.DataFrame:
    """KOSPI and KOSDAQ daily close, market cap (KRW), PER, PBR and ROE.

    ==========  ===========================================================================
    size        7,984 days x 10 (333 KiB), float64
    range       1995-01-03 .. 2026-08-21 (KOSDAQ from 1996-07-01; market caps from 2001/1997)
    units       ``*_close`` index points; ``*_market_cap_krw`` KRW (source KRW trillion x
                1e12); ``*_per``, ``*_pbr`` ratios; ``*_roe_pct`` percent
    columns     ``{KOSPI,KOSDAQ}_{close,market_cap_krw,per,pbr,roe_pct}``
    source      GitHub repo maeraego/Kospi-dashboard (KRX)
    license     none stated; the data is KRX's
    ==========  ===========================================================================

    Returns
    -------
    pd.DataFrame, shape (7984, 10)
        NaN where the source has no value (before a series starts).
    """
    return _checked_dates(_read("krx_market_index"), "krx_market_index")


def load_us_etf_flows_2026q1() -> pd.DataFrame:
    """Daily net creation/redemption flows of 51 US ETFs as published by etf.com.

    ==========  ===========================================================================
    size        3,366 rows x 3 (17 KiB)
    range       2026-01-02 .. 2026-04-03 (first quarter plus three April days)
    units       ``flow_usd`` USD per day; NaN where the export has no value (kept NaN)
    columns     date, ticker, flow_usd (long format, sorted by date then ticker)
    source      GitHub repo isaergun/etf-flows-data (etf.com exports)
    license     none stated
    ==========  ===========================================================================

    Returns
    -------
    pd.DataFrame, shape (3366, 3)
    """
    df = _read("us_etf_flows_2026q1")
    if df.duplicated(["date", "ticker"]).any():
        raise DataError("a (date, ticker) pair appears twice", file=FILES["us_etf_flows_2026q1"])
    return df


def load_us_etf_shares_nav() -> pd.DataFrame:
    """Daily shares-outstanding x NAV panel of the 27 example ETFs (a cut of ~2,980 funds).

    ==========  ===========================================================================
    size        4,739 rows x 10 (104 KiB)
    range       2021-07-07 .. 2022-08-29 with a hole 2022-02-19 .. 2022-07-10; 15 ETFs
                (VOO VTI VUG VXUS and the sector SPDRs) end 2022-02-18
    units       Assets_MUSD USD million; NAV, PrevClose, Open USD per share; Volume shares;
                Expense percent per year; N_Hold holdings count; SharesOut_M million shares
    columns     date, ticker, Assets_MUSD, NAV, Volume, PrevClose, Open, Expense, N_Hold,
                SharesOut_M (long format, sorted by ticker then date)
    source      GitHub repo jmaslek/etf_scraper git history (scraped from stockanalysis.com)
    license     Apache-2.0 (repository)
    ==========  ===========================================================================

    Notes
    -----
    ``date`` is the scrape date (some are weekends or holidays). ``PrevClose`` is the close of
    the session before ``date``; ``NAV`` is the latest published NAV (usually one or two
    sessions old); ``Volume`` may be a partial day. Shares are NaN on the first ~22 rows of
    each fund and some series repeat the same values for days (stale scrapes):
    :func:`load_us_market` handles both and counts what it did.

    Returns
    -------
    pd.DataFrame, shape (4739, 10)
    """
    df = _read("us_etf_shares_nav")
    missing = [c for c in _SHARES_NAV_COLUMNS if c not in df.columns]
    if missing:
        raise DataError(f"columns {missing} are missing", file=FILES["us_etf_shares_nav"])
    if df.duplicated(["ticker", "date"]).any():
        raise DataError("a (ticker, date) pair appears twice", file=FILES["us_etf_shares_nav"])
    return df




def _shares_nav_etfdata(
    panel: pd.DataFrame, sessions: pd.DatetimeIndex, quality: DataQuality,
    *, stale_after_bars: int, max_gap_days: int,
) -> EtfData:
    """Build :class:`EtfData` (USD) from the long shares/NAV panel on real sessions only."""
    src = FILES["us_etf_shares_nav"]
    quality.read(src, len(panel))
    on_session = panel["date"].isin(sessions)
    quality.add(src, "dropped", "rows scraped on weekends/holidays", int((~on_session).sum()),
                rule="not a NYSE session; the next session's row carries the same information")
    p = panel[on_session]
    wide = {c: p.pivot(index="date", columns="ticker", values=c)
            for c in ("NAV", "SharesOut_M", "Volume", "PrevClose", "Expense")}
    dates, etfs = wide["NAV"].index, wide["NAV"].columns
    nav = wide["NAV"]
    shares = wide["SharesOut_M"] * 1e6  # millions -> shares
    quality.add(src, "kept NaN", "ETF-days without shares outstanding",
                int((nav.notna() & shares.isna()).to_numpy().sum()),
                rule="first weeks of the scrape have no shares; flow NaN there")
    # PrevClose on a freshly scraped row d is the close of the session before d: put it on its
    # own date. A row repeating the previous row's PrevClose is a stale scrape whose PrevClose
    # belongs to an earlier session, so it is not realigned (test_load_us_market_etfdata_units).
    prev_close = wide["PrevClose"]
    # ffill only to compare with the last PrevClose seen; repeats are counted just below
    fresh = prev_close.ne(prev_close.ffill().shift(1))
    quality.add(src, "ignored", "PrevClose values repeated by stale scrapes",
                int((prev_close.notna() & ~fresh).to_numpy().sum()),
                rule="a repeated close is not the close of the session before the scrape")
    prev_session = pd.Series(sessions[:-1], index=sessions[1:])
    # a scrape before the first session has no previous session: NaT, dropped next (nav kept)
    close_dates = pd.DatetimeIndex(prev_session.reindex(prev_close.index).to_numpy())
    close = prev_close.where(fresh).set_axis(close_dates, axis=0)
    # ETF-days without a close stay NaN and are counted below
    close = close[close.index.notna()].groupby(level=0).last().reindex(dates)
    quality.add(src, "kept NaN", "ETF-days without a close (next-session row missing)",
                int((nav.notna() & close.isna()).to_numpy().sum()))
    flow = derive_flow_usd(shares, nav, stale_after_bars=stale_after_bars,
                           max_gap_days=max_gap_days, quality=quality, source=src)
    # expense ratio: the latest value in the panel (a 2022 snapshot), percent -> fraction. It
    # is applied as a constant: fine for ETF closes (which already net the fee; expense_drag
    # is for index levels), an approximation when used as drag over decades (not point in time)
    # the latest expense ratio per ETF (one number per ETF; see the comment above)
    expense = wide["Expense"].ffill().iloc[-1] / 100.0
    return EtfData(
        dates=dates, etfs=etfs, close=close.to_numpy(), nav=nav.to_numpy(),
        shares_outstanding=shares.to_numpy(), volume=wide["Volume"].to_numpy(),
        flow=flow.to_numpy(), expense_ratio=expense.to_numpy(), currency="USD",
    )


def _slice(df: pd.DataFrame, start, end) -> pd.DataFrame:
    return df.loc[slice(None if start is None else pd.Timestamp(start),
                        None if end is None else pd.Timestamp(end))]


def load_us_market(
    start=None, end=None, *, tickers: Sequence[str] | None = None,
    stale_after_bars: int = STALE_AFTER_BARS, max_gap_days: int = MAX_GAP_DAYS,
) -> Market:
    """The bundled US market: ETF adjusted closes + CASH, and the shares/NAV ETF panel.

    Parameters
    ----------
    start, end : date-like, optional
        Inclusive date range applied to ``prices`` and ``etfs``.
    tickers : sequence of str, optional
        ETFs to keep in ``prices`` and ``etfs`` (default: all 27).
    stale_after_bars, max_gap_days : int
        Stale-data rules of :func:`derive_flow_usd`.

    Returns
    -------
    Market
        ``prices``: (dates x ETFs + ``CASH``) adjusted closes in USD, ``CASH`` accruing the
        13-week T-bill (``IRX_pct``, previous day's rate, actual/360, carried forward over
        bond-market holidays). ``etfs``: :class:`EtfData` on the panel's NYSE sessions with
        ``close`` (USD), ``nav`` (USD), ``shares_outstanding`` (shares), ``volume`` (shares),
        ``flow`` (USD, derived by :func:`derive_flow_usd`) and ``expense_ratio`` (fraction).
        ``quality`` counts every row dropped and value set NaN. ``meta`` names the sources.

    Notes
    -----
    Flows are derived here from shares x NAV (``datasets/etf_flows.py`` was not available when
    this loader was written). The panel covers 2021-07 .. 2022-08 only; prices cover 1993 ..
    2026. NaN prices before an ETF's listing are absences, kept NaN and counted.
    """
    q = DataQuality()
    adj = load_us_etf_adjclose()
    rates = load_us_rates()
    q.read(FILES["us_etf_adjclose"], len(adj))
    q.read(FILES["us_rates"], len(rates))
    if tickers is not None:
        unknown = sorted(set(tickers) - set(adj.columns))
        if unknown:
            raise DataError(f"tickers {unknown} are not bundled", file=FILES["us_etf_adjclose"],
                            fix=f"choose from {list(adj.columns)}")
        adj = adj[list(tickers)]
    sessions = adj.index
    adj = _slice(adj, start, end)
    if adj.empty:
        raise DataError(f"no bundled prices between {start} and {end}",
                        file=FILES["us_etf_adjclose"], fix="use dates in 1993-01-29 .. 2026-07-31")
    irx = rates["IRX_pct"]
    first_rate = irx.first_valid_index()
    no_rate = adj.index[(adj.index >= first_rate) & ~adj.index.isin(irx.dropna().index)]
    q.add(FILES["us_rates"], "carried forward", "T-bill rates on bond-market holidays",
          len(no_rate), rule="CASH accrues the last known rate")
    q.add(FILES["us_etf_adjclose"], "kept NaN", "ETF-days before listing or after the last price",
          int(adj.isna().to_numpy().sum()), rule="absent, not filled")
    prices = with_cash(adj, irx)
    panel = load_us_etf_shares_nav()
    if tickers is not None:
        panel = panel[panel["ticker"].isin(list(tickers))]
    etfs = _shares_nav_etfdata(panel, sessions, q,
                               stale_after_bars=stale_after_bars, max_gap_days=max_gap_days)
    lo = 0 if start is None else etfs.dates.searchsorted(pd.Timestamp(start), "left")
    hi = len(etfs.dates) if end is None else etfs.dates.searchsorted(pd.Timestamp(end), "right")
    if (lo, hi) != (0, len(etfs.dates)):
        sl = slice(lo, hi)
        etfs = EtfData(
            dates=etfs.dates[sl], etfs=etfs.etfs, close=etfs.close[sl], nav=etfs.nav[sl],
            shares_outstanding=etfs.shares_outstanding[sl], volume=etfs.volume[sl],
            flow=etfs.flow[sl], expense_ratio=etfs.expense_ratio, currency="USD",
        )
    meta = {
        "source": "bundled",
        "files": [FILES["us_etf_adjclose"], FILES["us_rates"], FILES["us_etf_shares_nav"]],
        "cash_rate": "IRX_pct (13-week T-bill), percent/yr, actual/360, previous day's rate",
        "currency": "USD",
    }
    return Market(etfs=etfs, prices=prices, quality=q, meta=meta)


def krx_netbuy_bp(netbuy: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Market-wide net buying in basis points of the same day's market cap.

    .. math:: b[t, m, k] = 10^4 \\cdot \\text{net\\_buy\\_krw}[t, m, k] / \\text{market\\_cap\\_krw}[t, m]

    Parameters
    ----------
    netbuy : pd.DataFrame, shape (T, 6)
        :func:`load_krx_investor_netbuy` (``{market}_{investor}_krw``).
    index : pd.DataFrame
        :func:`load_krx_market_index` (needs ``{market}_market_cap_krw``).

    Returns
    -------
    pd.DataFrame, shape (T, 6)
        Columns ``{market}_{investor}_bp``; NaN where the market cap is missing or <= 0.

    Examples
    --------
    >>> d = pd.to_datetime(["2024-01-02"])
    >>> nb = pd.DataFrame({f"{m}_{k}_krw": [1e9] for m in KRX_MARKETS for k in KRX_INVESTORS},
    ...                   index=d)
    >>> ix = pd.DataFrame({"KOSPI_market_cap_krw": [2e15], "KOSDAQ_market_cap_krw": [4e14]},
    ...                   index=d)
    >>> krx_netbuy_bp(nb, ix).iloc[0, [0, 3]].tolist()
    [0.005, 0.025]
    """
    out = {}
    for m in KRX_MARKETS:
        # a net-buying day without a cap gives NaN bp (never a fill); load_krx_market counts them
        cap = index[f"{m}_market_cap_krw"].reindex(netbuy.index)
        cap = cap.where(cap > 0)
        for k in KRX_INVESTORS:
            out[f"{m}_{k}_bp"] = 1e4 * netbuy[f"{m}_{k}_krw"] / cap
    return pd.DataFrame(out, index=netbuy.index)


def load_krx_market(start=None, end=None, *, cash_rate_pct: float | pd.Series = 0.0) -> Market:
    """The bundled Korean market for market-flow timing: KOSPI/KOSDAQ + CASH and net buying.

    Parameters
    ----------
    start, end : date-like, optional
        Inclusive date range (default: the net-buying range 2005-01-03 .. 2026-08-21).
    cash_rate_pct : float or pd.Series
        Annual short rate (percent) accrued by ``CASH``. No KRW short rate is bundled, so the
        default is 0 %/yr (cash keeps its value); pass e.g. a CD91 series to accrue it.

    Returns
    -------
    Market
        ``prices``: (dates x [KOSPI, KOSDAQ, CASH]) index closes in points and the cash index,
        on the net-buying dates. ``meta["netbuy_bp"]``: :func:`krx_netbuy_bp`
        (``{market}_{investor}_bp``); ``meta["netbuy_krw"]``: the KRW table;
        ``meta["market_cap_krw"]``: (dates x [KOSPI, KOSDAQ]) market caps in KRW.
        ``quality`` counts missing closes or market caps (kept NaN, never filled).
    """
    q = DataQuality()
    nb = load_krx_investor_netbuy()
    ix = load_krx_market_index()
    q.read(FILES["krx_investor_netbuy"], len(nb))
    q.read(FILES["krx_market_index"], len(ix))
    nb = _slice(nb, start, end)
    if nb.empty:
        raise DataError(f"no bundled KRX net buying between {start} and {end}",
                        file=FILES["krx_investor_netbuy"],
                        fix="use dates in 2005-01-03 .. 2026-08-21")
    missing_days = nb.index.difference(ix.index)
    q.add(FILES["krx_market_index"], "kept NaN", "net-buying days without an index row",
          len(missing_days))
    ix = ix.reindex(nb.index)
    closes = ix[[f"{m}_close" for m in KRX_MARKETS]].set_axis(list(KRX_MARKETS), axis=1)
    caps = ix[[f"{m}_market_cap_krw" for m in KRX_MARKETS]].set_axis(list(KRX_MARKETS), axis=1)
    q.add(FILES["krx_market_index"], "kept NaN", "index closes", int(closes.isna().sum().sum()))
    q.add(FILES["krx_market_index"], "kept NaN", "market caps", int(caps.isna().sum().sum()))
    q.add(FILES["krx_investor_netbuy"], "kept NaN", "net-buying values",
          int(nb.isna().to_numpy().sum()))
    prices = with_cash(closes, cash_rate_pct)
    rate_note = (f"{float(cash_rate_pct)} %/yr (no KRW short rate bundled)"
                 if np.isscalar(cash_rate_pct) else "caller-supplied series")
    meta = {
        "source": "bundled",
        "files": [FILES["krx_investor_netbuy"], FILES["krx_market_index"]],
        "currency": "KRW",
        "cash_rate": rate_note,
        "netbuy_krw": nb,
        "netbuy_bp": krx_netbuy_bp(nb, ix),
        "market_cap_krw": caps,
    }
    return Market(prices=prices, quality=q, meta=meta)
