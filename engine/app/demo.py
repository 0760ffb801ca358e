"""``flowbt demo``: the main job end to end on the embedded data.

1. Loads and validates every bundled real file, prints the data-quality summaries and figures
   computed from the data (returns, relative strength, ETF flows, KRX foreign net buying).
2. Constituent-synthesized flow on a small seeded synthetic KRX-like market (no public source
   has per-stock investor flows with holdings): the daily net-buy table in bp, the position
   chart, and how often the naive amount sum disagrees in sign with the bp method.
3. The reference core/satellite portfolio of README "Concepts" with its three triggers
   (``examples/core_satellite.toml``), simulated on vectorbt against buy-and-hold VOO, RSP and
   the static allocation, and the flow monitor with its three warnings on the 2026 Q1 flows.
4. The KOSPI/KOSDAQ/cash market-flow-timing backtest on the real KRX investor flows
   2005-2026 (``examples/market_flow_timing.toml``) and their position chart.
5. The flow rotation backtest on the synthetic market (``examples/flow_rotation_synthetic.toml``
   on a smaller market, :data:`ROTATION_MARKET`, to keep the demo fast).

``--out`` (default ``out/demo``) receives one run directory per part (each one a valid
``flowbt report`` input) and ``report.html``, the self-contained report of all of them
(``flowbt report out/demo`` rebuilds it byte for byte).

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
#: The real-data KRX backtest and the synthetic flow-rotation backtest of the demo.
KRX_CONFIG = "examples/market_flow_timing.toml"
ROTATION_CONFIG = "examples/flow_rotation_synthetic.toml"
#: ``[data.synthetic]`` overrides of the rotation backtest: the example's 1,500 days halved so
#: the demo stays under 20 s warm (same seed, signal strength and universe).
ROTATION_MARKET = {"n_days": 750}
#: Monitor date: the last session of the last complete month of the bundled flows.
MONITOR_ASOF = "2026-03-31"
#: Methods of the synthetic signals directory: the bp method and the naive sums.
SIGNAL_METHODS = (("bp", "bp"), ("amount", "KRW"), ("shares", "shares"))
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
    parser.epilog = ("example:\n  flowbt demo --out out/demo   # prints a summary, writes "
                     "out/demo/report.html")
    parser.add_argument("--out", default="out/demo",
                        help="directory of the demo's run directories and report.html "
                             "(default: out/demo)")
    parser.add_argument("--config", default=None,
                        help=f"core/satellite backtest config (default: the repository's "
                             f"{REFERENCE_CONFIG})")
    parser.add_argument("--report", action=argparse.BooleanOptionalAction, default=True,
                        help="write OUT/report.html (default: on; --no-report skips it)")


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
    """Load, validate and summarize the bundled data, run the demo's parts; return 0."""
    import json
    import time
    from pathlib import Path

    from datasets.bundled import (
        load_krx_market,
        load_us_etf_flows_2026q1,
        load_us_index_close,
    )
    from datasets.bundled import load_us_market as _load_us_market
    from engine.report.files import quality_records

    t0 = time.perf_counter()
    out = Path(getattr(args, "out", "out/demo"))
    out.mkdir(parents=True, exist_ok=True)
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
    for block in (_returns_block(us.prices), _flows_block(flows, us), _krx_block(krx)):
        print("\n".join(block))
        print()
    # after the blocks: the weekly / monthly flow totals count what they set NaN into us.quality
    quality = us.quality.merge([krx.quality])
    print(quality.summary())
    print()
    print("\n".join(_synthesis_block(out / "synthetic")))
    print()
    print("\n".join(_backtest_block(args, out / "core_satellite")))
    print()
    print("\n".join(_monitor_block(out / "monitor")))
    print()
    print("\n".join(_krx_flows_block(krx, out / "krx_flows")))
    print()
    print("\n".join(_other_backtest(KRX_CONFIG, out / "market_flow_timing")))
    print()
    print("\n".join(_other_backtest(ROTATION_CONFIG, out / "flow_rotation",
                                    synthetic=ROTATION_MARKET)))
    (out / "quality.json").write_text(json.dumps(quality_records(quality), indent=2))
    (out / "run.json").write_text(json.dumps({
        "name": "flowbt demo", "command": ["flowbt", "demo"], "parts": PARTS}, indent=2))
    print()
    if getattr(args, "report", True):
        from engine.report import write_report

        p = write_report(out)
        print(f"report: {p} ({p.stat().st_size / 1e6:.1f} MB, self-contained; open it in a "
              f"browser)")
    print(f"demo done in {time.perf_counter() - t0:.1f} s; run directories in {out}/")
    return 0


