"""Small-cap cycle: IWM early in a recovery, IJR after the hold period or a signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from strategies.base import CASH, Context, check_weights
from strategies.small_cap_cycle import SmallCapCycle, SmallCapCycleParams

# IWM path: peak 100, -25 % (bear), trough 75, +12 % off the trough (recovery), then flat
PATH = [90, 100, 95, 79, 75, 78, 84, 85, 86, 87, 88, 89, 90]


def _ctx(path=PATH, sig=None) -> Context:
    d = pd.bdate_range("2020-01-01", periods=len(path))
    px = pd.DataFrame({"IWM": path, "IJR": 50.0, "VOO": 300.0, CASH: 1.0}, index=d, dtype=float)
    signals = {} if sig is None else {"breadth": pd.Series(sig, index=d)}
    return Context(px, signals)


def test_phases_and_rotation_after_hold():
    s = SmallCapCycle(SmallCapCycleParams(early_hold_bars=3))
    ph = s.phases(_ctx()).tolist()
    # bear at 79 (-21 %), trough 75, recovery at 84 (+12 %) on bar 6, held 3 bars
    assert ph == ["normal"] * 3 + ["bear"] * 3 + ["early"] * 3 + ["normal"] * 4
    dec = s.decide(_ctx())
    w = check_weights(dec.weights).dropna()
    assert list(np.flatnonzero(dec.weights.notna().all(axis=1))) == [0, 6, 9]
    np.testing.assert_allclose(w[["IWM", "IJR", "VOO", CASH]].to_numpy(),
                               [[0, 0.15, 0.8, 0.05], [0.15, 0, 0.8, 0.05],
                                [0, 0.15, 0.8, 0.05]], atol=1e-12)
    assert list(dec.log["action"]) == ["sleeve -> IJR", "sleeve -> IWM", "sleeve -> IJR"]


def test_signal_ends_the_early_phase_sooner():
    sig = [0.0] * 7 + [1.0] + [0.0] * 5
    s = SmallCapCycle(SmallCapCycleParams(early_hold_bars=100, rotate_signal="breadth",
                                          rotate_op=">=", rotate_threshold=0.5))
    ph = s.phases(_ctx(sig=sig)).tolist()
    assert ph[6] == "early" and ph[7] == "normal"


def test_no_bear_means_always_late_asset():
    s = SmallCapCycle(SmallCapCycleParams())
    w = s.decide(_ctx(path=list(range(100, 113)))).weights.dropna()
    assert len(w) == 1 and w["IJR"].iloc[0] == pytest.approx(0.15)
    assert s.static_weights()["IJR"] == pytest.approx(0.15)


def test_param_checks():
    with pytest.raises(ValueError, match="bear_drawdown"):
        SmallCapCycleParams(bear_drawdown=1.5)
    with pytest.raises(ValueError, match="sum"):
        SmallCapCycleParams(sleeve_weight=0.3, core={"VOO": 0.8})
    with pytest.raises(KeyError, match="no prices"):
        SmallCapCycle(SmallCapCycleParams(cycle_asset="RUT")).decide(_ctx())


def test_example_config_validates():
    from pathlib import Path

    from engine.app.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "small_cap_cycle.toml"
    cfg = load_config(path)
    assert cfg.strategy_kind == "small_cap_cycle"
