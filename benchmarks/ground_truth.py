"""Ground truth of the flow-rotation chain on the synthetic market, as a results table.

One source for ``tests/strategies/test_ground_truth.py`` (which asserts on these experiments)
and for ``benchmarks/results/ground_truth.md`` (which records the figures). The chain is the
product's own: ``engine.app.inputs.synthesized_flow`` (foreign + pension flow in bp, summed over
``FLOW_SUM_BARS`` and z-scored) -> ``strategies.flow_rotation`` (top 3 sector ETFs) ->
``engine.simulation.simulate`` against the equal weight of the same ETFs, at the default
next-bar execution. See the test module for what each experiment guards.

    python -m benchmarks.ground_truth [--null-seeds 100]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from benchmarks._results import script_main, write_table
from engine.conventions import PERIODS_PER_YEAR

__all__ = ["PLANTED_STRENGTH", "excess_returns", "held_return_ic", "null_sharpes", "sharpe"]

#: The signal strength the README documents (``make_market(..., signal_strength=0.1)``).
PLANTED_STRENGTH = 0.1

RESULTS = Path(__file__).resolve().parent / "results" / "ground_truth.md"

N_DAYS, N_STOCKS, N_ETFS = 400, 200, 30
HORIZON_DAYS = 10  # sessions over which the planted signal moves returns
FLOW_SUM_BARS = 10  # the strategy's flow window (rolling sum before the z-score)
REBALANCE_BARS = 5
ZSCORE_WINDOW_BARS = 60
WARMUP_BARS = ZSCORE_WINDOW_BARS + FLOW_SUM_BARS
TRADING_DAYS = PERIODS_PER_YEAR


def excess_returns(strength: float, seed: int, *, fee_rate: float, lag: int = 1,
                   n_days: int = N_DAYS, n_stocks: int = N_STOCKS,
                   flow_sum_bars: int = FLOW_SUM_BARS, leak_bars: int = 0,
                   rebalance_bars: int = REBALANCE_BARS) -> np.ndarray:
    """Daily net returns of the top-3 rotation minus equal weight (after the warm-up).

    ``leak_bars > 0`` plants a deliberate look-ahead: the signal at row t is the one computed
    with data up to t + ``leak_bars`` (for the power test of the null-world check only).
    """
    from datasets import make_market
    from engine.app.inputs import synthesized_flow
    from engine.simulation import simulate
    from strategies.base import Context
    from strategies.flow_rotation import FlowRotation, FlowRotationParams

    m = make_market(n_days, n_stocks, N_ETFS, signal_strength=strength, seed=seed,
                    signal_horizon_days=HORIZON_DAYS)
    sectors = tuple(e for e, k in m.meta["etf_kind"].items() if k == "sector")
    sig = synthesized_flow(m, investor=["foreign", "pension"], etfs=sectors,
                           window_bars=flow_sum_bars, zscore_window_bars=ZSCORE_WINDOW_BARS)
    if leak_bars:
        sig = sig.shift(-leak_bars)
    ctx = Context(m.prices, {"sector_flow_z": sig})
    common = dict(signal="sector_flow_z", universe=sectors, top_k=3,
                  rebalance_every_bars=rebalance_bars)
    weights = {
        "rotation": FlowRotation(FlowRotationParams(**common)).target_weights(ctx),
        "equal_weight": FlowRotation(FlowRotationParams(**common, tilt=0.0)).target_weights(ctx),
    }
    res = simulate(m.prices, weights, fee_rate=fee_rate, execution_lag_bars=lag,
                   keep_orders=False, keep_portfolio=False)
    ex = (res.returns["rotation"] - res.returns["equal_weight"]).to_numpy()
    return ex[WARMUP_BARS + 1:]


def held_return_ic(strength: float, seed: int, *, leak_bars: int = 0, lag: int = 1,
                   n_days: int = N_DAYS, n_stocks: int = N_STOCKS) -> float:
    """A direct look-ahead detector: the correlation (pooled over sector ETFs and days,
    cross-sectionally demeaned) of the chain's signal at t with the first return a decision
    at t can hold, close ``t + lag`` to ``t + lag + 1``.

    In the null world foreigners chase same-day returns, so a signal that peeks
    ``lag + 1`` bars ahead (``leak_bars=2`` at lag 1) correlates with that return even through
    the 10-bar flow sum, while an honest one does not (``benchmarks/results/ground_truth.md``).
    """
    from datasets import make_market
    from engine.app.inputs import synthesized_flow

    m = make_market(n_days, n_stocks, N_ETFS, signal_strength=strength, seed=seed,
                    signal_horizon_days=HORIZON_DAYS)
    sectors = [e for e, k in m.meta["etf_kind"].items() if k == "sector"]
    sig = synthesized_flow(m, investor=["foreign", "pension"], etfs=sectors,
                           window_bars=FLOW_SUM_BARS, zscore_window_bars=ZSCORE_WINDOW_BARS)
    if leak_bars:
        sig = sig.shift(-leak_bars)
    px = m.prices[sectors]
    held = px.shift(-(lag + 1)) / px.shift(-lag) - 1.0
    s = sig.sub(sig.mean(axis=1), axis=0).to_numpy()
    r = held.sub(held.mean(axis=1), axis=0).to_numpy()
    ok = np.isfinite(s) & np.isfinite(r)
    return float(np.corrcoef(s[ok], r[ok])[0, 1])


def sharpe(x: np.ndarray) -> float:
    return float(x.mean() / x.std(ddof=1) * np.sqrt(TRADING_DAYS))


def null_sharpes(n_seeds: int, **kw) -> np.ndarray:
    """Per-seed excess Sharpe in the null world (strength 0, no fees), seeds 1000.."""
    return np.array([sharpe(excess_returns(0.0, 1000 + s, fee_rate=0.0, **kw))
                     for s in range(n_seeds)])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--null-seeds", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)


def run(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    planted = [sharpe(excess_returns(PLANTED_STRENGTH, s, fee_rate=0.0005)) for s in (11, 12, 13)]
    paired = [sharpe(excess_returns(0.0, s, fee_rate=0.0005)) for s in (11, 12, 13)]
    ic_honest = [held_return_ic(0.0, s) for s in (11, 12, 13)]
    ic_leaky = [held_return_ic(0.0, s, leak_bars=2) for s in (11, 12, 13)]
    null = null_sharpes(args.null_seeds, n_days=750, n_stocks=300)
    leak_kw = dict(fee_rate=0.0, flow_sum_bars=1, rebalance_bars=1)
    honest = [sharpe(excess_returns(0.0, s, **leak_kw)) for s in range(2000, 2004)]
    leaky = [sharpe(excess_returns(0.0, s, leak_bars=2, **leak_kw)) for s in range(2000, 2004)]
    se = null.std(ddof=1) / np.sqrt(len(null))
    fmt = ", ".join
    lines = [
        "# Ground truth: flow rotation on the synthetic market",
        "",
        "Generated by `python -m benchmarks.ground_truth`; do not edit. Excess = annualized "
        "Sharpe of the top-3 rotation minus equal weight of the same sector ETFs, daily returns "
        f"after the warm-up, next-bar execution. {time.perf_counter() - t0:.0f} s.",
        "",
        "| experiment | setup | excess Sharpe |",
        "|---|---|---|",
        f"| planted signal, net of 5 bp fees | strength {PLANTED_STRENGTH}, {N_DAYS} x "
        f"{N_STOCKS} x {N_ETFS}, seeds 11-13 | {fmt(f'{x:.2f}' for x in planted)} |",
        f"| same seeds and market without the signal (paired) | strength 0 | "
        f"{fmt(f'{x:.2f}' for x in paired)} |",
        f"| held-return IC (correlation, not Sharpe), honest chain | strength 0, seeds 11-13 | "
        f"{fmt(f'{x:+.3f}' for x in ic_honest)} |",
        f"| held-return IC, signal shifted 2 bars ahead | strength 0, seeds 11-13 | "
        f"{fmt(f'{x:+.3f}' for x in ic_leaky)} |",
        f"| null world, no fees | strength 0, 750 x 300 x {N_ETFS}, {len(null)} seeds | "
        f"mean {null.mean():+.3f} +- {se:.3f} SE (sd {null.std(ddof=1):.3f}) |",
        f"| honest, 1-bar flow window, daily rebalance | strength 0, seeds 2000-2003 | "
        f"{fmt(f'{x:+.2f}' for x in honest)} |",
        f"| leak: signal shifted 2 bars ahead, same setup | strength 0, seeds 2000-2003 | "
        f"{fmt(f'{x:+.2f}' for x in leaky)} |",
        "",
    ]
    write_table(args.out, lines)
    return 0


def main(argv: list[str] | None = None) -> int:
    return script_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
