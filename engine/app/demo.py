"""``flowbt demo``: the main job end to end on the embedded data.

1. Loads and validates every bundled real file, prints the data-quality summaries and figures
   computed from the data (returns, relative strength, ETF flows, KRX foreign net buying).
2. Constituent-synthesized flow on a small seeded synthetic KRX-like market (no public source
   has per-stock investor flows with holdings): the daily net-buy table in bp, the position
   chart, and how often the naive amount sum disagrees in sign with the bp method.
3. The reference core/satellite portfolio of README "Concepts" with its three triggers
   (``examples/core_satellite.toml``), simulated on vectorbt against buy-and-hold VOO, RSP and
   the static allocation; results written to ``--out``.

Every number printed is computed here; nothing is typed in.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd

from engine.conventions import DAYS_PER_YEAR

__all__ = ["add_arguments", "run"]

#: ETFs whose total and annualized return the demo prints.
RETURN_TICKERS = ("SPY", "VOO", "RSP", "QQQ")
#: ETFs whose 2026 Q1 published flows the demo sums.
FLOW_TICKERS = ("SPY", "VOO", "IVV", "QQQ")
Q1_2026 = ("2026-01-01", "2026-03-31")
#: (a, b, meaning) pairs whose one-year relative strength the demo prints (README "Concepts").
RELATIVE_PAIRS = (("RSP", "VOO", "equal weight vs cap weight"),
                  ("IWM", "VOO", "small caps vs the S&P 500"))
#: the README's broad risk-off warning: these ETFs all in net outflow in the same week.
RISK_OFF_TICKERS = ("SPY", "VOO", "IVV")
#: the README's tech warning: QQQ monthly net outflow above this many USD.
QQQ_MONTHLY_OUTFLOW_USD = 5e9
#: Calendar year of the KRX foreign net-buying figure.
KRX_YEAR = 2024


#: Reference config of the backtest step, relative to the repository root.
REFERENCE_CONFIG = "examples/core_satellite.toml"
#: Size of the synthetic market of the synthesis step (days, stocks, ETFs) and its seed.
SYNTH_SIZE = (250, 300, 12)
SYNTH_SEED = 0
#: Investors shown in the daily net-buy table (README "Concepts": foreign, individual, institution).
TABLE_INVESTORS = ("foreign", "institution", "pension", "individual")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``flowbt demo [--out DIR] [--config FILE]``."""
    parser.description = ("Load and validate the bundled real data, synthesize constituent "
                          "flows on a seeded synthetic market, and backtest the reference "
                          "core/satellite portfolio against its benchmarks.")
    parser.add_argument("--out", default="runs/demo",
                        help="where the backtest writes its results (default: runs/demo)")
    parser.add_argument("--config", default=None,
                        help=f"backtest config (default: the repository's {REFERENCE_CONFIG})")


def _finite(x: float, what: str) -> float:
    """Refuse to print a NaN/inf figure: a demo that prints 'nan' is a silent failure."""
    from engine.errors import DataError

    if not math.isfinite(x):
        raise DataError(f"demo figure {what!r} is not finite ({x})",
                        fix="check the bundled data with `flowbt data check`")
    return x


def total_and_annualized(close: pd.Series) -> tuple[pd.Timestamp, pd.Timestamp, float, float]:
    """First date, last date, total return and annualized return (fractions) of a price series.

    Annualized over calendar time: ``(1 + total) ** (365.25 / days) - 1``.
    """
    # display only: the first..last available close of one series (gaps are before listing)
    s = close.dropna()
    first, last = s.index[0], s.index[-1]
    total = s.iloc[-1] / s.iloc[0] - 1.0
    years = (last - first) / pd.Timedelta(days=1) / DAYS_PER_YEAR
    return first, last, total, (1.0 + total) ** (1.0 / years) - 1.0


