"""The investor's view of a backtest: ``[fx]`` (a KRW investor in USD assets) and
``[contributions]`` (dollar-cost averaging), computed from the simulated equity.

Both are computed after the simulation from every variant's equity (the strategy and its
benchmarks): the KRW curves with :func:`engine.fx.krw_equity`, the contribution account with
:func:`engine.contributions.dca` (each contribution buys the variant's current mix, exact for
proportional costs; the account starts empty, ``[simulation] init_cash`` only scales the unit
curve). ``flowbt backtest`` writes:

* ``fx.csv`` -- long: ``date, variant, case`` ("usd", "unhedged", "hedged"), ``equity``
  (USD for "usd", KRW otherwise), ``usdkrw`` (KRW per USD, the last published rate),
  ``return_total`` (cumulative since the first session, fraction) and ``fx_contribution``
  (``return_total`` of the KRW case minus the USD one, fraction; 0 for "usd");
* ``fx_summary.csv`` -- one row per variant and case: total and annualized return,
  annualized volatility, max drawdown, FX contribution (fractions);
* ``contributions.csv`` -- long: ``date, curve, currency, contribution, invested, value``;
* ``contributions_summary.csv`` -- one row per curve (a variant, or a variant's KRW case
  when the contributions are in KRW: ``"<variant> KRW unhedged"``): contributions, invested, final value,
  profit, money-weighted return (IRR) and time-weighted return (fractions per year).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from engine.app.investor_config import check_investor
from engine.conventions import PERIODS_PER_YEAR
from engine.errors import ConfigError

__all__ = ["InvestorResult", "investor_sections", "price_currency", "summary_lines"]


@dataclass(frozen=True)
class InvestorResult:
    """Tables of the ``[fx]`` and ``[contributions]`` sections (None when absent)."""

    fx: pd.DataFrame | None = None
    fx_summary: pd.DataFrame | None = None
    contributions: pd.DataFrame | None = None
    contributions_summary: pd.DataFrame | None = None


def price_currency(market) -> str | None:
    """The currency of the market's prices: its meta, else its ETF or flow panel's."""
    cur = (market.meta or {}).get("currency")
    if cur is None and market.etfs is not None:
        cur = market.etfs.currency
    if cur is None and market.flows is not None:
        cur = market.flows.currency
    return None if cur is None else str(cur).upper()


def _fx_tables(cfg, equity: pd.DataFrame, quality) -> tuple[pd.DataFrame, pd.DataFrame,
                                                            dict[str, pd.DataFrame]]:
    from datasets.fx_data import load_usdkrw
    from engine.fx import align_fx, krw_equity

    fx = cfg.fx
    usdkrw = load_usdkrw()
    last = usdkrw.index[-1]
    if equity.index[-1] > last:
        raise ConfigError("data.end", str(equity.index[-1].date()),
                          f"the bundled USD/KRW series (FRED DEXKOUS) ends on {last.date()}: "
                          f"end the backtest on or before it (fx.source = {fx.source!r})",
                          file=cfg.file)
    if equity.index[0] < usdkrw.index[0]:
        raise ConfigError("data.start", str(equity.index[0].date()),
                          f"the bundled USD/KRW series starts on {usdkrw.index[0].date()}",
                          file=cfg.file)
    rate = align_fx(usdkrw, equity.index, quality)
    curves = {"usd": equity}
    for case in fx.cases:
        curves[case] = krw_equity(equity, usdkrw, hedged=case == "hedged",
                                  hedge_ratio=fx.hedge_ratio,
                                  hedge_cost_pct_per_year=fx.hedge_cost_pct)
    frames, rows = [], []
    usd_total = equity / equity.iloc[0] - 1.0
    for case, eq in curves.items():
        total = eq / eq.iloc[0] - 1.0
        contrib = total - usd_total
        for v in equity.columns:
            frames.append(pd.DataFrame({
                "date": equity.index, "variant": str(v), "case": case,
                "equity": eq[v].to_numpy(), "usdkrw": rate.to_numpy(),
                "return_total": total[v].to_numpy(), "fx_contribution": contrib[v].to_numpy()}))
            rows.append({"variant": str(v), "case": case,
                         "currency": "USD" if case == "usd" else fx.investor_currency,
                         **_curve_stats(eq[v]),
                         "fx_contribution": float(contrib[v].iloc[-1]),
                         "hedge_cost_pct": fx.hedge_cost_pct if case == "hedged" else 0.0,
                         "hedge_ratio": fx.hedge_ratio if case == "hedged" else 0.0})
    krw = {case: eq for case, eq in curves.items() if case != "usd"}
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows), krw


def _curve_stats(eq: pd.Series) -> dict[str, float]:
    """Total / annualized return, annualized volatility (252 sessions), max drawdown."""
    r = eq.pct_change().iloc[1:]
    years = len(r) / PERIODS_PER_YEAR
    total = float(eq.iloc[-1] / eq.iloc[0] - 1.0)
    return {"total_return": total,
            "annualized_return": (1.0 + total) ** (1.0 / years) - 1.0 if years > 0 else np.nan,
            "annualized_volatility": float(r.std(ddof=1) * np.sqrt(PERIODS_PER_YEAR)),
            "max_drawdown": float((eq / eq.cummax() - 1.0).min())}


def _contribution_tables(cfg, curves: dict[str, tuple[str, pd.Series]], currency: str):
    from engine.contributions import contribution_schedule, dca

    c = cfg.contributions
    dates = next(iter(curves.values()))[1].index
    try:
        plan = contribution_schedule(dates, c.amount, freq=c.freq, initial=c.initial,
                                     start=c.start, end=c.end)
    except ConfigError as exc:  # "no session in the range": name the keys and the data
        raise ConfigError("contributions.start", f"{c.start} .. {c.end}",
                          f"{exc.problem}; the backtest runs {dates[0].date()} .. "
                          f"{dates[-1].date()}", file=cfg.file) from None
    frames, rows = [], []
    for name, (variant, eq) in curves.items():
        res = dca(eq, plan)
        contribution = res.invested.diff().fillna(res.invested.iloc[0])
        frames.append(pd.DataFrame({
            "date": eq.index, "curve": name, "currency": currency,
            "contribution": contribution.to_numpy(), "invested": res.invested.to_numpy(),
            "value": res.equity.to_numpy()}))
        s = res.summary()
        rows.append({"curve": name, "variant": variant, "currency": currency,
                     "contributions": len(plan),
                     "first": str(plan.index[0].date()), "invested": s["invested"],
                     "final_value": s["final_value"],
                     "profit": s["final_value"] - s["invested"],
                     "money_weighted_return": s["money_weighted_return"],
                     "time_weighted_return": s["time_weighted_return"]})
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)


def investor_sections(cfg, market, equity: pd.DataFrame) -> InvestorResult:
    """The ``[fx]`` and ``[contributions]`` tables of a backtest (empty result without them).

    Parameters
    ----------
    cfg : engine.app.config.Config
    market : engine.market.Market
        The backtest's market (its prices' currency, its data-quality summary).
    equity : pd.DataFrame, shape (T, n_variants)
        The simulation's equity, in the prices' currency.

    Raises
    ------
    ConfigError
        ``fx`` on prices not in USD, a contribution currency with no curve, a schedule
        outside the backtest, or a backtest outside the FX series (naming the key).
    """
    if cfg.fx is None and cfg.contributions is None:
        return InvestorResult()
    cur = price_currency(market)
    if cur is None:
        raise ConfigError("fx" if cfg.fx is not None else "contributions.currency", None,
                          "the currency of the prices is unknown", file=cfg.file)
    check_investor(cfg.data.source, cfg.contributions, cfg.fx, cfg.file, price_currency=cur)
    fx = fx_summary = None
    krw: dict[str, pd.DataFrame] = {}
    if cfg.fx is not None:
        fx, fx_summary, krw = _fx_tables(cfg, equity, market.quality)
    contributions = contributions_summary = None
    if cfg.contributions is not None:
        currency = cfg.contributions.currency or cur
        if currency == cur:
            curves = {str(v): (str(v), equity[v]) for v in equity.columns}
        else:  # the investor's currency (check_investor allows nothing else)
            curves = {f"{v} {cfg.fx.investor_currency} {case}": (str(v), eq[v])
                      for case, eq in krw.items() for v in eq.columns}
        contributions, contributions_summary = _contribution_tables(cfg, curves, currency)
    return InvestorResult(fx, fx_summary, contributions, contributions_summary)


def summary_lines(cfg, res: InvestorResult) -> list[str]:
    """The printed lines: the strategy variant's FX cases and contribution plans."""
    out = []
    if res.fx_summary is not None:
        s = res.fx_summary[res.fx_summary["variant"] == cfg.name].set_index("case")
        parts = [f"USD {s.at['usd', 'total_return']:+.1%}"]
        for case in cfg.fx.cases:
            extra = (f" ({cfg.fx.hedge_ratio:.0%} at {cfg.fx.hedge_cost_pct:g} %/yr)"
                     if case == "hedged" else "")
            parts.append(f"{cfg.fx.investor_currency} {case}{extra} "
                         f"{s.at[case, 'total_return']:+.1%} "
                         f"({100 * s.at[case, 'fx_contribution']:+.1f} pts vs USD)")
        out.append(f"fx: {cfg.name} total return " + ", ".join(parts) + " (fx.csv)")
    if res.contributions_summary is not None:
        c = cfg.contributions
        s = res.contributions_summary
        mine = s[s["variant"] == cfg.name]
        for r in mine.itertuples():
            out.append(f"contributions: {r.contributions} x {c.amount:,.0f} {r.currency} "
                       f"({c.frequency}) into {r.curve}: invested {r.invested:,.0f}, value "
                       f"{r.final_value:,.0f}, money-weighted {r.money_weighted_return:.2%}/yr, "
                       f"time-weighted {r.time_weighted_return:.2%}/yr")
        out.append("  (contributions.csv, contributions_summary.csv)")
    return out
