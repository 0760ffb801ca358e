"""Signal builders for configs: ``INPUTS[source](market, **params) -> frame``.

A config's ``[signals.<name>]`` table names a ``source`` (a key of :data:`INPUTS`) and its
parameters; the runner calls ``INPUTS[source](market, **params)`` once on the whole market and
hands the result to the strategy through :class:`strategies.base.Context`, which truncates it
at each decision date.

Causality contract
------------------
Every builder is causal: row t of its output uses data dated <= t only, so
``f(market_upto(market, t)).loc[:t]`` equals ``f(market).loc[:t]``
(tests/engine/app/test_inputs.py checks this for every builder with hypothesis over t). Builders
only chain engine pieces that are causal themselves (:func:`engine.synthesize_flows`,
:mod:`engine.signals`) plus :func:`period_total`, whose weekly / monthly totals are dated at the
period's last session of an exchange calendar known in advance -- never at the last row the
data happens to have.

Output index
------------
Every builder returns a frame indexed by the market's dates (``market.prices.index`` when the
market has prices, else the dates of the data it reads). Rows the source does not cover are
NaN (never filled).

Common parameters
-----------------
window_bars : int
    If > 0, the daily series is first turned into a trailing sum over ``window_bars`` bars
    (:func:`engine.signals.rolling_sum`).
zscore_window_bars : int
    If > 0, the (summed) series is then z-scored against its own trailing ``zscore_window_bars``
    bars (:func:`engine.signals.rolling_zscore`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import pandas as pd

from engine.errors import ConfigError, DataError
from engine.market import EtfData, Market
from engine.periods import exchange_calendar, period_end_sessions, period_total

__all__ = [
    "INPUTS",
    "etf_flow_pct_aum",
    "etf_flow_usd",
    "krx_market_flow_bp",
    "market_upto",
    "period_end_sessions",
    "period_total",
    "relative_strength",
    "synthesized_flow",
]

# ----------------------------------------------------------------------------- helpers
def _as_tuple(x: str | Sequence[str]) -> tuple[str, ...]:
    return (x,) if isinstance(x, str) else tuple(x)


def _market_dates(market: Market, fallback: pd.DatetimeIndex) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(market.prices.index) if market.prices is not None else fallback


def _onto_dates(x: pd.DataFrame, market: Market, source: str) -> pd.DataFrame:
    """``x`` on the market's dates; values on dates the market lacks are counted, not lost
    silently (issue #10 item 2).

    A builder's output rows are the dates of the data it reads (flow sessions); a date that
    has no price row cannot carry a decision, so its value is dropped -- and counted in
    ``market.quality`` as "dropped" with the builder's name, so the run's data-quality summary
    shows it (``tests/engine/test_trust_drops.py::test_builders_count_rows_off_the_price_dates``).
    Rows the market has and ``x`` lacks become NaN (unknown, never filled).
    """
    dates = _market_dates(market, pd.DatetimeIndex(x.index))
    off = ~pd.DatetimeIndex(x.index).isin(dates)
    if off.any():
        lost = x.loc[off]
        n = int(lost.notna().to_numpy().sum())
        if n:
            first = pd.Timestamp(lost.index[lost.notna().any(axis=1).to_numpy()][0]).date()
            market.quality.add(f"signals ({source})", "dropped",
                               "signal values on dates without a price row", n,
                               rule=f"a decision needs a price session; first {first}")
    return x.reindex(dates)


def _transform(x: pd.DataFrame, window_bars: int, zscore_window_bars: int) -> pd.DataFrame:
    """Optional trailing sum, then optional trailing z-score (both causal engine wrappers)."""
    if window_bars < 0 or zscore_window_bars < 0:
        raise ConfigError("signals.<name>", (window_bars, zscore_window_bars),
                          "window_bars and zscore_window_bars must be >= 0")
    if window_bars > 0:
        from engine.signals import rolling_sum

        x = rolling_sum(x, window_bars)
    if zscore_window_bars > 0:
        from engine.signals import rolling_zscore

        x = rolling_zscore(x, zscore_window_bars)
    return x


def market_upto(market: Market, date) -> Market:
    """The market as it was known on ``date``: every dated part truncated to index <= date.

    Holdings snapshots are point in time already (a snapshot is only used from its effective
    date), so they are kept whole. DataFrames / Series with a DatetimeIndex in ``meta`` are
    truncated too.

    Parameters
    ----------
    market : Market
    date : date-like

    Returns
    -------
    Market
    """
    date = pd.Timestamp(date)
    flows = None if market.flows is None else market.flows.slice_dates(end=date)
    etfs = market.etfs
    if etfs is not None:
        hi = etfs.dates.searchsorted(date, "right")
        kw = {f: (None if getattr(etfs, f) is None else getattr(etfs, f)[:hi])
              for f in EtfData.FIELDS}
        etfs = replace(etfs, dates=etfs.dates[:hi], **kw)
    prices = None if market.prices is None else market.prices.loc[market.prices.index <= date]
    meta = {}
    for k, v in market.meta.items():
        if isinstance(v, pd.DataFrame | pd.Series) and isinstance(v.index, pd.DatetimeIndex):
            v = v.loc[v.index <= date]
        meta[k] = v
    return replace(market, flows=flows, etfs=etfs, prices=prices, meta=meta)


# ---------------------------------------------------------------------------- builders
def synthesized_flow(
    market: Market,
    *,
    investor: str | Sequence[str] = "foreign",
    method: str = "bp",
    lag_days: int = 0,
    etfs: Sequence[str] | None = None,
    etf_kind: str | None = None,
    cumulative: bool = False,
    window_bars: int = 0,
    zscore_window_bars: int = 0,
) -> pd.DataFrame:
    """Constituent-synthesized ETF flow (README "Concepts") for one investor or a sum.

    Parameters
    ----------
    market : Market
        Needs ``flows`` and ``holdings``.
    investor : str or sequence of str
        Canonical investor id(s); several are summed (e.g. ``["foreign", "pension"]``).
    method : {"bp", "shares", "amount"}
        Passed to :func:`engine.synthesize_flows` (``bp`` = basis points of each constituent's
        market cap, weighted by ETF weight).
    lag_days : int
        Holdings publication lag in calendar days.
    etfs : sequence of str, optional
        ETFs to synthesize (default: all with holdings).
    etf_kind : str, optional
        Keep only ETFs of this kind in ``market.meta["etf_kind"]`` (``"sector"``, ``"index"``,
        ``"group"`` on synthetic markets); combined with ``etfs`` if both are given.
    cumulative : bool
        Cumulative position instead of daily flow.
    window_bars, zscore_window_bars : int
        See the module docstring.

    Returns
    -------
    pd.DataFrame, shape (T, E)
        Index the market's dates, columns ETF names; units of ``method`` (bp by default).
        NaN on ETF-days with no constituent present; absent constituents count as 0 on
        partly covered days (both counted in ``market.quality``).
    """
    from engine.synthesis import synthesize_flows

    if market.flows is None or market.holdings is None:
        raise DataError("synthesized_flow needs constituent flows and holdings",
                        fix="use a KRX-style market (data.source = 'synthetic' or a flows file)")
    inv = _as_tuple(investor)
    unknown = [i for i in inv if i not in market.flows.investors]
    if unknown:
        raise ConfigError("signals.<name>.investor", list(unknown),
                          f"not in the market's investors {list(market.flows.investors)}")
    if etf_kind is not None:
        kinds = market.meta.get("etf_kind")
        if kinds is None:
            raise ConfigError("signals.<name>.etf_kind", etf_kind,
                              "the market has no meta['etf_kind'] to select by")
        chosen = [e for e, k in dict(kinds).items() if k == etf_kind]
        etfs = chosen if etfs is None else [e for e in etfs if e in set(chosen)]
        if not etfs:
            raise ConfigError("signals.<name>.etf_kind", etf_kind, "no ETF of that kind")
    # absent constituents (treated as 0) and ETF-days without any (NaN) are counted in the
    # market's data-quality summary
    s = synthesize_flows(market.flows, market.holdings, method=method, lag_days=lag_days,
                         cumulative=cumulative, etfs=etfs, quality=market.quality)
    parts = [s.xs(i, axis=1, level="investor") for i in inv]
    x = parts[0]
    for p in parts[1:]:
        x = x + p
    x = x.astype(np.float64)
    x.columns = pd.Index(x.columns, name=None)
    x = _transform(x, window_bars, zscore_window_bars)
    return _onto_dates(x, market, "synthesized_flow")


def etf_flow_usd(
    market: Market,
    *,
    freq: str = "D",
    tickers: Sequence[str] | None = None,
    calendar: str | None = None,
    missing: str = "nan",
    window_bars: int = 0,
    zscore_window_bars: int = 0,
) -> pd.DataFrame:
    """ETF-level creation/redemption flow in USD, daily or as weekly/monthly totals.

    Parameters
    ----------
    market : Market
        Needs ``etfs.flow`` (USD per day).
    freq : {"D", "W", "M"}
        ``"W"`` / ``"M"``: totals per week (ending Friday) / calendar month, dated at the
        period's last session (see :func:`period_total`); other rows NaN.
    tickers : sequence of str, optional
        Subset of ETFs (default all).
    calendar : str, optional
        Session calendar for period ends: an exchange_calendars name such as ``"XNYS"`` (which
        knows the exchange holidays) or ``"B"`` (weekdays, no holidays: every week with a
        holiday is then incomplete, hence NaN). Default: the market's exchange
        (:func:`engine.periods.exchange_calendar` of ``market.etfs.currency``: XNYS for USD,
        XKRX for KRW).
    missing : {"nan", "zero"}
        NaN policy of :func:`period_total` (NaNs treated as 0 are counted in
        ``market.quality``).
    window_bars, zscore_window_bars : int
        Daily frequency only (see the module docstring).

    Returns
    -------
    pd.DataFrame, shape (T, E)
        USD; index the market's dates.
    """
    if market.etfs is None or market.etfs.flow is None:
        raise DataError("etf_flow_usd needs ETF-level flows (market.etfs.flow)",
                        fix="load a market with ETF flows or a shares x NAV panel")
    flow = market.etfs.frame("flow").astype(np.float64)
    if tickers is not None:
        absent = [t for t in tickers if t not in flow.columns]
        if absent:
            raise ConfigError("signals.<name>.tickers", absent,
                              f"no ETF flows for them; available: {list(flow.columns)}")
        flow = flow[list(tickers)]
    dates = _market_dates(market, flow.index)
    if freq == "D":
        out = _onto_dates(_transform(flow, window_bars, zscore_window_bars), market,
                          "etf_flow_usd")
    else:
        if window_bars or zscore_window_bars:
            raise ConfigError("signals.<name>", freq,
                              "window_bars / zscore_window_bars apply to daily flows only")
        if calendar is None:
            calendar = exchange_calendar(market.etfs.currency, key="signals.<name>.calendar")
        out = period_total(flow, dates, freq, calendar=calendar, missing=missing,
                           quality=market.quality)
    # The flows are in the market's currency (a synthetic KRX market's are KRW): carried so a
    # rule with a USD threshold refuses them (strategies.flow_warnings).
    out.attrs["currency"] = market.etfs.currency
    return out


def etf_flow_pct_aum(
    market: Market,
    *,
    tickers: Sequence[str] | None = None,
    window_bars: int = 0,
    zscore_window_bars: int = 0,
) -> pd.DataFrame:
    """ETF-level flow as a percentage of assets under management.

    AUM is ``shares_outstanding * nav`` (USD); the ratio is :func:`engine.signals.flow_pct_aum`.

    Returns
    -------
    pd.DataFrame, shape (T, E)
        Percent of AUM (summed over ``window_bars`` when > 0, then optionally z-scored).
    """
    from engine import signals

    e = market.etfs
    if e is None or e.flow is None or e.shares_outstanding is None or e.nav is None:
        raise DataError("etf_flow_pct_aum needs ETF flow, shares outstanding and NAV",
                        fix="load a market with a shares x NAV panel")
    flow = e.frame("flow").astype(np.float64)
    aum = (e.frame("shares_outstanding") * e.frame("nav")).astype(np.float64)
    if tickers is not None:
        flow, aum = flow[list(tickers)], aum[list(tickers)]
    x = signals.flow_pct_aum(flow, aum)
    x = _transform(x, window_bars, zscore_window_bars)
    return _onto_dates(x, market, "etf_flow_pct_aum")


def krx_market_flow_bp(
    market: Market,
    *,
    investor: str | Sequence[str] = "foreign",
    markets: Sequence[str] = ("KOSPI", "KOSDAQ"),
    window_bars: int = 0,
    zscore_window_bars: int = 0,
) -> pd.DataFrame:
    """Market-wide net buying in basis points of the market's cap (KOSPI / KOSDAQ).

    Reads ``market.meta["netbuy_bp"]`` (columns ``{market}_{investor}_bp``, built by
    :func:`datasets.load_krx_market` as ``1e4 * net_buy_krw / market_cap_krw`` of the same day);
    several investors are summed.

    Returns
    -------
    pd.DataFrame, shape (T, len(markets))
        Columns the market names (which are also the price columns of the KRX market).
    """
    bp = market.meta.get("netbuy_bp")
    if bp is None:
        raise DataError("krx_market_flow_bp needs market.meta['netbuy_bp']",
                        fix="use data.source = 'krx_market'")
    inv = _as_tuple(investor)
    cols = {}
    for m in markets:
        names = [f"{m}_{i}_bp" for i in inv]
        missing = [c for c in names if c not in bp.columns]
        if missing:
            raise ConfigError("signals.<name>", missing,
                              f"not in the KRX net-buying table {list(bp.columns)}")
        cols[m] = bp[names].sum(axis=1, min_count=len(names))  # NaN if any part is missing
    x = pd.DataFrame(cols, index=bp.index).astype(np.float64)
    x = _transform(x, window_bars, zscore_window_bars)
    return _onto_dates(x, market, "krx_market_flow_bp")


def relative_strength(
    market: Market, *, a: str, b: str, lookback_bars: int = 0, zscore_window_bars: int = 0
) -> pd.DataFrame:
    """Relative strength of price ``a`` against ``b`` (:func:`engine.signals.relative_strength`).

    Parameters
    ----------
    a, b : str
        Price columns (e.g. ``"QQQ"``, ``"SPY"``; ``"RSP"``, ``"VOO"``; ``"IWM"``, ``"VOO"``).
    lookback_bars : int
        0: growth ratio since the first common price; w > 0: over the last w bars.
    zscore_window_bars : int
        If > 0, z-score the ratio against its trailing window.

    Returns
    -------
    pd.DataFrame, shape (T, 1)
        One column named ``f"{a}/{b}"``; above 1 = ``a`` outperformed.
    """
    from engine.signals import relative_strength as rs_wrapper

    p = market.prices
    absent = [t for t in (a, b) if p is None or t not in p.columns]
    if absent:
        raise ConfigError("signals.<name>", absent, "not in the market's prices")
    if lookback_bars < 0:
        raise ConfigError("signals.<name>.lookback_bars", lookback_bars, "must be >= 0")
    rs = rs_wrapper(p[a], p[b], None if lookback_bars == 0 else lookback_bars)
    x = pd.DataFrame({f"{a}/{b}": rs}).astype(np.float64)
    return _transform(x, 0, zscore_window_bars)


#: Registry used by the runner: ``INPUTS[source](market, **params)``.
INPUTS: dict[str, Callable[..., pd.DataFrame]] = {
    "synthesized_flow": synthesized_flow,
    "etf_flow_usd": etf_flow_usd,
    "etf_flow_pct_aum": etf_flow_pct_aum,
    "krx_market_flow_bp": krx_market_flow_bp,
    "relative_strength": relative_strength,
}
