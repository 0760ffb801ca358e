"""``[contributions]`` and ``[fx]`` through ``flowbt backtest``, end to end on the bundled data.

Expected values are recomputed here from the run's own ``equity.parquet`` (the simulated
USD curves) and the bundled USD/KRW file read with plain pandas, not with engine.fx or
engine.contributions: the unit-holding account of a DCA plan is a loop over sessions, the FX
identities are the daily ones of the model.
"""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd
import pytest

from engine.app.cli import main
from engine.app.config import load_config, validate_config
from engine.app.runner import run_backtest
from engine.errors import ConfigError
from tests.conftest import ROOT

KRW = ROOT / "examples" / "krw_investor.toml"
DCA = ROOT / "examples" / "dca_quarterly.toml"
RANGE = ["--start", "2019-01-02", "--end", "2020-12-31"]


def _usdkrw(dates: pd.DatetimeIndex) -> pd.Series:
    raw = pd.read_parquet(ROOT / "datasets" / "data" / "usdkrw_daily.parquet")["usdkrw"]
    return raw.reindex(raw.index.union(dates)).ffill().reindex(dates)  # last published rate


@pytest.fixture(scope="module")
def krw_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("krw")
    assert main(["backtest", str(KRW), "--out", str(out), *RANGE]) == 0
    return out


def test_krw_run_writes_the_tables_and_says_so(krw_run):
    for f in ("fx.csv", "fx_summary.csv", "contributions.csv", "contributions_summary.csv"):
        assert (krw_run / f).exists(), f
    info = json.loads((krw_run / "run.json").read_text())
    assert {"fx.csv", "contributions.csv"} <= set(info["files"])
    assert {r["case"] for r in info["fx"]} == {"usd", "unhedged", "hedged"}


def test_unhedged_is_usd_times_the_rate_and_the_return_identity(krw_run):
    equity = pd.read_parquet(krw_run / "equity.parquet")
    fx = pd.read_csv(krw_run / "fx.csv", parse_dates=["date"])
    x = _usdkrw(equity.index)
    for v in equity.columns:
        un = fx[(fx["variant"] == v) & (fx["case"] == "unhedged")].set_index("date")["equity"]
        np.testing.assert_allclose(un.to_numpy(), (equity[v] * x).to_numpy(), rtol=1e-13)
        r_usd, r_fx, r_krw = equity[v].pct_change(), x.pct_change(), un.pct_change()
        np.testing.assert_allclose(r_krw.to_numpy()[1:],
                                   ((1 + r_usd) * (1 + r_fx) - 1).to_numpy()[1:], atol=1e-14)


def test_hedged_return_is_usd_return_minus_the_daily_cost(krw_run):
    cfg = tomllib.loads(KRW.read_text())["fx"]
    c = cfg["hedge_cost_pct"] / 100.0
    equity = pd.read_parquet(krw_run / "equity.parquet")
    fx = pd.read_csv(krw_run / "fx.csv", parse_dates=["date"])
    x = _usdkrw(equity.index)
    dt = pd.Series(equity.index, index=equity.index).diff().dt.days / 365.0  # act/365 carry
    for v in equity.columns:
        h = fx[(fx["variant"] == v) & (fx["case"] == "hedged")].set_index("date")["equity"]
        r_usd, r_fx, r_h = equity[v].pct_change(), x.pct_change(), h.pct_change()
        # the full hedge removes the FX move on yesterday's value: what is left is the USD
        # return minus the carry, and the cross term (today's gain is hedged from tomorrow)
        want = r_usd - c * dt + r_usd * r_fx
        np.testing.assert_allclose(r_h.to_numpy()[1:], want.to_numpy()[1:], atol=1e-14)
        # on sessions where the rate did not move, exactly the USD return minus the cost
        flat = (r_fx == 0).to_numpy().copy()
        flat[0] = False
        np.testing.assert_allclose(r_h.to_numpy()[flat], (r_usd - c * dt).to_numpy()[flat],
                                   atol=1e-15)
        assert h.iloc[0] == pytest.approx(equity[v].iloc[0] * x.iloc[0])


