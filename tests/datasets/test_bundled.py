"""Tests of the bundled real-data slice and its loaders (datasets/bundled.py, engine/demo.py).

Everything here reads the project's own copy under ``datasets/data``; nothing needs
/work/shared. Reference figures quoted below come from KRX recordings (pykrx test data) that
``benchmarks/make_bundle.py`` cross-checks when it cuts the slice.
"""

from __future__ import annotations

import io
import re
from contextlib import redirect_stdout

import numpy as np
import pandas as pd
import pytest

from datasets import bundled
from engine.errors import DataError, DataQuality
from engine.market import CASH, EtfData, Market

US_ETFS = (
    "SPY VOO IVV RSP QQQ TQQQ IWM IJR IJH IWO IWN VUG VTI VXUS IEMG "
    "XLK XLF XLE XLB XLI XLP XLU XLRE XLV XLY XLC MDY"
).split()


def _assert_dates(df: pd.DataFrame) -> None:
    assert isinstance(df.index, pd.DatetimeIndex)
    assert df.index.is_unique
    assert df.index.is_monotonic_increasing
    assert df.index.tz is None


# --- the plain loaders ------------------------------------------------------------------------

def test_us_etf_adjclose_columns_units():
    df = bundled.load_us_etf_adjclose()
    _assert_dates(df)
    assert list(df.columns) == US_ETFS
    assert (df.dtypes == np.float64).all()
    vals = df.to_numpy()
    assert (vals[np.isfinite(vals)] > 0).all()
    assert df.index[0] == pd.Timestamp("1993-01-29")
    assert df.index[-1] == pd.Timestamp("2026-07-31")
    # each ETF is present from its listing on without holes (MDY ends early, per PROVENANCE)
    for t in US_ETFS:
        s = df[t].loc[df[t].first_valid_index():df[t].last_valid_index()]
        assert s.notna().all(), t
    assert df["MDY"].last_valid_index() == pd.Timestamp("2025-09-26")
    # a daily move beyond +-50 % in an unlevered adjusted series would mean a missed split
    rets = df.drop(columns="TQQQ").pct_change(fill_method=None).abs().max()
    assert (rets < 0.5).all(), rets[rets >= 0.5]


def test_us_index_close():
    df = bundled.load_us_index_close()
    _assert_dates(df)
    assert list(df.columns) == ["SPX", "NDX", "RUT"]
    assert df.index[0] >= pd.Timestamp("1990-01-01")
    # S&P 500 was between 295 and 10,000 points over 1990..2026
    spx = df["SPX"].dropna()
    assert spx.between(295, 10_000).all()
    assert spx.index[-1] == pd.Timestamp("2026-02-27")


def test_us_rates_units_percent():
    df = bundled.load_us_rates()
    _assert_dates(df)
    assert list(df.columns) == ["IRX_pct", "TNX_pct"]
    assert df.notna().all().all()
    # percent per year: the T-bill was briefly slightly negative (2015/2020), never above 20 %
    assert df["IRX_pct"].between(-0.5, 20.0).all()
    assert df["TNX_pct"].between(0.0, 20.0).all()
    # not fractions: the 1981 T-bill exceeded 10 %/yr
    assert df["IRX_pct"].loc["1981"].max() > 10


def test_krx_investor_netbuy_in_krw():
    df = bundled.load_krx_investor_netbuy()
    _assert_dates(df)
    assert list(df.columns) == [f"{m}_{k}_krw" for m in ("KOSPI", "KOSDAQ")
                                for k in ("foreign", "institution", "individual")]
    assert df.notna().all().all()
    # KRX's investor breakdown for 2021-01-15..22 (pykrx recording): KOSPI 개인 net bought
    # 4,585,384,731,204 KRW, 기관합계 -3,991,594,490,983 KRW, 외국인+기타외국인 -689,556,883,883.
    week = df.loc["2021-01-15":"2021-01-22"].sum()
    np.testing.assert_allclose(week["KOSPI_individual_krw"], 4_585_384_731_204, rtol=1e-9)
    np.testing.assert_allclose(week["KOSPI_institution_krw"], -3_991_594_490_983, rtol=1e-9)
    np.testing.assert_allclose(week["KOSPI_foreign_krw"], -689_556_883_883, rtol=1e-9)
    # buying and selling investor groups nearly cancel (the rest is other corporations)
    for m in ("KOSPI", "KOSDAQ"):
        part = df[[f"{m}_{k}_krw" for k in ("foreign", "institution", "individual")]]
        assert (part.sum(axis=1).abs() / part.abs().sum(axis=1)).median() < 0.1
    # order of magnitude: daily KOSPI flows are up to a few KRW trillion, not 억원 or 조원
    assert 1e11 < df["KOSPI_foreign_krw"].abs().quantile(0.9) < 1e13


