"""Regime allocation: scenario choice by rules, QQQ ramp in steps, probability weighting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pydantic import TypeAdapter

from strategies.base import CASH, Context, check_weights
from strategies.regime import (
    DEFAULT_SCENARIOS,
    Ramp,
    RegimeAllocation,
    RegimeParams,
    RegimeRule,
    Scenario,
    SignalCondition,
)
from tests.engine.test_numpy_reference import numpy_target_percent

TICKERS = ["RSP", "VOO", "VXUS", "XLI", "XLF", "MDY", "XLP", "XLU", "VUG", "QQQ"]
RULES = (
    RegimeRule("bear", (SignalCondition("risk:z", "<=", -1.0),
                        SignalCondition("breadth", "<=", 0.0))),
    RegimeRule("bull", (SignalCondition("risk:z", ">=", 1.0),)),
)


def _ctx(risk: list[float], breadth: list[float]) -> Context:
    d = pd.bdate_range("2024-01-01", periods=len(risk))
    px = pd.DataFrame(100.0, index=d, columns=[*TICKERS, CASH])
    return Context(px, {"risk": pd.DataFrame({"z": risk, "other": 0.0}, index=d),
                        "breadth": pd.Series(breadth, index=d)})


def test_default_scenarios_follow_the_design():
    probs = {s.name: s.probability for s in DEFAULT_SCENARIOS}
    assert probs == {"base": 0.60, "bull": 0.25, "bear": 0.15}
    ra = RegimeAllocation()
    base, bull, bear = (ra.scenario_weights(n) for n in ("base", "bull", "bear"))
    for w in (base, bull, bear):
        assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert base["XLI"] > 0.08 and base["XLF"] > 0.07  # overweight XLI/XLF vs the reference
    assert bull["VUG"] > base["VUG"] and bull["QQQ"] == pytest.approx(0.075)
    assert bear[CASH] == pytest.approx(0.20) and bear["XLU"] > 0 and bear["XLP"] > base["XLP"]


def test_rules_pick_the_scenario_first_match_wins_and_nan_never_fires():
    risk = [0.0, -2.0, -2.0, np.nan, 2.0, 0.5]
    breadth = [0.0, 1.0, -1.0, -1.0, -1.0, 0.0]
    ra = RegimeAllocation(RegimeParams(rules=RULES))
    act = ra.active_scenarios(_ctx(risk, breadth)).tolist()
    assert act == ["base", "base", "bear", "base", "bull", "base"]
    dec = ra.decide(_ctx(risk, breadth))
    w = check_weights(dec.weights)
    assert list(w.dropna().index.day) == [1, 3, 4, 5, 8]
    np.testing.assert_allclose(w.iloc[2][CASH], 0.20)
    assert list(dec.log["action"]) == ["activate base", "activate bear", "activate base",
                                       "activate bull", "activate base"]


def test_min_hold_bars_stops_flapping():
    risk = [0.0, 2.0, 0.0, 2.0, 0.0, 0.0, 0.0, -2.0]
    breadth = [-1.0] * 8
    ra = RegimeAllocation(RegimeParams(rules=RULES, min_hold_bars=3))
    # base holds bars 0-2, bull (signalled on bar 3) holds 3-5 though bar 4 says base,
    # base returns on bar 6 and holds, so the bear signal on bar 7 is too early
    assert ra.active_scenarios(_ctx(risk, breadth)).tolist() == [
        "base", "base", "base", "bull", "bull", "bull", "base", "base"]


def test_bull_buys_qqq_in_steps_funded_from_cash():
    n = 70
    ra = RegimeAllocation(RegimeParams(rules=RULES))
    dec = ra.decide(_ctx([0.0] + [2.0] * (n - 1), [0.0] * n))
    w = dec.weights.dropna()
    # steps at activation (bar 1) and every 21 bars after; max 7.5 % reached at the 3rd step
    assert list(w.index) == list(dec.weights.index[[0, 1, 22, 43]])
    np.testing.assert_allclose(w["QQQ"].to_numpy(), [0.0, 0.025, 0.05, 0.075])
    np.testing.assert_allclose(w[CASH].to_numpy(), [0.05, 0.055, 0.03, 0.005], atol=1e-12)
    assert list(dec.log["rule"]) == ["regime", "regime", "ramp", "ramp"]


def test_periodic_rebalance_rows():
    ra = RegimeAllocation(RegimeParams(rebalance_every_bars=3))
    w = ra.decide(_ctx([0.0] * 7, [0.0] * 7)).weights
    assert list(np.flatnonzero(w.notna().all(axis=1))) == [0, 3, 6]


def test_param_validation_and_toml_round_trip():
    with pytest.raises(ValueError, match="sum to 0.500000, not 1"):
        RegimeParams(scenarios=(Scenario("a", 0.5, {"VOO": 1.0}),), default="a")
    with pytest.raises(ValueError, match="not a scenario"):
        RegimeParams(default="zzz")
    with pytest.raises(ValueError, match="ramp"):
        RegimeParams(scenarios=(Scenario("a", 1.0, {"VOO": 0.99},
                                         ramp=Ramp("QQQ", step=0.02, max_weight=0.05)),),
                     default="a")  # a 5 % ramp cannot come out of 1 % cash
    p = TypeAdapter(RegimeParams).validate_python({
        "default": "calm",
        "scenarios": [{"name": "calm", "probability": 0.7, "weights": {"VOO": 0.9}},
                      {"name": "storm", "probability": 0.3, "weights": {"VOO": 0.4},
                       "ramp": {"asset": "QQQ", "step": 0.1, "max_weight": 0.2}}],
        "rules": [{"scenario": "storm",
                   "conditions": [{"signal": "breadth", "op": "<=", "threshold": 0.0}]}],
    })
    ra = RegimeAllocation(p)
    assert ra.scenario_weights("storm")["QQQ"] == pytest.approx(0.2)
    assert ra.static_weights()[CASH] == pytest.approx(0.1)


def test_scenario_variants_hold_each_scenarios_allocation():
    from engine.simulation import simulate

    rng = np.random.default_rng(4)
    d = pd.bdate_range("2023-01-02", periods=120)
    px = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.01, (120, len(TICKERS))), 0)),
                      index=d, columns=TICKERS).assign(CASH=1.0)
    ra = RegimeAllocation()
    variants = ra.scenario_variants(Context(px), rebalance_every_bars=21)
    for name, w in variants.items():
        check_weights(w)
        want = ra.scenario_weights(name).reindex(w.columns, fill_value=0.0)
        np.testing.assert_allclose(w.dropna().iloc[0].to_numpy(), want.to_numpy(), atol=1e-12)
    res = simulate(px, variants, keep_orders=False, keep_portfolio=False)
    total = res.equity.iloc[-1] / res.equity.iloc[0] - 1.0
    # Independent: each scenario's path from the plain NumPy target-percent loop (no fees).
    oracle = {}
    for name, w in variants.items():
        w = w.dropna(how="all")  # all-NaN rows mean "no rebalance"
        cols = list(w.columns)
        eq = numpy_target_percent(px[cols].to_numpy(), px.index.get_indexer(w.index),
                                  w.to_numpy(np.float64), 1.0, 1)
        oracle[name] = eq[-1] / eq[0] - 1.0
    np.testing.assert_allclose(total[list(oracle)].to_numpy(), list(oracle.values()),
                               rtol=1e-9)
    assert len({round(v, 6) for v in oracle.values()}) == 3  # three different allocations
    # the bear scenario holds 20 % cash, so its equity moves less than the others
    rets = res.returns.iloc[2:]
    assert rets["bear"].std() < rets["base"].std()


def test_example_config_validates():
    from pathlib import Path

    from engine.app.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "regime.toml"
    cfg = load_config(path)
    assert cfg.strategy_kind == "regime"