def test_krw_contributions_buy_units_of_each_krw_curve(krw_run):
    fx = pd.read_csv(krw_run / "fx.csv", parse_dates=["date"])
    con = pd.read_csv(krw_run / "contributions.csv", parse_dates=["date"])
    summ = pd.read_csv(krw_run / "contributions_summary.csv")
    name = "krw_core_satellite"
    for case in ("unhedged", "hedged"):
        R = fx[(fx["variant"] == name) & (fx["case"] == case)].set_index("date")["equity"]
        first = R.groupby(R.index.to_period("M")).head(1).index  # first session of each month
        units, value = 0.0, []
        for t, r in R.items():
            if t in first:
                units += 1_000_000.0 / r
            value.append(units * r)
        got = con[con["curve"] == f"{name} KRW {case}"].set_index("date")
        np.testing.assert_allclose(got["value"].to_numpy(), value, rtol=1e-12)
        assert got["invested"].iloc[-1] == 1_000_000.0 * len(first) == 24_000_000.0
        row = summ[summ["curve"] == f"{name} KRW {case}"].iloc[0]
        # the IRR is the rate at which the contributions compound to the final value
        years = (R.index[-1] - first).days / 365.25
        fv = float(np.sum(1_000_000.0 * (1 + row["money_weighted_return"]) ** years))
        assert fv == pytest.approx(value[-1], rel=1e-9)


def test_usd_dca_by_hand_and_the_summary_line(tmp_path, capsys):
    out = tmp_path / "dca"
    assert main(["backtest", str(DCA), "--out", str(out), "--start", "2011-02-01",
                 "--end", "2013-12-31"]) == 0
    printed = capsys.readouterr().out
    assert "contributions: 8 x 1,000 USD (Q) into dca_core_satellite: invested 18,000" in printed
    equity = pd.read_parquet(out / "equity.parquet")
    con = pd.read_csv(out / "contributions.csv", parse_dates=["date"])
    for v in equity.columns:
        R = equity[v]
        after = R[R.index >= "2012-01-01"]
        first = after.groupby(after.index.to_period("Q")).head(1).index
        assert len(first) == 8  # 2012Q1 .. 2013Q4
        units = np.zeros(len(R))
        for t in first:
            amt = 1000.0 + (10_000.0 if t == first[0] else 0.0)
            units[R.index.get_loc(t):] += amt / R[t]
        got = con[con["curve"] == v].set_index("date")
        np.testing.assert_allclose(got["value"].to_numpy(), units * R.to_numpy(), rtol=1e-12)
        assert (got.loc[got.index < "2012-01-03", "value"] == 0).all()


def test_three_contributions_into_a_known_price_path():
    from engine.contributions import dca

    d = pd.bdate_range("2024-01-01", periods=5)
    R = pd.Series([10.0, 12.0, 8.0, 10.0, 11.0], index=d)
    res = dca(R, pd.Series([100.0, 100.0, 100.0], index=d[[0, 2, 3]]))
    # units: 10 + 12.5 + 10 = 32.5, worth 32.5 x 11 at the end
    assert res.equity.tolist() == pytest.approx([100.0, 120.0, 180.0, 325.0, 357.5])
    assert res.invested.tolist() == [100.0, 100.0, 200.0, 300.0, 300.0]


def test_prefix_invariance_of_the_fx_and_contribution_tables():
    cfg = load_config(KRW)
    short = run_backtest(cfg, start="2019-01-02", end="2019-09-30").investor
    long = run_backtest(cfg, start="2019-01-02", end="2020-06-30").investor
    for name in ("fx", "contributions"):
        a, b = getattr(short, name), getattr(long, name)
        b = b[b["date"] <= a["date"].max()]
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      rtol=1e-12)


def _raw(path=KRW) -> dict:
    return tomllib.loads(path.read_text())