def test_krx_market_index_market_cap_krw():
    df = bundled.load_krx_market_index()
    _assert_dates(df)
    expected = [f"{m}_{f}" for m in ("KOSPI", "KOSDAQ")
                for f in ("close", "market_cap_krw", "per", "pbr", "roe_pct")]
    assert list(df.columns) == expected
    # KRX: sum of MKTCAP over KOSPI listings on 2021-01-04 = 2,028,846,031,822,322 KRW
    np.testing.assert_allclose(df.loc["2021-01-04", "KOSPI_market_cap_krw"],
                               2_028_846_031_822_322, rtol=1e-9)
    cap = df["KOSPI_market_cap_krw"].loc["2005":].dropna()
    assert cap.between(2e14, 2e16).all()  # KRW ~1e15, not trillions (~1e3)
    assert df.loc["2024", "KOSPI_market_cap_krw"].median() == pytest.approx(2.1e15, rel=0.2)
    # cap / index level only moves with listings: within a factor 3 over 2005..2026
    ratio = (df["KOSPI_market_cap_krw"] / df["KOSPI_close"]).loc["2005":].dropna()
    assert ratio.max() / ratio.min() < 3


def test_us_etf_flows_2026q1_long():
    df = bundled.load_us_etf_flows_2026q1()
    assert list(df.columns) == ["date", "ticker", "flow_usd"]
    assert df["ticker"].nunique() == 51
    assert not df.duplicated(["date", "ticker"]).any()
    assert df["date"].is_monotonic_increasing
    assert df["date"].min() == pd.Timestamp("2026-01-02")
    assert df["date"].max() == pd.Timestamp("2026-04-03")
    assert {"SPY", "VOO", "IVV", "QQQ"} <= set(df["ticker"])
    # USD, not USD millions: SPY's daily flows reach billions
    assert df.loc[df["ticker"] == "SPY", "flow_usd"].abs().max() > 1e9


def test_us_etf_shares_nav_panel_cut():
    df = bundled.load_us_etf_shares_nav()
    assert list(df.columns) == ["date", "ticker", "Assets_MUSD", "NAV", "Volume", "PrevClose",
                                "Open", "Expense", "N_Hold", "SharesOut_M"]
    assert set(df["ticker"]) == set(US_ETFS)
    assert not df.duplicated(["ticker", "date"]).any()
    # shares in millions, assets in USD millions: assets ~= shares x NAV within scrape noise
    ok = df.dropna(subset=["SharesOut_M"])
    ratio = ok["Assets_MUSD"] / (ok["SharesOut_M"] * ok["NAV"])
    assert ratio.median() == pytest.approx(1.0, abs=0.02)


# --- flow derivation and stale data -----------------------------------------------------------

def _panel(values: dict[str, list[float]], dates) -> pd.DataFrame:
    return pd.DataFrame(values, index=pd.DatetimeIndex(dates), dtype=np.float64)


def test_derive_flow_on_hand_made_panel():
    d = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-08"]
    so = _panel({"A": [100.0, 110.0, np.nan, 90.0, 95.0], "B": [5.0, 5.0, 6.0, 4.0, 4.5]}, d)
    nav = _panel({"A": [10.0, 11.0, 12.0, 13.0, 14.0], "B": [2.0, 2.5, 3.0, 3.5, 4.0]}, d)
    flow = bundled.derive_flow_usd(so, nav)
    # A: (110-100)*10 = 100; Jan 4 missing -> NaN; Jan 5 chains to Jan 3: (90-110)*11 = -220;
    # Jan 8: (95-90)*13 = 65
    np.testing.assert_allclose(flow["A"].to_numpy(), [np.nan, 100.0, np.nan, -220.0, 65.0])
    # B: 0 (shares flat, NAV moved: a genuine zero), (6-5)*2.5, (4-6)*3, (4.5-4)*3.5
    np.testing.assert_allclose(flow["B"].to_numpy(), [np.nan, 0.0, 2.5, -6.0, 1.75])


