"""Flow signals as tables: constituent-synthesized flows in the long export schema, with
coverage and the point-in-time report (what ``flowbt signals`` writes and prints).

Long schema (``signals.parquet`` / ``signals.csv``; ``positions.parquet`` holds the running
sums with the same columns)::

    date, etf, investor, method, value, unit, period_start, period_end

``unit`` is ``"bp"`` (method ``bp``), the flow currency (``amount``, ``weighted_amount``) or
``"shares"``. Daily rows have ``period_start == period_end == date``; a period total (one KRX
query over several sessions) is one row dated at its end with its start and end, never spread
over days.

Point in time (README "Concepts"): a holdings snapshot is usable from the first session on or
after ``effective_date + lag_days``. :func:`point_in_time_report` says, per ETF, the first
usable date, the days (or periods) without usable weights and the weight not covered by
constituents with data, so that a PDF dated after the flows is never a silent NaN.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, Holdings
from engine.synthesis import Method, synthesize_flows

__all__ = ["SIGNAL_COLUMNS", "COVERAGE_COLUMNS", "coverage_long", "method_unit",
           "period_signals", "point_in_time_report", "positions_long", "signals_long"]

SIGNAL_COLUMNS = ["date", "etf", "investor", "method", "value", "unit", "period_start",
                  "period_end"]
COVERAGE_COLUMNS = ["date", "etf", "covered_weight", "usable", "period_start", "period_end"]


def method_unit(method: str, currency: str) -> str:
    """Unit of a method's values: ``bp``, the currency, or ``shares``."""
    m = Method(method)
    return "bp" if m is Method.BP else "shares" if m is Method.SHARES else currency


def _select(flows: ConstituentFlows, investors: Sequence[str] | None) -> ConstituentFlows:
    if investors is None:
        return flows
    keep = [k for k in investors if k in flows.investors]
    if not keep:
        raise DataError(f"none of the investors {list(investors)} is in the data "
                        f"(it has {', '.join(flows.investors)})", column="investor",
                        fix="pass --investor with one of those")
    if tuple(keep) == tuple(flows.investors):
        return flows  # already these investors in this order (a store read them so)
    idx = [flows.investors.index(k) for k in keep]
    return ConstituentFlows(
        dates=flows.dates, stocks=flows.stocks, investors=tuple(keep),
        net_buy=flows.net_buy[:, :, idx], market_cap=flows.market_cap, close=flows.close,
        net_buy_shares=None if flows.net_buy_shares is None else flows.net_buy_shares[:, :, idx],
        currency=flows.currency)


def _long(wide: pd.DataFrame, method: str, unit: str, starts=None, ends=None) -> pd.DataFrame:
    """(dates x (etf, investor)) -> long rows in :data:`SIGNAL_COLUMNS` order."""
    s = wide.stack(["etf", "investor"], future_stack=True).rename("value").reset_index()
    s = s.rename(columns={s.columns[0]: "date"})
    s["method"] = method
    s["unit"] = unit
    if starts is None:
        s["period_start"] = s["date"]
        s["period_end"] = s["date"]
    else:
        pos = wide.index.get_indexer(s["date"])
        s["period_start"] = pd.DatetimeIndex(starts)[pos]
        s["period_end"] = pd.DatetimeIndex(ends)[pos]
    s["value"] = s["value"].astype(np.float64)
    return s[SIGNAL_COLUMNS]


