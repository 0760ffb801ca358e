"""Flow warnings: rule logic on hand-made weeks, dating at the week's last session, and the
three README warnings run on the bundled 2026 Q1 ETF flows."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from engine.app.inputs import INPUTS, period_total
from engine.market import EtfData, Market
from strategies.base import CASH, Context, check_weights
from strategies.flow_warnings import (
    DEFAULT_WARNINGS,
    FlowWarning,
    FlowWarnings,
    FlowWarningsParams,
    warning_hits,
)
from strategies.triggers import Action

# exchange_calendars 4.x trips a pandas 3 deprecation warning when it builds a calendar
pytestmark = pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")

ASSETS = ["RSP", "VOO", "VXUS", "XLI", "XLF", "MDY", "XLP", "VUG", "SPY", "IVV", "QQQ"]


def _ctx(daily: pd.DataFrame) -> Context:
    dates = daily.index
    px = pd.DataFrame(100.0, index=dates, columns=[*ASSETS, CASH])
    return Context(px, {"etf_flow_weekly": period_total(daily, dates, "W"),
                        "etf_flow_monthly": period_total(daily, dates, "M")}, flows=daily)


def _weeks(rsp_weekly: list[float], n_weeks: int | None = None) -> pd.DataFrame:
    """Daily flows, one value per day = weekly total / 5, starting Monday 2024-01-01."""
    n = len(rsp_weekly)
    d = pd.bdate_range("2024-01-01", periods=5 * n)
    daily = pd.DataFrame(1.0, index=d, columns=["RSP", "SPY", "VOO", "IVV", "QQQ"])
    daily["RSP"] = np.repeat(np.asarray(rsp_weekly) / 5.0, 5)
    return daily


def test_rsp_two_weeks_in_a_row_fires_on_the_second_friday_and_releases():
    daily = _weeks([-5.0, 5.0, -5.0, -5.0, -5.0, 5.0])
    warn = DEFAULT_WARNINGS[0]
    hits = warning_hits(warn, _ctx(daily))
    # weeks end on Fridays; the rule needs two outflow weeks in a row
    assert list(hits.index.day_name().unique()) == ["Friday"]
    assert hits.tolist() == [False, False, False, True, True, False]
    p = FlowWarningsParams(warnings=(warn,))
    dec = FlowWarnings(p).decide(_ctx(daily))
    w = check_weights(dec.weights)
    fire, release = hits.index[3], hits.index[5]
    assert list(w.dropna().index) == [daily.index[0], fire, release]
    np.testing.assert_allclose(w.loc[fire, "RSP"], 0.15)
    # RSP's freed 10 points go to the rest of the core sleeve (VOO, VXUS) pro rata 20:15
    np.testing.assert_allclose(w.loc[fire, ["VOO", "VXUS"]].to_numpy(),
                               [0.20 + 0.1 * 20 / 35, 0.15 + 0.1 * 15 / 35])
    np.testing.assert_allclose(w.loc[release, "RSP"], 0.25)
    assert list(dec.log["action"]) == ["set_weight RSP 0.15 (funding sleeve:core)", "release"]


def test_an_unknown_week_breaks_the_run():
    """Reviewer's repro: RSP outflow week 1, unknown week 2, outflow week 3 is not "two weeks
    in a row"; weeks 3 and 4 (both known) are."""
    daily = _weeks([-5.0, -5.0, -5.0, -5.0])
    daily.loc["2024-01-10", "RSP"] = np.nan  # week 2's total is unknown
    warn = DEFAULT_WARNINGS[0]
    hits = warning_hits(warn, _ctx(daily))
    assert [str(x.date()) for x in hits.index] == ["2024-01-05", "2024-01-19", "2024-01-26"]
    assert hits.tolist() == [False, False, True]
    # an unknown week for one of several tickers also breaks the run (the row stays: NaN < 0
    # is False)
    two = replace(warn, tickers=("RSP", "SPY"))
    daily["SPY"] = daily["RSP"].fillna(-1.0)
    daily.loc["2024-01-10", "SPY"] = np.nan
    daily.loc["2024-01-10", "RSP"] = -1.0
    hits2 = warning_hits(two, _ctx(daily))
    assert hits2.tolist() == [False, False, False, True]
    # monthly: an unknown February breaks a January-March run
    d = pd.bdate_range("2024-01-01", "2024-03-29")
    m = pd.DataFrame(-1.0, index=d, columns=["RSP", "SPY", "VOO", "IVV", "QQQ"])
    monthly = FlowWarning("m2", "etf_flow_monthly", ("QQQ",), Action("to_cash", 0.15),
                          consecutive_periods=2, period="M")
    assert warning_hits(monthly, _ctx(m)).tolist() == [False, True, True]
    m.loc["2024-02-14", "QQQ"] = np.nan
    hm = warning_hits(monthly, _ctx(m))
    assert [str(x.date()) for x in hm.index] == ["2024-01-31", "2024-03-29"]
    assert hm.tolist() == [False, False]
    with pytest.raises(ValueError, match="period"):
        replace(monthly, period="Q")


