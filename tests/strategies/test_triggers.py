"""Triggers: condition measures (causal), latch / re-arm, and the pure weight actions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import datasets
from engine.market import CASH
from strategies.base import Context
from strategies.triggers import (
    Action,
    Condition,
    apply_action,
    condition_measure,
    evaluate_condition,
    fire_dates,
)

DATES = pd.date_range("2024-01-01", periods=6, freq="D")
PX = pd.DataFrame({"A": [100.0, 110.0, 104.5, 99.0, 120.0, 90.0], CASH: 1.0}, index=DATES)


@pytest.fixture(scope="module")
def real_ctx() -> Context:
    prices = datasets.load_us_market(start="2011-02-01", end="2013-12-31").prices
    sig = pd.DataFrame({"rs": prices["IWM"] / prices["VOO"]}, index=prices.index)
    return Context(prices, signals={"iwm_vs_voo": sig, "plain": sig["rs"]})


def test_measures_on_a_hand_computed_path():
    ctx = Context(PX)
    since = Condition("asset", "A", "return_since_anchor", ">=", 0.1)
    dd = Condition("asset", "A", "drawdown", "<=", -0.05)
    win = Condition("asset", "A", "return_window", "<=", -0.09, window_bars=2)
    np.testing.assert_allclose(condition_measure(since, ctx), [0, .1, .045, -.01, .2, -.1],
                               atol=1e-12)
    np.testing.assert_allclose(condition_measure(dd, ctx),
                               [0, 0, -.05, -.1, 0, -.25], atol=1e-12)
    np.testing.assert_allclose(condition_measure(win, ctx),
                               [np.nan, np.nan, .045, -.1, 120 / 104.5 - 1, 90 / 99 - 1],
                               atol=1e-12)
    assert evaluate_condition(since, ctx).tolist() == [False, True, False, False, True, False]
    assert evaluate_condition(dd, ctx).tolist() == [False, False, True, True, False, True]
    # NaN window warm-up is False, not True.
    assert evaluate_condition(win, ctx).tolist() == [False, False, False, True, False, True]


def test_anchor_date_and_drawdown_peak_start_at_the_anchor():
    ctx = Context(PX)
    since = Condition("asset", "A", "return_since_anchor", "<=", -0.1, anchor="2024-01-03")
    m = condition_measure(since, ctx)
    assert m.iloc[:2].isna().all()  # before the anchor: undefined, hence False
    np.testing.assert_allclose(m.iloc[2:], [0.0, 99 / 104.5 - 1, 120 / 104.5 - 1,
                                            90 / 104.5 - 1], atol=1e-12)
    dd = Condition("asset", "A", "drawdown", "<=", -0.05, anchor="2024-01-03")
    np.testing.assert_allclose(condition_measure(dd, ctx).iloc[2:], [0, 99 / 104.5 - 1, 0, -.25],
                               atol=1e-12)


def test_signal_conditions_read_a_column_or_a_series(real_ctx):
    c1 = Condition("signal", "iwm_vs_voo:rs", "value", ">=", 0.85)
    c2 = Condition("signal", "plain", "value", ">=", 0.85)
    expect = (real_ctx.prices["IWM"] / real_ctx.prices["VOO"] >= 0.85).to_numpy()
    assert evaluate_condition(c1, real_ctx).to_numpy().tolist() == expect.tolist()
    assert evaluate_condition(c2, real_ctx).to_numpy().tolist() == expect.tolist()
    with pytest.raises(KeyError, match="not in the context"):
        evaluate_condition(Condition("signal", "nope", "value", ">=", 0), real_ctx)
    with pytest.raises(KeyError, match="not in the prices"):
        evaluate_condition(Condition("asset", "ZZZ", "value", ">=", 0), real_ctx)


@given(st.integers(min_value=5, max_value=700), st.sampled_from(
    ["return_since_anchor", "drawdown", "return_window", "value"]))
def test_condition_measure_is_prefix_invariant(real_ctx, t, measure):
    cond = Condition("asset", "XLK", measure, "<=", -0.05, window_bars=10)
    date = real_ctx.dates[t]
    full = condition_measure(cond, real_ctx).loc[:date]
    cut = condition_measure(cond, real_ctx.upto(date))
    pd.testing.assert_series_equal(cut, full, check_names=False, check_freq=False, rtol=0,
                                   atol=0)


def test_fire_dates_latch_and_rearm():
    hit = pd.Series([False, True, True, False, True, False, True], index=pd.date_range(
        "2024-01-01", periods=7))
    assert list(fire_dates(hit, rearm=False)) == [hit.index[1]]
    assert list(fire_dates(hit, rearm=True)) == list(hit.index[[1, 4, 6]])
    assert len(fire_dates(hit & False, rearm=True)) == 0


W = pd.Series({"A": 0.5, "B": 0.3, "C": 0.15, CASH: 0.05})
SLEEVES = {"core": ["A", "B"], "sat": ["C"], "cash": [CASH]}


def test_set_weight_funding_rules():
    pro = apply_action(W, SLEEVES, Action("set_weight", 0.10, asset="D"))
    np.testing.assert_allclose(pro[["A", "B", "C", CASH]], W * 0.9, atol=1e-12)
    assert pro["D"] == pytest.approx(0.10)
    cash = apply_action(W, SLEEVES, Action("set_weight", 0.05, asset="D", funding="cash"))
    np.testing.assert_allclose(cash[["A", "B", "C", CASH, "D"]], [.5, .3, .15, 0, .05],
                               atol=1e-12)
    sl = apply_action(W, SLEEVES, Action("set_weight", 0.30, asset="C", funding="sleeve:core"))
    np.testing.assert_allclose(sl[["A", "B", "C", CASH]], [.5 * .8125, .3 * .8125, .3, .05],
                               atol=1e-12)


def test_cash_shortfall_falls_back_to_pro_rata_from_the_rest():
    out = apply_action(W, SLEEVES, Action("set_weight", 0.25, asset="D", funding="cash"))
    # 0.05 from cash, the remaining 0.20 pro rata from A, B, C (total 0.95).
    np.testing.assert_allclose(out[["A", "B", "C", CASH, "D"]],
                               [.5 * (1 - .2 / .95), .3 * (1 - .2 / .95), .15 * (1 - .2 / .95),
                                0, .25], atol=1e-12)


def test_scale_sleeve_and_to_cash_and_lowering():
    up = apply_action(W, SLEEVES, Action("scale_sleeve", 0.9, sleeve="core"))
    np.testing.assert_allclose(up[["A", "B"]], [0.9 * .5 / .8, 0.9 * .3 / .8], atol=1e-12)
    np.testing.assert_allclose(up[["C", CASH]], [.15 * .5, .05 * .5], atol=1e-12)
    down = apply_action(W, SLEEVES, Action("scale_sleeve", 0.4, sleeve="core", funding="cash"))
    np.testing.assert_allclose(down[["A", "B", "C", CASH]], [.25, .15, .15, .45], atol=1e-12)
    tc = apply_action(W, SLEEVES, Action("to_cash", 0.2))
    assert tc[CASH] == pytest.approx(0.2)
    np.testing.assert_allclose(tc[["A", "B", "C"]], W[["A", "B", "C"]] * 0.8 / 0.95, atol=1e-12)
    # Input not mutated.
    assert W.tolist() == [0.5, 0.3, 0.15, 0.05]


def test_bad_actions_are_rejected():
    with pytest.raises(ValueError, match="fraction"):
        Action("set_weight", 1.5, asset="A")
    with pytest.raises(ValueError, match="needs an asset"):
        Action("set_weight", 0.1)
    with pytest.raises(ValueError, match="funding"):
        Action("to_cash", 0.1, funding="elsewhere")
    with pytest.raises(KeyError, match="sleeve"):
        apply_action(W, SLEEVES, Action("scale_sleeve", 0.5, sleeve="nope"))


@given(
    st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4).filter(lambda x: sum(x) > 1e-3),
    st.sampled_from(["set_weight", "scale_sleeve", "to_cash"]),
    st.floats(0.0, 1.0),
    st.sampled_from(["pro_rata", "cash", "sleeve:core", "sleeve:sat"]),
)
def test_actions_keep_a_valid_allocation(raw, kind, target, funding):
    w = pd.Series(np.asarray(raw) / sum(raw), index=["A", "B", "C", CASH])
    act = Action(kind, target, asset="C" if kind == "set_weight" else None,
                 sleeve="core" if kind == "scale_sleeve" else None, funding=funding)
    out = apply_action(w, SLEEVES, act)
    assert (out >= 0).all()
    assert out.sum() == pytest.approx(1.0, abs=1e-12)
    got = {"set_weight": out["C"], "scale_sleeve": out[["A", "B"]].sum(),
           "to_cash": out[CASH]}[kind]
    assert got == pytest.approx(target, abs=1e-9)


def test_bad_conditions_are_rejected_with_the_field():
    """window_bars < 1, a NaN / infinite threshold (never fires) and a non-ISO anchor fail at
    construction, naming the field (engine.app.config turns it into the full key path)."""
    from strategies.triggers import ParamError

    bad = [
        ({"window_bars": 0}, "window_bars", 0),
        ({"window_bars": -3}, "window_bars", -3),
        ({"threshold": float("nan")}, "threshold", float("nan")),
        ({"threshold": float("-inf")}, "threshold", float("-inf")),
        ({"anchor": "garbage"}, "anchor", "garbage"),
        ({"anchor": "2024-W01-1"}, "anchor", "2024-W01-1"),
    ]
    for kwargs, field, value in bad:
        args = {"on": "asset", "name": "A", "measure": "return_window", "op": "<=",
                "threshold": -0.05, **kwargs}
        with pytest.raises(ParamError) as exc:
            Condition(**args)
        assert exc.value.field == field
        assert repr(value) in str(exc.value)
    ok = Condition("asset", "A", "return_since_anchor", ">=", 0.1, anchor="2024-01-03")
    np.testing.assert_allclose(condition_measure(ok, Context(PX)),
                               [np.nan, np.nan, 0.0, 99 / 104.5 - 1, 120 / 104.5 - 1,
                                90 / 104.5 - 1], atol=1e-12)


def test_action_sleeve_references_and_fields():
    from strategies.triggers import ParamError

    with pytest.raises(ParamError) as exc:
        Action("set_weight", 0.1, asset="A", funding="sleeve:")
    assert exc.value.field == "funding"
    assert Action("scale_sleeve", 0.5, sleeve="core", funding="sleeve:sat").sleeves_used == {
        "sleeve": "core", "funding": "sat"}
    assert Action("to_cash", 0.1).sleeves_used == {}