def _returns_block(prices: pd.DataFrame) -> list[str]:
    lines = ["US ETF returns over the bundled history (dividend-adjusted closes)"]
    for t in RETURN_TICKERS:
        first, last, tot, ann = total_and_annualized(prices[t])
        lines.append(f"  {t:<4} {first.date()} .. {last.date()}: total "
                     f"{_finite(100 * tot, t):+,.1f} %, annualized {100 * ann:+.2f} %/yr")
    # display only: the common history of the pair (the data-quality summary counts NaN days)
    both = prices[["QQQ", "SPY"]].dropna()
    rel = (both["QQQ"].iloc[-1] / both["QQQ"].iloc[0]) / (both["SPY"].iloc[-1] / both["SPY"].iloc[0])
    lines.append(f"  QQQ/SPY relative strength since {both.index[0].date()}: QQQ grew "
                 f"{_finite(rel, 'QQQ/SPY'):.2f}x as much as SPY")
    last_year = both.loc[both.index[-1] - pd.DateOffset(years=1):]
    rel1 = ((last_year["QQQ"].iloc[-1] / last_year["QQQ"].iloc[0])
            / (last_year["SPY"].iloc[-1] / last_year["SPY"].iloc[0]) - 1.0)
    lines.append(f"  QQQ vs SPY over the last year ({last_year.index[0].date()} .. "
                 f"{last_year.index[-1].date()}): {_finite(100 * rel1, 'QQQ/SPY 1y'):+.1f} %")
    for a, b, what in RELATIVE_PAIRS:
        # display only: the pair's common history, as above
        pair = prices[[a, b]].dropna()
        pair = pair.loc[pair.index[-1] - pd.DateOffset(years=1):]
        rs = (pair[a].iloc[-1] / pair[a].iloc[0]) / (pair[b].iloc[-1] / pair[b].iloc[0]) - 1.0
        lines.append(f"  {a} vs {b} over the last year ({what}): "
                     f"{_finite(100 * rs, f'{a}/{b}'):+.1f} %")
    cash = prices["CASH"]
    _, _, ctot, cann = total_and_annualized(cash)
    lines.append(f"  CASH (13-week T-bill accrual) {cash.index[0].date()} .. "
                 f"{cash.index[-1].date()}: total {100 * ctot:+.1f} %, "
                 f"annualized {_finite(100 * cann, 'CASH'):+.2f} %/yr")
    return lines


def _flows_block(flows: pd.DataFrame, market) -> list[str]:
    lo, hi = (pd.Timestamp(d) for d in Q1_2026)
    q1 = flows[(flows["date"] >= lo) & (flows["date"] <= hi) & flows["ticker"].isin(FLOW_TICKERS)]
    lines = [f"US ETF net creations/redemptions, {lo.date()} .. {hi.date()} (published daily flows)"]
    total = 0.0
    for t in FLOW_TICKERS:
        s = q1.loc[q1["ticker"] == t, "flow_usd"]
        total += s.sum()
        lines.append(f"  {t:<4} {_finite(s.sum() / 1e9, t):+8.2f} USD bn over {s.notna().sum()} "
                     f"days ({s.isna().sum()} days without a published value, not counted)")
    lines.append(f"  {' + '.join(FLOW_TICKERS)}: {_finite(total / 1e9, 'sum'):+.2f} USD bn")
    # the README's flow warnings on the same quarter; a week or month with no published value
    # on one of its sessions is NaN (engine.periods.period_total: never a partial total), so
    # it is not counted as an outflow.
    wide = q1.pivot(index="date", columns="ticker", values="flow_usd")
    from engine.periods import period_end_sessions, period_total  # one period rule (#10 item 7)

    def totals(x, freq):  # complete periods only, dated at their last XNYS session
        t = period_total(x, x.index, freq, calendar="XNYS", quality=market.quality)
        return t.loc[t.index.isin(period_end_sessions(lo, hi, freq, "XNYS")[1].to_numpy())]

    weekly = totals(wide[list(RISK_OFF_TICKERS)], "W")
    risk_off = (weekly < 0).all(axis=1)
    weeks = ", ".join(str(d.date()) for d in weekly.index[risk_off]) or "none"
    lines.append(f"  weeks (ending Friday) with {', '.join(RISK_OFF_TICKERS)} all in outflow: "
                 f"{int(risk_off.sum())} of {len(weekly)} ({weeks})")
    monthly = totals(wide[["QQQ"]], "M")["QQQ"]
    big = monthly < -QQQ_MONTHLY_OUTFLOW_USD
    months = ", ".join(d.strftime("%Y-%m") for d in monthly.index[big]) or "none"
    lines.append(f"  months with a QQQ outflow above {QQQ_MONTHLY_OUTFLOW_USD / 1e9:.0f} USD bn: "
                 f"{int(big.sum())} of {len(monthly)} ({months})")
    etfs = market.etfs
    spy = etfs.frame("flow")["SPY"]
    lines.append(
        f"  SPY flow derived from shares x NAV, {etfs.dates[0].date()} .. {etfs.dates[-1].date()}: "
        f"{_finite(spy.sum() / 1e9, 'SPY derived'):+.2f} USD bn over {spy.notna().sum()} days "
        f"({spy.isna().sum()} days NaN: not observed or stale, see data quality)"
    )
    return lines