def test_a_week_total_is_never_known_before_its_last_session():
    daily = _weeks([-5.0, -5.0, -5.0])
    weekly = period_total(daily, daily.index, "W")
    for d in daily.index:
        cut = period_total(daily.loc[:d], daily.index[daily.index <= d], "W")
        known = cut.dropna(how="all").index
        assert all(k.day_name() == "Friday" for k in known)
        pd.testing.assert_frame_equal(cut, weekly.loc[:d], check_freq=False)


def test_all_three_tickers_must_be_in_outflow_the_same_week():
    daily = _weeks([1.0, 1.0, 1.0])
    daily.loc["2024-01-08":"2024-01-12", ["SPY", "VOO", "IVV"]] = -1.0
    daily.loc["2024-01-15":"2024-01-19", ["SPY", "VOO"]] = -1.0
    hits = warning_hits(DEFAULT_WARNINGS[1], _ctx(daily))
    assert hits.tolist() == [False, True, False]
    dec = FlowWarnings(FlowWarningsParams(warnings=(DEFAULT_WARNINGS[1],))).decide(_ctx(daily))
    np.testing.assert_allclose(dec.weights.loc[hits.index[1], CASH], 0.15)


def test_qqq_monthly_threshold_and_latch():
    d = pd.bdate_range("2024-01-01", "2024-04-30")
    daily = pd.DataFrame(0.0, index=d, columns=["RSP", "SPY", "VOO", "IVV", "QQQ"])
    jan, feb = d.month == 1, d.month == 2
    daily.loc[jan, "QQQ"] = -6e9 / jan.sum()   # January: -6B  -> fires
    daily.loc[feb, "QQQ"] = -4e9 / feb.sum()   # February: -4B -> does not
    warn = DEFAULT_WARNINGS[2]
    hits = warning_hits(warn, _ctx(daily))
    assert [str(x.date()) for x in hits.index] == ["2024-01-31", "2024-02-29", "2024-03-29",
                                                   "2024-04-30"]
    assert hits.tolist() == [True, False, False, False]
    latched = replace(warn, latch=True)
    w = FlowWarnings(FlowWarningsParams(warnings=(latched,))).decide(_ctx(daily)).weights.dropna()
    assert len(w) == 2 and w["VUG"].iloc[-1] == pytest.approx(0.05)
    assert w[CASH].iloc[-1] == pytest.approx(0.10)


def test_missing_ticker_and_bad_sleeves():
    daily = _weeks([1.0]).drop(columns=["RSP"])
    with pytest.raises(KeyError, match="RSP"):
        FlowWarnings().decide(_ctx(daily))
    with pytest.raises(ValueError, match="sum"):
        FlowWarningsParams(sleeves={"core": {"VOO": 0.5}})


