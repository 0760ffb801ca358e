"""The flow monitor: the weekly and monthly checklist of README "Concepts" for one date.

Computed from published ETF flows (long ``date, ticker, flow_usd``), adjusted closes (dates x
tickers) and, when available, share volume (dates x tickers), using data up to ``asof`` only:

* weekly (the week ending Friday that contains ``asof``; a week still running at ``asof`` is
  the week to date): RSP flow persistence, IWM price-flow divergence, QQQ vs SPY relative
  strength, IEMG inflow persistence;
* monthly (the calendar month of ``asof``, month to date): sector flow change against the
  previous month, the equal-weight vs cap-weight return gap (RSP - VOO), the small-cap premium
  (IWM - VOO), leveraged-ETF volume against its trailing mean (speculation gauge);
* the three flow warnings (RSP out two weeks in a row; SPY, VOO and IVV all out the same week;
  QQQ monthly outflow above 5 bn USD), each with its value and whether it fires;
* the month's tables: top inflows and outflows, the sector table (return, flow, divergence
  label), the style table, volume spikes.

An item whose series is absent says ``"no data for RSP"`` (``status = "no data"``) and the
rest still runs. A period total sums the published days; days without a published value are
not zero flow: they are counted in the :class:`~engine.errors.DataQuality` the result holds.

The checks are a few dozen pandas operations on at most a quarter of weekly totals, so they
are written directly here rather than through the numba kernels (whose gain starts at
thousands of series); the labels come from :func:`engine.signals.divergence`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.signals import divergence

__all__ = ["MonitorParams", "MonitorResult", "run_monitor"]

#: SPDR sector ETFs of the sector table.
SECTORS = ("XLK", "XLF", "XLE", "XLB", "XLI", "XLP", "XLU", "XLRE", "XLV", "XLY", "XLC")
#: The style table: ticker -> style.
STYLES = {"VOO": "large cap (cap weight)", "RSP": "large cap (equal weight)",
          "QQQ": "large growth (Nasdaq-100)", "VUG": "large growth", "IJH": "mid cap",
          "MDY": "mid cap", "IWM": "small cap (Russell 2000)", "IJR": "small cap (S&P 600)",
          "IWO": "small growth", "IWN": "small value", "VXUS": "international",
          "IEMG": "emerging markets"}


@dataclass(frozen=True)
class MonitorParams:
    """Thresholds of the monitor (README "Concepts"; every one a parameter).

    Attributes
    ----------
    rsp_outflow_weeks : int
        RSP outflow this many weeks in a row fires the equal-weight warning.
    risk_off_tickers : tuple of str
        All in net outflow the same week fires the broad risk-off warning.
    qqq_monthly_outflow_usd : float
        QQQ monthly net outflow above this fires the tech warning (USD, positive).
    leveraged : tuple of str
        Leveraged ETFs of the speculation gauge.
    volume_window_bars : int
        Trailing window of the volume-spike mean (sessions).
    volume_spike_pct : float
        A session's volume this many percent above its trailing mean is a spike.
    top_n : int
        Rows of the top inflows / outflows tables.
    """

    rsp_outflow_weeks: int = 2
    risk_off_tickers: tuple[str, ...] = ("SPY", "VOO", "IVV")
    qqq_monthly_outflow_usd: float = 5e9
    leveraged: tuple[str, ...] = ("TQQQ",)
    volume_window_bars: int = 20
    volume_spike_pct: float = 100.0
    top_n: int = 5


@dataclass
class MonitorResult:
    """The monitor for one date (:meth:`to_dict` is monitor.json)."""

    asof: pd.Timestamp
    week: tuple[pd.Timestamp, pd.Timestamp]
    month: tuple[pd.Timestamp, pd.Timestamp]
    weekly: list[dict]
    monthly: list[dict]
    warnings: list[dict]
    tables: dict[str, list[dict] | str]
    quality: DataQuality = field(default_factory=DataQuality)

    def to_dict(self) -> dict:
        """JSON-ready content of ``monitor.json``."""
        return {"asof": str(self.asof.date()),
                "week": [str(d.date()) for d in self.week],
                "month": [str(d.date()) for d in self.month],
                "weekly": self.weekly, "monthly": self.monthly, "warnings": self.warnings,
                "tables": self.tables}


def _item(name, ticker, value, unit, reading, status="ok") -> dict:
    v = None if value is None or not np.isfinite(value) else float(value)
    return {"item": name, "ticker": ticker, "value": v, "unit": unit, "reading": reading,
            "status": status}


def _no_data(name, ticker, what="") -> dict:
    return _item(name, ticker, None, "", f"no data for {ticker}{what}", "no data")


def _streak(x: pd.Series) -> int:
    """Signed run length of the last value's sign (+3: three positive periods in a row)."""
    x = x.dropna()
    if x.empty or x.iloc[-1] == 0:
        return 0
    s = np.sign(x.to_numpy())
    n = 1
    while n < len(s) and s[-1 - n] == s[-1]:
        n += 1
    return int(n * s[-1])