def _krx_block(krx) -> list[str]:
    year = str(KRX_YEAR)
    nb = krx.meta["netbuy_krw"].loc[year, "KOSPI_foreign_krw"]
    bp = krx.meta["netbuy_bp"].loc[year, "KOSPI_foreign_bp"]
    cap = krx.meta["market_cap_krw"].loc[year, "KOSPI"]
    kospi = krx.prices.loc[year, "KOSPI"]
    return [
        f"KOSPI foreign net buying in {year} ({len(nb)} sessions)",
        f"  {_finite(nb.sum() / 1e12, 'KOSPI foreign'):+,.2f} KRW trillion; "
        f"sum of daily bp of market cap {_finite(bp.sum(), 'bp'):+.1f} bp; "
        f"against the mean market cap ({cap.mean() / 1e12:,.0f} KRW trillion) "
        f"{_finite(1e4 * nb.sum() / cap.mean(), 'bp of mean'):+.1f} bp",
        f"  KOSPI {kospi.iloc[0]:,.2f} -> {kospi.iloc[-1]:,.2f} "
        f"({_finite(100 * (kospi.iloc[-1] / kospi.iloc[0] - 1), 'KOSPI'):+.1f} %)",
    ]


def run(args: argparse.Namespace) -> int:
    """Load, validate and summarize the bundled data; return 0."""
    from datasets.bundled import (
        load_krx_market,
        load_us_etf_flows_2026q1,
        load_us_index_close,
    )
    from datasets.bundled import load_us_market as _load_us_market

    us = _load_us_market()
    krx = load_krx_market()
    flows = load_us_etf_flows_2026q1()
    idx = load_us_index_close()
    print("flowbt demo -- bundled real data (see datasets/README.md for sources)")
    print("US market: " + us.describe().replace("\n", "; "))
    print("KRX market: " + krx.describe().replace("\n", "; ")
          + f"; CASH at {krx.meta['cash_rate']}")
    print(f"US index levels: {', '.join(idx.columns)}, {idx.index[0].date()} .. "
          f"{idx.index[-1].date()}")
    print()
    print(us.quality.merge([krx.quality]).summary())
    for block in (_returns_block(us.prices), _flows_block(flows, us), _krx_block(krx)):
        print()
        print("\n".join(block))
    print()
    print("\n".join(_synthesis_block()))
    print()
    print("\n".join(_backtest_block(args)))
    return 0