def test_derive_flow_matches_numpy_oracle_on_bundled_panel():
    m = bundled.load_us_market()
    so, nav, flow = (m.etfs.frame(f) for f in ("shares_outstanding", "nav", "flow"))
    j = list(m.etfs.etfs).index("QQQ")
    s, v = so.iloc[:, j].to_numpy(), nav.iloc[:, j].to_numpy()
    ok = np.isfinite(s) & np.isfinite(v)
    s_ok, v_ok = s[ok], v[ok]
    oracle = np.full(len(s_ok), np.nan)
    oracle[1:] = (s_ok[1:] - s_ok[:-1]) * v_ok[:-1]
    got = flow.iloc[:, j].to_numpy()[ok]
    keep = np.isfinite(got)  # rows the stale/gap rules set NaN are checked elsewhere
    assert keep.sum() > 100
    np.testing.assert_allclose(got[keep], oracle[keep], rtol=1e-9, atol=1e-9 * np.abs(oracle[keep]).max())


def test_stale_run_is_nan_and_counted():
    d = pd.bdate_range("2024-01-01", periods=12)
    so = _panel({"A": [1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5],   # 8 identical at the end
                 "B": [1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 9, 9]}, d)  # short flat runs only
    nav = _panel({"A": np.arange(1.0, 13.0), "B": np.arange(1.0, 13.0)}, d)
    q = DataQuality()
    flow = bundled.derive_flow_usd(so, nav, stale_after_bars=5, quality=q)
    # causal: the first 5 identical observations (rows 4..8) are legitimate zero-flow days as
    # far as anyone could know then; from the 6th identical observation on the source is stale
    assert np.isfinite(flow["A"].iloc[1:9]).all() and (flow["A"].iloc[5:9] == 0).all()
    assert flow["A"].iloc[9:].isna().all()
    assert q.count("set NaN", "flows in stale shares runs (> 5 identical obs)") == 3
    # B's flat stretches are genuine zeros (NAV moves), kept as 0
    assert (flow["B"].iloc[8:10] == 0).all()
    assert flow["B"].iloc[-1] == 0
    # with a longer tolerance A's run is no longer stale: zero flows are kept
    q2 = DataQuality()
    flow2 = bundled.derive_flow_usd(so, nav, stale_after_bars=10, quality=q2)
    assert (flow2["A"].iloc[5:] == 0).all()
    assert q2.count("set NaN") == 0


def test_stale_rule_is_causal():
    """A flow's value never depends on whether the data goes on (review finding: the old
    trailing-run rule set a run NaN only when it reached the end of the panel)."""
    d = pd.bdate_range("2024-01-01", periods=14)
    so = _panel({"A": [1, 2, 3, 3, 3, 3, 3, 3, 3, 3, 4, 5, 5, 6]}, d)
    nav = _panel({"A": np.arange(1.0, 15.0)}, d)
    full = bundled.derive_flow_usd(so, nav, stale_after_bars=3)
    for t in range(2, len(d) + 1):
        part = bundled.derive_flow_usd(so.iloc[:t], nav.iloc[:t], stale_after_bars=3)
        pd.testing.assert_frame_equal(part, full.iloc[:t])


def test_repeated_scrape_and_gap_rules():
    d = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-04", "2024-03-01", "2024-03-04"])
    so = _panel({"A": [10.0, 12.0, 12.0, 20.0, 21.0]}, d)
    nav = _panel({"A": [1.0, 2.0, 2.0, 3.0, 4.0]}, d)
    q = DataQuality()
    flow = bundled.derive_flow_usd(so, nav, max_gap_days=7, stale_after_bars=5, quality=q)
    # Jan 4 repeats Jan 3 exactly -> NaN; Mar 1 spans 57 days -> NaN; Mar 4 normal
    np.testing.assert_allclose(flow["A"].to_numpy(), [np.nan, 2.0, np.nan, np.nan, 3.0])
    assert q.count("set NaN") == 2


