"""Flow rotation: ranking, sleeve arithmetic, schedule and edge cases on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.base import CASH, Context, check_weights
from strategies.flow_rotation import FlowRotation, FlowRotationParams

DATES = pd.bdate_range("2024-01-01", periods=6)
ETFS = ["XLK", "XLF", "XLE", "XLU"]


def _ctx(signal: np.ndarray) -> Context:
    px = pd.DataFrame(100.0, index=DATES, columns=[*ETFS, "VOO", CASH])
    return Context(px, {"flow": pd.DataFrame(signal, index=DATES, columns=ETFS)})


SIG = np.array([
    [np.nan, np.nan, np.nan, np.nan],
    [1.0, np.nan, np.nan, np.nan],      # only one finite value: skipped for top_k = 2
    [3.0, 1.0, 2.0, 0.0],
    [0.0, 5.0, 1.0, 2.0],
    [1.0, 1.0, 1.0, 1.0],               # all tied: universe order
    [-1.0, -2.0, -3.0, np.nan],
])


def test_full_tilt_puts_the_sleeve_in_the_top_k():
    p = FlowRotationParams(signal="flow", universe=tuple(ETFS), top_k=2, tilt=1.0,
                           sleeve_weight=0.8, core={"VOO": 0.15}, rebalance_every_bars=1)
    dec = FlowRotation(p).decide(_ctx(SIG))
    w = check_weights(dec.weights)
    assert w.iloc[:2].isna().all().all()  # no decision without k finite signals
    np.testing.assert_allclose(w.loc[DATES[2], ETFS].to_numpy(), [0.4, 0.0, 0.4, 0.0])
    np.testing.assert_allclose(w.loc[DATES[3], ETFS].to_numpy(), [0.0, 0.4, 0.0, 0.4])
    np.testing.assert_allclose(w.loc[DATES[4], ETFS].to_numpy(), [0.4, 0.4, 0.0, 0.0])
    np.testing.assert_allclose(w.loc[DATES[5], ETFS].to_numpy(), [0.4, 0.4, 0.0, 0.0])
    np.testing.assert_allclose(w.loc[DATES[2:], "VOO"].to_numpy(), 0.15)
    np.testing.assert_allclose(w.loc[DATES[2:], CASH].to_numpy(), 0.05, atol=1e-12)
    # the log records changes of the top set only (bars 4 and 5 both pick XLK+XLF)
    assert list(dec.log["action"]) == ["overweight XLK+XLE", "overweight XLF+XLU",
                                       "overweight XLK+XLF"]


def test_partial_tilt_and_static_benchmark():
    p = FlowRotationParams(signal="flow", universe=tuple(ETFS), top_k=1, tilt=0.5,
                           sleeve_weight=1.0, rebalance_every_bars=1)
    s = FlowRotation(p)
    w = s.decide(_ctx(SIG)).weights.loc[DATES[2]]
    # equal half 0.125 each + the top one gets another 0.5
    np.testing.assert_allclose(w[ETFS].to_numpy(), [0.625, 0.125, 0.125, 0.125])
    static = s.static_weights()
    np.testing.assert_allclose(static[ETFS].to_numpy(), 0.25)
    assert static[CASH] == pytest.approx(0.0, abs=1e-12)
    bench = FlowRotation(FlowRotationParams(signal="flow", universe=tuple(ETFS), tilt=0.0,
                                            top_k=1, rebalance_every_bars=1))
    bw = bench.decide(_ctx(SIG)).weights.dropna()
    np.testing.assert_allclose(bw[ETFS].to_numpy(), 0.25)


def test_rebalance_schedule_counts_bars_from_the_start():
    sig = np.arange(24.0).reshape(6, 4)
    p = FlowRotationParams(signal="flow", universe=tuple(ETFS), top_k=1, rebalance_every_bars=2)
    w = FlowRotation(p).decide(_ctx(sig)).weights
    assert list(w.dropna().index) == [DATES[0], DATES[2], DATES[4]]


def test_universe_defaults_to_priced_signal_columns():
    px = pd.DataFrame(1.0, index=DATES, columns=["XLK", "XLF", CASH])
    sig = pd.DataFrame(np.arange(18.0).reshape(6, 3), index=DATES, columns=["XLK", "XLF", "ZZZ"])
    w = FlowRotation(FlowRotationParams(signal="flow", top_k=1, rebalance_every_bars=1)).decide(
        Context(px, {"flow": sig})).weights
    assert list(w.columns) == ["XLK", "XLF", CASH]
    assert (w["XLF"] == 1.0).all()


def test_bad_params_and_missing_inputs():
    with pytest.raises(ValueError, match="tilt"):
        FlowRotationParams(tilt=1.5)
    with pytest.raises(ValueError, match="sum"):
        FlowRotationParams(sleeve_weight=0.9, core={"VOO": 0.2})
    with pytest.raises(ValueError, match="top_k"):
        FlowRotationParams(universe=("A",), top_k=2)
    with pytest.raises(KeyError, match="not in the context"):
        FlowRotation(FlowRotationParams(signal="nope", universe=tuple(ETFS))).decide(_ctx(SIG))
    with pytest.raises(KeyError, match="no prices"):
        FlowRotation(FlowRotationParams(signal="flow", universe=("QQQ",), top_k=1)).decide(
            _ctx(SIG))


def test_params_validate_from_toml_like_dict():
    from pydantic import TypeAdapter

    p = TypeAdapter(FlowRotationParams).validate_python(
        {"signal": "flow", "universe": ["XLK", "XLF"], "top_k": 1, "core": {"VOO": 0.2},
         "sleeve_weight": 0.7})
    assert p.universe == ("XLK", "XLF") and p.core == {"VOO": 0.2}


def test_example_config_validates():
    from pathlib import Path

    from engine.app.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "flow_rotation_synthetic.toml"
    cfg = load_config(path)
    assert cfg.strategy_kind == "flow_rotation"
