"""Issue #10 "Silent drops and fills", engine side: each test failed on the code before the fix.

Item 1 (two-input signals inner-joined their labels), 2 (builders reindexed onto the price
dates without a count), 3 (the T-bill rate was carried forward without limit and was 0%
before its series started), 7 (the demo's weekly / monthly totals summed partial periods),
8 (a holdings snapshot after every flow gave an all-NaN synthesis with no word) and 16 (US
ETF flow totals defaulted to weekdays, so every week with a US holiday was NaN).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from engine import signals, synthesis
from engine.app.inputs import INPUTS
from engine.errors import DataError, DataQuality
from engine.market import ConstituentFlows, EtfData, Holdings, Market
from engine.prices import cash_index, with_cash
from engine.synthesis import synthesize_flows

D = pd.bdate_range("2024-01-01", periods=6)


# --------------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("func,names", [
    (signals.etf_flows_from_shares, ("shares", "nav")),
    (signals.flow_pct_aum, ("flow", "aum")),
    (signals.premium_discount, ("close", "nav")),
    (signals.relative_strength, ("a", "b")),
    (lambda a, b: signals.tracking_difference(a, b, 2), ("etf_ret", "index_ret")),
    (lambda a, b: signals.tracking_error(a, b, 2), ("etf_ret", "index_ret")),
    (signals.divergence, ("price_change", "flow")),
])
def test_pair_refuses_label_mismatch(func, names):
    a = pd.DataFrame({"SPY": np.arange(1.0, 7.0), "QQQ": np.arange(2.0, 8.0)}, index=D)
    # a missing ETF column: the old inner join returned only SPY
    with pytest.raises(DataError) as info:
        func(a, a[["SPY"]])
    msg = str(info.value)
    assert f"of {names[0]} absent from {names[1]}" in msg and "column 'QQQ'" in msg
    assert "Fix: give" in msg
    # a missing date: the old inner join returned 5 rows
    with pytest.raises(DataError) as info:
        func(a, a.iloc[[0, 1, 3, 4, 5]])
    msg = str(info.value)
    assert "1 date(s)" in msg and "(first 2024-01-03)" in msg
    assert f"{names[1]} = {names[1]}.reindex({names[0]}.index)" in msg
    # same labels in another order are aligned, nothing lost
    out = func(a, a.iloc[::-1][["QQQ", "SPY"]])
    assert len(out) == len(D) and list(out.columns) == ["SPY", "QQQ"]


# --------------------------------------------------------------------------------- item 2
def _etf_market(flow_dates, price_dates) -> Market:
    rng = np.random.default_rng(0)
    flow = rng.normal(0, 1e9, (len(flow_dates), 2))
    data = EtfData(dates=flow_dates, etfs=["SPY", "QQQ"], flow=flow, currency="USD")
    px = pd.DataFrame(100.0, index=price_dates, columns=["SPY", "QQQ"])
    return Market(etfs=data, prices=with_cash(px, 0.0))


def test_builders_count_rows_off_the_price_dates():
    m = _etf_market(D, D.delete(2))  # the prices lack 2024-01-03
    got = INPUTS["etf_flow_usd"](m)
    assert list(got.index) == list(D.delete(2))
    item = [i for i in m.quality.items if i.action == "dropped"]
    assert [(i.source, i.what, i.count) for i in item] == [
        ("signals (etf_flow_usd)", "signal values on dates without a price row", 2)]
    assert "first 2024-01-03" in item[0].rule


def test_strategy_signal_lookup_refuses_values_off_the_price_dates():
    from strategies._common import signal_frame
    from strategies.base import Context

    px = with_cash(pd.DataFrame({"A": 1.0}, index=D.delete(2)), 0.0)
    sig = pd.DataFrame({"x": np.arange(6.0)}, index=D)
    with pytest.raises(DataError, match=r"signal 'flow' has 1 values on dates that are not "
                                        r"price dates \(first 2024-01-03\).*Fix: build"):
        signal_frame(Context(px, {"flow": sig}), "flow")
    # NaN on such a date loses nothing: accepted
    sig.iloc[2] = np.nan
    assert signal_frame(Context(px, {"flow": sig}), "flow").shape == (5, 1)


# --------------------------------------------------------------------------------- item 3
def test_cash_rate_gaps_are_counted_or_refused():
    d = pd.bdate_range("2024-01-01", "2024-02-29")
    rate = pd.Series(3.6, index=d)
    short = rate.drop(d[5:8])  # three sessions without a rate
    q = DataQuality()
    c = cash_index(d, short, quality=q, source="IRX")
    np.testing.assert_allclose(c.to_numpy(), cash_index(d, rate).to_numpy(), rtol=1e-15)
    assert q.count("carried forward", "days without a published rate") == 3
    # a month without a rate is not carried silently
    with pytest.raises(DataError, match=r"IRX has no value for 11 days up to 2024-01-16 \(last known 2024-01-05\); "
                                        r"more than max_carry_days=10. Fix: fill the rate series"):
        cash_index(d, rate.drop(d[5:30]), source="IRX")
    # before the series starts: an error by default, 0% and counted on request
    late = rate.loc["2024-01-15":]
    with pytest.raises(DataError, match=r"IRX starts 2024-01-15, after the first price date "
                                        r"2024-01-01: CASH would accrue 0% on 10 days.*"
                                        r"data.start"):
        cash_index(d, late, source="IRX")
    q = DataQuality()
    cash_index(d, late, source="IRX", before_start="zero", quality=q)
    assert q.count("treated as 0", "days before the rate series starts") == 10


# --------------------------------------------------------------------------------- item 7
def test_demo_weekly_totals_follow_the_period_rule():
    from engine.app.demo import _flows_block

    d = pd.bdate_range("2026-01-05", "2026-03-27")  # whole weeks, Mon .. Fri
    rows = [(day, t, -1e8) for day in d for t in ("SPY", "VOO", "IVV", "QQQ")]
    flows = pd.DataFrame(rows, columns=["date", "ticker", "flow_usd"])
    # SPY unpublished on a session: that week's total is unknown, not the other four days'
    flows.loc[(flows["date"] == "2026-01-07") & (flows["ticker"] == "SPY"), "flow_usd"] = np.nan
    etf = EtfData(dates=d, etfs=["SPY"], flow=np.zeros((len(d), 1)), currency="USD")
    lines = _flows_block(flows, Market(etfs=etf))
    weeks = next(x for x in lines if "all in outflow" in x)
    # 12 whole weeks; the one with the NaN session (ending 2026-01-09) is not an outflow week
    assert ": 11 of 12" in weeks and "2026-01-09" not in weeks, weeks


# --------------------------------------------------------------------------------- item 8
def test_snapshot_after_every_flow_warns_and_counts():
    f = ConstituentFlows(D, ["A", "B"], ("foreign",), net_buy=np.ones((6, 2, 1)),
                         market_cap=np.full((6, 2), 1e12), close=np.ones((6, 2)))
    h = Holdings(pd.DataFrame({"etf": ["X", "X", "Y", "Y"],
                               "effective_date": ["2024-02-01"] * 2 + ["2024-01-03"] * 2,
                               "stock": ["A", "B"] * 2, "weight": [0.5] * 4}))
    q = DataQuality()
    with pytest.warns(synthesis.NoUsableHoldingsWarning,
                      match=r"1 ETFs have no usable holdings on any of the 6 flow dates "
                            r"\(2024-01-01 .. 2024-01-08\).*X \(first snapshot 2024-02-01"):
        s = synthesize_flows(f, h, quality=q)
    assert s["X"].isna().all().all()
    assert s.attrs["first_usable_date"] == {"X": None, "Y": pd.Timestamp("2024-01-03")}
    assert s.attrs["no_weights_days"] == {"X": 6, "Y": 2}
    assert s.attrs["no_weights_etf_days"] == 8
    item = next(i for i in q.items if i.what == "ETF-days without usable holdings weights")
    assert item.count == 8 and item.action == "set NaN"
    assert "X: 6 days, first usable never" in item.rule
    assert "Y: 2 days, first usable 2024-01-03" in item.rule
    with warnings.catch_warnings():
        warnings.simplefilter("error", synthesis.NoUsableHoldingsWarning)  # no warning when usable
        synthesize_flows(f, Holdings(h.table[h.table["etf"] == "Y"]))


# -------------------------------------------------------------------------------- item 16
def test_us_flow_totals_default_to_the_exchange_calendar():
    d = pd.bdate_range("2024-06-24", "2024-07-12")  # 2024-07-04 (Thursday) is a NYSE holiday
    m = _etf_market(d, d)
    m.etfs.flow[d.get_loc(pd.Timestamp("2024-07-04"))] = np.nan  # no flow on the holiday
    wk = INPUTS["etf_flow_usd"](m, freq="W")
    daily = m.etfs.frame("flow")
    # the holiday week is complete on XNYS: a total (was NaN for every ETF with "B")
    np.testing.assert_allclose(wk.loc["2024-07-05"].to_numpy(),
                               daily.loc["2024-07-01":"2024-07-05"].sum().to_numpy(), rtol=1e-12)
    weekdays = INPUTS["etf_flow_usd"](m, freq="W", calendar="B")
    assert weekdays.loc["2024-07-05"].isna().all()
    krw = Market(etfs=EtfData(dates=d, etfs=["X"], flow=np.ones((len(d), 1)), currency="KRW"),
                 prices=with_cash(pd.DataFrame({"X": 1.0}, index=d), 0.0))
    from engine.periods import exchange_calendar

    assert exchange_calendar(krw.etfs.currency) == "XKRX"
    with pytest.raises(Exception, match=r"signals.<name>.calendar.*set signals.<name>.calendar"):
        INPUTS["etf_flow_usd"](Market(etfs=EtfData(dates=d, etfs=["X"], flow=np.ones(
            (len(d), 1)), currency="EUR"), prices=krw.prices), freq="W")
