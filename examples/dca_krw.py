"""A KRW-based investor saving into the reference core/satellite portfolio every month.

    .venv/bin/python examples/dca_krw.py [--monthly-krw 1000000] [--hedge-cost-pct 1.5]

``flowbt backtest examples/krw_investor.toml`` runs the same plan from a config ([fx] and
[contributions] tables, written to fx.csv and contributions.csv); this script is the same
thing through the Python API: it runs
``examples/core_satellite.toml`` (USD, bundled real data), turns the strategy's USD equity
into a KRW unit curve -- unhedged (``E * USDKRW``) and fully hedged at a carry of
``--hedge-cost-pct`` percent a year (see :mod:`engine.fx`) -- and adds a fixed KRW amount on
the first session of every month (:mod:`engine.contributions`: exact cohort method, each
contribution buys the current mix). It prints the final value, the money-weighted return
(IRR) and the time-weighted return of each.

The hedge carry is a parameter, not data: no KRW short-rate history ships with flowbt, so
pick the USD-minus-KRW rate differential you want to test (negative = the hedge earns carry).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=str(HERE / "core_satellite.toml"))
    ap.add_argument("--monthly-krw", type=float, default=1_000_000.0)
    ap.add_argument("--hedge-cost-pct", type=float, default=1.5,
                    help="hedge carry, percent per year (USD rate minus KRW rate)")
    args = ap.parse_args(argv)

    from datasets.fx_data import load_usdkrw
    from engine.app.config import load_config
    from engine.app.runner import run_backtest
    from engine.contributions import contribution_schedule, dca
    from engine.errors import DataQuality
    from engine.fx import krw_equity

    cfg = load_config(args.config)
    run = run_backtest(cfg)
    usd = run.sim.equity[cfg.name]
    q = DataQuality()
    fx = load_usdkrw()
    usd = usd.loc[usd.index <= fx.index[-1]]  # the bundled FX series ends before the prices
    curves = {
        "unhedged": krw_equity(usd, fx, quality=q),
        f"hedged ({args.hedge_cost_pct:g} %/yr)": krw_equity(
            usd, fx, hedged=True, hedge_cost_pct_per_year=args.hedge_cost_pct),
        "USD (no FX)": usd,
    }
    plan = contribution_schedule(usd.index, args.monthly_krw, freq="M")
    rows = {}
    for name, eq in curves.items():
        res = dca(eq, plan)  # the USD row invests the same amounts, in USD, for comparison
        rows[name] = res.summary()
    table = pd.DataFrame(rows).T
    print(f"{cfg.name}: {usd.index[0].date()} .. {usd.index[-1].date()}, "
          f"{len(plan)} monthly contributions of {args.monthly_krw:,.0f}")
    print(table.to_string(float_format=lambda x: f"{x:,.4f}"))
    print(q.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
