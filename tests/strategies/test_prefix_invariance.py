"""No look-ahead, for every strategy of ``strategies.REGISTRY`` (flowbt issue item 4).

For every kind and every t (hypothesis): ``decide(ctx.upto(t))`` equals ``decide(ctx)`` cut at
t -- weights and log alike. The context is one seeded market holding every ticker the default
parameters use, with signals that make every strategy change its mind several times (a test
that never decides anything would prove nothing: ``test_cases_exercise_decisions`` checks).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import strategies
from engine.app.inputs import period_total
from strategies.base import CASH, Context, check_weights

N_BARS = 320
US = ["SPY", "VOO", "IVV", "RSP", "QQQ", "IWM", "IJR", "IJH", "VUG", "VTI", "VXUS", "MDY",
      "XLK", "XLF", "XLE", "XLB", "XLI", "XLP", "XLU", "XLV", "XLY"]
SECTORS = ["XLK", "XLF", "XLE", "XLB", "XLI", "XLP", "XLU", "XLV", "XLY"]


def make_context(seed: int = 7, n_bars: int = N_BARS) -> Context:
    """Seeded prices (random walks; IWM with a planted crash and recovery) and signals."""
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2021-01-04", periods=n_bars)
    tick = US + ["KOSPI", "KOSDAQ"]
    px = pd.DataFrame(100 * np.exp(np.cumsum(rng.normal(0, 0.012, (n_bars, len(tick))), 0)),
                      index=dates, columns=tick)
    # IWM: up 10 %, crash 35 %, recover 40 %, drift -- so the small-cap cycle has a recovery
    shape = np.interp(np.arange(n_bars), [0, 40, 90, 170, n_bars - 1], [0, 0.10, -0.35, 0.05, 0.1])
    px["IWM"] = 100 * np.exp(shape + np.cumsum(rng.normal(0, 0.005, n_bars)))
    px[CASH] = np.cumprod(np.full(n_bars, 1.0001))
    sector = pd.DataFrame(rng.normal(size=(n_bars, len(SECTORS))), index=dates, columns=SECTORS)
    sector.iloc[:15] = np.nan  # warm-up of a z-score
    krx = pd.DataFrame(rng.normal(size=(n_bars, 2)), index=dates, columns=["KOSPI", "KOSDAQ"])
    risk = pd.Series(np.sin(np.arange(n_bars) / 9.0) * 2 + rng.normal(0, 0.3, n_bars),
                     index=dates, name="risk")
    daily = pd.DataFrame(rng.normal(0.2e8, 1e9, (n_bars, 5)), index=dates,
                         columns=["RSP", "SPY", "VOO", "IVV", "QQQ"])
    daily["QQQ"] = rng.normal(-0.25e9, 0.4e9, n_bars)
    return Context(prices=px, signals={
        "sector_flow": sector,
        "krx_flow": krx,
        "risk": risk,
        "etf_flow_weekly": period_total(daily, dates, "W"),
        "etf_flow_monthly": period_total(daily, dates, "M"),
    }, flows=daily)


def _core_satellite_params(ParamsClass):
    from strategies.flow_warnings import DEFAULT_SLEEVES
    from strategies.triggers import Action, Condition, Trigger

    trig = (
        Trigger("iwm_up", Condition("asset", "IWM", "return_since_anchor", ">=", 0.05),
                Action("set_weight", 0.05, asset="IWM", funding="cash")),
        Trigger("xlk_dd", Condition("asset", "XLK", "drawdown", "<=", -0.05),
                Action("set_weight", 0.15, asset="VUG", funding="pro_rata"), rearm=True),
        Trigger("risk_off", Condition("signal", "risk", "value", "<=", -1.5),
                Action("to_cash", 0.2), rearm=True),
    )
    return ParamsClass(sleeves=DEFAULT_SLEEVES, rebalance="monthly", drift_band=0.03,
                       triggers=trig)


def _regime_params(ParamsClass):
    from strategies.regime import RegimeRule, SignalCondition

    return ParamsClass(rules=(RegimeRule("bear", (SignalCondition("risk", "<=", -1.5),)),
                              RegimeRule("bull", (SignalCondition("risk", ">=", 1.2),))),
                       rebalance_every_bars=30)


#: kind -> params factory (ParamsClass -> params). Every REGISTRY kind must have one.
CASES = {
    "static": _core_satellite_params,
    "core_satellite": _core_satellite_params,
    "flow_warnings": lambda P: P(),
    "regime": _regime_params,
    "flow_rotation": lambda P: P(signal="sector_flow", top_k=3, tilt=0.6, sleeve_weight=0.8,
                                 core={"VOO": 0.15}, rebalance_every_bars=5),
    "market_flow_timing": lambda P: P(signal="krx_flow", enter_threshold=0.5,
                                      exit_threshold=-0.2, switch_margin=0.3,
                                      rebalance_every_bars=3),
    "small_cap_cycle": lambda P: P(early_hold_bars=60, rotate_signal="risk",
                                   rotate_op=">=", rotate_threshold=2.3),
}


@cache
def _strategy(kind: str):
    ParamsClass, StrategyClass = strategies.get(kind)
    return StrategyClass(CASES[kind](ParamsClass))


@cache
def _full(kind: str):
    return _strategy(kind).decide(make_context())


def test_every_registered_strategy_has_a_case():
    assert set(CASES) == set(strategies.REGISTRY)


@pytest.mark.parametrize("kind", sorted(CASES))
def test_cases_exercise_decisions(kind):
    dec = _full(kind)
    check_weights(dec.weights)
    live = dec.weights.dropna(how="all")
    # several distinct allocations: the strategy reacted to data, so truncation can bite
    distinct = live.round(10).drop_duplicates()
    assert len(distinct) >= 2, f"{kind} never changed its allocation on the test market"


def _log_upto(log: pd.DataFrame, t) -> pd.DataFrame:
    return log[pd.to_datetime(log["date"]) <= t].reset_index(drop=True)


@pytest.mark.parametrize("kind", sorted(CASES))
@given(t=st.integers(min_value=0, max_value=N_BARS - 1))
def test_decisions_do_not_change_when_data_is_appended(kind, t):
    ctx = make_context()
    date = ctx.dates[t]
    full = _full(kind)
    cut = _strategy(kind).decide(ctx.upto(date))
    pd.testing.assert_frame_equal(cut.weights, full.weights.loc[:date], check_freq=False,
                                  rtol=0, atol=1e-12)
    a, b = cut.log.reset_index(drop=True), _log_upto(full.log, date)
    assert len(a) == len(b)
    if len(a):
        pd.testing.assert_frame_equal(a, b, check_dtype=False)