def test_bundled_stale_tail_counted_not_zero():
    m = bundled.load_us_market()
    q = m.quality
    assert q.count("set NaN", "flows in stale shares runs (> 5 identical obs)") > 0
    assert q.count("set NaN", "flows spanning a gap > 7 days") > 0
    # SPY's shares stop changing after 2022-08-04 (stale scrape): the first repeats are zero
    # flows as far as anyone could know then; from the 6th identical observation on, NaN
    spy = m.etfs.frame("flow")["SPY"]
    assert (spy.loc["2022-08-05":"2022-08-10"] == 0).all()
    assert spy.loc["2022-08-11":].isna().all()
    assert spy.loc["2022-07-12":"2022-08-04"].notna().sum() >= 15
    # the 5-month hole Feb..Jul 2022 is not one day's flow
    assert np.isnan(spy.loc["2022-07-11"])


# --- markets --------------------------------------------------------------------------------

def test_load_us_market_prices_and_cash():
    m = bundled.load_us_market()
    assert isinstance(m, Market)
    p = m.prices
    _assert_dates(p)
    assert list(p.columns) == US_ETFS + [CASH]
    cash = p[CASH]
    assert cash.iloc[0] == 1.0
    assert cash.notna().all()
    # CASH strictly increases wherever the previous day's T-bill rate is > 0
    rate = bundled.load_us_rates()["IRX_pct"].reindex(p.index).ffill().shift(1)
    up = cash.diff() > 0
    pos = rate > 0
    assert up[pos].all()
    assert (cash.diff()[rate < 0] < 0).all()  # negative T-bill yields cost money
    # over 1993..2026 the T-bill compounded to between 1.5x and 4x
    assert 1.5 < cash.iloc[-1] < 4.0


def test_load_us_market_etfdata_units():
    m = bundled.load_us_market()
    e = m.etfs
    assert isinstance(e, EtfData)
    assert set(e.etfs) == set(US_ETFS)
    _assert_dates(e.frame("nav"))
    j = list(e.etfs).index("SPY")
    so = e.shares_outstanding[:, j]
    # shares, not millions: SPY had ~0.9 billion shares in 2021-22
    assert np.nanmedian(so) == pytest.approx(9e8, rel=0.15)
    np.testing.assert_allclose(e.expense_ratio[j], 0.0009, rtol=1e-12)  # 0.09 % -> fraction
    assert (e.expense_ratio > 0).all() and (e.expense_ratio < 0.01).all()
    # the close is realigned from the next fresh row's PrevClose onto its own session; the
    # panel rows give SPY's close of 2021-08-06 as 442.49 and of 2022-08-17 as 426.65 (the
    # 2022-08-19 row repeats the 2022-08-18 row and must not move 426.65 onto 2022-08-18)
    close = e.frame("close")["SPY"]
    assert close.loc["2021-08-06"] == pytest.approx(442.49, abs=1e-9)
    assert close.loc["2022-08-17"] == pytest.approx(426.65, abs=1e-9)
    assert np.isnan(close.loc["2022-08-18"])
    assert m.quality.count("ignored", "PrevClose values repeated by stale scrapes") > 0
    # NAV is as published on the scrape date (one or two sessions old): close and NAV agree
    # to about a day's move, not exactly
    both = pd.concat([close, e.frame("nav")["SPY"]], axis=1).dropna()
    assert (both.iloc[:, 0] / both.iloc[:, 1] - 1).abs().median() < 0.02
    # no weekend rows survive
    assert (e.dates.day_of_week < 5).all()
    assert m.quality.count("dropped", "rows scraped on weekends/holidays") > 0


def test_load_us_market_slicing():
    m = bundled.load_us_market("2021-09-01", "2021-12-31", tickers=["SPY", "QQQ"])
    assert list(m.prices.columns) == ["SPY", "QQQ", CASH]
    assert m.prices.index[0] >= pd.Timestamp("2021-09-01")
    assert m.prices.index[-1] <= pd.Timestamp("2021-12-31")
    assert m.prices[CASH].iloc[0] == 1.0
    assert m.etfs.dates[0] >= pd.Timestamp("2021-09-01")
    assert m.etfs.dates[-1] <= pd.Timestamp("2021-12-31")
    assert list(m.etfs.etfs) == ["QQQ", "SPY"]
    # slicing does not change the flows of the days kept
    full = bundled.load_us_market().etfs.frame("flow")[["QQQ", "SPY"]]
    pd.testing.assert_frame_equal(m.etfs.frame("flow"), full.loc[m.etfs.dates], check_freq=False)
    with pytest.raises(DataError, match=r"tickers \['NOPE'\] are not bundled") as exc:
        bundled.load_us_market(tickers=["NOPE"])
    assert exc.value.file is not None and "choose from" in exc.value.fix and "SPY" in exc.value.fix


