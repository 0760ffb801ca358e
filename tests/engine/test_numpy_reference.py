"""Independent check (flowbt issue 5, item 6): flowbt's simulation of the static core/satellite
monthly rebalance on the bundled real prices equals a plain NumPy loop to 1e-9, no fees."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import datasets
from engine.simulation import simulate
from strategies.base import Context
from strategies.core_satellite import CoreSatellite, CoreSatelliteParams

REFERENCE_SLEEVES = {
    "core": {"RSP": 0.25, "VOO": 0.20, "VXUS": 0.15},
    "satellite": {"XLI": 0.08, "XLF": 0.07, "MDY": 0.06, "XLP": 0.04},
    "growth": {"VUG": 0.10},
    "cash": {"CASH": 0.05},
}


def numpy_target_percent(close: np.ndarray, decision_rows: np.ndarray, targets: np.ndarray,
                         init_cash: float, lag_bars: int) -> np.ndarray:
    """Plain NumPy target-percent rebalancing, no fees: the oracle.

    At each execution bar (decision bar + lag) the portfolio value at that close is split into
    ``target * value / close`` units of each asset; in between, units are held.
    """
    n_bars, n_assets = close.shape
    units = np.zeros(n_assets)
    cash = init_cash
    todo = {int(r) + lag_bars: targets[k] for k, r in enumerate(decision_rows)}
    equity = np.empty(n_bars)
    for t in range(n_bars):
        held_value = sum(units[a] * close[t, a] for a in range(n_assets) if units[a] != 0.0)
        value = cash + held_value
        if t in todo:
            w = todo[t]
            units = np.where(w > 0, w * value / np.where(w > 0, close[t], 1.0), 0.0)
            cash = value - float((units * np.where(w > 0, close[t], 0.0)).sum())
        equity[t] = cash + sum(units[a] * close[t, a] for a in range(n_assets)
                               if units[a] != 0.0)
    return equity


@pytest.fixture(scope="module")
def reference_run():
    market = datasets.load_us_market(start="2011-02-01", end="2025-09-26")
    prices = market.prices
    strat = CoreSatellite(CoreSatelliteParams(sleeves=REFERENCE_SLEEVES, rebalance="monthly"))
    weights = strat.decide(Context(prices)).weights
    return prices, weights


def test_static_monthly_rebalance_matches_numpy(reference_run):
    prices, weights = reference_run
    res = simulate(prices, {"static": weights}, init_cash=100_000.0, execution_lag_bars=1)
    assets = list(res.weights["static"].columns)
    close = prices[assets].to_numpy(np.float64)
    rows = prices.index.get_indexer(weights.index)
    ref = numpy_target_percent(close, rows, weights[assets].to_numpy(), 100_000.0, 1)
    np.testing.assert_allclose(res.equity["static"].to_numpy(), ref, rtol=1e-9, atol=0)
    # Not a vacuous comparison: ~176 monthly rebalances over 14.6 years, the value moved.
    assert len(weights) > 170
    assert ref[-1] / ref[0] > 2.0


def test_lag_zero_and_two_also_match(reference_run):
    prices, weights = reference_run
    prices = prices.iloc[:600]
    weights = weights.loc[: prices.index[-1]]
    for lag in (0, 2):
        res = simulate(prices, {"s": weights}, init_cash=1.0, execution_lag_bars=lag)
        assets = list(res.weights["s"].columns)
        rows = prices.index.get_indexer(weights.index)
        ok = rows + lag < len(prices)
        ref = numpy_target_percent(prices[assets].to_numpy(), rows[ok],
                                   weights[assets].to_numpy()[ok], 1.0, lag)
        np.testing.assert_allclose(res.equity["s"].to_numpy(), ref, rtol=1e-9, atol=0)


def test_numpy_oracle_is_not_trivially_equal():
    """The oracle reacts to the lag: a 1-bar shift changes the equity on real prices."""
    close = np.array([[1.0, 1.0], [2.0, 1.0], [1.0, 1.0], [3.0, 1.0]])
    rows, targets = np.array([0, 1]), np.array([[1.0, 0.0], [0.0, 1.0]])
    e0 = numpy_target_percent(close, rows, targets, 1.0, 0)
    e1 = numpy_target_percent(close, rows, targets, 1.0, 1)
    np.testing.assert_allclose(e0, [1.0, 2.0, 2.0, 2.0])
    np.testing.assert_allclose(e1, [1.0, 1.0, 0.5, 0.5])
    # The same hand-computed paths through flowbt's simulator: lag 0 buys asset a at 1 and
    # switches to b at 2; lag 1 buys a one bar late at 2 (0.5 units) and rides it down to 1.
    dates = pd.bdate_range("2024-01-01", periods=4)
    px = pd.DataFrame(close, index=dates, columns=["a", "b"])
    w = pd.DataFrame(targets, index=dates[rows], columns=["a", "b"])
    for lag, hand in ((0, [1.0, 2.0, 2.0, 2.0]), (1, [1.0, 1.0, 0.5, 0.5])):
        res = simulate(px, {"s": w}, init_cash=1.0, execution_lag_bars=lag)
        np.testing.assert_allclose(res.equity["s"].to_numpy(), hand, rtol=1e-12, atol=1e-12)