#: The demo report's parts: (title, subdirectory of --out, what it shows).
PARTS = [
    {"title": "Core/satellite reference portfolio (real US ETF prices)", "dir": "core_satellite",
     "about": "examples/core_satellite.toml: core 60 / satellite 25 / growth 10 / cash 5 with "
              "its three triggers, against buy-and-hold VOO, RSP and the static allocation"},
    {"title": "Flow monitor and warnings (real 2026 Q1 US ETF flows)", "dir": "monitor",
     "about": f"flowbt monitor --asof {MONITOR_ASOF}"},
    {"title": "KOSPI / KOSDAQ investor flows 2005-2026 (real KRX data)", "dir": "krx_flows",
     "about": "market-wide daily net buying by investor type, in bp of each market's cap"},
    {"title": "Market flow timing: KOSPI / KOSDAQ / cash (real KRX data)",
     "dir": "market_flow_timing", "about": KRX_CONFIG},
    {"title": "Constituent-synthesized flow (synthetic KRX-like market)", "dir": "synthetic",
     "about": "bp method vs the naive amount and share sums, the position chart"},
    {"title": "Flow rotation backtest (synthetic market)", "dir": "flow_rotation",
     "about": f"{ROTATION_CONFIG} with [data.synthetic] {ROTATION_MARKET}"},
]


def write_signals_dir(out, frames: dict, coverage=None, run: dict | None = None) -> None:
    """Write a signals run directory (README "Run directories") from wide frames.

    ``frames`` maps method -> (daily frame with columns (etf, investor), unit); positions
    are the cumulative sums (NaN days add nothing, as ``cumulative=True`` does).
    """
    import json
    from pathlib import Path

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    longs, plong = [], []

    def long(frame, method, unit):
        # (T, E*K) -> T*E*K rows, date-major: NumPy repeat/tile (DataFrame.stack on a
        # two-level column index costs seconds here)
        t, c = frame.shape
        return pd.DataFrame({
            "date": np.repeat(frame.index.to_numpy(), c),
            "etf": np.tile(frame.columns.get_level_values("etf").astype(str).to_numpy(), t),
            "investor": np.tile(frame.columns.get_level_values("investor").astype(str)
                                .to_numpy(), t),
            "method": method, "value": frame.to_numpy(np.float64).ravel(), "unit": unit})

    for method, (wide, unit) in frames.items():
        longs.append(long(wide, method, unit))
        plong.append(long(wide.cumsum(skipna=True).where(wide.notna().cumsum() > 0),
                          method, unit))
    sig = pd.concat(longs, ignore_index=True)
    sig.to_parquet(out / "signals.parquet", index=False)
    pd.concat(plong, ignore_index=True).to_parquet(out / "positions.parquet", index=False)
    if coverage is not None:
        cov = coverage.stack(future_stack=True).rename("covered_weight").reset_index()
        cov.columns = ["date", "etf", "covered_weight"]
        cov["usable"] = cov["covered_weight"].fillna(0) > 0
        cov.to_parquet(out / "coverage.parquet", index=False)
    (out / "run.json").write_text(json.dumps(run or {}, indent=2, default=str))


def _synthesis_block(out) -> list[str]:
    """Constituent-synthesized flow on a seeded synthetic market: bp vs the naive amount sum;
    the signals directory written to ``out``."""
    import numpy as np

    from datasets import make_market
    from engine.synthesis import synthesize_flows

    n_days, n_stocks, n_etfs = SYNTH_SIZE
    m = make_market(n_days, n_stocks, n_etfs, seed=SYNTH_SEED)
    kind = m.meta["etf_kind"]
    etf = next(e for e, k in kind.items() if k == "index")
    bp, coverage = synthesize_flows(m.flows, m.holdings, method="bp", return_coverage=True)
    amount = synthesize_flows(m.flows, m.holdings, method="amount")
    shares = synthesize_flows(m.flows, m.holdings, method="shares")
    pos = synthesize_flows(m.flows, m.holdings, method="bp", cumulative=True)
    write_signals_dir(out, {"bp": (bp, "bp"), "amount": (amount, "KRW"),
                            "shares": (shares, "shares")}, coverage,
                      run={"name": "synthetic constituent-synthesized flow",
                           "command": ["flowbt", "demo"], "seed": SYNTH_SEED,
                           "start": str(m.flows.dates[0].date()),
                           "end": str(m.flows.dates[-1].date()),
                           "market": dict(zip(("n_days", "n_stocks", "n_etfs"), SYNTH_SIZE,
                                              strict=True))})
    out_dir = out
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
    out.append(f"  signals, positions and coverage written to {out_dir}/")
    return out


def _backtest_block(args: argparse.Namespace, out_dir) -> list[str]:
    """The reference core/satellite backtest (README "Concepts") against its benchmarks."""
    from pathlib import Path

    from engine.app.config import load_config
    from engine.app.runner import run_backtest

    path = Path(args.config) if getattr(args, "config", None) else (
        Path(__file__).resolve().parents[2] / REFERENCE_CONFIG)
    if not path.exists():
        raise FileNotFoundError(f"{path}: backtest config not found; pass --config FILE")
    cfg = load_config(path)
    result = run_backtest(cfg)
    notes = _write_run(result, out_dir, cfg)
    prices = result.prepared.market.prices
    m = result.sim.metrics
    cols = [c for c in ("annualized_return", "annualized_volatility", "sharpe_ratio",
                        "max_drawdown", "turnover_per_year") if c in m]
    lines = [f"Backtest: {cfg.name} ({path.name}), {prices.index[0].date()} .. "
             f"{prices.index[-1].date()}, next-bar execution, fees "
             f"{cfg.simulation.fee_rate:.2%} + slippage {cfg.simulation.slippage_rate:.2%}"]
    lines += ["  " + line for line in m[cols].to_string(
        float_format=lambda x: f"{x:+.4f}").splitlines()]
    lines += notes
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


