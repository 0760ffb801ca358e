"""Signal builders (engine.app.inputs): values against direct computations, and no look-ahead
(``f(market_upto(m, t))`` equals ``f(m)`` cut at t) for every builder of ``INPUTS``."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.app.inputs import INPUTS, market_upto, period_total
from engine.errors import ConfigError, DataError
from engine.market import EtfData, Market
from engine.prices import with_cash

# exchange_calendars 4.x trips a pandas 3 deprecation warning when it builds a calendar
pytestmark = pytest.mark.filterwarnings("ignore:Series.values returning an ndarray")


@cache
def synthetic():
    from datasets import make_market

    return make_market(90, 40, 8, signal_strength=0.2, seed=5)


@cache
def etf_market() -> Market:
    """ETF-level flows / shares / NAV on weekdays, with a NaN and a holiday-like gap."""
    rng = np.random.default_rng(2)
    d = pd.bdate_range("2024-01-01", periods=70)
    etfs = ["SPY", "QQQ", "RSP"]
    flow = rng.normal(0, 1e9, (70, 3))
    flow[7, 1] = np.nan  # Wednesday 2024-01-10
    nav = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (70, 3)), 0))
    shares = np.cumsum(rng.normal(0, 1e5, (70, 3)), 0) + 1e8
    data = EtfData(dates=d, etfs=etfs, close=nav, nav=nav, shares_outstanding=shares, flow=flow)
    prices = with_cash(pd.DataFrame(nav, index=d, columns=etfs), 2.0)
    return Market(etfs=data, prices=prices)


@cache
def krx():
    from datasets import load_krx_market

    return load_krx_market(start="2019-01-01", end="2019-12-31")


def test_synthesized_flow_sums_investors_and_selects_kinds():
    from engine.synthesis import synthesize_flows

    m = synthetic()
    got = INPUTS["synthesized_flow"](m, investor=["foreign", "pension"], etf_kind="sector")
    sectors = [e for e, k in m.meta["etf_kind"].items() if k == "sector"]
    assert list(got.columns) == sectors
    raw = synthesize_flows(m.flows, m.holdings, method="bp")
    want = raw.xs("foreign", axis=1, level="investor") + raw.xs("pension", axis=1,
                                                                    level="investor")
    np.testing.assert_allclose(got.to_numpy(), want[sectors].to_numpy(), rtol=1e-12,
                               equal_nan=True)
    assert got.index.equals(m.prices.index)
    with pytest.raises(ConfigError, match="investor"):
        INPUTS["synthesized_flow"](m, investor="martians")
    with pytest.raises(DataError, match="constituent flows"):
        INPUTS["synthesized_flow"](etf_market())


def test_synthesized_flow_counts_gaps_in_market_quality():
    """ETF-days without any constituent are NaN and, like partly covered ones, counted in
    the market's data-quality summary (the builder passes ``market.quality``)."""
    from engine.market import ConstituentFlows, Holdings

    d = pd.bdate_range("2024-01-02", periods=3)
    nb = np.array([[[1e9], [1e9]], [[np.nan], [np.nan]], [[1e9], [np.nan]]])
    flows = ConstituentFlows(d, ["A", "B"], ("foreign",), nb, np.full((3, 2), 1e12),
                             np.ones((3, 2)))
    holdings = Holdings(pd.DataFrame({"etf": "X", "effective_date": d[0],
                                      "stock": ["A", "B"], "weight": [0.5, 0.5]}))
    m = Market(flows=flows, holdings=holdings)
    got = INPUTS["synthesized_flow"](m, cumulative=True)
    np.testing.assert_allclose(got["X"].to_numpy(), [10.0, np.nan, 15.0], rtol=1e-12)
    assert m.quality.count("set NaN", "ETF-days with no constituent present") == 1
    assert m.quality.count("treated as 0") == 1
    assert "synthesize_flows: set NaN 1 ETF-days" in m.quality.summary()
    # a second signal on the same flows reports the same gaps, not twice as many
    INPUTS["synthesized_flow"](m, investor="foreign")
    assert m.quality.count("set NaN", "ETF-days with no constituent present") == 1
    assert m.quality.count("treated as 0") == 1