def test_load_krx_market_bp():
    m = bundled.load_krx_market()
    p = m.prices
    _assert_dates(p)
    assert list(p.columns) == ["KOSPI", "KOSDAQ", CASH]
    assert (p[CASH] == 1.0).all()  # 0 %/yr by default, as documented
    bp = m.meta["netbuy_bp"]
    nb = m.meta["netbuy_krw"]
    cap = m.meta["market_cap_krw"]
    assert bp.index.equals(p.index)
    np.testing.assert_allclose(bp["KOSPI_foreign_bp"].to_numpy(),
                               1e4 * nb["KOSPI_foreign_krw"].to_numpy() / cap["KOSPI"].to_numpy(),
                               rtol=1e-12)
    # market-wide daily net buying is a few bp of market cap, rarely above 20 bp
    assert bp["KOSPI_foreign_bp"].abs().median() < 5
    assert (bp["KOSPI_foreign_bp"].abs() < 50).all()
    m2 = bundled.load_krx_market("2024-01-01", "2024-12-31", cash_rate_pct=3.5)
    assert m2.prices.index[0].year == 2024 and m2.prices.index[-1].year == 2024
    assert (m2.prices[CASH].diff().dropna() > 0).all()


def test_loaders_return_copies():
    a = bundled.load_us_etf_adjclose()
    a.iloc[0, 0] = -1.0
    assert bundled.load_us_etf_adjclose().iloc[0, 0] > 0


# --- the demo ---------------------------------------------------------------------------------

def test_flowbt_demo_runs(tmp_path):
    from engine.app.cli import main

    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = main(["demo", "--out", str(tmp_path / "demo")])
    out = buf.getvalue()
    assert rc == 0
    assert "data-quality summary" in out
    assert "flows in stale shares runs" in out
    adj = bundled.load_us_etf_adjclose()["SPY"].dropna()
    total_pct = 100 * (adj.iloc[-1] / adj.iloc[0] - 1)
    assert f"total {total_pct:+,.1f} %" in out
    assert "USD bn" in out and "KRW trillion" in out
    assert "all in outflow" in out and "QQQ outflow above" in out
    # no NaN or placeholder figures (a quoted 'nan' is the name of a data-quality policy)
    assert re.search(r"(?<!')\bnan\b(?!')|\binf\b|TODO|XXX", out) is None
    # step 2: constituent synthesis on the synthetic market; step 3: the reference backtest
    assert "daily net-buy table, bp of constituent market cap" in out
    assert "position chart (cumulative bp)" in out
    assert "Backtest: core_satellite_reference" in out
    for variant in ("core_satellite_reference", "VOO", "RSP", "static"):
        assert re.search(rf"^\s+{variant}\s+[+-]\d", out, re.M), variant
    # the core/satellite part is its own run directory under --out (with the demo's report)
    assert (tmp_path / "demo" / "report.html").exists()
    metrics = pd.read_csv(tmp_path / "demo" / "core_satellite" / "metrics.csv", index_col=0)
    assert f"{metrics.loc['VOO', 'sharpe_ratio']:+.4f}" in out  # printed = written
    triggers = pd.read_csv(tmp_path / "demo" / "core_satellite" / "triggers.csv")
    assert f"trigger log ({len(triggers)} events)" in out and len(triggers) >= 1


def test_bad_requests_raise_clear_errors(monkeypatch):
    from engine.errors import DataError

    with pytest.raises(DataError, match="no bundled prices"):
        bundled.load_us_market("1980-01-01", "1980-12-31")
    with pytest.raises(DataError, match="no bundled KRX net buying"):
        bundled.load_krx_market("1990-01-01", "1990-12-31")
    monkeypatch.setitem(bundled.FILES, "us_rates", "no_such_file.parquet")
    with pytest.raises(DataError, match=r"no_such_file\.parquet.*bundled data file is missing"):
        bundled.load_us_rates()