def signals_long(flows: ConstituentFlows, holdings: Holdings, *, etfs=None,
                 investors: Sequence[str] | None = None, methods: Sequence[str] = ("bp",),
                 lag_days: int = 0, quality: DataQuality | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily synthesized flows of ``etfs`` in the long schema, and their coverage.

    Parameters
    ----------
    flows : ConstituentFlows
        Daily panel (T, N, K).
    holdings : Holdings
    etfs : sequence of str, optional
        Default: every ETF with holdings.
    investors : sequence of str, optional
        Default: all of ``flows``.
    methods : sequence of {"bp", "amount", "shares", "weighted_amount"}
    lag_days : int
        Holdings publication lag (calendar days).
    quality : DataQuality, optional
        Receives :func:`engine.synthesis.synthesize_flows`' counts.

    Returns
    -------
    signals : DataFrame
        :data:`SIGNAL_COLUMNS`, one row per (date, etf, investor, method).
    coverage : DataFrame
        :data:`COVERAGE_COLUMNS`, one row per ETF-day: ``covered_weight`` (fraction of the
        usable snapshot's weight with data; NaN without a usable snapshot), ``usable``
        (covered_weight > 0).
    """
    f = _select(flows, investors)
    parts = []
    cov = None
    for m in methods:
        wide, c = synthesize_flows(f, holdings, method=m, lag_days=lag_days, etfs=etfs,
                                   return_coverage=True, quality=quality)
        cov = c if cov is None else cov
        parts.append(_long(wide, Method(m).value, method_unit(m, f.currency)))
    return pd.concat(parts, ignore_index=True), coverage_long(cov)


def coverage_long(cov: pd.DataFrame, starts=None, ends=None) -> pd.DataFrame:
    """(dates x etfs) covered weight -> :data:`COVERAGE_COLUMNS` rows."""
    c = cov.rename_axis(index="date", columns="etf").stack(future_stack=True) \
        .rename("covered_weight").reset_index()
    c["covered_weight"] = c["covered_weight"].astype(np.float64)
    c["usable"] = (c["covered_weight"] > 0).to_numpy()
    if starts is None:
        c["period_start"] = c["date"]
        c["period_end"] = c["date"]
    else:
        pos = cov.index.get_indexer(c["date"])
        c["period_start"] = pd.DatetimeIndex(starts)[pos]
        c["period_end"] = pd.DatetimeIndex(ends)[pos]
    return c[COVERAGE_COLUMNS]


def period_signals(periods: Sequence, holdings: Holdings, *, etfs=None,
                   investors: Sequence[str] | None = None, methods: Sequence[str] = ("bp",),
                   lag_days: int = 0, quality: DataQuality | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Synthesized flows of period totals: one value per (period, etf, investor, method).

    Parameters
    ----------
    periods : sequence of objects with ``start``, ``end`` and ``flows``
        ``flows`` a one-row :class:`ConstituentFlows` dated at the period's first session
        (net buying summed over the period, market caps known at that session), as
        :meth:`datasets.store.Store.period_totals` returns them.
    holdings, etfs, investors, methods, lag_days, quality
        As :func:`signals_long`. The weights are those usable at the period's first session.

    Returns
    -------
    signals, coverage : DataFrame
        As :func:`signals_long`, dated at each period's end, with ``period_start`` and
        ``period_end``.
    """
    sig, cov = [], []
    for p in periods:
        s, c = signals_long(p.flows, holdings, etfs=etfs, investors=investors, methods=methods,
                            lag_days=lag_days, quality=quality)
        for frame in (s, c):
            frame["date"] = pd.Timestamp(p.end)
            frame["period_start"] = pd.Timestamp(p.start)
            frame["period_end"] = pd.Timestamp(p.end)
        sig.append(s)
        cov.append(c)
    if not sig:
        return pd.DataFrame(columns=SIGNAL_COLUMNS), pd.DataFrame(columns=COVERAGE_COLUMNS)
    return pd.concat(sig, ignore_index=True), pd.concat(cov, ignore_index=True)


def positions_long(signals: pd.DataFrame) -> pd.DataFrame:
    """Running sum of ``value`` per (etf, investor, method) in date order (the position chart).

    NaN rows add nothing and stay NaN (as ``synthesize_flows(..., cumulative=True)``).
    """
    s = signals.sort_values(["etf", "investor", "method", "date", "period_start"],
                            kind="stable").reset_index(drop=True)
    s["value"] = s.groupby(["etf", "investor", "method"], sort=False)["value"].cumsum()
    return s


def point_in_time_report(coverage: pd.DataFrame, holdings: Holdings, *, lag_days: int = 0,
                         quality: DataQuality | None = None, unit: str = "days"
                         ) -> pd.DataFrame:
    """Per ETF: when weights become usable and how much of them the data covers.

    Parameters
    ----------
    coverage : DataFrame
        :data:`COVERAGE_COLUMNS` rows (daily, or one per period).
    holdings : Holdings
    lag_days : int
    quality : DataQuality, optional
        Receives "no usable weights" and "weight not covered" counts per ETF.
    unit : str
        What a coverage row is, for messages ("days" or "periods").

    Returns
    -------
    DataFrame
        Index ``etf``; columns ``first_snapshot`` (earliest effective date),
        ``first_usable`` (first date of ``coverage`` with a usable snapshot, NaT if none),
        ``rows``, ``without_weights`` (rows with no usable snapshot), ``uncovered`` (usable
        snapshot but no constituent with data), ``weight_not_covered`` (mean of
        1 - covered_weight over rows with a usable snapshot), ``message``.
    """
    out = []
    for etf, g in coverage.groupby("etf", sort=True):
        snaps = holdings.snapshot_dates(etf)
        first_snap = snaps.min() if len(snaps) else pd.NaT
        has = g["covered_weight"].notna().to_numpy()
        rows = len(g)
        without = int((~has).sum())
        unc = int((has & (g["covered_weight"].to_numpy() == 0)).sum())
        first_usable = pd.Timestamp(g["period_start"].to_numpy()[has].min()) if has.any() \
            else pd.NaT
        miss = float(np.mean(1.0 - g["covered_weight"].to_numpy()[has])) if has.any() else np.nan
        usable_from = (first_snap + pd.Timedelta(days=int(lag_days))) if len(snaps) else pd.NaT
        parts = []
        if without:
            parts.append(f"no weights are usable before {usable_from.date()} (first holdings "
                         f"snapshot effective {first_snap.date()}, lag {lag_days} days): "
                         f"{without} of {rows} {unit} without usable weights")
        if unc:
            parts.append(f"{unc} {unit} with weights but no constituent data")
        if has.any() and miss > 1e-12:
            parts.append(f"{miss:.1%} of the weight not covered on average "
                         "(constituents without flows or market cap contribute 0)")
        msg = f"{etf}: " + ("; ".join(parts) if parts else f"all {rows} {unit} covered")
        out.append({"etf": etf, "first_snapshot": first_snap, "first_usable": first_usable,
                    "rows": rows, "without_weights": without, "uncovered": unc,
                    "weight_not_covered": miss, "message": msg})
        if quality is not None:
            quality.add(str(etf), "set NaN", f"{unit} without usable weights", without,
                        rule=f"no holdings snapshot usable before {usable_from.date()}"
                        if len(snaps) else "no holdings")
    cols = ["etf", "first_snapshot", "first_usable", "rows", "without_weights", "uncovered",
            "weight_not_covered", "message"]
    return pd.DataFrame(out, columns=cols).set_index("etf")