def test_etf_flow_usd_weekly_and_monthly_totals():
    m = etf_market()
    daily = m.etfs.frame("flow")
    # weekday sessions on purpose ("B"): the market's default is its exchange (XNYS), see
    # tests/engine/test_trust_drops.py::test_us_flow_totals_default_to_the_exchange_calendar
    wk = INPUTS["etf_flow_usd"](m, freq="W", calendar="B")
    rows = wk.dropna(how="all")
    assert (rows.index.day_name() == "Friday").all()
    # week 2 (Jan 8-12) holds the NaN of QQQ: its total is unknown, the others are sums
    jan12 = pd.Timestamp("2024-01-12")
    assert np.isnan(wk.loc[jan12, "QQQ"])
    np.testing.assert_allclose(wk.loc[jan12, "SPY"], daily.loc["2024-01-08":jan12, "SPY"].sum(),
                               rtol=1e-12)
    zero = INPUTS["etf_flow_usd"](m, freq="W", missing="zero", calendar="B")
    np.testing.assert_allclose(zero.loc[jan12, "QQQ"],
                               daily.loc["2024-01-08":jan12, "QQQ"].sum(), rtol=1e-12)
    mo = INPUTS["etf_flow_usd"](m, freq="M", tickers=["SPY"], calendar="B")
    jan = mo.loc["2024-01-31", "SPY"]
    np.testing.assert_allclose(jan, daily.loc["2024-01", "SPY"].sum(), rtol=1e-12)
    # the data ends 2024-04-05 (a Friday): April is not complete, so it has no total
    assert mo.dropna().index[-1] == pd.Timestamp("2024-03-29")
    with pytest.raises(ConfigError, match="tickers"):
        INPUTS["etf_flow_usd"](m, tickers=["XYZ"])


def test_etf_flow_pct_aum_is_flow_over_previous_aum():
    m = etf_market()
    got = INPUTS["etf_flow_pct_aum"](m, tickers=["RSP"])
    e = m.etfs
    aum = e.frame("shares_outstanding")["RSP"] * e.frame("nav")["RSP"]
    want = 100.0 * e.frame("flow")["RSP"] / aum.shift(1)
    np.testing.assert_allclose(got["RSP"].to_numpy(), want.to_numpy(), rtol=1e-12,
                               equal_nan=True)
    summed = INPUTS["etf_flow_pct_aum"](m, tickers=["RSP"], window_bars=5)
    np.testing.assert_allclose(summed["RSP"].to_numpy(), want.rolling(5).sum().to_numpy(),
                               rtol=1e-9, equal_nan=True)


def test_period_total_exchange_calendar_holidays():
    # 2024-03-29 is Good Friday (NYSE closed): the week ends on Thursday the 28th and a row
    # dated on the holiday belongs to the next week
    d = pd.bdate_range("2024-03-25", "2024-04-05")
    x = pd.DataFrame({"A": np.arange(len(d), dtype=float)}, index=d)
    x.loc["2024-03-29", "A"] = np.nan  # no trading on the holiday
    sessions = d[d != pd.Timestamp("2024-03-29")]
    out = period_total(x, sessions, "W", calendar="XNYS").dropna()
    assert list(out.index.strftime("%m-%d")) == ["03-28", "04-05"]
    np.testing.assert_allclose(out["A"].to_numpy(), [0 + 1 + 2 + 3, 5 + 6 + 7 + 8 + 9])


def test_krx_market_flow_bp_matches_the_loader_table():
    m = krx()
    got = INPUTS["krx_market_flow_bp"](m, investor=["foreign", "institution"])
    bp = m.meta["netbuy_bp"]
    np.testing.assert_allclose(got["KOSDAQ"].to_numpy(),
                               (bp["KOSDAQ_foreign_bp"] + bp["KOSDAQ_institution_bp"]).to_numpy(),
                               rtol=1e-12)
    # independent unit check: 1e4 * KRW net buying / KRW market cap
    nb, cap = m.meta["netbuy_krw"], m.meta["market_cap_krw"]
    np.testing.assert_allclose(got["KOSPI"].to_numpy(),
                               (1e4 * (nb["KOSPI_foreign_krw"] + nb["KOSPI_institution_krw"])
                                / cap["KOSPI"]).to_numpy(), rtol=1e-9)
    with pytest.raises(ConfigError):
        INPUTS["krx_market_flow_bp"](m, investor="pension")