# ------------------------------------------------------------------ real data: 2026 Q1
def _real_weekly_expected(wide: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Independent computation: drop NYSE holidays (all-NaN rows), strict NaN, period sums,
    labelled at the last NYSE session of each period."""
    import exchange_calendars as xc

    cal = xc.get_calendar("XNYS")
    sessions = pd.DatetimeIndex(cal.sessions_in_range("2025-12-01", "2026-06-30")).tz_localize(None)
    closed = ~wide.index.isin(sessions)
    assert wide[closed].isna().all().all()  # the export's rows on closed days are empty
    x = wide[~closed]
    rule = {"W": "W-FRI", "M": "ME"}[freq]
    total = x.resample(rule).sum(min_count=1).where(~x.isna().resample(rule).max())
    # a period the data does not cover session by session has no total
    n_cal = pd.Series(1, index=sessions).resample(rule).sum()
    n_data = pd.Series(1, index=x.index).resample(rule).sum()
    total = total.where(n_data.reindex(total.index) >= n_cal.reindex(total.index), axis=0)
    ends = pd.Series(sessions, index=sessions).resample(rule).max()
    total.index = pd.DatetimeIndex(ends.reindex(total.index).to_numpy())
    return total


@pytest.fixture(scope="module")
def real():
    from datasets import load_us_etf_adjclose, load_us_etf_flows_2026q1

    long = load_us_etf_flows_2026q1()
    wide = long.pivot(index="date", columns="ticker", values="flow_usd")
    px = load_us_etf_adjclose().loc["2026-01-02":"2026-04-30"]
    px = px.dropna(axis=1, how="all").assign(CASH=1.0)
    etfs = EtfData(dates=wide.index, etfs=wide.columns, flow=wide.to_numpy())
    market = Market(etfs=etfs, prices=px)
    weekly = INPUTS["etf_flow_usd"](market, freq="W", calendar="XNYS")
    monthly = INPUTS["etf_flow_usd"](market, freq="M", calendar="XNYS")
    ctx = Context(px, {"etf_flow_weekly": weekly, "etf_flow_monthly": monthly})
    return wide, ctx


def test_real_2026q1_weekly_totals_match_plain_pandas(real):
    wide, ctx = real
    want = _real_weekly_expected(wide[["SPY", "VOO", "IVV", "QQQ"]], "W")
    got = ctx.signals["etf_flow_weekly"][["SPY", "VOO", "IVV", "QQQ"]]
    got = got.loc[got.notna().any(axis=1) | got.index.isin(want.index)]
    want = want.loc[want.index.isin(ctx.dates)]
    # 14 week ends 2026-01-02 .. 2026-04-02 (Good Friday closed); the first week (the export
    # starts on its Friday) and the last (empty rows from 04-01) have no total
    assert len(want) == 14
    assert want.iloc[0].isna().all() and want.iloc[-1].isna().all()
    assert want.iloc[1:-1].notna().sum().sum() > 40
    pd.testing.assert_frame_equal(got.loc[want.index], want, check_names=False,
                                  check_freq=False, check_index_type=False, rtol=1e-12)


def test_real_2026q1_warnings_fire_where_the_data_says(real):
    wide, ctx = real
    # RSP is not in the 2026 Q1 export: the RSP warning cannot run on it and says so
    with pytest.raises(KeyError, match="RSP"):
        warning_hits(DEFAULT_WARNINGS[0], ctx)
    wk = _real_weekly_expected(wide[["SPY", "VOO", "IVV"]], "W")
    want_broad = wk.index[(wk < 0).all(axis=1)]
    mo = _real_weekly_expected(wide[["QQQ"]], "M")
    want_qqq = mo.index[(mo["QQQ"] < -5e9)]
    broad = warning_hits(DEFAULT_WARNINGS[1], ctx)
    qqq = warning_hits(DEFAULT_WARNINGS[2], ctx)
    assert list(broad.index[broad]) == list(want_broad)
    assert list(qqq.index[qqq]) == list(want_qqq)
    # the strategy's log fires exactly at the onsets of those runs
    # MDY has no 2026 prices (its series ends 2025-09): IJH takes its mid-cap slot
    sleeves = {"core": {"RSP": 0.25, "VOO": 0.20, "VXUS": 0.15},
               "satellite": {"XLI": 0.08, "XLF": 0.07, "IJH": 0.06, "XLP": 0.04},
               "growth": {"VUG": 0.10}, "cash": {CASH: 0.05}}
    p = FlowWarningsParams(sleeves=sleeves, warnings=DEFAULT_WARNINGS[1:])
    dec = FlowWarnings(p).decide(ctx)
    check_weights(dec.weights)
    for warn, hits in ((DEFAULT_WARNINGS[1], broad), (DEFAULT_WARNINGS[2], qqq)):
        onsets = hits.index[hits & ~hits.shift(1, fill_value=False)]
        logged = dec.log[(dec.log["rule"] == warn.name) & (dec.log["action"] != "release")]
        assert list(pd.to_datetime(logged["date"])) == list(onsets)


def test_action_validation_is_h5s():
    with pytest.raises(ValueError):
        FlowWarning("x", "etf_flow_weekly", ("SPY",), Action("set_weight", 1.5, asset="SPY"))


def test_example_config_validates():
    from pathlib import Path

    from engine.app.config import load_config

    path = Path(__file__).resolve().parents[2] / "examples" / "flow_warnings.toml"
    cfg = load_config(path)
    assert cfg.strategy_kind == "flow_warnings"
