"""Market flow timing: rule logic on hand-made signals, and a run on the real bundled KRX
series 2005-2026 (valid weights, no look-ahead, simulates; performance is reported, not
asserted)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

from strategies.base import CASH, Context, Decisions, check_weights
from strategies.market_flow_timing import MarketFlowTiming, MarketFlowTimingParams


def _ctx(kospi: list[float], kosdaq: list[float]) -> Context:
    d = pd.bdate_range("2024-01-01", periods=len(kospi))
    px = pd.DataFrame({"KOSPI": 2500.0, "KOSDAQ": 800.0, CASH: 1.0}, index=d)
    return Context(px, {"krx_flow": pd.DataFrame({"KOSPI": kospi, "KOSDAQ": kosdaq}, index=d)})


def _held(dec: Decisions) -> list[str]:
    w = dec.weights.dropna()
    return [w.columns[int(np.argmax(r))] for r in w.to_numpy()]


def test_best_market_above_threshold_else_cash():
    p = MarketFlowTimingParams(enter_threshold=1.0, exit_threshold=1.0, rebalance_every_bars=1)
    dec = MarketFlowTiming(p).decide(_ctx([2.0, 0.5, 0.0, np.nan, 3.0],
                                          [2.0, 0.8, 1.5, np.nan, 2.0]))
    check_weights(dec.weights)
    assert dec.weights.iloc[3].isna().all()  # no signal at all: no rebalance
    # a tie goes to the first market; a held market below exit_threshold is sold
    assert _held(dec) == ["KOSPI", CASH, "KOSDAQ", "KOSPI"]
    assert list(dec.log["action"]) == ["hold KOSPI", "hold CASH", "hold KOSDAQ", "hold KOSPI"]


def test_hysteresis_keeps_the_held_market():
    p = MarketFlowTimingParams(enter_threshold=1.0, exit_threshold=0.0, switch_margin=0.5,
                               rebalance_every_bars=1)
    # KOSPI entered at 2.0, sags to 0.2 (above exit): kept; KOSDAQ 0.6 better by only 0.4: kept;
    # KOSDAQ 1.5 better by 1.3: switch; KOSDAQ -0.1 below exit and KOSPI below enter: cash
    dec = MarketFlowTiming(p).decide(_ctx([2.0, 0.2, 0.2, 0.2, 0.9], [0.0, 0.0, 0.6, 1.5, -0.1]))
    assert _held(dec) == ["KOSPI", "KOSPI", "KOSPI", "KOSDAQ", CASH]


def test_invest_weight_and_schedule():
    p = MarketFlowTimingParams(invest_weight=0.6, rebalance_every_bars=2)
    w = MarketFlowTiming(p).decide(_ctx([1.0] * 5, [0.0] * 5)).weights
    assert list(np.flatnonzero(w.notna().all(axis=1))) == [0, 2, 4]
    np.testing.assert_allclose(w.dropna()[["KOSPI", CASH]].to_numpy(), [[0.6, 0.4]] * 3)
    assert MarketFlowTiming(p).static_weights().to_dict() == {"KOSPI": 0.6, CASH: 0.4}


def test_param_checks():
    with pytest.raises(ValueError, match="exit_threshold"):
        MarketFlowTimingParams(enter_threshold=0.0, exit_threshold=1.0)
    with pytest.raises(KeyError, match="no columns"):
        MarketFlowTiming(MarketFlowTimingParams(markets=("KOSPI", "KOSDAQ"))).decide(
            Context(_ctx([1.0], [1.0]).prices,
                    {"krx_flow": pd.DataFrame({"KOSPI": [1.0]}, index=_ctx([1.0], [1.0]).dates)}))


# ------------------------------------------------------------------ real KRX 2005-2026
REAL_PARAMS = MarketFlowTimingParams(signal="krx_flow", enter_threshold=0.0, exit_threshold=-0.5,
                                     switch_margin=0.25, rebalance_every_bars=5)


@cache
def _real():
    from datasets import load_krx_market
    from engine.app.inputs import INPUTS

    m = load_krx_market()
    sig = INPUTS["krx_market_flow_bp"](m, investor=["foreign", "institution"], window_bars=20,
                                       zscore_window_bars=250)
    ctx = Context(m.prices, {"krx_flow": sig})
    return ctx, MarketFlowTiming(REAL_PARAMS).decide(ctx)


def test_real_krx_2005_2026_valid_and_causal():
    ctx, dec = _real()
    assert ctx.dates[0] == pd.Timestamp("2005-01-03") and ctx.dates[-1].year == 2026
    w = check_weights(dec.weights)
    live = w.dropna()
    assert len(live) > 800  # one decision a week once the z-score has a year of history
    held = live[["KOSPI", "KOSDAQ", CASH]].idxmax(axis=1).value_counts()
    assert set(held.index) == {"KOSPI", "KOSDAQ", CASH}  # it uses all three states
    for t in (300, 1777, 4000, len(ctx.dates) - 2):
        d = ctx.dates[t]
        cut = MarketFlowTiming(REAL_PARAMS).decide(ctx.upto(d))
        pd.testing.assert_frame_equal(cut.weights, dec.weights.loc[:d], check_freq=False)


def test_real_krx_simulates():
    from engine.simulation import simulate

    ctx, dec = _real()
    bench = pd.DataFrame({"KOSPI": [1.0], CASH: [0.0]}, index=ctx.dates[:1])
    res = simulate(ctx.prices, {"timing": dec.weights, "kospi": bench}, fee_rate=0.00015,
                   slippage_rate=0.0005, keep_orders=False, keep_portfolio=False)
    eq = res.equity
    assert eq.notna().all().all() and (eq > 0).all().all()
    # buy and hold KOSPI follows the index exactly (no fee beyond the first buy's)
    k = ctx.prices["KOSPI"]
    np.testing.assert_allclose(eq["kospi"].iloc[-1] / eq["kospi"].iloc[1],
                               k.iloc[-1] / k.iloc[1], rtol=2e-3)


def test_example_config_validates():
    from pathlib import Path

    from engine.app.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "market_flow_timing.toml"
    cfg = load_config(path)
    assert cfg.strategy_kind == "market_flow_timing"