def test_market_upto_cuts_every_dated_part():
    m = synthetic()
    t = m.prices.index[30]
    cut = market_upto(m, t)
    assert cut.prices.index[-1] == t and cut.flows.dates[-1] == t and cut.etfs.dates[-1] == t
    assert cut.meta["signal"].index[-1] == t
    assert cut.holdings is m.holdings


# ------------------------------------------------------------------ no look-ahead, all inputs
#: builder name -> (market factory, parameter sets to check)
CASES = {
    "synthesized_flow": (synthetic, [dict(investor=["foreign", "pension"], etf_kind="sector"),
                                     dict(investor="foreign", window_bars=5,
                                          zscore_window_bars=10),
                                     dict(investor="individual", cumulative=True)]),
    "etf_flow_usd": (etf_market, [dict(), dict(freq="W"), dict(freq="M", missing="zero"),
                                  dict(window_bars=5, zscore_window_bars=10)]),
    "etf_flow_pct_aum": (etf_market, [dict(), dict(window_bars=5, zscore_window_bars=10)]),
    "krx_market_flow_bp": (krx, [dict(investor=["foreign", "institution"], window_bars=20),
                                 dict(investor="foreign", zscore_window_bars=60)]),
    "relative_strength": (etf_market, [dict(a="QQQ", b="SPY"),
                                       dict(a="RSP", b="SPY", lookback_bars=5,
                                            zscore_window_bars=10)]),
}


def test_every_input_has_a_causality_case():
    assert set(CASES) == set(INPUTS)


@cache
def _full(name: str, i: int) -> pd.DataFrame:
    factory, params = CASES[name]
    return INPUTS[name](factory(), **params[i])


@pytest.mark.parametrize("name,i", [(n, i) for n, (_, ps) in CASES.items()
                                    for i in range(len(ps))])
@settings(max_examples=15)
@given(frac=st.floats(min_value=0.0, max_value=1.0))
def test_inputs_are_causal(name, i, frac):
    factory, params = CASES[name]
    m = factory()
    t = m.prices.index[int(frac * (len(m.prices) - 1))]
    full = _full(name, i)
    cut = INPUTS[name](market_upto(m, t), **params[i])
    pd.testing.assert_frame_equal(cut, full.loc[:t], check_freq=False, rtol=1e-9, atol=1e-12)


def test_period_total_counts_etf_periods_set_nan():
    """Each ETF-week lost to a NaN on a session is counted once (per column and period), with
    the short (data-incomplete) periods counted apart, per period."""
    from engine.errors import DataQuality

    d = pd.bdate_range("2024-01-02", "2024-01-26")  # Tue 2nd .. Fri 26th: week 1 is short
    x = pd.DataFrame(1.0, index=d, columns=["A", "B", "C"])
    x.loc["2024-01-09", "A"] = np.nan   # week 2: A lost
    x.loc["2024-01-10", "A"] = np.nan   # (a second NaN in the same ETF-week counts once)
    x.loc["2024-01-16", ["A", "B"]] = np.nan  # week 3: A and B lost
    x.loc["2024-01-03", "C"] = np.nan   # week 1: already NaN as a short period
    q = DataQuality()
    out = period_total(x, d, "W", quality=q)
    weeks = out.dropna(how="all")
    assert [str(t.date()) for t in weeks.index] == ["2024-01-12", "2024-01-19", "2024-01-26"]
    np.testing.assert_array_equal(out.loc["2024-01-05"].isna(), [True, True, True])
    np.testing.assert_array_equal(out.loc["2024-01-12"].isna(), [True, False, False])
    np.testing.assert_array_equal(out.loc["2024-01-19"].isna(), [True, True, False])
    lost = "ETF-periods (one per column and period) with a NaN flow on a session"
    assert q.count("set NaN", lost) == 3
    assert q.count("set NaN", "periods with sessions absent from the data") == 1
    item = next(i for i in q.items if i.what == lost)
    assert "set NaN" in item.rule and "ETF-period" in item.rule
    q0 = DataQuality()
    period_total(x, d, "W", missing="zero", quality=q0)
    assert q0.count("set NaN") == 0
    assert q0.count("treated as 0", "NaN flows on sessions") == 5