def _write_run(result, out_dir, cfg) -> list[str]:
    """A backtest run directory as ``flowbt backtest --out`` writes it; return the lines it
    prints beside the results (when the benchmarks were bought, config warnings)."""
    from engine.app.backtest import benchmark_note, write_outputs

    info = write_outputs(result, out_dir, argv=["flowbt", "demo"])
    note = benchmark_note(info)
    return ([f"  {note}"] if note else []) + [f"  warning: {w}" for w in info["warnings"]]


def _monitor_block(out_dir) -> list[str]:
    """The flow monitor on the bundled flows at :data:`MONITOR_ASOF` (monitor.json)."""
    import json

    from engine.app.monitor import load_inputs
    from engine.monitor import run_monitor
    from engine.report.files import quality_records

    flows, prices, volume, source, _ = load_inputs(None)
    res = run_monitor(flows, prices, volume=volume, asof=MONITOR_ASOF, source=source)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "monitor.json").write_text(json.dumps(res.to_dict(), indent=2,
                                                     ensure_ascii=False))
    (out_dir / "quality.json").write_text(json.dumps(quality_records(res.quality), indent=2))
    (out_dir / "run.json").write_text(json.dumps({
        "name": f"monitor {MONITOR_ASOF}", "command": ["flowbt", "monitor", "--asof",
                                                      MONITOR_ASOF],
        "asof": MONITOR_ASOF, "data_source": source}, indent=2))
    lines = [f"Flow monitor as of {res.asof.date()} (flowbt monitor --asof {MONITOR_ASOF})"]
    for w in res.warnings:
        state = {True: "FIRES", False: "does not fire", None: "no data"}[w["fires"]]
        lines.append(f"  warning {w['warning']}: {state} ({w['reading']})")
    return lines


def _krx_flows_block(krx, out_dir) -> list[str]:
    """KOSPI / KOSDAQ market-wide net buying by investor (bp of market cap and KRW) as a
    signals directory: the position chart of 20 years of real investor flows."""
    frames = {}
    for key, method, unit in (("netbuy_bp", "bp", "bp"),):
        df = krx.meta[key]
        suffix = f"_{unit.lower()}"
        cols = pd.MultiIndex.from_tuples(
            [tuple(c.removesuffix(suffix).split("_", 1)) for c in df.columns],
            names=["etf", "investor"])
        frames[method] = (pd.DataFrame(df.to_numpy(), index=df.index, columns=cols), unit)
    bp = frames["bp"][0]
    write_signals_dir(out_dir, frames, run={
        "name": "KOSPI / KOSDAQ investor net buying", "command": ["flowbt", "demo"],
        "start": str(bp.index[0].date()), "end": str(bp.index[-1].date()),
        "data_source": "bundled krx_investor_netbuy_krw + krx_market_index_krw",
        "unit_titles": {"bp": "bp of the market's cap (daily net buying / market cap)"}})
    pos = bp.sum()
    return [f"KRX investor flows {bp.index[0].date()} .. {bp.index[-1].date()} "
            f"(sum of daily bp of market cap)",
            "  " + ", ".join(f"{e} {i} {v:+,.0f} bp" for (e, i), v in pos.items()),
            f"  written to {out_dir}/ (signals, positions)"]


def _other_backtest(config: str, out_dir, synthetic: dict | None = None) -> list[str]:
    """Backtest a repository example config (with ``[data.synthetic]`` overrides)."""
    from pathlib import Path

    from engine.app.config import load_config, set_paths, validate_config
    from engine.app.runner import run_backtest

    path = Path(__file__).resolve().parents[2] / config
    cfg = load_config(path)
    if synthetic:
        cfg = validate_config(set_paths(cfg.raw, {f"data.synthetic.{k}": v
                                                 for k, v in synthetic.items()}),
                              file=str(path))
    result = run_backtest(cfg)
    notes = _write_run(result, out_dir, cfg)
    m = result.sim.metrics
    prices = result.prepared.market.prices
    lines = [f"Backtest: {cfg.name} ({config}), {prices.index[0].date()} .. "
             f"{prices.index[-1].date()}"]
    cols = [c for c in ("annualized_return", "sharpe_ratio", "max_drawdown") if c in m]
    lines += ["  " + ln for ln in m[cols].to_string(
        float_format=lambda x: f"{x:+.4f}").splitlines()]
    lines += notes
    lines.append(f"  {len(result.sim.log)} trigger events; results in {out_dir}/")
    return lines
