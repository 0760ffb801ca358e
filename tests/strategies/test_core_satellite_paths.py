"""The fast decision path equals CoreSatellite.decide: weights and log, exactly."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from engine.app.config import load_config
from strategies.base import Context
from strategies.core_satellite import CoreSatellite
from strategies.core_satellite_paths import decide_paths
from strategies.triggers import Action
from tests.conftest import ROOT

COLS = ["RSP", "VOO", "VXUS", "XLI", "XLF", "MDY", "XLP", "VUG", "IWM", "XLK", "CASH"]


@pytest.fixture(scope="module")
def paths():
    rng = np.random.default_rng(0)
    r = rng.normal(0.0002, 0.015, (30, 260, len(COLS)))
    r[:, :, -1] = 0.0001
    r[:, 0] = 0
    return 100 * np.cumprod(1 + r, axis=1), pd.bdate_range("2024-01-02", periods=260)


@pytest.mark.parametrize("band,rearm,rebalance", [(0.0, False, "monthly"), (0.02, False, "none"),
                                                  (0.01, True, "quarterly")])
def test_decide_paths_equals_decide(paths, band, rearm, rebalance):
    px, dates = paths
    params = load_config(ROOT / "examples" / "core_satellite.toml").strategy_params
    trig = tuple(dataclasses.replace(t, rearm=rearm) for t in params.triggers)
    p = dataclasses.replace(params, drift_band=band, triggers=trig, rebalance=rebalance)
    fast = decide_paths(p, px, COLS, dates)
    n_events = fast.n_events()
    for i in range(len(px)):
        ref = CoreSatellite(p).decide(Context(pd.DataFrame(px[i], index=dates, columns=COLS)))
        got = fast.frames(i)
        pd.testing.assert_frame_equal(got.weights, ref.weights, check_exact=True)
        pd.testing.assert_frame_equal(got.log, ref.log)
        assert n_events[i] == len(ref.log)


def test_shared_cache_across_variants_with_other_thresholds_and_actions(paths):
    """A sweep chunk shares one cache: variants that differ in thresholds or actions still
    get exactly their own decisions."""
    px, dates = paths
    base = load_config(ROOT / "examples" / "core_satellite.toml").strategy_params
    cache: dict = {}
    variants = []
    for thr in (-0.03, -0.08):
        for target in (0.15, 0.25):
            t1 = dataclasses.replace(base.triggers[1], condition=dataclasses.replace(
                base.triggers[1].condition, threshold=thr),
                action=Action("set_weight", target, asset="VUG"))
            variants.append(dataclasses.replace(base, triggers=(base.triggers[0], t1,
                                                                base.triggers[2])))
    for p in variants:
        fast = decide_paths(p, px[:5], COLS, dates, cache=cache)
        for i in range(5):
            ref = CoreSatellite(p).decide(Context(pd.DataFrame(px[i], index=dates,
                                                               columns=COLS)))
            pd.testing.assert_frame_equal(fast.weights(i), ref.weights, check_exact=True)


def test_signal_conditions_are_refused(paths):
    px, dates = paths
    base = load_config(ROOT / "examples" / "core_satellite.toml").strategy_params
    t = dataclasses.replace(base.triggers[0], condition=dataclasses.replace(
        base.triggers[0].condition, on="signal", name="flow"))
    with pytest.raises(ValueError, match="signal conditions"):
        decide_paths(dataclasses.replace(base, triggers=(t,)), px, COLS, dates)


def test_path_measures_move_a_nan_anchor_like_the_backtest():
    """The fast path and condition_measure share one definition: with a NaN price on the
    anchor session, both anchor at the first session with a value (issue #10 item 6)."""
    import numpy as np
    import pandas as pd

    from strategies.base import Context
    from strategies.core_satellite_paths import measures
    from strategies.triggers import Condition, condition_measure

    d = pd.bdate_range("2024-01-01", periods=6)
    a = np.array([np.nan, 100.0, 104.0, 95.0, 99.0, 112.0])
    b = np.array([50.0, 51.0, np.nan, 48.0, 56.0, 45.0])
    for measure, thr in (("return_since_anchor", 0.1), ("drawdown", -0.05)):
        c = Condition(on="asset", name="A", measure=measure, op=">=" if thr > 0 else "<=",
                      threshold=thr)
        fast = measures(c, np.column_stack([a, b]), d)
        for j, x in enumerate((a, b)):
            ctx = Context(pd.DataFrame({"A": x, "CASH": 1.0}, index=d))
            np.testing.assert_array_equal(fast[:, j], condition_measure(c, ctx).to_numpy())
        # column 0 is anchored on 2024-01-02 (its first value), not left NaN for ever
        assert np.isfinite(fast[1:, 0]).all()


def test_anchor_moved_notes_are_in_the_fast_log_as_in_decide(paths):
    """A NaN on the anchor session: decide() logs an "anchor moved" row; the fast path's log
    and event count must carry the same row (the sweep's n_trigger_events counts it)."""
    px, dates = paths
    px = px.copy()
    j = COLS.index("XLK")  # read by the drawdown trigger only, never held
    px[::2, 0, j] = np.nan  # anchor moves to the second session
    px[1::4, :3, j] = np.nan  # ... to the fourth
    p = load_config(ROOT / "examples" / "core_satellite.toml").strategy_params
    fast = decide_paths(p, px, COLS, dates)
    n_events = fast.n_events()
    moved = 0
    for i in range(len(px)):
        ref = CoreSatellite(p).decide(Context(pd.DataFrame(px[i], index=dates, columns=COLS)))
        got = fast.frames(i)
        pd.testing.assert_frame_equal(got.log, ref.log)
        assert n_events[i] == len(ref.log)
        moved += int((ref.log["action"] == "anchor moved").sum())
    assert moved == 23  # 15 paths with day 0 missing + 8 with days 0..2 missing