@pytest.mark.parametrize("table, key, value, named", [
    ("contributions", "amount", -100.0, "contributions.amount"),
    ("contributions", "amount", 0.0, "contributions.amount"),
    ("contributions", "frequency", "fortnightly", "contributions.frequency"),
    ("contributions", "initial", -1.0, "contributions.initial"),
    ("contributions", "currency", "EUR", "contributions.currency"),
    ("contributions", "amout", 5.0, "contributions.amout"),
    ("fx", "hedge_cost_pct", -0.5, "fx.hedge_cost_pct"),
    ("fx", "hedge_ratio", 1.5, "fx.hedge_ratio"),
    ("fx", "hedged", [], "fx.hedged"),
    ("fx", "hedged", [True, True], "fx.hedged"),
    ("fx", "investor_currency", "JPY", "fx.investor_currency"),
    ("fx", "source", "yahoo", "fx.source"),
])
def test_impossible_values_name_the_key(table, key, value, named):
    raw = _raw()
    raw[table][key] = value
    with pytest.raises(ConfigError) as exc:
        validate_config(raw)
    assert exc.value.key_path == named


def test_fx_on_krw_prices_is_refused():
    raw = _raw()
    raw["data"] = {"source": "synthetic", "synthetic": {"n_days": 100}}
    del raw["contributions"]
    with pytest.raises(ConfigError) as exc:
        validate_config(raw)
    assert exc.value.key_path == "fx" and "no USD assets" in str(exc.value)


def test_krw_contributions_on_usd_prices_need_fx():
    raw = _raw()
    del raw["fx"]
    with pytest.raises(ConfigError) as exc:
        validate_config(raw)
    assert exc.value.key_path == "contributions.currency" and "[fx]" in str(exc.value)


def test_contribution_dates_out_of_order_or_outside_the_run(tmp_path, capsys):
    raw = _raw(DCA)
    raw["contributions"].update(start="2013-01-01", end="2012-01-01")
    with pytest.raises(ConfigError) as exc:
        validate_config(raw)
    assert exc.value.key_path == "contributions.end"
    # a plan starting after the backtest: exit 2 naming the key
    assert main(["backtest", str(DCA), "--out", str(tmp_path / "o"), "--start", "2011-02-01",
                 "--end", "2011-06-30"]) == 2
    assert "contributions.start" in capsys.readouterr().err


def test_a_backtest_after_the_fx_series_is_refused():
    from engine.app.investor import investor_sections
    from engine.market import Market

    cfg = load_config(KRW)
    d = pd.bdate_range("2026-08-10", periods=10)  # the bundled series ends 2026-08-14
    eq = pd.DataFrame({"krw_core_satellite": np.linspace(1, 2, 10)}, index=d)
    with pytest.raises(ConfigError) as exc:
        investor_sections(cfg, Market(meta={"currency": "USD"}), eq)
    assert exc.value.key_path == "data.end"


def test_the_report_shows_both_sections_from_the_files(krw_run):
    from engine.report import build_report

    html = build_report(krw_run)
    assert 'id="fx"' in html and 'id="contributions"' in html
    summ = pd.read_csv(krw_run / "contributions_summary.csv")
    irr = summ.loc[summ["curve"] == "krw_core_satellite KRW hedged", "money_weighted_return"]
    assert f"{irr.iloc[0]:+.2%}" in html


def test_fx_on_a_store_in_krw_is_refused_when_the_store_is_read():
    from engine.app.investor import investor_sections
    from engine.market import Market

    raw = _raw()
    raw["data"] = {"source": "store", "path": "somewhere"}
    cfg = validate_config(raw)  # a store's currency is known only once it is read
    d = pd.bdate_range("2020-01-01", periods=5)
    eq = pd.DataFrame({"krw_core_satellite": np.linspace(1, 2, 5)}, index=d)
    with pytest.raises(ConfigError) as exc:
        investor_sections(cfg, Market(meta={"currency": "KRW"}), eq)
    assert exc.value.key_path == "fx"


def test_a_sweep_config_warns_that_the_tables_are_backtest_only():
    raw = _raw(DCA)
    raw["sweep"] = {"strategy.drift_band": [0.0, 0.05]}
    cfg = validate_config(raw)
    assert any("[contributions]: run by flowbt backtest only" in w for w in cfg.warnings)