def _synthesis_block() -> list[str]:
    """Constituent-synthesized flow on a seeded synthetic market: bp vs the naive amount sum."""
    import numpy as np

    from datasets import make_market
    from engine.synthesis import synthesize_flows

    n_days, n_stocks, n_etfs = SYNTH_SIZE
    m = make_market(n_days, n_stocks, n_etfs, seed=SYNTH_SEED)
    kind = m.meta["etf_kind"]
    etf = next(e for e, k in kind.items() if k == "index")
    bp = synthesize_flows(m.flows, m.holdings, method="bp")
    amount = synthesize_flows(m.flows, m.holdings, method="amount")
    pos = synthesize_flows(m.flows, m.holdings, method="bp", cumulative=True)
    out = [f"Constituent-synthesized flow -- synthetic KRX-like market "
           f"({n_days} days x {n_stocks} stocks x {n_etfs} ETFs, seed {SYNTH_SEED}; "
           f"datasets.make_market)",
           f"  {etf} ({kind[etf]} ETF, {len(m.holdings.weights_at(etf, m.flows.dates[-1]))} "
           f"holdings): daily net-buy table, bp of constituent market cap x ETF weight"]
    table = bp[etf][list(TABLE_INVESTORS)].tail(5)
    table.index = table.index.date
    out += ["    " + line for line in table.to_string(float_format=lambda x: f"{x:+.2f}")
            .splitlines()]
    last = pos[etf][list(TABLE_INVESTORS)].iloc[-1]
    out.append("  position chart (cumulative bp) at the last day: "
               + ", ".join(f"{k} {v:+.1f}" for k, v in last.items()))
    a = amount.to_numpy()
    b = bp.to_numpy()
    ok = np.isfinite(a) & np.isfinite(b) & (a != 0) & (b != 0)
    disagree = float(np.mean(np.sign(a[ok]) != np.sign(b[ok])))
    out.append(f"  the naive KRW amount sum disagrees in sign with the bp method on "
               f"{disagree:.1%} of {int(ok.sum()):,} ETF-investor-days (mega-caps drown the rest)")
    return out


def _backtest_block(args: argparse.Namespace) -> list[str]:
    """The reference core/satellite backtest (README "Concepts") against its benchmarks."""
    from pathlib import Path

    from engine.app.backtest import write_outputs
    from engine.app.config import load_config
    from engine.app.runner import run_backtest

    path = Path(args.config) if getattr(args, "config", None) else (
        Path(__file__).resolve().parents[2] / REFERENCE_CONFIG)
    if not path.exists():
        raise FileNotFoundError(f"{path}: backtest config not found; pass --config FILE")
    cfg = load_config(path)
    result = run_backtest(cfg)
    out_dir = Path(getattr(args, "out", "runs/demo"))
    write_outputs(result, out_dir)
    prices = result.prepared.market.prices
    m = result.sim.metrics
    cols = [c for c in ("annualized_return", "annualized_volatility", "sharpe_ratio",
                        "max_drawdown", "turnover_per_year") if c in m]
    lines = [f"Backtest: {cfg.name} ({path.name}), {prices.index[0].date()} .. "
             f"{prices.index[-1].date()}, next-bar execution, fees "
             f"{cfg.simulation.fee_rate:.2%} + slippage {cfg.simulation.slippage_rate:.2%}"]
    lines += ["  " + line for line in m[cols].to_string(
        float_format=lambda x: f"{x:+.4f}").splitlines()]
    te = [c for c in m.columns if c.startswith("tracking_error_vs_")]
    if te:
        row = m.loc[cfg.name]
        lines.append("  tracking error of the strategy: " + ", ".join(
            f"vs {c.removeprefix('tracking_error_vs_')} {row[c]:.2%}" for c in te
            if np.isfinite(row[c])))
    log = result.sim.log
    lines.append(f"  trigger log ({len(log)} events):")
    for _, r in log.iterrows():
        lines.append(f"    {pd.Timestamp(r['date']).date()}  {r['rule']}: {r['action']} "
                     f"[{r['detail']}]")
    lines.append(f"  results written to {out_dir}/ (equity, weights, orders, triggers, "
                 f"metrics, run.json)")
    return lines