def _ret(prices: pd.DataFrame, t: str, lo, hi) -> float:
    """Close-to-close return from the last close before ``lo`` to the last close <= ``hi``."""
    if t not in prices.columns:
        return np.nan
    s = prices[t].dropna()
    before = s[s.index < lo]
    upto = s[s.index <= hi]
    if before.empty or upto.empty or upto.index[-1] < lo:
        return np.nan
    return float(upto.iloc[-1] / before.iloc[-1] - 1.0)


def run_monitor(flows: pd.DataFrame, prices: pd.DataFrame, *, volume: pd.DataFrame | None = None,
                asof=None, params: MonitorParams | None = None, source: str = "flows"
                ) -> MonitorResult:
    """Compute the monitor as of ``asof`` (default: the last flow date).

    Parameters
    ----------
    flows : pd.DataFrame
        Long ``date, ticker, flow_usd`` (USD per day, NaN = not published).
    prices : pd.DataFrame
        Adjusted closes, dates x tickers (USD).
    volume : pd.DataFrame, optional
        Share volume, dates x tickers; without it the volume items say "no data".
    asof : str or Timestamp, optional
    params : MonitorParams, optional
    source : str
        Name of the flow source in the data-quality lines.

    Returns
    -------
    MonitorResult

    Raises
    ------
    DataError
        When no flow is published on or before ``asof``.
    """
    p = params or MonitorParams()
    q = DataQuality()
    fl = flows.copy()
    fl["date"] = pd.to_datetime(fl["date"])
    asof = pd.Timestamp(asof) if asof is not None else fl["date"].max()
    fl = fl[fl["date"] <= asof]
    if fl.empty:
        raise DataError(f"no flow published on or before {asof.date()}", file=source,
                        fix=f"pass --asof on or after {flows['date'].min()}")
    prices = prices.loc[prices.index <= asof]
    wide = fl.pivot(index="date", columns="ticker", values="flow_usd").sort_index()
    tickers = set(wide.columns)
    # the week (ending Friday) and the month containing asof, cut at asof
    week_end = asof + pd.offsets.Week(weekday=4) if asof.weekday() != 4 else asof
    week = (week_end - pd.Timedelta(days=6), min(week_end, asof))
    month = (asof.replace(day=1), asof)
    weekly = wide.resample("W-FRI").sum(min_count=1)
    monthly = wide.resample("MS").sum(min_count=1)
    in_month = wide.loc[month[0]:month[1]]
    q.add(source, "left out of period sums", "ticker-days without a published flow in the "
          f"month {month[0]:%Y-%m}", int(in_month.isna().sum().sum()),
          rule="a period total sums the published days; an unpublished day is not zero flow")

    def wflow(t):
        return weekly[t] if t in tickers else None

    out_w: list[dict] = []
    # RSP flow persistence: weeks in a row of the last week's flow sign
    if "RSP" in tickers:
        n = _streak(weekly["RSP"])
        out_w.append(_item("RSP flow persistence", "RSP", n, "weeks",
                           f"{abs(n)} week(s) of {'inflow' if n > 0 else 'outflow'} in a row"))
    else:
        out_w.append(_no_data("RSP flow persistence", "RSP", " flows"))
    # IWM price-flow divergence over the week
    r = _ret(prices, "IWM", week[0], week[1])
    if "IWM" in tickers and np.isfinite(r):
        f = weekly["IWM"].iloc[-1]
        lab = str(divergence(pd.Series([r]), pd.Series([f])).iloc[0])
        out_w.append(_item("IWM price-flow divergence", "IWM", f, "USD",
                           f"price {r:+.2%}, flow {f / 1e9:+.2f} bn USD: {lab}"))
    else:
        out_w.append(_no_data("IWM price-flow divergence", "IWM", " price and flow"))
    rq, rs = _ret(prices, "QQQ", week[0], week[1]), _ret(prices, "SPY", week[0], week[1])
    if np.isfinite(rq) and np.isfinite(rs):
        out_w.append(_item("QQQ vs SPY relative strength", "QQQ/SPY", rq - rs, "fraction",
                           f"QQQ {rq:+.2%} vs SPY {rs:+.2%}: "
                           f"{'tech leads' if rq > rs else 'tech lags'} by {abs(rq - rs):.2%}"))
    else:
        out_w.append(_no_data("QQQ vs SPY relative strength", "QQQ or SPY", " prices"))
    if "IEMG" in tickers:
        n = _streak(weekly["IEMG"])
        out_w.append(_item("IEMG inflow persistence", "IEMG", n, "weeks",
                           f"{abs(n)} week(s) of {'inflow' if n > 0 else 'outflow'} in a row"))
    else:
        out_w.append(_no_data("IEMG inflow persistence", "IEMG", " flows"))

    out_m: list[dict] = []
    sec = [t for t in SECTORS if t in tickers]
    if sec and len(monthly) >= 1:
        cur = monthly[sec].iloc[-1]
        prev = monthly[sec].iloc[-2] if len(monthly) >= 2 else cur * np.nan
        chg = (cur - prev).dropna().sort_values()
        txt = (f"biggest rise {chg.index[-1]} {chg.iloc[-1] / 1e9:+.2f} bn, biggest fall "
               f"{chg.index[0]} {chg.iloc[0] / 1e9:+.2f} bn USD vs the previous month"
               if len(chg) else "no previous month to compare")
        out_m.append(_item("sector flow change", ",".join(sec), float(cur.sum()), "USD",
                           f"sector ETFs {cur.sum() / 1e9:+.2f} bn USD this month; {txt}"))
    else:
        out_m.append(_no_data("sector flow change", "sector ETFs", " flows"))
    for name, a, b in (("equal-weight vs cap-weight return gap", "RSP", "VOO"),
                       ("small-cap premium", "IWM", "VOO")):
        ra, rb = _ret(prices, a, month[0], month[1]), _ret(prices, b, month[0], month[1])
        if np.isfinite(ra) and np.isfinite(rb):
            out_m.append(_item(name, f"{a}-{b}", ra - rb, "fraction",
                               f"{a} {ra:+.2%} vs {b} {rb:+.2%}: gap {ra - rb:+.2%}"))
        else:
            out_m.append(_no_data(name, f"{a} or {b}", " prices this month"))
    spikes = _volume_spikes(volume, month, p)
    lev = [t for t in p.leveraged if spikes is not None and t in spikes["volume"]]
    if lev:
        t = lev[0]
        v = spikes["volume"][t]
        out_m.append(_item("leveraged-ETF volume", t, v["ratio_pct"], "% vs trailing mean",
                           f"{t} month volume {v['ratio_pct']:+.0f} % vs its "
                           f"{p.volume_window_bars}-session mean"))
    else:
        out_m.append(_no_data("leveraged-ETF volume", "/".join(p.leveraged),
                              f" volume in {month[0]:%Y-%m}"))

    warn: list[dict] = []
    if "RSP" in tickers:
        n = _streak(weekly["RSP"])
        warn.append({"warning": "RSP outflow two weeks in a row", "value": n, "unit": "weeks",
                     "threshold": -p.rsp_outflow_weeks, "fires": bool(n <= -p.rsp_outflow_weeks),
                     "reading": f"streak {n:+d} weeks"})
    else:
        warn.append({"warning": "RSP outflow two weeks in a row", "value": None, "unit": "weeks",
                     "threshold": -p.rsp_outflow_weeks, "fires": None,
                     "reading": "no data for RSP"})
    ro = [t for t in p.risk_off_tickers if t in tickers]
    missing = [t for t in p.risk_off_tickers if t not in tickers]
    if missing:
        warn.append({"warning": f"{', '.join(p.risk_off_tickers)} all out the same week",
                     "value": None, "unit": "USD", "threshold": 0.0, "fires": None,
                     "reading": f"no data for {', '.join(missing)}"})
    else:
        last = weekly[ro].iloc[-1]
        unknown = [t for t, v in last.items() if not np.isfinite(v)]
        warn.append({"warning": f"{', '.join(ro)} all out the same week",
                     "value": None if unknown else float(last.max()),
                     "unit": "USD (largest of the three)", "threshold": 0.0,
                     # an unpublished week is unknown, never an outflow
                     "fires": None if unknown else bool((last < 0).all()),
                     "reading": ", ".join(f"{t} {v / 1e9:+.2f} bn" if np.isfinite(v)
                                          else f"no data for {t} this week"
                                          for t, v in last.items())})
    if "QQQ" in tickers:
        v = float(monthly["QQQ"].iloc[-1])
        warn.append({"warning": f"QQQ monthly outflow above "
                                f"{p.qqq_monthly_outflow_usd / 1e9:g} bn USD",
                     "value": v, "unit": "USD", "threshold": -p.qqq_monthly_outflow_usd,
                     "fires": bool(v < -p.qqq_monthly_outflow_usd),
                     "reading": f"QQQ {month[0]:%Y-%m} flow {v / 1e9:+.2f} bn USD"})
    else:
        warn.append({"warning": "QQQ monthly outflow", "value": None, "unit": "USD",
                     "threshold": -p.qqq_monthly_outflow_usd, "fires": None,
                     "reading": "no data for QQQ"})

    mflow = monthly.iloc[-1].dropna().sort_values()
    tables: dict = {
        "top_inflows": [{"ticker": t, "flow_usd": float(v)} for t, v in
                        mflow[mflow > 0].iloc[::-1].head(p.top_n).items()],
        "top_outflows": [{"ticker": t, "flow_usd": float(v)} for t, v in
                         mflow[mflow < 0].head(p.top_n).items()],
    }
    rows = []
    for t in SECTORS:
        r = _ret(prices, t, month[0], month[1])
        f = float(mflow.get(t, np.nan))
        lab = (str(divergence(pd.Series([r]), pd.Series([f])).iloc[0])
               if np.isfinite(r) and np.isfinite(f) else "no data")
        rows.append({"ticker": t, "return": None if not np.isfinite(r) else r,
                     "flow_usd": None if not np.isfinite(f) else f, "divergence": lab})
    tables["sectors"] = rows
    tables["style"] = [{"ticker": t, "style": s,
                        "return": (None if not np.isfinite(r := _ret(prices, t, *month)) else r),
                        "flow_usd": (None if not np.isfinite(f := float(mflow.get(t, np.nan)))
                                     else f)}
                       for t, s in STYLES.items()]
    tables["volume_spikes"] = (spikes["spikes"] if spikes is not None
                               else f"no data for volume in {month[0]:%Y-%m}")
    return MonitorResult(asof, week, month, out_w, out_m, warn, tables, q)


def _volume_spikes(volume, month, p: MonitorParams):
    """Per ticker: the month's mean volume against the trailing mean before the month, and the
    sessions of the month more than ``volume_spike_pct`` above their trailing mean."""
    if volume is None or volume.empty:
        return None
    v = volume.loc[volume.index <= month[1]]
    trail = v.rolling(p.volume_window_bars, min_periods=p.volume_window_bars).mean().shift(1)
    cur = v.loc[month[0]:month[1]]
    if cur.dropna(how="all").empty:
        return None
    ratio = 100 * (cur / trail.loc[cur.index] - 1)
    per = {}
    for t in v.columns:
        before = trail[t].loc[:month[0]].dropna()
        if cur[t].notna().any() and not before.empty:
            per[t] = {"ratio_pct": float(100 * (cur[t].mean() / before.iloc[-1] - 1))}
    hits = ratio.stack().rename("pct").reset_index()
    hits.columns = ["date", "ticker", "pct"]
    hits = hits[hits["pct"] > p.volume_spike_pct].sort_values("pct", ascending=False)
    spikes = [{"date": str(d.date()), "ticker": t, "volume_vs_mean_pct": float(x)}
              for d, t, x in hits.itertuples(index=False)]
    return {"volume": per, "spikes": spikes}
