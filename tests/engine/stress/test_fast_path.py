"""A Monte Carlo path through the fast path equals the same path through `flowbt backtest`'s
machinery (engine.app.runner decisions + engine.simulation on vectorbt): equity and trigger log.

This is what keeps the fast path honest: any drift from CoreSatellite's rules or from
vectorbt's fills fails here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from engine.app.config import load_config
from engine.app.runner import benchmark_weights, decide, prepare, sim_kwargs, variant_log
from engine.app.stress_paths import path_dates, run_variants, variant_params
from engine.simulation import simulate
from engine.stress.montecarlo import bootstrap_paths, joint_returns
from strategies.base import Context
from tests.conftest import ROOT

CONFIG = ROOT / "examples" / "stress_core_satellite.toml"


@pytest.fixture(scope="module", params=[0.03, 0.01])  # the example's band, and a tight one
def setup(request):
    cfg = load_config(CONFIG, overrides={"strategy.drift_band": request.param})
    prep = prepare(cfg)
    variants = variant_params(cfg)
    cols = sorted({c for p in variants.values() for c in _columns(p)})
    rets = joint_returns(prep.market.prices[cols])
    return cfg, prep, variants, cols, rets


def _columns(p):
    from strategies.core_satellite import CoreSatellite

    return [*CoreSatellite(p).assets(), *(t.condition.name for t in p.triggers)]


@pytest.mark.parametrize("vol", [1.0, 2.0])  # 2x volatility: every trigger and the band fire
def test_fast_path_equals_backtest_machinery_on_bootstrapped_paths(setup, vol):
    cfg, prep, variants, cols, rets = setup
    horizon, n = 252, 6
    vm = np.where(np.array(cols) == "CASH", 1.0, vol)
    px = bootstrap_paths(rets.to_numpy(), prep.market.prices[cols].iloc[-1].to_numpy(),
                         range(n), horizon, 20.0, seed=7, vol_mult=vm)
    dates = path_dates(prep.market.prices.index[-1], horizon)
    fast = run_variants(variants, px, cols, dates, dict(
        fee_rate=cfg.simulation.fee_rate, slippage_rate=cfg.simulation.slippage_rate,
        execution_lag_bars=cfg.simulation.execution_lag_bars,
        init_cash=cfg.simulation.init_cash))
    kinds = set()
    for p in range(n):
        prices = pd.DataFrame(px[p], index=dates, columns=cols)
        ctx = Context(prices)
        d = decide(cfg, ctx)
        weights = {cfg.name: d.weights, **benchmark_weights(cfg, ctx)}
        sim = simulate(prices, weights, benchmarks=list(cfg.simulation.benchmarks),
                       **sim_kwargs(cfg, prep.market))
        for v in weights:
            np.testing.assert_allclose(fast[v][0][p], sim.equity[v].to_numpy(), rtol=1e-9,
                                       atol=0, err_msg=f"path {p} variant {v}")
        ref_log = variant_log({cfg.name: d})
        got = fast[cfg.name][1].log(p)
        pd.testing.assert_frame_equal(got.reset_index(drop=True),
                                      ref_log.drop(columns="variant").reset_index(drop=True))
        kinds.update(got["rule"])
    # Not vacuous: the paths exercise triggers and the drift band.
    if vol > 1:
        if cfg.strategy_params.drift_band < 0.02:
            assert "drift_band" in kinds
        assert {t.name for t in cfg.strategy_params.triggers} <= kinds


def test_fast_path_log_says_where_the_anchor_moved_as_the_backtest_does(setup):
    """A condition asset without a price on the anchor session (day 0): both logs carry the
    same "anchor moved" row and the equity still agrees to 1e-9."""
    cfg, prep, variants, cols, rets = setup
    read_only = [t.condition.name for t in cfg.strategy_params.triggers
                 if t.condition.measure in ("drawdown", "return_since_anchor")
                 and t.condition.name not in _held(cfg.strategy_params)]
    assert read_only, "the example reads a condition asset it does not hold"
    j = cols.index(read_only[0])
    horizon, n = 120, 3
    px = bootstrap_paths(rets.to_numpy(), prep.market.prices[cols].iloc[-1].to_numpy(),
                         range(n), horizon, 20.0, seed=3)
    px[:, :2, j] = np.nan  # the anchor moves to day 2
    dates = path_dates(prep.market.prices.index[-1], horizon)
    strat = {cfg.name: variants[cfg.name]}
    fast = run_variants(strat, px, cols, dates, dict(
        fee_rate=cfg.simulation.fee_rate, slippage_rate=cfg.simulation.slippage_rate,
        execution_lag_bars=cfg.simulation.execution_lag_bars,
        init_cash=cfg.simulation.init_cash))
    for p in range(n):
        prices = pd.DataFrame(px[p], index=dates, columns=cols)
        d = decide(cfg, Context(prices))
        sim = simulate(prices, {cfg.name: d.weights}, **sim_kwargs(cfg, prep.market))
        np.testing.assert_allclose(fast[cfg.name][0][p], sim.equity[cfg.name].to_numpy(),
                                   rtol=1e-9, atol=0)
        ref_log = variant_log({cfg.name: d}).drop(columns="variant").reset_index(drop=True)
        got = fast[cfg.name][1].log(p).reset_index(drop=True)
        pd.testing.assert_frame_equal(got, ref_log)
        moved = got[got["action"] == "anchor moved"]
        assert len(moved) == 1 and moved["detail"].iloc[0].endswith(
            f"anchor moved to {dates[2].date()}")


def _held(params):
    from strategies.core_satellite import CoreSatellite

    return set(CoreSatellite(params).static_weights().index)
