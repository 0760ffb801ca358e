"""ETF-level flow files -> :class:`~engine.market.EtfData`.

Two published shapes (README "Concepts", ETF-level flows):

* **Flow exports** (etf.com style), long::

      date,ticker,flow_usd
      2026-01-02,SPY,-2385360000

  ``flow_usd`` is the day's net creation (+) / redemption (-) in USD (``flow_krw`` says
  KRW; ``flow`` and ``net_flow`` say no currency: pass ``currency=``, ``--currency`` on
  ``flowbt data import``).
* **Shares outstanding x NAV panels**, long::

      date,ticker,shares,nav[,close][,volume][,expense_pct]

  ``shares`` in shares (``SharesOut_M`` in millions is recognised and scaled by 1e6), ``nav``
  and ``close`` per share, ``expense_pct`` in percent per year. The flow is derived as

  .. math:: flow[t] = (SO[t] - SO[t-1]) \\cdot NAV[t-1]

  on the calendar of the file's dates. Without a NAV column, ``nav_from="close"`` uses the
  close (or ``price``) as NAV and says so in the data-quality summary.

Rules
-----
* An ETF-day without a row is NaN (absent), never zero, and counted; so is a derived flow
  whose two share counts or NAV are not both present (the first day is always NaN).
* An empty ``flow_usd`` cell is NaN and counted (real etf.com exports carry rows with no
  value on US holidays and for funds without a published flow); ``strict=True`` makes it an
  error. In panels an empty ``shares``/``nav`` cell is NaN and counted (scraped panels have
  gaps).
* Negative shares outstanding or NAV are errors; duplicate (date, ticker) rows are errors.
* Row order does not matter (keyed long files); the output is sorted by date and ticker.
* Derived flows go through :func:`derive_flow_usd` (shared with the bundled panel): a
  trailing run of identical shares (a scraper that stopped updating), a repeated scrape or a
  gap over ``MAX_GAP_DAYS`` sets the flow NaN, counted -- never a silent zero flow.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from datasets._csv import read_table, resolve_columns
from engine.errors import DataError, DataQuality
from engine.market import EtfData

__all__ = ["derive_flow_usd", "load_etf_flows", "load_etf_shares_nav", "read_etf_flows", "read_etf_shares_nav"]

#: Default length (in observations) beyond which a trailing run of identical shares outstanding
#: is treated as stale data (the source scraper stopped updating some funds).
STALE_AFTER_BARS = 5
#: Default longest calendar gap between two observations over which a flow is still derived
#: (a long weekend plus a holiday is 4 days; the panel has a 5-month hole in 2022).
MAX_GAP_DAYS = 7

FLOW_COLUMNS = {
    "date": ("date", "일자", "날짜"),
    "ticker": ("ticker", "etf", "symbol", "티커"),
    "flow": ("flow_usd", "flow", "net_flow", "flow_krw"),
}
PANEL_COLUMNS = {
    "date": ("date", "일자", "날짜"),
    "ticker": ("ticker", "etf", "symbol", "티커"),
    "shares": ("shares", "shares_outstanding", "SharesOut_M", "상장좌수"),
    "nav": ("nav", "NAV"),
    "close": ("close", "price", "종가"),
    "volume": ("volume", "Volume", "거래량"),
    "expense_pct": ("expense_pct", "Expense", "expense_ratio_pct"),
}
#: The currency a flow column's name states; the other accepted names state none.
FLOW_COLUMN_CURRENCY = {"flow_usd": "USD", "flow_krw": "KRW"}
#: Columns of the scraped US panel that this loader does not use (accepted, ignored).
PANEL_IGNORED = ("Assets_MUSD", "PrevClose", "Open", "N_Hold")


def _wide(long: pd.DataFrame, value: str, dates: pd.DatetimeIndex, tickers: pd.Index
          ) -> np.ndarray:
    out = np.full((len(dates), len(tickers)), np.nan)
    out[dates.get_indexer(long["date"]), tickers.get_indexer(long["ticker"])] = long[value]
    return out


def read_etf_flows(path, *, quality: DataQuality | None = None, strict: bool = False,
                   encoding: str | None = None) -> pd.DataFrame:
    """Read a long flow export as a wide frame.

    Parameters
    ----------
    path : str or Path
    quality : DataQuality, optional
    strict : bool
        Reject empty flow cells instead of leaving them NaN (counted).
    encoding : str, optional

    Returns
    -------
    pd.DataFrame
        (dates x tickers) flows in the file's currency; NaN where the file has no row.
        ``attrs``: ``source``, ``flow_column`` (the header used) and ``currency`` (what that
        header states, :data:`FLOW_COLUMN_CURRENCY`, or None).
    """
    q = quality if quality is not None else DataQuality()
    t = read_table(path, encoding=encoding, quality=q)
    cols = resolve_columns(t, FLOW_COLUMNS, allowed_extra=(),
                           kind="ETF flow export (date, ticker, flow_usd)")
    t.require_rows("flow export")
    dates = t.dates(cols["date"])
    tickers = t.codes(cols["ticker"], what="ticker")
    flow = t.numbers(cols["flow"], what="flow", required=strict)
    q.add(t.source, "left NaN", "empty flow cells", int(np.isnan(flow).sum()),
          rule="no flow published that day")
    t.check_unique([dates, tickers.to_numpy()], ["date", "ticker"])
    long = pd.DataFrame({"date": dates, "ticker": tickers.to_numpy(), "flow": flow})
    d = pd.DatetimeIndex(dates.unique().sort_values(), name="date")
    k = pd.Index(long["ticker"].unique(), name="ticker").sort_values()
    wide = pd.DataFrame(_wide(long, "flow", d, k), index=d, columns=k)
    q.add(t.source, "left NaN", "ETF-days without a flow row",
          int(wide.isna().to_numpy().sum()) - int(np.isnan(flow).sum()),
          rule="NaN = no data, never zero flow")
    # what the file says about its currency (flow_usd / flow_krw), None when it says nothing
    wide.attrs.update(source=t.source, flow_column=cols["flow"],
                      currency=FLOW_COLUMN_CURRENCY.get(cols["flow"].replace(" ", "").lower()))
    return wide


def load_etf_flows(path, *, quality: DataQuality | None = None, currency: str | None = None,
                   strict: bool = False, encoding: str | None = None) -> EtfData:
    """Load a long ``date, ticker, flow_usd`` export as :class:`EtfData` with ``flow`` only.

    Parameters
    ----------
    path : str or Path
        CSV or Parquet.
    quality : DataQuality, optional
        Receives rows read and ETF-days left NaN.
    currency : str, optional
        Currency of the flows. Default: what the flow column says (``flow_usd`` USD,
        ``flow_krw`` KRW), else USD (etf.com exports).
    strict : bool
        Reject empty flow cells instead of leaving them NaN (counted).
    encoding : str, optional

    Returns
    -------
    EtfData
        ``flow`` (T, E) in ``currency``; other fields None.

    Raises
    ------
    DataError
        Empty file, missing/unknown columns, bad dates, non-numeric flows (empty ones with
        ``strict``), duplicate (date, ticker); ``currency`` other than the one the flow
        column states.
    """
    wide = read_etf_flows(path, quality=quality, strict=strict, encoding=encoding)
    said = wide.attrs["currency"]
    if currency is not None and said is not None and currency != said:
        raise DataError(f"the flow column {wide.attrs['flow_column']!r} says {said}, not "
                        f"{currency}", file=wide.attrs["source"], column=wide.attrs["flow_column"],
                        fix=f"pass --currency {said} or leave --currency out")
    return EtfData(dates=wide.index, etfs=wide.columns, flow=wide.to_numpy(),
                   currency=currency or said or "USD")


def read_etf_shares_nav(path, *, nav_from: str | None = None,
                        quality: DataQuality | None = None, encoding: str | None = None
                        ) -> dict[str, pd.DataFrame]:
    """Read a shares-outstanding panel as wide frames.

    Parameters
    ----------
    path : str or Path
        Long CSV/Parquet (see the module docstring).
    nav_from : {None, "close"}
        Use the close/price column as NAV when the file has no NAV (counted as such).

    Returns
    -------
    dict of str -> pd.DataFrame
        ``shares_outstanding`` (shares), ``nav``, and when present ``close``, ``volume``
        (dates x tickers), plus ``expense_ratio`` (Series, fraction per year, last value).
    """
    q = quality if quality is not None else DataQuality()
    t = read_table(path, encoding=encoding, quality=q)
    cols = resolve_columns(t, PANEL_COLUMNS, optional=("nav", "close", "volume", "expense_pct"),
                           allowed_extra=PANEL_IGNORED,
                           kind="shares-outstanding panel (date, ticker, shares, nav)")
    t.require_rows("shares-outstanding panel")
    if "nav" not in cols:
        if nav_from != "close" or "close" not in cols:
            raise DataError(
                "no NAV column", file=t.source, row=1 if t.row_kind == "line" else None,
                column="nav", fix="add a nav column, or pass nav_from='close' to use the close "
                                  "(price) as NAV")
    dates = t.dates(cols["date"])
    tickers = t.codes(cols["ticker"], what="ticker")
    t.check_unique([dates, tickers.to_numpy()], ["date", "ticker"])
    scale = 1e6 if cols["shares"] == "SharesOut_M" else 1.0
    long = pd.DataFrame({"date": dates, "ticker": tickers.to_numpy()})
    long["shares_outstanding"] = t.numbers(cols["shares"], what="shares outstanding",
                                           required=False, min_value=0) * scale
    if "nav" in cols:
        long["nav"] = t.numbers(cols["nav"], what="NAV", required=False, min_value=0)
    for f, what in (("close", "close"), ("volume", "volume"), ("expense_pct", "expense ratio")):
        if f in cols:
            long[f] = t.numbers(cols[f], what=what, required=False, min_value=0)
    if "nav" not in cols:
        long["nav"] = long["close"]
        q.add(t.source, "substituted", "NAV cells by the close price", len(long),
              rule="nav_from='close'")
    d = pd.DatetimeIndex(dates.unique().sort_values(), name="date")
    k = pd.Index(long["ticker"].unique(), name="ticker").sort_values()
    out: dict[str, pd.DataFrame] = {}
    for f in ("shares_outstanding", "nav", "close", "volume"):
        if f in long:
            out[f] = pd.DataFrame(_wide(long, f, d, k), index=d, columns=k)
    for f in ("shares_outstanding", "nav"):
        q.add(t.source, "left NaN", f"ETF-days without {f}", int(out[f].isna().to_numpy().sum()),
              rule="NaN = no data")
    if "expense_pct" in long:
        # the latest published expense ratio per ticker; tickers without one stay NaN (reindex)
        er = long.dropna(subset=["expense_pct"]).groupby("ticker")["expense_pct"].last() / 100.0
        out["expense_ratio"] = er.reindex(k)  # type: ignore[assignment]
    return out


def load_etf_shares_nav(path, *, nav_from: str | None = None,
                        quality: DataQuality | None = None, currency: str = "USD",
                        encoding: str | None = None) -> EtfData:
    """Load a shares-outstanding x NAV panel and derive creation/redemption flows.

    Parameters
    ----------
    path : str or Path
        Long panel (module docstring).
    nav_from : {None, "close"}
        Use the close as NAV when the file has none.
    quality : DataQuality, optional
        Receives rows read, NaN cells and NaN derived flows.
    currency : str
    encoding : str, optional

    Returns
    -------
    EtfData
        ``shares_outstanding`` (shares), ``nav``, ``flow`` = (SO[t] - SO[t-1]) * NAV[t-1]
        in ``currency`` (NaN on the first day and wherever an input is missing), ``close``,
        ``volume`` and ``expense_ratio`` (fraction/yr) when the file has them.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "so.csv"
    >>> _ = p.write_text("date,ticker,shares,nav\\n2026-03-30,X,100,10\\n2026-03-31,X,120,11\\n")
    >>> load_etf_shares_nav(p).frame("flow")["X"].tolist()
    [nan, 200.0]
    """
    q = quality if quality is not None else DataQuality()
    w = read_etf_shares_nav(path, nav_from=nav_from, quality=q, encoding=encoding)
    so, nav = w["shares_outstanding"], w["nav"]
    src = getattr(path, "name", str(path).rsplit("/", 1)[-1])
    # one derivation for every shares x NAV source (stale runs and gaps -> NaN, counted)
    flow = derive_flow_usd(so, nav, quality=q, source=src)
    er = w.get("expense_ratio")
    return EtfData(
        dates=so.index, etfs=so.columns, shares_outstanding=so.to_numpy(), nav=nav.to_numpy(),
        close=w["close"].to_numpy() if "close" in w else None,
        volume=w["volume"].to_numpy() if "volume" in w else None,
        flow=flow.to_numpy(), expense_ratio=None if er is None else er.to_numpy(),
        currency=currency)


def derive_flow_usd(
    shares: pd.DataFrame,
    nav: pd.DataFrame,
    *,
    stale_after_bars: int = STALE_AFTER_BARS,
    max_gap_days: int = MAX_GAP_DAYS,
    quality: DataQuality | None = None,
    source: str = "shares/NAV panel",
) -> pd.DataFrame:
    """Creation/redemption flow ``(SO[t] - SO[t-1]) * NAV[t-1]`` from a shares x NAV panel.

    Each ETF's previous observation is its last row with both shares and NAV present, so a
    missing day does not break the chain (the flow over the gap lands on the next observed
    day) unless the gap is longer than ``max_gap_days``.

    Parameters
    ----------
    shares : pd.DataFrame, shape (T, E)
        Shares outstanding (shares), dates x ETFs; NaN = not observed.
    nav : pd.DataFrame, shape (T, E)
        Net asset value per share (currency units), same labels as ``shares``.
    stale_after_bars : int
        Shares outstanding identical for more than this many observations in a row is stale
        data: from the (stale_after_bars + 1)-th identical observation on, flows are NaN until
        the shares change. Decided from past observations only (no look-ahead).
    max_gap_days : int
        Flows spanning more calendar days than this are set NaN.
    quality : DataQuality, optional
        Receives one count per rule that set flows NaN.
    source : str
        Name used in the data-quality entries.

    Returns
    -------
    pd.DataFrame, shape (T, E)
        Flow in currency units; NaN where not observed or set NaN by a rule below.

    Notes
    -----
    Rules, each counted in ``quality`` (never turned into a silent zero flow):

    * no previous observation (first row of an ETF, or shares/NAV missing) -> NaN;
    * gap to the previous observation > ``max_gap_days`` -> NaN;
    * repeated scrape: shares *and* NAV identical to the previous observation -> NaN (a day on
      which the source did not update is not a day without flow);
    * stale run: more than ``stale_after_bars`` identical shares in a row -> NaN from there on
      (causal: the first ``stale_after_bars`` repeats of a run are legitimate zero-flow days).

    Examples
    --------
    >>> d = pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-04"])
    >>> so = pd.DataFrame({"A": [100.0, 110.0, 105.0]}, index=d)
    >>> nv = pd.DataFrame({"A": [10.0, 11.0, 12.0]}, index=d)
    >>> derive_flow_usd(so, nv)["A"].tolist()
    [nan, 100.0, -55.0]
    """
    if not shares.index.equals(nav.index) or not shares.columns.equals(nav.columns):
        raise DataError("shares and NAV panels must have the same dates and ETFs")
    if stale_after_bars < 1 or max_gap_days < 1:
        raise ValueError("stale_after_bars and max_gap_days must be >= 1")
    q = quality if quality is not None else DataQuality()
    out = pd.DataFrame(np.nan, index=shares.index, columns=shares.columns, dtype=np.float64)
    n_gap = n_repeat = n_stale = 0
    for etf in shares.columns:
        s, v = shares[etf], nav[etf]
        ok = s.notna() & v.notna()
        so, nv = s[ok].to_numpy(np.float64), v[ok].to_numpy(np.float64)
        dates = s.index[ok]
        if len(so) < 2:
            continue
        flow = np.full(len(so), np.nan)
        flow[1:] = (so[1:] - so[:-1]) * nv[:-1]
        gap = np.zeros(len(so), dtype=bool)
        gap[1:] = (dates[1:] - dates[:-1]) / pd.Timedelta(days=1) > max_gap_days  # unit-safe
        repeat = np.zeros(len(so), dtype=bool)
        repeat[1:] = (so[1:] == so[:-1]) & (nv[1:] == nv[:-1])
        # Stale source: shares identical for more than ``stale_after_bars`` observations in a
        # row. Decided causally -- from the observations up to j only -- so a flow's value never
        # depends on whether the data goes on (an earlier version looked at the trailing run
        # of the whole panel: look-ahead, found in review; pinned by
        # tests/datasets/test_bundled.py::test_stale_rule_is_causal).
        same = np.zeros(len(so), dtype=bool)
        same[1:] = so[1:] == so[:-1]
        run_len = np.ones(len(so), dtype=np.int64)
        for j in range(1, len(so)):
            if same[j]:
                run_len[j] = run_len[j - 1] + 1
        stale = run_len > stale_after_bars
        n_gap += int(gap.sum())
        n_repeat += int((repeat & ~gap).sum())
        n_stale += int((stale & ~gap & ~repeat).sum())
        flow[gap | repeat | stale] = np.nan
        out.loc[dates, etf] = flow
    q.add(source, "set NaN", f"flows spanning a gap > {max_gap_days} days", n_gap,
          rule="a multi-month change is not one day's flow")
    q.add(source, "set NaN", "flows on repeated scrapes (shares and NAV unchanged)", n_repeat,
          rule="source did not update that day")
    q.add(source, "set NaN", f"flows in stale shares runs (> {stale_after_bars} identical obs)",
          n_stale, rule="shares outstanding stopped updating; decided from past observations")
    return out
